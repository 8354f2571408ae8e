"""The disk a check needs: refused before it starts when over KEX_CHECK_MAX_DISK_BYTES (422)
or the free space (503), with the figures and what to do; and both sides' layer outputs
taken by the comparison as they arrive, so a side waits when its window is full and the check
still passes.

The model: Input 64 × 64 × 3, then two Conv2D(8, 3, padding="same"). By hand, float32, per
sample: the input 64·64·3·4 = 49,152 bytes, each layer output 64·64·8·4 = 131,072 bytes, so
every layer output with the input 311,296 (activation_bytes); weights (3·3·3·8 + 8) +
(3·3·8·8 + 8) = 808 values, 3,232 bytes. At the seeded batch of 2 the check needs
    layer outputs  2 × min(311,296 × 2, max(1 GiB, 131,072 × 2)) = 1,245,184
    model outputs  2 × 131,072 × 2                                =   524,288
    weights        2 × 3,232                                      =     6,464
    inputs         2 × 49,152 × 2                                 =   196,608
                                                                    1,972,544
and at batch 1: 622,592 + 262,144 + 6,464 + 98,304 = 989,504.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import app.check.disk
import app.check.keras_side
import app.check.pipeline
import app.check.streaming
from app.check.arrivals import STUCK_POLLS, Arrivals
from app.check.budgets import BudgetFigures
from app.check.compare import ComparedModel
from app.check.disk import disk_need
from app.check.streaming import (
    KERAS_LAYERS,
    KERAS_LIST,
    KERAS_WAITING,
    REFERENCE_GO,
    REFERENCE_LIST,
    REFERENCE_WAITING,
    LineReader,
    Room,
    append_line,
)
from tests.support.api import npy_upload, post_file
from tests.support.kerasref import keras
from tests.support.models import randomize_weights

layers = keras.layers
AT_BATCH_2 = 1_972_544
AT_BATCH_1 = 989_504


@pytest.fixture(scope="module")
def client(tmp_path_factory, warm_pool):
    folder = tmp_path_factory.mktemp("disk")
    with warm_pool.client(folder, check_max_disk_bytes=AT_BATCH_2 - 1) as client:
        yield client


def test_check_over_the_disk_budget_is_refused_before_it_starts_saying_what_to_do(
    client, conv_file
):
    response = post_file(client, conv_file)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "disk-budget-exceeded"
    figures = body["details"]["figures"]
    assert figures["disk_bytes"] == AT_BATCH_2
    assert (figures["layer_outputs"], figures["model_outputs"]) == (1_245_184, 524_288)
    assert (figures["weights"], figures["inputs"], figures["batch"]) == (6_464, 196_608, 2)
    assert body["details"]["limits"] == {"max_disk_bytes": AT_BATCH_2 - 1}
    message = body["message"]
    assert "smaller input size" in message and "batch 1" in message
    assert "check=false" in message


def test_the_same_model_at_batch_1_fits_the_budget_and_passes(client, conv_file):
    x = np.random.default_rng(0).normal(size=(1, 64, 64, 3)).astype("float32")
    response = post_file(client, conv_file, files={"inputs": npy_upload(x)})
    assert response.status_code == 201, response.text
    assert response.json()["check"]["status"] == "passed"


def test_check_is_refused_when_the_disk_has_less_free_space_than_it_needs(
    tmp_path, warm_pool, conv_file, monkeypatch
):
    monkeypatch.setattr(app.check.disk, "free_bytes", lambda folder: AT_BATCH_2 - 1)
    with warm_pool.client(tmp_path) as client:
        response = post_file(client, conv_file)
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["code"] == "disk-full"
        assert body["details"]["free_bytes"] == AT_BATCH_2 - 1
        assert body["details"]["figures"]["disk_bytes"] == AT_BATCH_2
        monkeypatch.setattr(app.check.disk, "free_bytes", lambda folder: AT_BATCH_2)
        response = post_file(client, conv_file)
        assert response.status_code == 201, response.text
        assert response.json()["check"]["status"] == "passed"


def figures(activation: int, largest: int) -> BudgetFigures:
    return BudgetFigures(
        params=0,
        weight_bytes=0,
        largest_tensor=None,
        activation_bytes=activation,
        layers=0,
        input_elements=0,
        input_bytes=0,
        largest_output_bytes=largest,
        output_bytes=0,
    )


def test_a_side_holds_its_window_or_one_layer_output_never_more_than_all_of_them():
    # 10 layers of 100 bytes a sample: at batch 2, all of them 2,000 bytes a side.
    assert disk_need(figures(1000, 100), batch=2, window=500, keep=0).layer_outputs == 2 * 500
    assert disk_need(figures(1000, 100), 2, window=10_000, keep=0).layer_outputs == 2 * 2000
    # One layer larger than the window goes alone.
    assert disk_need(figures(1000, 400), batch=2, window=500, keep=0).layer_outputs == 2 * 800


def test_keras_side_keeps_files_for_the_layers_still_to_be_compared_within_its_room():
    # Ours 500 (the window); Keras' 500 and 300 kept beside: 1,300.
    assert disk_need(figures(1000, 100), batch=2, window=500, keep=300).layer_outputs == 1300
    # Never more than every layer output a side: 500 + min(2,000, 500 + 5,000).
    assert disk_need(figures(1000, 100), batch=2, window=500, keep=5000).layer_outputs == 2500


def test_room_waits_until_the_comparison_takes_a_file(tmp_path):
    room = Room(tmp_path, window=150)
    waits: list[bool] = []
    room.wait(400, lambda: False, waits.append)  # nothing held: even a file over the window
    assert waits == []
    first = tmp_path / "a.npy"
    first.write_bytes(b"x" * 100)
    room.add("a.npy", 100)
    room.wait(50, lambda: False, waits.append)  # 100 + 50 fit in 150
    assert waits == []
    taken = threading.Timer(0.3, first.unlink)  # the comparison takes it
    taken.start()
    start = time.monotonic()
    room.wait(51, lambda: False, waits.append)
    assert time.monotonic() - start >= 0.25
    assert waits == [True, False]
    room.add("b.npy", 100)  # never written: nothing held
    assert room.held() == 0


def test_room_looks_on_disk_only_when_what_was_added_would_not_fit(tmp_path, monkeypatch):
    room = Room(tmp_path, window=150)
    looked: list[str] = []
    real_exists = app.check.streaming.os.path.exists

    def exists(path):
        looked.append(path)
        return real_exists(path)

    monkeypatch.setattr(app.check.streaming.os.path, "exists", exists)
    for name in ("a.npy", "b.npy"):  # never written: both taken already
        room.add(name, 50)
    room.wait(50, lambda: False, lambda on: None)  # 50 + 50 + 50 fit in 150
    assert looked == []
    room.wait(51, lambda: False, lambda on: None)  # 151 would not: both looked for, gone
    assert sorted(Path(p).name for p in looked) == ["a.npy", "b.npy"]
    assert room.pending == {}


def test_room_stops_waiting_when_told_to_go_on(tmp_path):
    room = Room(tmp_path, window=150)
    (tmp_path / "a.npy").write_bytes(b"x" * 100)
    room.add("a.npy", 100)
    go_on = threading.Event()
    threading.Timer(0.2, go_on.set).start()
    room.wait(100, go_on.is_set, lambda on: None)
    assert go_on.is_set()


def test_lines_are_read_once_and_a_half_written_line_waits(tmp_path):
    path = tmp_path / "list.jsonl"
    reader = LineReader(path)
    assert reader.new() == []
    append_line(path, {"layer": "a"})
    with path.open("ab") as handle:
        handle.write(b'{"layer": "b"')
    assert reader.new() == [{"layer": "a"}]
    with path.open("ab") as handle:
        handle.write(b"}\n")
    assert reader.new() == [{"layer": "b"}]
    assert reader.new() == []


@pytest.fixture(scope="module")
def four_conv_file(tmp_path_factory):
    """Four Conv2D(8) layers on 64 × 64 × 3: each output 262,144 bytes at batch 2."""
    path = tmp_path_factory.mktemp("conv4") / "conv4.keras"
    model = keras.Sequential(
        [keras.Input((64, 64, 3))] + [layers.Conv2D(8, 3, padding="same") for _ in range(4)]
    )
    randomize_weights(model).save(path)
    return path


class FolderWatch:
    """The most bytes of layer-output files (`outputs/`, `reference/`) seen at once in the
    checks' folders, sampled every 2 ms while the check runs."""

    def __init__(self, root) -> None:
        self.root, self.peak, self.samples = root, 0, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self.stop.is_set():
            held = 0
            for side in ("outputs", "reference"):
                for path in self.root.glob(f"check-*/{side}/*.npy"):
                    try:
                        held += path.stat().st_size
                    except FileNotFoundError:
                        pass
            self.peak, self.samples = max(self.peak, held), self.samples + 1
            time.sleep(0.002)


