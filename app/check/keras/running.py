"""How a worker runs the every-layer model: the call Keras makes, and training mode made
deterministic.

Inference runs ``probe(x, training=False)`` (``keras_call="call"``): an eager call, op by op,
or ``probe.predict(x, batch_size=len(x))`` (``keras_call="predict"``), which first traces a
``tf.function`` of the whole model: in a single-use worker that tracing is paid by every
check (MobileNetV2 over every layer: 2.4 s against 0.4 s). The numbers are the same
(bench/keras_call.py; README, "Which call Keras runs"). Unless the request names one, the
worker makes the faster for the model (`faster_call`). Training mode always calls the model
(``training=True``): `predict` has no training mode. A call hands each layer's output on as
soon as the layer has run (`streamed`), so its file is written and compared while the layers
after it run, instead of every file at the call's end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.check.keras.cpu_limits import LayerFacts, explain_cpu_limit, facts_of
from app.check.keras.jobs import JobFailed
from app.schemas import KerasCall

Arrived = Callable[[int, np.ndarray], None]  # (the output's position, its values)


def call_made(keras: Any, model: Any, keras_call: KerasCall | None, mode: str) -> KerasCall:
    """The call a job makes: in training mode always `call`; in inference mode the one
    asked for, or else the faster for this model."""
    if mode == "training":
        return "call"
    return keras_call or faster_call(keras, model)


def faster_call(keras: Any, model: Any) -> KerasCall:
    """`call` where it is faster and gives `predict`'s numbers, `predict` otherwise.

    Called eagerly, a recurrent layer runs its loop one time step at a time from Python,
    which tracing once beats (spam_gru_model of the corpus: 34.8 s eagerly, 4.9 s with
    predict). A LayerNormalization called eagerly parts from predict by up to 3.5e-4 of its
    scale (the corpus's two transformers; not explained yet), over the check's tolerance.
    Any other model measured is faster called and equal (MobileNetV2 over every layer, bit
    for bit: 0.43 s against 2.39 s)."""
    layers = model._flatten_layers(include_self=False, recursive=True)
    slower_or_apart = (keras.layers.RNN, keras.layers.LayerNormalization)
    return "predict" if any(isinstance(layer, slower_or_apart) for layer in layers) else "call"


def run(
    keras: Any,
    model: Any,
    probe: Any,
    inputs: list,
    mode: str,
    keras_call: KerasCall,
    arrived: Arrived | None = None,
) -> list[np.ndarray | None]:
    """`probe`'s outputs on `inputs` as NumPy arrays, run as `keras_call` (call_made) says
    (training mode: a call with ``training=True``, dropout already off). With `arrived`
    (a call only), each output is handed to it as a NumPy array as soon as the call has
    computed it (`streamed`), and is None in the list returned."""
    stream = Stream()
    try:
        if keras_call == "predict":
            outputs = probe.predict(inputs, batch_size=len(inputs[0]), verbose=0)
        elif arrived is None:
            outputs = probe(inputs, training=mode == "training")
        else:
            with streamed(keras, probe, arrived, stream):
                outputs = probe(inputs, training=mode == "training")
        outputs = outputs if isinstance(outputs, list | tuple) else [outputs]
        return [None if k in stream.handed else as_numpy(keras, o) for k, o in enumerate(outputs)]
    except JobFailed:
        raise
    except Exception as exc:
        if stream.failed is not None:  # Keras rewraps what its call raised: ours, as raised
            raise stream.failed from None
        raise explain_cpu_limit(exc, layer_facts(keras, model)) or JobFailed(
            "keras-predict-failed", "Keras could not run the model on these inputs.", exc
        ) from exc


@dataclass
class Stream:
    """What `streamed` handed on: the outputs' positions (an output no layer computes, such
    as an Input, is not handed), and the JobFailed `arrived` raised, if it did."""

    handed: set[int] = field(default_factory=set)
    failed: JobFailed | None = None


@contextmanager
def streamed(keras: Any, probe: Any, arrived: Arrived, stream: Stream) -> Iterator[None]:
    """Within: a call of the functional `probe` hands each of its outputs k to
    ``arrived(k, array)`` once the layer computing it has run, not when the whole call
    returns, so its file can be written and compared while the layers after it run; `stream`
    notes what was handed, and a JobFailed `arrived` raised (Keras' call turns an exception
    it does not know into a RuntimeError of its own text).

    Keras runs a functional model node by node (``Function._run_through_graph``), asking
    ``_get_operation_for_node(node)`` for each node's operation: the probe's answer here is
    the operation itself, wrapped to report the node's outputs after it returns. The
    operations, their order and their arguments are Keras' own, so the values are the
    call's."""
    wanted: dict[int, list[int]] = {}
    for k, tensor in enumerate(probe.outputs):
        wanted.setdefault(id(tensor), []).append(k)

    def ran(node: Any, outputs: Any) -> None:
        for tensor, value in zip(node.outputs, keras.tree.flatten(outputs), strict=False):
            for k in wanted.get(id(tensor), ()):
                if k not in stream.handed:
                    stream.handed.add(k)
                    hand(k, as_numpy(keras, value))

    def hand(k: int, array: np.ndarray) -> None:
        try:
            arrived(k, array)
        except JobFailed as failed:
            stream.failed = failed
            raise

    own = probe._get_operation_for_node
    object.__setattr__(  # past Keras' attribute tracking: a method, not model state
        probe, "_get_operation_for_node", lambda node: _Reporting(own(node), node, ran)
    )
    try:
        yield
    finally:
        object.__delattr__(probe, "_get_operation_for_node")


