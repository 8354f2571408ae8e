"""Every layer's output asked for without holding them all: groups of layers, and a layer
larger than a group in slices of the batch (inference only), streamed to its .npy file."""

from __future__ import annotations

import os
import resource

import keras
import numpy as np
import pytest

import app.check.keras.outputs as outputs_module
from app.check.keras import load_output
from app.check.keras.outputs import rows_per_run
from app.check.keras.worker import run_job
from tests.runtime.jobfiles import file_job
from tests.support.models import randomize_weights

MiB = 1 << 20


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


@pytest.mark.parametrize(
    ("size", "batch", "group", "mode", "rows"),
    [
        (2 * MiB, 2, 4 * MiB, "inference", 2),  # fits: one run
        (2 * MiB, 2, 1 * MiB, "inference", 1),  # 1 MiB a sample: one at a time
        (12 * MiB, 6, 5 * MiB, "inference", 2),  # 2 MiB a sample: two fit in 5 MiB
        (12 * MiB, 6, 1 * MiB, "inference", 1),  # a sample over the group: still one
        (12 * MiB, 6, 1 * MiB, "training", 6),  # batch statistics: never sliced
        (12 * MiB, 1, 1 * MiB, "inference", 1),
    ],
)
def test_rows_per_run(size, batch, group, mode, rows):
    assert rows_per_run(size, batch, group, mode) == rows


@pytest.mark.parametrize(
    ("held", "batch", "most", "mode", "rows"),
    [
        (8 * MiB, 2, 8 * MiB, "inference", 2),  # what the eager run holds fits
        (8 * MiB, 2, 4 * MiB, "inference", 1),  # 4 MiB a sample: one at a time
        (24 * MiB, 6, 9 * MiB, "inference", 2),  # 4 MiB a sample: two fit in 9 MiB
        (24 * MiB, 6, 1 * MiB, "inference", 1),  # a sample over it: still one
        (24 * MiB, 6, 1 * MiB, "training", 6),  # batch statistics: never sliced
    ],
)
def test_rows_per_run_of_an_eager_call_that_holds_every_output_up_to_the_group(
    held, batch, most, mode, rows
):
    """The group itself is small (1 MiB, under its 4 MiB); what the eager call keeps until
    it returns (every layer output up to the group's last) decides."""
    assert rows_per_run(1 * MiB, batch, 4 * MiB, mode, held, most) == rows


def conv_bn_model():
    model = keras.Sequential(
        [
            keras.Input((6, 6, 3)),
            keras.layers.Conv2D(4, 3, padding="same"),
            keras.layers.BatchNormalization(),
            keras.layers.Dense(5),
        ]
    )
    return randomize_weights(model)


def outputs(job_dir, result) -> list[np.ndarray]:
    return [load_output(job_dir, layer.outputs[0]) for layer in result.layers]


@pytest.mark.parametrize("mode", ["inference", "training"])
def test_a_layer_larger_than_a_group_gives_what_one_run_gives(tmp_path, mode):
    """group_bytes of 1: every layer is a group larger than that, so inference runs sample
    by sample (3 runs a group) and training at once; the files hold the whole batch, with
    the values of one run over every layer (float32 noise: a kernel may add in another
    order for another batch size)."""
    model = conv_bn_model()
    x = np.random.default_rng(0).normal(size=(3, 6, 6, 3)).astype("float32")
    whole = file_job(tmp_path / "whole", model, [x], mode=mode)
    sliced = file_job(tmp_path / "sliced", model, [x], mode=mode)
    sliced = sliced.model_copy(update={"group_bytes": 1})
    expected = run_job(keras, whole, _no_progress)
    got = run_job(keras, sliced, _no_progress)
    assert expected.status == got.status == "ok"
    assert [layer.shapes for layer in got.layers] == [
        [[3, 6, 6, 4]],
        [[3, 6, 6, 4]],
        [[3, 6, 6, 5]],
    ]
    assert [layer.shapes for layer in got.layers] == [layer.shapes for layer in expected.layers]
    for ours, theirs in zip(
        outputs(tmp_path / "sliced", got), outputs(tmp_path / "whole", expected), strict=True
    ):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_an_eager_run_holding_more_than_allowed_goes_sample_by_sample(tmp_path, monkeypatch):
    """held_bytes of 1: every eager run holds more (every layer output up to its group's
    last), so inference runs sample by sample, one group of all three layers: the files hold
    the whole batch with the values of one run (float32 noise)."""
    model = conv_bn_model()
    x = np.random.default_rng(1).normal(size=(3, 6, 6, 3)).astype("float32")
    whole = file_job(tmp_path / "whole", model, [x]).model_copy(update={"keras_call": "call"})
    sliced = file_job(tmp_path / "sliced", model, [x])
    sliced = sliced.model_copy(update={"keras_call": "call", "held_bytes": 1})
    expected = run_job(keras, whole, _no_progress)
    runs: list[int] = []
    counted = outputs_module.run

    def run(keras_, model_, probe, inputs, mode, keras_call, arrived=None):
        runs.append(len(inputs[0]))
        return counted(keras_, model_, probe, inputs, mode, keras_call, arrived)

    monkeypatch.setattr(outputs_module, "run", run)
    got = run_job(keras, sliced, _no_progress)
    assert expected.status == got.status == "ok"
    assert runs == [1, 1, 1]
    assert [layer.shapes for layer in got.layers] == [layer.shapes for layer in expected.layers]
    for ours, theirs in zip(
        outputs(tmp_path / "sliced", got), outputs(tmp_path / "whole", expected), strict=True
    ):
        assert ours.shape == theirs.shape == (3, *ours.shape[1:])
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_a_group_of_more_layers_than_open_files_allowed_is_written(tmp_path):
    """64 layers in one group, with 32 files left to open (the worker's sandbox caps open
    files): each file is open only while it is written (DenseNet169's 597 layers failed)."""
    layers = [keras.layers.Dense(2) for _ in range(64)]
    job = file_job(tmp_path, keras.Sequential([keras.Input((2,)), *layers]), [np.ones((2, 2))])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 32, hard))
    try:
        result = run_job(keras, job, _no_progress)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert result.status == "ok", result
    assert len(result.layers) == 64
