"""The diagnosis: their numbers against Keras', and the known mistakes that reproduce them.

    diagnose(graph, weights, inputs, theirs, keras=None, tolerance=1e-4) -> Diagnosis

`theirs` maps layer names to what the user's own forward computed for that layer's output
(the model's outputs are their layers' outputs). `keras` maps layer names to Keras' values
where they are known (the stored check's outputs); elsewhere the reference forward stands
for Keras, which the check proves equal to it within its tolerance.

1. The reference forward runs once, every layer kept.
2. Each tensor given is compared; the first (in the model's order) over `tolerance` of its
   scale, or of another shape than Keras', is where theirs part from Keras. None: "matches
   Keras". An array of another shape is searched only for the mistakes that change a
   shape (return_sequences confused); when none reproduces it, it is a 400
   (`yours-wrong-shape`), as is any other array of the wrong shape.
3. The search, from the cheapest place to look:
   - local: when their numbers of the parting layer itself are given, each mistake of its
     class is replayed on that layer alone, on the inputs Keras' forward gives it;
   - model-wide: otherwise each mistake (each form of it) is made on every layer of its
     class up to the parting tensor, as one consistent implementation would make it, and
     the model runs once per form (what a converter's bug does).
   A form reproduces theirs when |theirs − mistaken| is within the tolerance where
   |theirs − Keras| is not; a form whose output equals Keras' here is no explanation.
4. Nothing reproduces them: the difference is described (app.diagnosis.differences).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from app.analysis.reference import layer_weights, run_reference, standardize_input
from app.diagnosis.catalogue import Mistake, mistakes_for
from app.diagnosis.differences import describe
from app.diagnosis.families import most_common_first  # (and registers the catalogue)
from app.diagnosis.schemas import DiagnosedMistake, Diagnosis, Evidence, TensorError
from app.diagnosis.sentences import default_note, matches_sentence, parting_sentence
from app.diagnosis.yours import wrong_shape
from app.graph import LayerNode, ModelGraph, TensorRef, topological_calls
from app.reference import forwards

FLOAT32_EPS = float(np.finfo(np.float32).eps)
DEFAULT_TOLERANCE = 1e-4
DEFAULT_MAX_SEARCH_S = 60.0  # the model-wide search's budget (a whole forward per form)
EXPLAINED = 1e-2  # a mistake within 1% of their distance to Keras reproduces them


@dataclass(frozen=True)
class Given:
    """One tensor of theirs, with Keras' values for it."""

    name: str
    theirs: np.ndarray
    truth: np.ndarray
    against: str  # keras | reference
    depth: int  # its place in the model's order, from 1

    @property
    def misshapen(self) -> bool:
        return self.theirs.shape != self.truth.shape

    @property
    def scale(self) -> float:
        return max(float(np.max(np.abs(self.truth), initial=0.0)), 1e-30)

    def error(self, other: np.ndarray) -> float:
        diff = np.abs(self.theirs.astype(np.float64) - other.astype(np.float64))
        return float(np.max(diff, initial=0.0))


@dataclass(frozen=True)
class _Found:
    mistake: Mistake
    node: LayerNode
    layers: list[str]
    form: str
    tensor: Given
    error: float


def diagnose(
    graph: ModelGraph,
    weights: Sequence[np.ndarray],
    inputs: Sequence[np.ndarray],
    theirs: Mapping[str, np.ndarray],
    keras: Mapping[str, np.ndarray] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    against_note: str = "",
    max_search_s: float = DEFAULT_MAX_SEARCH_S,
) -> Diagnosis:
    """Compare `theirs` with Keras and name the known mistakes that reproduce them."""
    start = time.perf_counter()
    run = run_reference(graph, weights, inputs)
    order = _order(graph)
    computed = {**run.layers, **_model_outputs(graph, run.outputs)}
    given = _given(computed, theirs, keras or {}, order)
    tensors = [_tensor_error(g, tolerance) for g in given]
    parting = next((g for g, t in zip(given, tensors, strict=True) if not t.matches), None)
    _refuse_unsearched_shapes(given, parting)
    note = against_note or default_note(all(g.against == "keras" for g in given))
    if parting is None:
        return Diagnosis(
            verdict="matches-keras",
            message=matches_sentence(tensors),
            tolerance=tolerance,
            against_note=note,
            tensors=tensors,
            search_s=round(time.perf_counter() - start, 4),
        )
    tensors_by_node = {**run.operations, **run.layers}  # a layer's inputs may be an op's
    searched, found, complete = _search(
        graph, weights, inputs, tensors_by_node, given, parting, tolerance, max_search_s
    )
    if parting.misshapen and not found:
        raise wrong_shape(parting.name, parting.theirs.shape, parting.truth.shape)
    mistakes = [_diagnosed(f) for f in sorted(found, key=lambda f: f.error / f.tensor.scale)]
    first = parting.name
    return Diagnosis(
        verdict="explained" if mistakes else "unexplained",
        message=parting_sentence(first, mistakes, complete),
        tolerance=tolerance,
        against_note=note,
        tensors=tensors,
        first_divergence=first,
        mistakes=mistakes,
        difference=None
        if mistakes
        else describe(parting.name, parting.theirs, parting.truth, tolerance),
        searched=searched,
        complete=complete,
        search_s=round(time.perf_counter() - start, 4),
    )


