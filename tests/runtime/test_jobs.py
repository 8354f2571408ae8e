"""The job contract without processes: request paths, result checks, the queue limit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.check.keras import (
    InvalidResult,
    JobRequest,
    PoolBusy,
    WorkerPool,
    load_output,
    read_result,
    write_arrays,
)
from app.check.keras.outputs import output_groups

MB = 1024 * 1024


def _result(job_dir: Path, outputs: list[str], shapes: list[list[int]]) -> None:
    layer = {"name": "dense", "class_name": "Dense", "outputs": outputs, "shapes": shapes}
    body = {"status": "ok", "layers": [layer], "model_outputs": outputs[:1]}
    (job_dir / "result.json").write_text(json.dumps(body))


def _request(job_dir: Path, **paths: str) -> JobRequest:
    fields = {
        "job_dir": str(job_dir),
        "model_path": str(job_dir / "model.keras"),
        "kind": "file",
        "inputs_path": str(job_dir / "inputs.npz"),
    }
    return JobRequest(**(fields | paths))


def test_read_result_accepts_npy_inside_job_dir(tmp_path):
    (tmp_path / "outputs").mkdir()
    np.save(tmp_path / "outputs" / "0.npy", np.ones((2, 3), "float32"))
    _result(tmp_path, ["outputs/0.npy"], [[2, 3]])

    result = read_result(tmp_path, MB, MB)

    assert result.status == "ok"
    assert result.layers[0].shapes == [[2, 3]]
    assert load_output(tmp_path, "outputs/0.npy").tolist() == [[1.0] * 3] * 2


def test_read_result_accepts_a_layer_file_the_comparison_took_but_not_a_missing_model_output(
    tmp_path,
):
    """The check's comparison deletes a layer's files once compared (app.check.arrivals);
    the model's outputs it keeps, so one of them missing breaks the contract."""
    (tmp_path / "outputs").mkdir()
    np.save(tmp_path / "outputs" / "1.npy", np.ones((2, 3), "float32"))
    layer = {
        "name": "dense",
        "class_name": "Dense",
        "outputs": ["outputs/0.npy", "outputs/1.npy"],
        "shapes": [[2, 3], [2, 3]],
    }
    body = {"status": "ok", "layers": [layer], "model_outputs": ["outputs/1.npy"]}
    (tmp_path / "result.json").write_text(json.dumps(body))
    assert read_result(tmp_path, MB, MB).status == "ok"
    body["model_outputs"] = ["outputs/0.npy"]
    (tmp_path / "result.json").write_text(json.dumps(body))
    with pytest.raises(InvalidResult, match="not a file inside"):
        read_result(tmp_path, MB, MB)


def test_read_result_accepts_a_layer_file_deleted_while_it_is_read(tmp_path, monkeypatch):
    """The comparison runs on its own thread: a layer's file can be deleted between the check
    that it exists and the reading of its header (once a `pool-error` under load)."""
    from app.check.keras import jobs

    (tmp_path / "outputs").mkdir()
    for i in range(2):
        np.save(tmp_path / "outputs" / f"{i}.npy", np.ones((2, 3), "float32"))
    layer = {
        "name": "dense",
        "class_name": "Dense",
        "outputs": ["outputs/0.npy", "outputs/1.npy"],
        "shapes": [[2, 3], [2, 3]],
    }
    body = {"status": "ok", "layers": [layer], "model_outputs": []}
    (tmp_path / "result.json").write_text(json.dumps(body))
    header = jobs._npy_shape

    def deleted_first(path: Path):
        path.unlink()  # the comparison took it just now
        return header(path)

    monkeypatch.setattr(jobs, "_npy_shape", deleted_first)
    assert read_result(tmp_path, MB, MB).status == "ok"  # no model output among them
    for i in range(2):
        np.save(tmp_path / "outputs" / f"{i}.npy", np.ones((2, 3), "float32"))
    body["model_outputs"] = ["outputs/1.npy"]  # kept to the end: gone, it breaks the contract
    (tmp_path / "result.json").write_text(json.dumps(body))
    with pytest.raises(InvalidResult, match="'outputs/1.npy' is not a file inside"):
        read_result(tmp_path, MB, MB)


@pytest.mark.parametrize("path", ["../outside.npy", "/tmp/outside.npy", "outputs/link.npy"])
def test_read_result_rejects_path_outside_job_dir(tmp_path, path):
    job_dir = tmp_path / "job"
    (job_dir / "outputs").mkdir(parents=True)
    np.save(tmp_path / "outside.npy", np.ones(2))
    (job_dir / "outputs" / "link.npy").symlink_to(tmp_path / "outside.npy")
    _result(job_dir, [path], [[2]])

    with pytest.raises(InvalidResult, match="not a"):
        read_result(job_dir, MB, MB)


def test_read_result_rejects_object_array(tmp_path):
    (tmp_path / "outputs").mkdir()
    np.save(tmp_path / "outputs" / "0.npy", np.array([{"a": 1}], dtype=object))
    _result(tmp_path, ["outputs/0.npy"], [[1]])

    with pytest.raises(InvalidResult, match="Python objects"):
        read_result(tmp_path, MB, MB)


