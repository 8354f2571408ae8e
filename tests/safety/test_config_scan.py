"""The config scan against the hostile corpus: every denied construct, in `.keras`, legacy
`.h5` and spec JSON, at the top level, in a nested model, inside TimeDistributed, and inside
the RNN a Bidirectional wraps. Each gives exactly one refusal, at that place; no canary fires."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import pytest

from app.analysis.resolve import resolve
from app.check.keras3_files import write_keras3_copy
from app.check.plan import plan_check
from app.errors import PathInConfig
from app.formats import read_model, read_spec
from app.safety.config_scan import looks_like_path, scan_model_config
from tests.support.hostile import (
    CANARY,
    CONSTRUCTS,
    FORMATS,
    POSITIONS,
    inject,
    lambda_bytecode,
    save_base,
    serialized,
    with_member,
    with_model_config,
)
from tests.support.kerasref import keras
from tests.support.models import layers


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    return save_base(tmp_path_factory.mktemp("base"))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("position", sorted(POSITIONS))
@pytest.mark.parametrize("construct", sorted(CONSTRUCTS))
def test_read_refuses_construct_wherever_it_sits(saved, tmp_path, construct, position, fmt):
    make, code = CONSTRUCTS[construct]
    path = POSITIONS[position]
    text = inject(saved.config(fmt), path[-1], make(tmp_path))
    with saved.read(fmt, text, tmp_path) as loaded:
        found = [(r.code, r.path) for r in loaded.refusals]
        reasons = [r.reason for r in loaded.refusals]
    assert found == [(code, path)]
    assert reasons[0].endswith(".")
    assert not (tmp_path / CANARY).exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_read_clean_base_model_has_no_refusals(saved, tmp_path, fmt):
    with saved.read(fmt, inject(saved.config(fmt), "top_dense", lambda e: None), tmp_path) as m:
        assert m.refusals == []
        assert {n.name for _, n in m.graph.walk()} >= {"top_dense", "inner_dense", "td", "bi"}


def test_canary_fires_when_keras_loads_the_same_file_unsafely(saved, tmp_path):
    """The payloads are live: Keras without safe mode runs the Lambda; our reader does not."""
    keras_dir, ours_dir = tmp_path / "keras", tmp_path / "ours"
    keras_dir.mkdir(), ours_dir.mkdir()
    for folder in (keras_dir, ours_dir):
        text = inject(saved.config("keras_v3"), "top_dense", lambda_bytecode(folder))
        with_member(saved.keras_path, folder, "config.json", text)
    with read_model(ours_dir / "made.keras") as loaded:
        assert [r.code for r in loaded.refusals] == ["lambda-layer"]
    try:
        keras.saving.load_model(keras_dir / "made.keras", safe_mode=False, compile=False)
    except Exception:  # the weights no longer fit the model; the Lambda has run by then
        pass
    assert (keras_dir / CANARY).exists()
    assert not (ours_dir / CANARY).exists()


# Compile settings Keras cannot deserialize: loading fails wherever Keras acts on them (a
# nested model in a `.keras` file or a spec, a spec's own model), which shows that it does.
UNCOMPILABLE = {
    "optimizer": {"module": "keras.optimizers", "class_name": "NoSuchOptimizer", "config": {}},
    "loss": "mse",
}
COMPILE_LEFT_OUT = "compile_config left out"


def _with_config(saved, fmt: str, text: str, folder: Path) -> Path:
    if fmt == "keras_v3":
        return with_member(saved.keras_path, folder, "config.json", text)
    if fmt == "legacy_h5":
        return with_model_config(saved.h5_path, folder, text)
    path = folder / "spec.json"
    path.write_text(text)
    return path


def _keras_loads(fmt: str, path: Path) -> bool:
    try:
        if fmt == "spec_json":
            keras.models.model_from_json(path.read_text())
        else:
            keras.saving.load_model(path, compile=False, safe_mode=True)
    except ValueError as exc:
        assert "NoSuchOptimizer" in str(exc)
        return False
    return True


@pytest.mark.parametrize(("fmt", "where"), [(f, "inner") for f in FORMATS] + [("spec_json", "")])
def test_compile_config_keras_acts_on_is_left_out_of_the_keras3_copy(saved, tmp_path, fmt, where):
    """Not refused, never handed to Keras: the plan names the change (so Keras is given the
    copy) and Keras loads the copy, where the file as written makes it compile."""
    config = saved.config(fmt)
    if where:
        text = inject(config, where, lambda e: e.update(compile_config=UNCOMPILABLE))
    else:
        text = json.dumps({**config, "compile_config": UNCOMPILABLE})
    path = _with_config(saved, fmt, text, tmp_path)
    with read_spec(text) if fmt == "spec_json" else read_model(path) as loaded:
        assert loaded.refusals == []
        resolve(loaded.graph, weights_in_file=fmt != "spec_json")
        plan = plan_check(loaded.graph)
    model = where or "outer"
    assert [r for r in plan.keras3_removals if COMPILE_LEFT_OUT in r] == [
        f"{model} ({'Sequential' if where else 'Functional'}): {COMPILE_LEFT_OUT} (Keras would "
        "compile the model from it even with compile=False; the check never compiles)"
    ]
    copy = tmp_path / f"copy{path.suffix}"
    write_keras3_copy(path, fmt, copy)
    assert "NoSuchOptimizer" not in _config_text(fmt, copy)
    assert _keras_loads(fmt, copy)
    assert _keras_loads(fmt, path) == (fmt == "legacy_h5")  # its legacy reader never compiles


def _config_text(fmt: str, path: Path) -> str:
    if fmt == "keras_v3":
        return _member(path, "config.json")
    if fmt == "legacy_h5":
        with h5py.File(path, "r") as h5:
            return h5.attrs["model_config"]
    return path.read_text()


def test_read_compiled_model_files_without_refusals(tmp_path):
    """Keras drops a file's own compile settings under compile=False, so they are no reason."""
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.save(tmp_path / "m.keras")
    model.save(tmp_path / "m.h5")
    assert '"compile_config": {' in _member(tmp_path / "m.keras", "config.json")
    for name in ("m.keras", "m.h5"):
        with read_model(tmp_path / name) as loaded:
            assert loaded.refusals == []


