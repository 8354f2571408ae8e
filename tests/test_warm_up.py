"""The fork server's warm-up (app.warm_up): imported there after the tasks' modules, it
explains its spec without error and leaves the process as a fork server must be: one thread,
no HDF5 file open, no Keras."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from app import isolation
from app.explain import explain_spec
from app.warm_up import SPEC

PROJECT = Path(__file__).resolve().parents[1]


def test_the_fork_server_imports_the_warm_up_after_the_tasks_modules():
    preloaded = isolation.preloaded()
    assert preloaded[-1] == "app.warm_up"
    assert "app.explain" in preloaded[:-1]


def test_the_warm_up_spec_is_explained_with_the_layer_classes_it_names():
    report = explain_spec(SPEC.read_text(encoding="utf-8")).report
    classes = {layer.class_name for layer in report.layers}
    assert classes == {
        "InputLayer", "ZeroPadding2D", "Conv2D", "BatchNormalization", "Activation",
        "MaxPooling2D", "Add", "GlobalAveragePooling2D", "Dense",
    }  # fmt: skip
    assert json.loads(SPEC.read_text(encoding="utf-8"))["class_name"] == "Functional"
    with_forward = {layer.class_name for layer in report.layers if layer.forward is not None}
    assert report.batchnorm and with_forward == classes - {"InputLayer"}


def test_after_the_warm_up_the_process_has_one_thread_no_open_hdf5_file_and_no_keras():
    probe = (
        "import threading, sys, gc, app.warm_up, h5py;"
        "files = [o for o in gc.get_objects() if isinstance(o, h5py.File) and o.id.valid];"
        "print(threading.active_count(), len(files), 'keras' in sys.modules,"
        " 'tensorflow' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT, capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["1", "0", "False", "False"]
