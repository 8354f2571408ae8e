"""The writer matrix: every file a Keras writer wrote (tests/writers/files/<writer>/, see the
README there), read by the product and held against the writer's own numbers.

Per file: the report's totals and its get_weights() order and shapes equal what the writer's
`count_params()`, trainable/non-trainable split and `get_weights()` said (`NAME.numbers.json`);
our reference forward, on the writer's seeded input, gives the writer's `predict` within the
check's tolerance (`NAME.npz`; a spec runs with the writer's weights). Every model of every
writer goes through the whole check with Keras 3.15.1 (in one of its formats, turning; every
file with KEX_MATRIX_CHECKS=all): it passes, or, when Keras 3.15.1 itself cannot load the
file (even after the product's key fixes), it passes or says `unsupported`, never failed,
error or refused.

Where a writer computed something Keras 3.15 computes otherwise (Keras 2's hard_sigmoid,
RandomCrop at inference before Keras 3.8, the calls Keras 3.2 lost from its references), the
report must say so, naming the layers, and the reference is held to the writer's outputs
with the writer's behaviour written by hand (writers_semantics.py).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from app.analysis.reference import materialize_weights, run_reference
from app.analysis.resolve import resolve
from app.check.compare import HALF_PRECISION_TOLERANCE, compared_model, errors
from app.check.keras3_files import write_keras3_copy
from app.config import Settings
from app.explain import explain_file, explain_spec
from app.formats import ReadLimits, read_model, read_spec
from app.reference import FORWARDS
from app.reference.activations import ACTIVATIONS
from tests.support.api import make_client, post, post_file
from tests.writers.known_failures import known_cause
from tests.writers.writers_semantics import (
    KERAS_2,
    crop_at_inference,
    hard_sigmoid_layers,
    keras2_hard_sigmoid,
    keras_version,
    repoint_keras_3_2_calls,
)

FILES = Path(__file__).parent / "files"
FORMATS = {".h5": "legacy_h5", ".keras": "keras_v3", ".json": "spec_json"}
TOLERANCE = Settings().check_tolerance
IN_PROCESS = ReadLimits(isolate_hdf5=False)  # the files are ours; no throwaway reader needed
CHECKED_MODEL = "sequential"  # Conv2D, trained-looking BatchNormalization, Dense, Softmax
# Through the service's own pool (a TensorFlow import per check): one writer of each kind.
POOL_WRITERS = ("keras-3.15.1", "tf.keras-2.12", "tf_keras-2.21")


@dataclass(frozen=True)
class WriterFile:
    """One model file of one writer, with the writer's numbers beside it."""

    writer: str
    model: str
    suffix: str

    @property
    def path(self) -> Path:
        return FILES / self.writer / f"{self.model}{self.suffix}"

    @property
    def numbers(self) -> dict:
        return json.loads((FILES / self.writer / f"{self.model}.numbers.json").read_text())

    def arrays(self, prefix: str) -> list[np.ndarray]:
        with np.load(FILES / self.writer / f"{self.model}.npz", allow_pickle=False) as npz:
            count = sum(1 for key in npz.files if key[0] == prefix and key[1:].isdigit())
            return [npz[f"{prefix}{i}"] for i in range(count)]

    def __str__(self) -> str:  # the test id
        return f"{self.writer}/{self.model}{self.suffix}"


def writer_files() -> list[WriterFile]:
    found = []
    for numbers in sorted(FILES.glob("*/*.numbers.json")):
        model = numbers.name.removesuffix(".numbers.json")
        for name in json.loads(numbers.read_text())["files"]:
            suffix = Path(name).suffix
            found.append(WriterFile(numbers.parent.name, model, suffix))
    return found


ALL = writer_files()
CHECKED = [f for f in ALL if f.model == CHECKED_MODEL and f.writer in POOL_WRITERS]


def rotated_formats(files: list[WriterFile]) -> list[WriterFile]:
    """Every model of every writer once, its format turning with the writer and the model,
    so that each (model, format) is checked by several writers of each kind: a check of every
    file takes three times as long (KEX_MATRIX_CHECKS=all runs them all)."""
    writers = sorted({f.writer for f in files})
    models = sorted({f.model for f in files})
    chosen = []
    for w, writer in enumerate(writers):
        for m, model in enumerate(models):
            formats = [f for f in files if (f.writer, f.model) == (writer, model)]
            if formats:
                chosen.append(formats[(w + m) % len(formats)])
    return chosen


EVERY_MODEL = ALL if os.environ.get("KEX_MATRIX_CHECKS") == "all" else rotated_formats(ALL)


def one_per_model(files: list[WriterFile]) -> set[str]:
    """Of the rotated checks, one per model, its writer turning with the model (every kind of
    writer and every format comes up): CI's share of the sweep (`slow`), 51 s measured apart."""
    models = sorted({f.model for f in files})
    chosen = set()
    for m, model in enumerate(models):
        of_model = [f for f in files if f.model == model]
        chosen.add(str(of_model[(7 * m) % len(of_model)]))
    return chosen


IN_CI = one_per_model(rotated_formats(ALL))