def _order(graph: ModelGraph) -> dict[str, int]:
    order: dict[str, int] = {}
    for node, _ in topological_calls(graph):
        order.setdefault(node.name, len(order) + 1)
    return order


def _model_outputs(graph: ModelGraph, outputs: list[np.ndarray]) -> dict:
    """The model's outputs by their layer's name, as `layers` holds each layer's (an output
    made by a Keras operation, `x + y`, has no entry there)."""
    return {ref.layer: [[out]] for ref, out in zip(graph.outputs, outputs, strict=True)}


def _given(layers: dict, theirs: Mapping, keras: Mapping, order: dict[str, int]) -> list[Given]:
    given = []
    for name, array in theirs.items():
        ours = layers[name][0][0]
        truth, against = (keras[name], "keras") if name in keras else (ours, "reference")
        given.append(Given(name, np.asarray(array), np.asarray(truth), against, order[name]))
    return sorted(given, key=lambda g: g.depth)


def _tensor_error(g: Given, tolerance: float) -> TensorError:
    error = None if g.misshapen else g.error(g.truth)
    return TensorError(
        name=g.name,
        shape=list(g.truth.shape),
        their_shape=list(g.theirs.shape) if g.misshapen else None,
        against=g.against,
        max_abs_error=error,
        max_rel_error=None if error is None else error / g.scale,
        expected_float32_error=FLOAT32_EPS * g.scale * math.sqrt(g.depth),
        matches=error is not None and error <= tolerance * g.scale,
    )


def _refuse_unsearched_shapes(given: list[Given], parting: Given | None) -> None:
    """An array of another shape is searched only where it is the first to part (the
    mistakes that change a shape are sought there); after an earlier parting tensor, the
    search is that tensor's, so the shape is refused as it stands."""
    for g in given:
        if g.misshapen and g is not parting:
            raise wrong_shape(g.name, g.theirs.shape, g.truth.shape)


# The search ------------------------------------------------------------------------------


def _search(
    graph, weights, inputs, layers, given, parting, tolerance, max_search_s
) -> tuple[int, list[_Found], bool]:
    """Local first (cheap, and exact where the layer is given); model-wide when that finds
    nothing (the same mistake made upstream too, or only later tensors given). For an
    array of another shape than Keras', only the mistakes that change a shape."""
    node = _top_node(graph, parting.name)
    searched, reshaping = 0, parting.misshapen
    if node is not None and mistakes_for(node.class_name, reshaping):
        searched, found = _search_local(
            graph, weights, inputs, layers, node, parting, tolerance, reshaping
        )
        if found:
            return searched, found, True
    deadline = time.monotonic() + max_search_s
    more, found, complete = _search_model(
        graph, weights, inputs, layers, given, parting, tolerance, deadline, reshaping
    )
    return searched + more, found, complete


def _search_local(graph, weights, inputs, layers, node, parting, tolerance, reshaping):
    """Each mistake of the parting layer's class, on that layer alone."""
    args = [_tensor_value(graph, inputs, layers, ref) for ref in node.calls[0]]
    own = layer_weights(node, weights)
    searched, found = 0, []
    for mistake in mistakes_for(node.class_name, reshaping):
        forms = _replay(mistake, node.config, own, args, parting.theirs)
        for form, output in forms.items():
            searched += 1
            hit = _hit(parting, np.asarray(output), tolerance)
            if hit is not None:
                found.append(_Found(mistake, node, [node.name], form, parting, hit))
    return searched, _best_form_each(found)


def _search_model(graph, weights, inputs, layers, given, parting, tolerance, deadline, reshaping):
    """Each form of each mistake, on every layer of its class up to the parting tensor, the
    model run once per form (lean when the parting tensor is a model output). A run costs a
    whole forward, so the search stops at the first mistake that reproduces theirs, in
    catalogue order (the most common first), or at `deadline` (then it is incomplete)."""
    searched, complete = 0, True
    lean = parting.name in {ref.layer for ref in graph.outputs}
    for mistake, nodes in _in_catalogue_order(_classes(graph, parting.depth, reshaping), reshaping):
        found = []
        for form in _form_labels(mistake, nodes[0], graph, weights, inputs, layers, given):
            if time.monotonic() > deadline:
                return searched, _best_form_each(found), False
            searched += 1
            replaced = {n.name: _replaying(mistake, form, n) for n in nodes}
            output = _mistaken_run(graph, weights, inputs, lean, replaced, parting.name)
            hit = None if output is None else _hit(parting, output, tolerance)
            if hit is not None:
                names = [n.name for n in nodes]
                found.append(_Found(mistake, nodes[0], names, form, parting, hit))
        if found:
            return searched, _best_form_each(found), complete
    return searched, [], complete


