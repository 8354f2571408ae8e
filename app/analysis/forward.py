"""Each layer by hand: its `forward` object (settings, formula, shapes, small weights' values,
conventions) and the reference's code for it, read from `app.reference` itself.

The words come from the class's registry entry (`entry.hand`, `app.hand`), the code from
`app.reference.source`: the report shows the text of the function the check runs.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np

from app.analysis.initializers import initial_value
from app.graph import LayerNode, ShapeTree, WeightRef
from app.hand import Facts, Hand
from app.hand.rules import shape_text
from app.reference import source
from app.schemas import LayerForward, LayerReport

SMALL = 8  # a weight with at most this many values has them listed


def layer_forward(node: LayerNode, entry: Any, code: bool = True) -> LayerForward | None:
    """The layer by hand, or None when its class has no registry entry, hand or forward;
    without its `code` and `helpers` when not `code` (the terminal's brief report)."""
    if entry is None or entry.hand is None or entry.forward is None:
        return None
    hand = hand_of(node, entry)
    return LayerForward(
        settings=hand.settings,
        formula=hand.formula,
        shapes=shapes_line(node),
        values=small_values(node),
        conventions=list(hand.conventions),
        function=source.function_name(entry.class_name),
        code=source.forward_source(entry.class_name) if code else "",
        helpers=source.all_helper_names(entry.class_name) if code else [],
    )


def hand_of(node: LayerNode, entry: Any) -> Hand:
    facts = Facts(
        class_name=entry.class_name,
        config=node.config,
        input_shapes=first_call_shapes(node),
        output_shape=plain_shape(node.output_shapes[0]) if node.output_shapes else None,
        weights=[(w.name, w.role, tuple(w.shape)) for w in node.weights],
    )
    try:
        return entry.hand(facts)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError):
        # A config the edge let through in a form no rule expected (Keras accepts more
        # spellings than any table lists): the page still shows the layer, with its summary.
        return Hand(settings="(settings not read)", formula=entry.summary)


def first_call_shapes(node: LayerNode) -> list[tuple]:
    if not node.input_shapes:
        return []
    return [s for s in (plain_shape(t) for t in node.input_shapes[0]) if s is not None]


def plain_shape(shape: ShapeTree | None) -> tuple | None:
    """A tensor's shape as a tuple; None for a nested structure of shapes."""
    if isinstance(shape, tuple | list) and all(d is None or isinstance(d, int) for d in shape):
        return tuple(shape)
    return None


def shapes_line(node: LayerNode) -> str:
    """`x (None, 4096) · kernel (4096, 512) · bias (512,) → y (None, 512)`."""
    inputs = first_call_shapes(node)
    names = ["x"] if len(inputs) == 1 else [f"x{k + 1}" for k in range(len(inputs))]
    parts = [f"{n} {shape_text(s)}" for n, s in zip(names, inputs, strict=True)]
    parts += [f"{label} {shape_text(w.shape)}" for label, w in labelled(node.weights)]
    output = plain_shape(node.output_shapes[0]) if node.output_shapes else None
    outputs = f" → y {shape_text(output)}" if output is not None else ""
    return " · ".join(parts) + outputs


def labelled(weights: list[WeightRef]) -> Iterable[tuple[str, WeightRef]]:
    """Each weight by its role, or by its name where two weights share the role
    (Bidirectional's `forward_lstm/lstm_cell/kernel`)."""
    roles = Counter(w.role for w in weights)
    return [(w.role if roles[w.role] == 1 else w.name, w) for w in weights]


def small_values(node: LayerNode) -> list[str]:
    """`gamma = [1, 1]` for each weight of at most SMALL values: the file's, or, where it
    stores none (a spec), the initializer's when that is a constant (`ones`, `zeros`)."""
    found = []
    for label, w in labelled(node.weights):
        if math.prod(w.shape) > SMALL:
            continue
        values = np.asarray(w.values[()]) if w.values is not None else constant_initial(node, w)
        if values is None:
            continue
        listed = ", ".join(f"{float(v):.7g}" for v in values.reshape(-1))
        initial = " (initializer)" if w.values is None else ""  # a spec stores no weights
        found.append(f"{label} = [{listed}]{initial}")
    return found


def constant_initial(node: LayerNode, w: WeightRef) -> np.ndarray | None:
    """The initial value of a weight whose initializer draws nothing at random (two seeds
    give the same values); None for a random one, whose values the report does not know."""
    try:
        first, second = (initial_value(node, w, s) for s in (0, 1))
    except (TypeError, ValueError, KeyError, AttributeError, IndexError):
        return None  # an initializer config no rule expected: its values are not listed
    return first if np.array_equal(first, second) else None


def reference_code(layers: list[LayerReport]) -> dict[str, str]:
    """The text of every helper the layers' forwards name, once each."""
    names = dict.fromkeys(
        name for layer in layers if layer.forward for name in layer.forward.helpers
    )
    return {name: source.helper_source(name) for name in names}