def checks_marked(files: list[WriterFile]) -> list:
    """Each file as a test parameter: `slow` (CI) when in IN_CI, else `sweep` (by hand)."""
    return [
        pytest.param(f, id=str(f), marks=pytest.mark.slow if str(f) in IN_CI else pytest.mark.sweep)
        for f in files
    ]


def test_the_matrix_is_there():
    """Every writer folder holds files, and every model's files are listed."""
    writers = {f.writer for f in ALL}
    assert len(writers) == len([p for p in FILES.iterdir() if p.is_dir()]) > 0
    assert all(f.path.is_file() for f in ALL)


def explained(f: WriterFile):
    if f.suffix == ".json":
        return explain_spec(f.path.read_text())
    return explain_file(f.path, limits=IN_PROCESS)


@pytest.mark.parametrize("f", ALL, ids=str)
def test_report_totals_and_weights_match_the_writer(f):
    numbers = f.numbers
    report = explained(f).report
    assert report.source.format == FORMATS[f.suffix]
    totals = report.totals
    assert (totals.params, totals.trainable, totals.non_trainable) == (
        numbers["count_params"],
        numbers["trainable"],
        numbers["non_trainable"],
    )
    weights = sorted((w for layer in report.layers for w in layer.weights), key=lambda w: w.index)
    assert [w.index for w in weights] == list(range(len(numbers["weight_shapes"])))
    assert [list(w.shape) for w in weights] == numbers["weight_shapes"]


NESTED = [f for f in ALL if f.model == "nested_shared" and f.suffix != ".h5"]


@pytest.mark.parametrize("f", NESTED, ids=str)
def test_scan_refuses_no_nested_model_a_writer_wrote(f):
    """tf.keras 2.12+ and tf_keras name a nested model's module where its class is defined
    (`keras.src.engine.functional`, `tf_keras.src.engine.functional`): Keras' own class."""
    loaded_cm = read_spec(f.path.read_text()) if f.suffix == ".json" else None
    with loaded_cm or read_model(f.path, IN_PROCESS) as loaded:
        assert loaded.refusals == []


def spec_of(f: WriterFile) -> Path:
    """The writer's `to_json()` of the same model: the same layers, by the same names."""
    return FILES / f.writer / f"{f.model}.json"


def uses_hard_sigmoid(f: WriterFile) -> bool:
    return bool(KERAS_2.match(f.writer)) and bool(hard_sigmoid_layers(spec_of(f)))


def crops_at_inference(f: WriterFile) -> bool:
    return f.model == "preprocessing" and crop_at_inference(keras_version(f.writer)) is not None


def lost_later_calls(f: WriterFile) -> bool:
    return f.model == "nested_shared" and keras_version(f.writer) == (3, 2)


@pytest.fixture
def writers_semantics(monkeypatch, request):
    """Our forward computes what this file's writer computed where Keras 3.15 computes
    otherwise (the report says so: test_report_says_what_the_writer_computed_otherwise)."""
    f = request.node.callspec.params["f"]
    if uses_hard_sigmoid(f):
        monkeypatch.setitem(ACTIVATIONS, "hard_sigmoid", keras2_hard_sigmoid)
    if crops_at_inference(f):
        monkeypatch.setitem(FORWARDS, "RandomCrop", crop_at_inference(keras_version(f.writer)))


@pytest.mark.parametrize("f", ALL, ids=str)
def test_reference_gives_the_writers_predict(f, writers_semantics):
    inputs, expected = f.arrays("x"), f.arrays("y")
    if f.suffix == ".json":
        loaded_cm, in_file = read_spec(f.path.read_text()), False
    else:
        loaded_cm, in_file = read_model(f.path, IN_PROCESS), True
    with loaded_cm as loaded:
        if lost_later_calls(f):
            repoint_keras_3_2_calls(loaded.graph)
        resolve(loaded.graph, weights_in_file=in_file)
        weights = materialize_weights(loaded.graph)
        if not in_file:  # the spec runs with the writer's weights, which must fit ours
            written = f.arrays("w")
            assert [w.shape for w in weights] == [w.shape for w in written]
            weights = written
        outputs = run_reference(loaded.graph, weights, inputs, keep_all=False).outputs
        held_to = half_precision_tolerance(loaded.graph)
    assert len(outputs) == len(expected)
    for i, (ours, theirs) in enumerate(zip(outputs, expected, strict=True)):
        assert ours.shape == theirs.shape, f"output {i}"
        _, relative = errors(ours, theirs)
        assert relative <= held_to, f"output {i}: relative error {relative:.3g}"


def half_precision_tolerance(graph) -> float:
    """The check's tolerance; a model with layers computing in float16 or bfloat16 (the
    `mixed_precision` model), the coarsest of their dtypes' (app.check.compare): their
    rounding reaches the outputs through the float32 layers after them."""
    halves = compared_model(graph).precision.values()
    return max([TOLERANCE, *(HALF_PRECISION_TOLERANCE[dtype] for dtype in halves)])