def test_read_result_rejects_oversized_output(tmp_path):
    (tmp_path / "outputs").mkdir()
    np.save(tmp_path / "outputs" / "0.npy", np.zeros(1000, "float32"))
    _result(tmp_path, ["outputs/0.npy"], [[1000]])

    with pytest.raises(InvalidResult, match="larger than 1000 bytes"):
        read_result(tmp_path, 1000, MB)


def test_read_result_caps_array_bytes_not_the_npy_header(tmp_path):
    """A cap is what the budgets admit of a layer's output: 1000 float32 values are 4000
    bytes, in a file of 4128 with its header."""
    (tmp_path / "outputs").mkdir()
    np.save(tmp_path / "outputs" / "0.npy", np.zeros(1000, "float32"))
    _result(tmp_path, ["outputs/0.npy"], [[1000]])
    assert (tmp_path / "outputs" / "0.npy").stat().st_size > 4000

    assert read_result(tmp_path, 4000, 4000).status == "ok"
    with pytest.raises(InvalidResult, match="larger than 3999 bytes together"):
        read_result(tmp_path, 4000, 3999)


def test_read_result_rejects_wrong_declared_shape(tmp_path):
    (tmp_path / "outputs").mkdir()
    np.save(tmp_path / "outputs" / "0.npy", np.zeros((2, 3), "float32"))
    _result(tmp_path, ["outputs/0.npy"], [[3, 2]])

    with pytest.raises(InvalidResult, match="declared shape"):
        read_result(tmp_path, MB, MB)


def test_read_result_rejects_unknown_fields(tmp_path):
    (tmp_path / "result.json").write_text(json.dumps({"status": "ok", "pickle": "gASV"}))

    with pytest.raises(InvalidResult, match="schema"):
        read_result(tmp_path, MB, MB)


def test_request_rejects_path_outside_job_dir(tmp_path):
    with pytest.raises(ValueError, match="inputs_path must be a file inside job_dir"):
        _request(tmp_path / "job", inputs_path=str(tmp_path / "elsewhere.npz"))


def test_request_line_is_one_json_line(tmp_path):
    line = _request(tmp_path).to_line()

    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line)["kind"] == "file"


def test_write_arrays_refuses_object_arrays(tmp_path):
    with pytest.raises(ValueError, match="Python objects"):
        write_arrays(tmp_path / "inputs.npz", "x", [np.array([None], dtype=object)])


def test_submit_full_queue_raises_busy(tmp_path):
    pool = WorkerPool(size=1, spares=0, max_queued=2)  # never started: jobs only queue
    first = pool.submit(_request(tmp_path))
    pool.submit(_request(tmp_path))

    with pytest.raises(PoolBusy) as raised:
        pool.submit(_request(tmp_path))

    assert (raised.value.status, raised.value.code) == (503, "busy")
    assert pool.state()["queued"] == 2
    pool.stop()
    assert first.result(timeout=5).code == "pool-stopped"


def test_import_runtime_never_imports_keras():
    probe = (
        "import sys, app.check.keras, app.check.keras.worker, app.check.keras.loading; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow')))"
    )
    root = Path(__file__).resolve().parents[2]

    done = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True)

    assert (done.returncode, done.stdout.strip()) == (0, "[]")


@pytest.mark.parametrize(
    "array",
    [
        np.arange(24, dtype=np.float32).reshape(2, 3, 4),
        np.asfortranarray(np.arange(12, dtype=np.float64).reshape(3, 4)),
        np.array([True, False]),
        np.zeros((0, 5), dtype=np.int32),
        np.float32(2.5).reshape(()),
    ],
)
def test_a_mapped_output_equals_the_saved_array(tmp_path, array):
    np.save(tmp_path / "a.npy", array)
    mapped = load_output(tmp_path, "a.npy", mmap=True)
    assert mapped.dtype == array.dtype and mapped.shape == array.shape
    np.testing.assert_array_equal(mapped, array)
    assert not mapped.flags.writeable


def test_a_mapped_output_shorter_than_its_header_is_refused(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(100, dtype=np.float32))
    data = (tmp_path / "a.npy").read_bytes()
    (tmp_path / "a.npy").write_bytes(data[:-8])
    with pytest.raises(InvalidResult):
        load_output(tmp_path, "a.npy", mmap=True)


class _Tensor:
    def __init__(self, shape: tuple, dtype: str = "float32") -> None:
        self.shape, self.dtype = shape, dtype


def test_output_groups_hold_at_most_group_bytes_at_the_batch():
    """At batch 2: (None, 10) float32 is 80 bytes, (None, 5) float64 80, (None, 30) 240."""
    tensors = [_Tensor((None, 10)), _Tensor((None, 5), "float64"), _Tensor((None, 30))]
    assert output_groups(tensors, batch=2, group_bytes=160) == [[0, 1], [2]]
    assert output_groups(tensors, batch=2, group_bytes=159) == [[0], [1], [2]]
    assert output_groups(tensors, batch=2, group_bytes=10_000) == [[0, 1, 2]]


def test_output_groups_count_an_unknown_dimension_as_one():
    assert output_groups([_Tensor((None, None, 4)), _Tensor((None, 8))], 1, 16) == [[0], [1]]
