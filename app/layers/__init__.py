"""Layer families: importing this package registers every supported class."""

from app.layers import (  # noqa: F401
    activations,
    attention,
    categorical,
    convlstm,
    convolution,
    core,
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