def test_check_passes_when_both_sides_wait_on_a_window_smaller_than_two_layers(
    tmp_path, warm_pool, four_conv_file, monkeypatch
):
    """A window of 300,000 bytes holds one layer output of 262,144 at batch 2, never two, and
    Keras is asked for one layer a run: each side waits for the comparison to take (delete)
    a layer's files before writing the next. Written all at once, both sides' files were
    9 × 262,272 bytes (each .npy with its 128-byte header; ours has the model output twice);
    now at most one file a side waiting to be taken, and the model output on each side,
    which is kept: 4 × 262,272. The check still compares every layer."""
    monkeypatch.setattr(app.check.pipeline, "WINDOW_BYTES", 300_000)
    one_layer_a_run = app.check.keras_side.request

    def request(*args, **kwargs):
        return one_layer_a_run(*args, **kwargs).model_copy(update={"group_bytes": 200_000})

    monkeypatch.setattr(app.check.keras_side, "request", request)
    watch = FolderWatch(tmp_path / "data" / "work" / "checks")
    with warm_pool.client(tmp_path) as client:
        watch.thread.start()
        try:
            response = post_file(client, four_conv_file)
        finally:
            watch.stop.set()
            watch.thread.join()
    assert response.status_code == 201, response.text
    check = response.json()["check"]
    assert check["status"] == "passed", check
    assert [layer["verdict"] for layer in check["layers"]] == ["passed"] * 4
    assert 262_272 <= watch.peak <= 4 * 262_272, (watch.peak, watch.samples)