SEMANTICS = [  # the models where a writer's semantics differ; files the reader can read
    f
    for f in ALL
    if f.model in ("convlstm", "volume", "preprocessing", "nested_shared")
    and known_cause("report", f.writer, f"{f.model}{f.suffix}") is None
]


def records_version(f: WriterFile) -> bool:
    """Every format records the Keras that wrote it, but a Keras 3 spec."""
    return f.suffix != ".json" or bool(KERAS_2.match(f.writer))


@pytest.mark.parametrize("f", SEMANTICS, ids=str)
def test_report_says_what_the_writer_computed_otherwise(f):
    warnings = explained(f).report.warnings
    hard_sigmoid = [w for w in warnings if w.startswith("hard_sigmoid means")]
    crop = [w for w in warnings if w.startswith("RandomCrop ")]
    calls = [w for w in warnings if w.startswith("Layers called more than once")]
    if uses_hard_sigmoid(f):
        [warning] = hard_sigmoid
        named = re.search(r"compute (.*) differently", warning).group(1)
        layers = [f"{layer} (recurrent_activation)" for layer in hard_sigmoid_layers(spec_of(f))]
        assert named.split(", ") == layers
    else:
        assert not hard_sigmoid
    if crops_at_inference(f):
        [warning] = crop
        assert warning.startswith("RandomCrop random_crop: ")
        if not records_version(f):
            assert "which the file does not record" in warning
        else:
            major, minor = keras_version(f.writer)
            assert re.search(
                rf"written by Keras {major}\.{minor}\.\d+, which at inference ", warning
            )
            resized = keras_version(f.writer) < (3, 6)
            assert ("smart_resize" in warning) is resized
            assert ("top-left corner" in warning) is not resized
        assert "return the input unchanged" in warning
    elif records_version(f):
        assert not crop  # Keras 3.8+ files that record their version: nothing to say
    if lost_later_calls(f):
        [warning] = calls
        assert "shared_dense (call 2 of 2), inner_sequential (call 2 of 2)" in warning
        assert ("Keras 3.2, which wrote this file" in warning) is (f.suffix != ".json")
    else:
        assert not calls


def keras_3_loads(f: WriterFile) -> bool:
    """Whether the service's Keras 3.15.1 loads the file, as written or after the product's
    own key fixes (app.check.keras3_copy), the way the check's worker loads it (a spec
    without Keras 3's `module` keys through Keras 3's legacy reader)."""
    from app.check.keras.loading import model_from_text
    from tests.support.kerasref import keras

    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / f"copy{f.suffix}"
        for path in (f.path, copy):
            try:
                if path == copy:
                    write_keras3_copy(f.path, FORMATS[f.suffix], copy)
                with warnings.catch_warnings():  # as in the worker: no errors
                    warnings.simplefilter("ignore")
                    if f.suffix == ".json":
                        model_from_text(keras, path.read_text())
                    else:
                        keras.saving.load_model(path, compile=False, safe_mode=True)
                return True
            except Exception:
                continue
    return False


@pytest.fixture(scope="module")
def in_process_client(tmp_path_factory):
    """One app whose checks run Keras in this process (tests/support/keras_in_process.py):
    a check per matrix file, without a TensorFlow import per check."""
    from tests.support.keras_in_process import InProcessPool

    with make_client(tmp_path_factory.mktemp("matrix"), InProcessPool()) as client:
        yield client


def checked(client, f: WriterFile) -> dict:
    if f.suffix == ".json":
        response = post(client, json={"spec": f.path.read_text()})
    else:
        response = post_file(client, f.path)
    # 200: the same bytes were checked already and their report is answered (content
    # addressed): Keras 3.x specs do not record the version, so writers of several minors
    # wrote byte-identical `to_json()` for some models (keras-3.2.1/sequence.json is 3.1.1's)
    assert response.status_code in (200, 201), response.text
    return response.json()["check"]


def assert_passes_where_keras_3_loads(f: WriterFile, check: dict) -> None:
    # Where Keras 3.15.1 cannot load the file as written, the product may still run it (its
    # own key fixes, a spec rebuilt); it must then pass, or say why Keras cannot: never fail.
    allowed = ("passed",) if keras_3_loads(f) else ("passed", "unsupported")
    assert check["status"] in allowed, (check["status"], check.get("code"), check.get("message"))


@pytest.mark.slow  # 9 checks, a Keras worker each (CI runs make test-slow)
@pytest.mark.parametrize("f", CHECKED, ids=str)
def test_check_passes_where_keras_3_loads(f, warm_pool, tmp_path):
    """Through the service's own pool: a sandboxed Keras worker per check."""
    with warm_pool.client(tmp_path) as client:
        check = checked(client, f)
    assert_passes_where_keras_3_loads(f, check)


# 340 checks: one per model in CI (IN_CI, `slow`), the rest in make test-sweep, by hand
@pytest.mark.parametrize("f", checks_marked(EVERY_MODEL))
def test_every_model_checks_where_keras_3_loads(f, in_process_client):
    """Every model of every writer through the whole check, Keras run in this process."""
    assert_passes_where_keras_3_loads(f, checked(in_process_client, f))