def _member(path, name):
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return archive.read(name).decode()


PATHS = [
    "/etc/passwd",
    "file:///etc/passwd",
    "https://evil.example/weights.h5",
    "../../secrets.txt",
    "~/.ssh/id_rsa",
    "C:\\Windows\\win.ini",
    "\\\\server\\share\\x",
    "s3://bucket/key",
]


def _constant(value):
    config = {"value": value}
    init = {"module": "keras.initializers", "class_name": "Constant", "config": config}
    return lambda entry: entry["config"].update(kernel_initializer=init)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("value", PATHS)
def test_read_raises_for_path_in_config(saved, tmp_path, fmt, value):
    text = inject(saved.config(fmt), "top_dense", _constant(value))
    with pytest.raises(PathInConfig) as info:
        saved.read(fmt, text, tmp_path)
    assert (info.value.code, info.value.status) == ("path-in-config", 400)
    assert info.value.details == {"path": ["top_dense"]}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("position", sorted(POSITIONS))
def test_read_raises_for_path_at_any_depth(saved, tmp_path, fmt, position):
    path = POSITIONS[position]
    text = inject(saved.config(fmt), path[-1], _constant("/etc/shadow"))
    with pytest.raises(PathInConfig) as info:
        saved.read(fmt, text, tmp_path)
    assert info.value.details == {"path": list(path)}


@pytest.mark.parametrize("text", PATHS + ["..", "a/../b", "x\\..\\y"])
def test_looks_like_path_flags_paths_and_urls(text):
    assert looks_like_path(text)


@pytest.mark.parametrize(
    "text",
    ["relu", "same", "channels_last", "ab,bc->ac", "block1/conv1", "float32", "2.4.0", "...",
     "mixed_float16", "conv2d_1/kernel:0", "a..b", "[UNK]", ""],
)  # fmt: skip
def test_looks_like_path_leaves_keras_strings_alone(text):
    assert not looks_like_path(text)


def test_scan_allows_builtin_activation_given_as_function():
    relu = {"module": "builtins", "class_name": "function", "config": "relu"}
    relu["registered_name"] = "function"
    assert relu == serialized(keras.activations.relu)  # what Keras writes for the function
    assert _refusals_with_activation(relu) == []
    assert _refusals_with_activation({**relu, "config": "eval"}) == [("unknown-activation", ("d",))]


def _refusals_with_activation(activation):
    config = {"name": "d", "units": 2, "activation": activation}
    dense = {"module": "keras.layers", "class_name": "Dense", "config": config}
    spec = {"class_name": "Sequential", "config": {"name": "s", "layers": [dense]}}
    return [(r.code, r.path) for r in scan_model_config(spec)]


def test_scan_allows_known_rnn_cells_and_refuses_unknown_ones():
    cells = [keras.layers.GRUCell(3), keras.layers.SimpleRNNCell(2)]
    model = keras.Sequential([keras.Input((5, 3)), layers.RNN(cells, name="rnn")])
    spec = model.get_config()
    spec = {"class_name": "Sequential", "config": spec}
    assert scan_model_config(spec) == []
    stacked = spec["config"]["layers"][1]["config"]["cell"]
    stacked["config"]["cells"][1]["class_name"] = "EvilCell"
    found = [(r.code, r.class_name, r.path) for r in scan_model_config(spec)]
    evil_path = ("rnn", stacked["config"]["name"], cells[1].name)
    assert found == [("unknown-layer", "EvilCell", evil_path)]


@pytest.mark.parametrize(
    "name", ["MobileNetV3Small", "ConvNeXtTiny", "EfficientNetB0", "NASNetMobile"]
)
def test_scan_keras_applications_have_no_refusals(name):
    """Keras' own architectures (ops in configs, application-private layers) pass the scan."""
    model = getattr(keras.applications, name)(weights=None)
    with read_spec(model.to_json()) as loaded:
        assert loaded.refusals == []


@pytest.mark.slow
def test_scan_inception_resnet_custom_scale_layer_has_no_refusals():
    model = keras.applications.InceptionResNetV2(weights=None, input_shape=(75, 75, 3))
    with read_spec(model.to_json()) as loaded:
        assert "CustomScaleLayer" in {n.class_name for _, n in loaded.graph.walk()}
        assert loaded.refusals == []