def _in_catalogue_order(classes: dict[str, list[LayerNode]], reshaping: bool):
    """(mistake, the model's layers of one of its classes), the most common mistakes first
    (BatchNormalization's before a convolution's, whatever comes first in the model: each
    pair costs a model run per form, and the budget should go to the common mistakes)."""
    pairs = [(m, nodes) for name, nodes in classes.items() for m in mistakes_for(name, reshaping)]
    order = {m.code: i for i, m in enumerate(most_common_first(m for m, _ in pairs))}
    return sorted(pairs, key=lambda pair: order[pair[0].code])


def _mistaken_run(graph, weights, inputs, lean, replaced, name) -> np.ndarray | None:
    """The parting tensor's value with the mistaken layers replayed; None when a layer
    after a mistake that changes a shape cannot take the shape it is given (a Dense can
    take every step of an LSTM, a Flatten's Dense cannot): no such model gives theirs."""
    try:
        with np.errstate(all="ignore"):  # a mistaken layer's NaNs flow on
            run = run_reference(graph, weights, inputs, keep_all=not lean, replaced=replaced)
    except (ValueError, IndexError):
        return None
    return {**run.layers, **_model_outputs(graph, run.outputs)}[name][0][0]


def _form_labels(mistake, first, graph, weights, inputs, layers, given) -> list[str]:
    """The forms of `mistake` on the first layer of its class (each layer of a class has the
    same labels; only its numbers differ), replayed on what Keras' forward gives it."""
    args = [_tensor_value(graph, inputs, layers, ref) for ref in first.calls[0]]
    theirs = next((g.theirs for g in given if g.name == first.name), None)
    return list(_replay(mistake, first.config, layer_weights(first, weights), args, theirs))


def _replay(mistake: Mistake, config, weights, args, theirs) -> dict[str, np.ndarray]:
    """The mistake's forms; a form may put a negative number under a square root (an order
    of the BatchNormalization arrays): NumPy's warning is no error here, the form's NaNs
    simply reproduce nobody's numbers."""
    with np.errstate(all="ignore"):
        return mistake.replay(config, weights, list(args), theirs)


def _replaying(mistake: Mistake, form: str, node: LayerNode):
    def run(config, weights, args, training):
        forms = _replay(mistake, config, weights, args, None)
        if form in forms:
            return forms[form]
        return forwards.run_layer(node.class_name, config, weights, args, training)

    return run


def _hit(parting: Given, output: np.ndarray, tolerance: float) -> float | None:
    """|theirs − output| when the mistaken forward reproduces theirs and is not Keras' own.

    Reproduces: within the tolerance of the scale, or within EXPLAINED of their distance to
    Keras (after many layers their float32 or float64 arithmetic and ours part by more than
    the tolerance; a mistake that accounts for 99% of the difference is still the cause).
    """
    if output.shape != parting.theirs.shape:
        return None
    limit = tolerance * parting.scale
    error = parting.error(output)
    if parting.misshapen:  # of another shape than Keras': no Keras value to be close to
        return error if error <= limit else None
    reproduces = error <= limit or error <= EXPLAINED * parting.error(parting.truth)
    if not reproduces or float(np.max(np.abs(output - parting.truth), initial=0.0)) <= limit:
        return None
    return error


def _best_form_each(found: list[_Found]) -> list[_Found]:
    best: dict[str, _Found] = {}
    for f in found:
        if f.mistake.code not in best or f.error < best[f.mistake.code].error:
            best[f.mistake.code] = f
    return list(best.values())


def _classes(graph: ModelGraph, depth: int, reshaping: bool) -> dict[str, list[LayerNode]]:
    """The model's own layers (not a nested model's) up to `depth` in the model's order
    that the catalogue has mistakes for, by class."""
    classes: dict[str, list[LayerNode]] = {}
    order = _order(graph)
    for node, call in topological_calls(graph):
        if (
            call == 0
            and order[node.name] <= depth
            and node.inner is None
            and mistakes_for(node.class_name, reshaping)
        ):
            classes.setdefault(node.class_name, []).append(node)
    return classes


def _top_node(graph: ModelGraph, name: str) -> LayerNode | None:
    try:
        node = graph.layer(name)
    except KeyError:
        return None
    return node if node.calls and node.inner is None else None


def _tensor_value(graph: ModelGraph, inputs, layers, ref: TensorRef) -> np.ndarray:
    node = graph.layer(ref.layer)
    if node.class_name == "InputLayer":
        index = [r.layer for r in graph.inputs].index(ref.layer)
        return standardize_input(node, inputs[index])
    return layers[ref.layer][ref.node_index][ref.tensor_index]


# The answer -------------------------------------------------------------------------------


def _diagnosed(f: _Found) -> DiagnosedMistake:
    return DiagnosedMistake(
        code=f.mistake.code,
        layer=f.node.name,
        layers=f.layers,
        class_name=f.node.class_name,
        title=f.mistake.title,
        form=f.form,
        evidence=Evidence(
            tensor=f.tensor.name,
            error_to_mistake=f.error,
            error_to_keras=None if f.tensor.misshapen else f.tensor.error(f.tensor.truth),
        ),
        explanation=f.mistake.explain(f.node.config, {}),
        fix=f.mistake.fix,
    )
