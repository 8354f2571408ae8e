"""A layer over the tolerance end to end is judged again on Keras' own inputs
(app.check.rejudge): the comparison as the serving process runs it (app.check.arrivals),
its questions answered as they come by our side's `Judge` (app.check.rejudge_side, as the
check's reference process holds it), or at the end by a reference process of its own
(app.check.pipeline.judge_again), on Keras' outputs written here by hand.

The model: Input(2) → Dense a (kernel I) → Dense b (kernel I, bias [-0.9, -1.9]) →
Dense c (kernel I, bias [100, 100]), the inputs x = [[1, 2], [3, 4]]. Our forward gives
a = x, b = x + bias_b = [[0.1, 0.1], [2.1, 2.1]], c = b + 100. Keras' a is written here as
x·(1 + 0.9e-4): a passes (relative error 0.9e-4 / 1.00009 < 1e-4), and b, which subtracts
most of it away, carries 4 × 0.9e-4 = 3.6e-4 against a scale of 2.1 + 3.6e-4: 1.714e-4 end
to end, over 1e-4. Keras' b written as Keras' a + bias_b is exactly what our Dense computes
from Keras' a (an identity kernel multiplies exactly), so b is within 0 on Keras' inputs;
c = b + 100 carries 3.6e-4 / 102.1 = 3.5e-6 (passes end to end).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from app.analysis.reference import materialize_weights
from app.analysis.resolve import resolve
from app.check.arrivals import Arrivals
from app.check.check import Check
from app.check.compare import Comparison, compare, compared_model
from app.check.folder import CheckFolder
from app.check.keras_side import mapped_side
from app.check.pipeline import judge_again
from app.check.plan import CheckPlan
from app.check.rejudge import KerasKeep, judged_again, with_outputs_noted
from app.check.rejudge_side import Judge
from app.check.streaming import KERAS_LAYERS, KERAS_LIST, REFERENCE_LIST, append_line
from app.check.warm_reference import WarmReference
from app.formats import read_model
from app.schemas import CheckLayer, CheckOutput
from tests.support.kerasref import keras

TOLERANCE = 1e-4
X = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
BIAS_B = np.array([-0.9, -1.9], dtype=np.float32)
BIAS_C = np.array([100.0, 100.0], dtype=np.float32)
KERAS_A = X * np.float32(1 + 0.9e-4)
NAMES = ["a", "b", "c"]


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    layers = keras.layers
    model = keras.Sequential(
        [keras.Input((2,)), layers.Dense(2, name="a"), layers.Dense(2, name="b")]
        + [layers.Dense(2, name="c")]
    )
    for layer, bias in zip(model.layers, [np.zeros(2), BIAS_B, BIAS_C], strict=True):
        layer.set_weights([np.eye(2, dtype=np.float32), bias.astype(np.float32)])
    path = tmp_path_factory.mktemp("rejudge") / "abc.keras"
    model.save(path)
    return path


@pytest.fixture(scope="module")
def references():
    spares = WarmReference()
    yield spares
    spares.stop()


def check_of(folder: Path, model_file: Path) -> Check:
    shutil.copy(model_file, folder / CheckFolder.MODEL)
    np.savez(folder / CheckFolder.INPUTS, x0=X)
    with read_model(model_file) as loaded:
        compared = compared_model(loaded.graph)
    return Check(
        report_id="r",
        folder=CheckFolder(folder),
        kind="file",
        format="keras",
        plan=CheckPlan(inputs=[], compared=compared),
        mode="inference",
        seed=0,
        tolerance=TOLERANCE,
        timeout_s=120.0,
    )


def write_sides(folder: Path, keras_b: np.ndarray) -> None:
    """Both sides' files and lists, as the two processes write them (app.check.streaming):
    Keras' outputs/<i>.npy, ours reference/<i>.npy, c (the model's output) on both."""
    ours_b = X + BIAS_B
    ours = {"a": X, "b": ours_b, "c": ours_b + BIAS_C}
    theirs = {"a": KERAS_A, "b": keras_b, "c": keras_b + BIAS_C}
    (folder / "outputs").mkdir()
    (folder / "reference").mkdir()
    listing = {
        "layers": [{"name": n, "outputs": [f"outputs/{i}.npy"]} for i, n in enumerate(NAMES)],
        "model_outputs": ["outputs/2.npy"],
    }
    (folder / KERAS_LAYERS).write_text(json.dumps(listing))
    for i, name in enumerate(NAMES):
        np.save(folder / f"outputs/{i}.npy", theirs[name].astype(np.float32))
        append_line(folder / KERAS_LIST, {"path": f"outputs/{i}.npy", "shape": [2, 2]})
        np.save(folder / f"reference/{i}.npy", ours[name].astype(np.float32))
        append_line(folder / REFERENCE_LIST, {"layer": name, "paths": [f"reference/{i}.npy"]})
    np.save(folder / "reference/9.npy", ours["c"].astype(np.float32))


def compared(
    folder: Path,
    model_file: Path,
    keras_b: np.ndarray,
    room: int | None = None,
    judge: Judge | None = None,
):
    """The check, its arrivals (every layer taken; with `judge`, our side answering as the
    check's reference process does) and the comparison, end to end."""
    check = check_of(folder, model_file)
    write_sides(folder, keras_b)
    arrivals = Arrivals(folder, check.plan.compared, TOLERANCE, judging=judge is not None)
    if room is not None:
        arrivals.keep = KerasKeep(folder, check.plan.compared.inbound, room=room)
    arrivals.take()
    if judge is not None:
        judge.serve()
        arrivals.take()
    assert set(arrivals.done) == set(NAMES)
    ours = mapped_side(folder, {}, ["reference/9.npy"])
    theirs = mapped_side(folder, {}, ["outputs/2.npy"])
    return check, arrivals, compare(check.plan.compared, ours, theirs, TOLERANCE, arrivals.done)


def judged(folder: Path, model_file: Path, references, keras_b: np.ndarray):
    check, arrivals, comparison = compared(folder, model_file, keras_b)
    end_to_end = {layer.name: layer for layer in comparison.layers}
    return end_to_end, judge_again(check, references, comparison, arrivals, deadline=1e12)


def test_a_layer_over_tolerance_end_to_end_and_exact_on_keras_inputs_passes_with_a_note(
    tmp_path, model_file, references
):
    end_to_end, comparison = judged(tmp_path, model_file, references, KERAS_A + BIAS_B)
    assert [end_to_end[n].verdict for n in NAMES] == ["passed", "failed", "passed"]
    assert end_to_end["b"].max_rel_error == pytest.approx(3.6e-4 / 2.10036, rel=1e-3)
    b = comparison.layers[1]
    assert (b.name, b.verdict) == ("b", "passed")
    assert b.max_rel_error == end_to_end["b"].max_rel_error  # the end-to-end error stays
    assert b.note == (
        "On Keras' own inputs this layer is within 0.00e+00; the 1.71e-04 it shows end to end "
        "is what its inputs carry."
    )
    assert comparison.first_divergence is None
    assert comparison.passed
    assert (tmp_path / "rejudge/end-0.npy").is_file()  # our b, run on Keras' a


def test_a_layer_wrong_on_keras_inputs_is_the_first_divergence(tmp_path, model_file, references):
    wrong = (KERAS_A + BIAS_B).copy()
    wrong[1, 0] += np.float32(1e-3)  # Keras' b is not Keras' a + bias_b: b itself differs
    _, comparison = judged(tmp_path, model_file, references, wrong)
    b = comparison.layers[1]
    assert (b.name, b.verdict) == ("b", "failed")
    # Keras' b[1, 0] = 3 × (1 + 0.9e-4) − 0.9 + 1e-3 = 2.10127, its largest value. On
    # Keras' inputs: 1e-3 / 2.10127 = 4.76e-4; end to end 2.7e-4 + 1e-3 over it: 6.04e-4.
    assert b.note == (
        "On Keras' own inputs this layer is off by 4.76e-04 too (over 0.0001): its own "
        "computation differs from Keras' (end to end: 6.04e-04)."
    )
    assert comparison.first_divergence == "b"
    assert not comparison.passed


def test_keras_files_a_layer_still_to_be_compared_takes_are_kept_then_deleted(tmp_path):
    """a → b → c: a's file waits for b, b's for c; once c has passed nothing is kept."""
    for name in NAMES:
        (tmp_path / "outputs").mkdir(exist_ok=True)
        np.save(tmp_path / f"outputs/{name}.npy", np.zeros(4, np.float32))
    keep = KerasKeep(tmp_path, {"a": [], "b": ["a"], "c": ["b"]})
    keep.compared("a", failed=False)
    keep.taken("a", "outputs/a.npy")
    assert keep.where("outputs/a.npy") == "kept/a.npy"
    assert (tmp_path / "kept/a.npy").is_file()
    keep.compared("b", failed=False)
    keep.taken("b", "outputs/b.npy")
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["b.npy"]
    keep.compared("c", failed=False)
    keep.taken("c", "outputs/c.npy")
    assert list((tmp_path / "kept").iterdir()) == []
    assert list((tmp_path / "outputs").iterdir()) == []
    assert keep.bytes == 0  # the room is free again


def test_the_kept_room_holds_files_until_their_takers_have_passed(tmp_path):
    """Files of 144 bytes (a .npy of 4 float32: its 128-byte header and 16 bytes) in a room
    of 300: a's and b's fit, c's does not (deleted); once d, which takes them, has passed,
    the room is empty."""
    (tmp_path / "outputs").mkdir()
    for name in "abcd":
        np.save(tmp_path / f"outputs/{name}.npy", np.zeros(4, np.float32))
    keep = KerasKeep(tmp_path, {"a": [], "b": [], "c": [], "d": ["a", "b", "c"]}, room=300)
    for name in "ab":
        keep.compared(name, failed=False)
        keep.taken(name, f"outputs/{name}.npy")
    keep.compared("c", failed=False)
    keep.taken("c", "outputs/c.npy")
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["a.npy", "b.npy"]
    assert keep.bytes == 288
    keep.compared("d", failed=False)
    assert keep.bytes == 0


def test_keras_files_of_a_failed_layer_and_its_inputs_are_pinned(tmp_path):
    (tmp_path / "outputs").mkdir()
    for name in NAMES:
        np.save(tmp_path / f"outputs/{name}.npy", np.zeros(4, np.float32))
    keep = KerasKeep(tmp_path, {"a": [], "b": ["a"], "c": ["b"]})
    keep.compared("a", failed=False)
    keep.taken("a", "outputs/a.npy")
    keep.compared("b", failed=True)
    keep.taken("b", "outputs/b.npy")
    keep.compared("c", failed=False)
    keep.taken("c", "outputs/c.npy")
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["a.npy", "b.npy"]


def test_a_file_beyond_the_kept_room_is_deleted_and_its_taker_not_judged_again(
    tmp_path, model_file, references
):
    """A room of 100 bytes holds none of the 144-byte files (a .npy of 2 × 2 float32)."""
    check, arrivals, comparison = compared(tmp_path, model_file, KERAS_A + BIAS_B, room=100)
    comparison = judge_again(check, references, comparison, arrivals, deadline=1e12)
    b = comparison.layers[1]
    assert b.verdict == "failed"
    assert b.note.startswith("Not judged on Keras' own inputs: Keras' outputs of b, a were not")
    assert comparison.first_divergence == "b"


def test_judged_again_says_both_errors_in_words():
    layer = CheckLayer(
        name="se_expand",
        class_name="Conv2D",
        output_shape=[[2, 1, 1, 96]],
        max_abs_error=2.0e-5,
        max_rel_error=1.04e-4,
        verdict="failed",
    )
    again = layer.model_copy(update={"max_abs_error": 6e-8, "max_rel_error": 3.1e-7})
    passed = judged_again(layer, again, None, TOLERANCE)
    assert (passed.verdict, passed.max_rel_error) == ("passed", 1.04e-4)
    assert passed.note == (
        "On Keras' own inputs this layer is within 3.10e-07; the 1.04e-04 it shows end to end "
        "is what its inputs carry."
    )
    not_judged = judged_again(layer, None, "Not judged on Keras' own inputs: why.", TOLERANCE)
    assert (not_judged.verdict, not_judged.note) == (
        "failed",
        "Not judged on Keras' own inputs: why.",
    )


def test_a_layer_is_not_judged_again_once_the_checks_time_is_up(tmp_path, model_file, references):
    check, arrivals, comparison = compared(tmp_path, model_file, KERAS_A + BIAS_B)
    comparison = judge_again(check, references, comparison, arrivals, deadline=0.0)
    b = comparison.layers[1]
    assert (b.verdict, b.note) == (
        "failed",
        "Not judged on Keras' own inputs: The check took longer than 120 s.",
    )
    assert comparison.first_divergence == "b"


def judge_of(folder: Path, model_file: Path) -> Judge:
    """Our side's judge, as the check's reference process holds it."""
    with read_model(model_file) as loaded:
        graph = loaded.graph
        resolve(graph, weights_in_file=True)
        weights = materialize_weights(graph)
    return Judge(folder, graph, weights, [X], training=False)


def test_a_layer_is_judged_on_keras_inputs_as_it_comes_and_its_kept_files_freed(
    tmp_path, model_file
):
    """Asked as b fails end to end, answered by our side, judged: b passes, and Keras'
    files kept for it (a's, b's) are deleted once it is, like our answer's."""
    judge = judge_of(tmp_path, model_file)
    _, arrivals, comparison = compared(tmp_path, model_file, KERAS_A + BIAS_B, judge=judge)
    b = comparison.layers[1]
    assert (b.verdict, b.max_rel_error) == ("passed", pytest.approx(3.6e-4 / 2.10036, rel=1e-3))
    assert b.note == (
        "On Keras' own inputs this layer is within 0.00e+00; the 1.71e-04 it shows end to end "
        "is what its inputs carry."
    )
    assert comparison.passed and arrivals.awaiting == {}
    assert list((tmp_path / "kept").iterdir()) == []
    assert sorted(p.name for p in (tmp_path / "rejudge").iterdir()) == [
        "asked.jsonl",
        "judged.jsonl",
    ]


def test_a_layer_wrong_on_keras_inputs_as_it_comes_is_the_first_divergence(tmp_path, model_file):
    wrong = (KERAS_A + BIAS_B).copy()
    wrong[1, 0] += np.float32(1e-3)
    judge = judge_of(tmp_path, model_file)
    _, _, comparison = compared(tmp_path, model_file, wrong, judge=judge)
    b = comparison.layers[1]
    assert (b.verdict, comparison.first_divergence) == ("failed", "b")
    assert b.note.startswith("On Keras' own inputs this layer is off by 4.76e-04 too")


def carried_layer(name: str) -> CheckLayer:
    """Over the tolerance end to end (2e-4), within it on Keras' own inputs."""
    layer = CheckLayer(
        name=name,
        class_name="Dense",
        output_shape=[[2, 3]],
        max_abs_error=4e-4,
        max_rel_error=2e-4,
        verdict="failed",
    )
    return judged_again(layer, layer.model_copy(update={"max_rel_error": 1e-7}), None, TOLERANCE)


def output(name: str) -> CheckOutput:
    return CheckOutput(name=name, shape=[2, 3], max_abs_error=4e-4, max_rel_error=2e-4)


def test_a_model_output_over_tolerance_passes_when_its_layer_passed_on_keras_inputs():
    comparison = Comparison([carried_layer("c")], [output("c")], None, TOLERANCE)
    assert comparison.passed
    [noted] = with_outputs_noted(comparison).outputs
    assert noted.note == (
        "2.00e-04 from Keras' end to end, over the tolerance; its layer c: On Keras' own inputs "
        "this layer is within 1.00e-07; the 2.00e-04 it shows end to end is what its inputs carry."
    )


def test_a_model_output_no_compared_layer_gives_is_held_to_the_tolerance_end_to_end():
    """`x * 2.0` after layer c is a Keras operation: no layer verdict covers its output."""
    comparison = Comparison([carried_layer("c")], [output("multiply_op")], None, TOLERANCE)
    assert not comparison.passed
    assert with_outputs_noted(comparison).outputs[0].note is None
