"""The layer registry: the one table that knows a Keras layer class.

One entry per supported `class_name` (`LayerType`) holds everything the explainer knows about
the class: the weights it creates (name, role, shape, trainable, in Keras' own order) from its
config and input shapes, its output shape, its NumPy forward and mask rule (from
`app.reference`), its traits, and the modules a config may name for it. It is also the
allowlist: a class that is not registered is never handed to Keras (`allowlist()` adds the
classes a model is built of besides its layers: InputLayer, the containers, the RNN cells).

Adding a class: an `@register(...)` on its output-shape function in a file of `app/layers/`,
its forward (`@forward`) in the file of the same name in `app/reference/` (Dense:
`layers/core.py`, `reference/core.py`), its hand (`@hand`: settings line, formula,
conventions) in the file of that name in `app/hand/`, and `fields=` for each config key it
reads in a meaning of its own (`app.layers.fields`; the shared keys are checked already).

Dependencies point one way: `app.layers` reads `app.reference` (the forwards are plain NumPy
functions indexed by class name there); `app.reference` never imports `app.layers`, so the
forward of a class stands on its own, as the pages and the exported program show it.

Family modules (`core.py`, `convolution.py`, ...) register their classes with `@register`;
importing anything from `app.layers` runs the package's `__init__`, which imports them all.
Shapes are tuples with `None` for unknown dimensions, batch first. `input_shapes` is always a
list, one entry per input tensor of the call.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.costs import COSTS, CostFn
from app.graph import Shape, ShapeTree
from app.hand import HANDS
from app.hand.rules import HandFn
from app.layers.fields import Field
from app.reference import COMPUTE_MASK, FORWARDS
from app.reference.forwards import ForwardFn, Mask, MaskFn
from app.reference.masking import drops_mask, first_input_mask

Config = dict[str, Any]
WeightsFn = Callable[[Config, list[ShapeTree]], list["WeightSpec"]]
OutputShapeFn = Callable[[Config, list[ShapeTree]], ShapeTree]

LAYERS_MODULE = "keras.layers"


# The variables Keras creates with trainable=False, by role: BatchNormalization's moving
# statistics and Normalization's adapted state. A spec takes its trainability from here, and
# so does a stored weight of a known class whose specs cannot be worked out.
NON_TRAINABLE_ROLES = frozenset({"moving_mean", "moving_variance", "mean", "variance", "count"})


@dataclass(frozen=True)
class WeightSpec:
    """One weight a layer creates.

    `name` is the variable's path inside the layer as Keras reports it (`weight.path` without the
    layer's own name: `kernel`, `lstm_cell/kernel`, `forward_gru/gru_cell/bias`). `owner` is the
    attribute path of the object that owns the
    variable inside the layer (`""` for the layer itself, `cell`, `forward_layer/cell`,
    `_query_dense`): in a `.keras` weights file the variable is stored at
    `<layer path>/<owner>/vars/<i>`, where `i` counts the owner's variables in this order.
    """

    name: str
    role: str
    shape: tuple[int, ...]
    trainable: bool | None = None  # None: as its role says (NON_TRAINABLE_ROLES)
    owner: str = ""

    def __post_init__(self):
        if self.trainable is None:
            object.__setattr__(self, "trainable", self.role not in NON_TRAINABLE_ROLES)


@dataclass(frozen=True)
class Traits:
    """What other code asks about a class, instead of keeping its own set of class names.

    recurrent: loops a cell over the timesteps (SimpleRNN, LSTM, GRU, RNN, ConvLSTM).
    wrapper: holds another layer, whose weights are its own (Bidirectional, TimeDistributed).
    passes_mask: Keras' `supports_masking` with the default `compute_mask`: the output
        carries the first input's mask unchanged (its mask rule is `first_input_mask`).
    initial_states: tensors passed by keyword (or after the sequences) are initial states.
    tensor_masks_only: reads masks from its tensors only; a tensor passed by keyword (an
        explicit `attention_mask`, a query/value/key mask) is refused by the reference.
    unit_forget_bias: the LSTM bias whose forget block `unit_forget_bias` initializes to 1.
    keras2_defaults: config keys Keras 2 wrote and Keras 3 refuses, with the value at which
        leaving the key out changes nothing (`{"time_major": False}`).
    records_mask: an operation with which Keras 3 functional configs record the masks of
        Embedding(mask_zero) and Masking (`not_equal(ids, 0)`, `any(not_equal(x, v), -1)`),
        passed as the `mask` keyword of the layers after them. They were recorded from the
        very masks the mask rules propagate, so the executor does not run them: a call that
        receives one as a keyword gets the propagated mask of its first input instead.
    op_layer: a tf.keras op layer (TFOpLambda, ...): it calls the TensorFlow function its
        config names, with its call's arguments as written (tensors at any depth in them,
        constants in place); the safety scan refuses a function the reference does not run.
    channel_axis: the axis of its `kernel` that runs over its output channels (filters):
        -1, or -2 for a transposed convolution's `(*kernel_size, filters, in)`.
    float32_variables: its variables are made with `autocast=False` (Keras' normalization
        layers): under a float16 or bfloat16 policy it computes from them as they are, where
        other layers' variables are cast to the compute dtype (app.reference.precision).
    reads_vocabulary: its `vocabulary` may be a path, which Keras would open: the safety scan
        refuses a string there (StringLookup, IntegerLookup, TextVectorization).
    stored_twice: `.keras` keys that hold a second copy of a weight stored at another key
        too (SpectralNormalization tracks its layer's kernel as its own variable: `vars/0`
        repeats `layer/vars/0`); the copy is not a weight of its own, and the keys skip it.
    """

    recurrent: bool = False
    wrapper: bool = False
    passes_mask: bool = False
    initial_states: bool = False
    tensor_masks_only: bool = False
    unit_forget_bias: bool = False
    keras2_defaults: Mapping[str, Any] = field(default_factory=dict)
    records_mask: bool = False
    op_layer: bool = False
    channel_axis: int = -1
    float32_variables: bool = False
    reads_vocabulary: bool = False
    stored_twice: tuple[str, ...] = ()


# A `keras2_defaults` value for a key whose value, whatever it is, changes nothing Keras 3
# computes: one the Keras 2 class wrote but never read (SeparableConv's inherited
# `kernel_initializer`), or a build shape Keras 3 takes from the call (MultiHeadAttention's
# `query_shape`).
UNUSED_BY_KERAS2 = "<unused by Keras 2>"
PLAIN = Traits()
RECURRENT = Traits(recurrent=True, initial_states=True, keras2_defaults={"time_major": False})


@dataclass(frozen=True)
class LayerType:
    """Everything known about one Keras layer class (and its aliases).

    `family` is Keras' own grouping (`recurrent` for keras.src.layers.rnn: the RNNs, ConvLSTM
    and the wrappers). `source` is the file that holds the class: `app/layers/<source>.py`
    registers it, `app/reference/<source>.py` holds its forward. `forward` is
    `fn(config, weights, inputs, training[, masks])` (see `app.reference.forwards`); `cost` is
    `fn(config, inputs, outputs) -> Cost` at batch 1 (see `app.costs.rules`);
    `mask_rule` is `fn(config, inputs, masks, outputs) -> one mask (or None) per output`,
    Keras' `compute_mask` (`drops_mask` for a class that does not support masking).
    `hand` is its settings line, formula and conventions (`app.hand`, `fn(facts) -> Hand`),
    shown beside the forward's code. `modules` are those a config may name for the class, the
    first being where Keras exports it. `fields` are the config keys the class reads in a
    meaning of its own (the others are `app.layers.fields.VOCABULARY`'s): the edge checks
    each one's type and range.
    """

    class_name: str
    family: str
    source: str
    summary: str  # one sentence: what the layer computes, in Keras vocabulary
    output_shape: OutputShapeFn
    weights: WeightsFn
    forward: ForwardFn | None
    mask_rule: MaskFn
    cost: CostFn | None = None  # app.costs: MACs and FLOPs from config and shapes
    hand: HandFn | None = None
    traits: Traits = PLAIN
    modules: tuple[str, ...] = (LAYERS_MODULE,)
    aliases: tuple[str, ...] = field(default_factory=tuple)
    fields: Mapping[str, Field] = field(default_factory=dict)

    @property
    def takes_masks(self) -> bool:
        """The forward declares `masks`: it consumes its inputs' masks (the recurrent layers)."""
        return self.forward is not None and "masks" in inspect.signature(self.forward).parameters

    @property
    def supports_masking(self) -> bool:
        """Keras' `supports_masking`: a mask reaching the layer is not dropped with a warning."""
        return self.mask_rule is not drops_mask


REGISTRY: dict[str, LayerType] = {}
# The classes a model is built of besides its layers, with their modules: the input, the
# containers, the RNN cells (`app.layers.recurrent` registers those).
STRUCTURE: dict[str, tuple[str, ...]] = {
    "InputLayer": (LAYERS_MODULE,),
    "Sequential": ("keras",),
    "Model": ("keras",),
    "Functional": ("keras.src.models.functional",),
}


def no_weights(config: Config, input_shapes: list[ShapeTree]) -> list[WeightSpec]:
    return []


def register(
    class_name: str,
    *,
    family: str,
    summary: str,
    weights: WeightsFn = no_weights,
    traits: Traits = PLAIN,
    modules: tuple[str, ...] = (LAYERS_MODULE,),
    aliases: tuple[str, ...] = (),
    fields: Mapping[str, Field] | None = None,
) -> Callable[[OutputShapeFn], OutputShapeFn]:
    """Decorator on a layer class's output-shape function: the class's entry.

    Its forward and mask rule are the ones `app.reference` registered under `class_name`;
    with `traits.passes_mask` the mask rule is `first_input_mask`.
    """

    def decorate(output_shape: OutputShapeFn) -> OutputShapeFn:
        entry = LayerType(
            class_name=class_name,
            family=family,
            source=_registering_file(),
            summary=summary,
            output_shape=output_shape,
            weights=weights,
            forward=FORWARDS.get(class_name),
            mask_rule=_mask_rule(class_name, traits),
            cost=COSTS.get(class_name),
            hand=HANDS.get(class_name),
            traits=traits,
            modules=modules,
            aliases=aliases,
            fields=dict(fields or {}),
        )
        for name in (class_name, *aliases):
            if name in REGISTRY:
                raise RuntimeError(f"layer class {name} registered twice")
            REGISTRY[name] = entry
        return output_shape

    return decorate


def _registering_file() -> str:
    """The stem of the family file whose `register(...)` call made the entry (`core`)."""
    module = sys._getframe(2).f_globals["__name__"]  # the frame that called `decorate`
    return module.rsplit(".", 1)[-1]


def _mask_rule(class_name: str, traits: Traits) -> MaskFn:
    rule = COMPUTE_MASK.get(class_name)
    if rule is not None and traits.passes_mask:
        raise RuntimeError(f"{class_name} passes its mask and has a mask rule of its own")
    if traits.passes_mask:
        return first_input_mask
    return rule or drops_mask


def register_structure(*class_names: str, module: str = LAYERS_MODULE) -> None:
    """Allow classes a model is built of that compute nothing themselves (the RNN cells)."""
    for name in class_names:
        STRUCTURE[name] = (module,)


def lookup(class_name: str) -> LayerType | None:
    return REGISTRY.get(class_name)


def known_classes() -> list[str]:
    return sorted(REGISTRY)


def allowlist() -> dict[str, tuple[str, ...]]:
    """Every class a model may hold (registry entries and structure), with its modules."""
    return {**{name: entry.modules for name, entry in REGISTRY.items()}, **STRUCTURE}


def allowed_modules(class_name: str) -> tuple[str, ...] | None:
    """`allowlist().get(class_name)` without building the whole table: the scan asks it of
    every layer of a config (ResNet50: 531 times, 10-30 ms of CPU spent building it)."""
    if class_name in STRUCTURE:
        return STRUCTURE[class_name]
    entry = REGISTRY.get(class_name)
    return entry.modules if entry is not None else None


def names_of(class_name: str) -> frozenset[str]:
    """The names a class is registered under: its own and its aliases (none if unknown)."""
    entry = lookup(class_name)
    return frozenset((entry.class_name, *entry.aliases)) if entry else frozenset()


def fields_of(class_name: str) -> Mapping[str, Field]:
    """The config fields a registered class declares in a meaning of its own (none if unknown)."""
    entry = lookup(class_name)
    return entry.fields if entry is not None else {}


def traits_of(class_name: str) -> Traits:
    """A registered class's traits; an unknown class has none."""
    entry = lookup(class_name)
    return entry.traits if entry is not None else PLAIN


# Running an entry -------------------------------------------------------------------------


def output_masks(
    class_name: str,
    config: Mapping[str, Any],
    inputs: Sequence[np.ndarray],
    masks: Sequence[Mask],
    outputs: Sequence[np.ndarray],
) -> list[Mask]:
    """One mask (or None) per output, by the class's mask rule (all None when it drops them)."""
    entry = lookup(class_name)
    rule = entry.mask_rule if entry is not None else drops_mask
    found = rule(config, list(inputs), list(masks), list(outputs))
    return [*found, *[None] * (len(outputs) - len(found))][: len(outputs)]


# Helpers shared by family modules --------------------------------------------------------


def single(input_shapes: list[ShapeTree]) -> Shape:
    """The one input shape of a single-input layer."""
    shape = input_shapes[0]
    while isinstance(shape, list) and len(shape) == 1:
        shape = shape[0]
    if isinstance(shape, list):
        raise ValueError("expected one input tensor")
    return tuple(shape)


def same_shape(config: Config, input_shapes: list[ShapeTree]) -> Shape:
    return single(input_shapes)


def channel_axis(config: Config, rank: int) -> int:
    """The channel axis (non-negative) for `data_format` in a tensor of `rank`."""
    return 1 if config.get("data_format") == "channels_first" else rank - 1


def normalize_tuple(value: Any, n: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n
    value = tuple(value)
    if len(value) == 1 and n > 1:
        return value * n
    return value