class _Reporting:
    """A node's operation that reports the node's outputs once it has run. Keras passes
    ``training`` to an operation whose ``_call_context_args`` name it: the operation's own."""

    def __init__(self, operation: Any, node: Any, ran: Callable[[Any, Any], None]) -> None:
        self.operation, self.node, self.ran = operation, node, ran
        self._call_context_args = getattr(operation, "_call_context_args", {})

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        outputs = self.operation(*args, **kwargs)
        self.ran(self.node, outputs)
        return outputs


def as_numpy(keras: Any, output: Any) -> np.ndarray:
    """An output as a NumPy array, copied only if it must be. `predict` gives NumPy arrays
    already, which `convert_to_numpy` would copy (`np.array`): a second copy of a group's
    outputs, up to 512 MiB more at the worker's peak (bench/worker_outputs.py)."""
    if isinstance(output, np.ndarray):
        return output
    return np.asarray(keras.ops.convert_to_numpy(output))


def layer_facts(keras: Any, model: Any) -> list[LayerFacts]:
    """Every layer of the model, nested models' layers in their place (their names are the
    graph's scopes), for telling which one TensorFlow could not run."""
    facts = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            facts.extend(layer_facts(keras, layer))
        elif not isinstance(layer, keras.layers.InputLayer):
            facts.append(facts_of(layer))
    return facts


_DROPOUT_ATTRS = ("dropout", "recurrent_dropout", "_dropout")


def make_training_deterministic(keras: Any, model: Any) -> list[str]:
    """Set every dropout rate (and GaussianNoise stddev) to 0, and say which layers changed.

    Keras drops units at random in training mode, so after a Dropout layer the two sides of
    the comparison would differ by chance. Random preprocessing layers cannot be turned off:
    they are named in a note, and outputs from them on are not comparable.
    """
    dropout_family = (
        keras.layers.Dropout,
        keras.layers.GaussianDropout,
        keras.layers.AlphaDropout,
    )
    changed, random_layers = [], []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        touched = False
        if isinstance(layer, dropout_family) and layer.rate > 0:
            layer.rate, touched = 0.0, True
        if isinstance(layer, keras.layers.GaussianNoise) and layer.stddev > 0:
            layer.stddev, touched = 0.0, True
        for attr in _DROPOUT_ATTRS:
            value = vars(layer).get(attr)
            if isinstance(value, float | int) and not isinstance(value, bool) and value > 0:
                setattr(layer, attr, 0.0)
                touched = True
        if touched:
            changed.append(layer.name)
        if type(layer).__name__.startswith("Random"):
            random_layers.append(layer.name)
    return _training_notes(changed, random_layers)


def _training_notes(changed: list[str], random_layers: list[str]) -> list[str]:
    notes = []
    if changed:
        notes.append(
            "Training mode: dropout was set to 0 in "
            + ", ".join(changed)
            + " so the run is deterministic; in real training Keras drops units at random there."
        )
    if random_layers:
        notes.append(
            "Training mode: "
            + ", ".join(random_layers)
            + " transform their inputs at random; outputs from them on cannot be compared."
        )
    return notes