def test_our_side_is_told_to_go_on_when_both_sides_wait_with_nothing_to_take(tmp_path):
    """Layers in different orders: Keras waits for a layer we have not written, we wait for
    one Keras has not written. After STUCK_POLLS polls like that, `reference-go`; gone again
    once a layer is taken."""
    compared = ComparedModel(layers=[("a", "Dense"), ("b", "Dense")], outputs=["b"])
    arrivals = Arrivals(tmp_path, compared, tolerance=1e-4)
    (tmp_path / KERAS_WAITING).touch()
    (tmp_path / REFERENCE_WAITING).touch()
    for _ in range(STUCK_POLLS - 1):
        arrivals.take()
    assert not (tmp_path / REFERENCE_GO).exists()
    arrivals.take()
    assert (tmp_path / REFERENCE_GO).exists()
    # Both sides now have layer a: taken, its files deleted, and our side waits again.
    for folder in ("outputs", "reference"):
        (tmp_path / folder).mkdir()
        np.save(tmp_path / folder / "0.npy", np.ones((2, 3), "float32"))
    (tmp_path / KERAS_LAYERS).write_text(
        json.dumps(
            {
                "layers": [
                    {"name": "a", "outputs": ["outputs/0.npy"]},
                    {"name": "b", "outputs": ["outputs/1.npy"]},
                ],
                "model_outputs": ["outputs/1.npy"],
            }
        )
    )
    append_line(tmp_path / KERAS_LIST, {"path": "outputs/0.npy", "shape": [2, 3]})
    append_line(tmp_path / REFERENCE_LIST, {"layer": "a", "paths": ["reference/0.npy"]})
    arrivals.take()
    assert arrivals.done["a"].verdict == "passed"
    assert not (tmp_path / "outputs" / "0.npy").exists()
    assert not (tmp_path / "reference" / "0.npy").exists()
    assert not (tmp_path / REFERENCE_GO).exists()
