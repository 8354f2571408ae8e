"""The typed entries a model config is checked into (app.safety.model_config): a model, its
layers, and each layer's calls. Only what is written: what the values mean is the reader's
(`app.formats.config`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.graph import TensorRef
from app.safety.layer_fields import Problem

JSON = dict[str, Any]


@dataclass(frozen=True)
class Call:
    """One call of a layer (an inbound node): its data inputs (the positional tensors, then
    those of `DATA_KWARGS`), the other tensors it takes by keyword (masks, initial states: parents
    in the graph, not data inputs), and the keywords that are not tensors."""

    inputs: list[TensorRef]
    extras: list[TensorRef]
    kwargs: JSON


@dataclass(frozen=True)
class OperationCall:
    """The one call of an operation (`x + 3.0`): positional arguments in place, a tensor as
    `{"tensor": i}`, and its keywords that are not tensors."""

    args: list[Any]
    kwargs: JSON


@dataclass(frozen=True)
class LayerEntry:
    """One entry of a model's `layers`: a layer, an operation, or a nested model (`inner`)."""

    class_name: str  # as written; `operation` says when it records tensor arithmetic
    name: str
    config: JSON  # {} when the entry has none; a nested Sequential's bare list is wrapped
    module: str | None = None
    registered_name: str | None = None
    operation: str | None = None  # `ops.<Class>` for an operation
    batch_shape: list[Any] | None = None  # declared on a layer (not on a nested model)
    build_input_shape: list[Any] | None = None  # `build_config`'s, when it records one
    calls: list[Call] = field(default_factory=list)  # Functional members only
    operation_call: OperationCall | None = None
    inner: ModelConfig | None = None
    problems: list[Problem] = field(default_factory=list)  # its fields' (app.safety.layer_fields)


@dataclass(frozen=True)
class ModelConfig:
    """A Sequential or Functional model (`Model` is read as Functional).

    A Sequential's `layers` are the entries after its first when that is an InputLayer
    (`input_layer`), else all of them, with the shape Keras gives the InputLayer it adds in
    `implicit_shape`; `inputs` and `outputs` are a Functional's.
    """

    class_name: str
    name: str
    config: JSON  # as written (a Keras 2.0 Sequential's list wrapped as `{"name", "layers"}`)
    layers: list[LayerEntry]
    input_layer: LayerEntry | None = None
    implicit_shape: list[Any] | None = None
    inputs: list[TensorRef] = field(default_factory=list)
    outputs: list[TensorRef] = field(default_factory=list)
    subclass: str | None = None  # the subclassed keras.Model whose config holds this model
    module: str | None = None  # the module the file names for the model's class, if any
    # Keras 1/2 configs (inbound nodes as lists): the nested models whose calls the file's
    # references count from 1 (`nested_calls_from_zero`). The reader numbers every call from
    # 0; the Keras 3 copy (app/check/keras3_copy.py) writes them as Keras 3 reads them.
    keras2_nodes: bool = False
    counted_from_one: frozenset[str] = frozenset()
    problems: list[Problem] = field(default_factory=list)  # of `implicit_shape`

    def all_problems(self) -> list[Problem]:
        """The field problems of every layer, nested models' included, in config order."""
        found, stack = [], [self]
        while stack:  # iterative: nesting depth is the JSON's, not the interpreter's
            model = stack.pop()
            found.extend(model.problems)
            for entry in (*([model.input_layer] if model.input_layer else []), *model.layers):
                found.extend(entry.problems)
            stack.extend(e.inner for e in reversed(model.layers) if e.inner is not None)
        return found
