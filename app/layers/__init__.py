"""Layer families: importing this package registers every supported class."""

from app.layers import (  # noqa: F401
    activations,
    array_operations,
    attention,
    categorical,
    convlstm,
    convolution,
    core,
    math_operations,
    merging,
    normalization,
    op_layers,
    operations,
    pooling,
    preprocessing,
    recurrent,
    regularization,
    reshaping,
    wrappers,
)
