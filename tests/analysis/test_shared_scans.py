"""Every weight's scan shared with a sibling process (app.analysis.shared_scans): the scans
are those of one process, bit for bit, whichever process took which weight, and the
sibling's answer is believed only once it checks out.

The siblings here run in this process (`answers`): the real fork is tested where a reading
process makes one (tests/safety/test_isolation_process.py)."""

from __future__ import annotations

import os
from functools import partial

import h5py
import numpy as np
import pytest

from app.analysis.breakdown import layer_reports
from app.analysis.health import channel_axis, weight_scans
from app.analysis.report import build_report
from app.analysis.resolve import resolve
from app.analysis.shared_scans import RECORD, SharedScans, decoded, encoded
from app.analysis.stats import channel_key_count, weight_scan
from app.formats import read_model
from app.formats.direct import DirectArray
from app.schemas import Source
from tests.formats.test_legacy_h5 import write_keras2_h5
from tests.support.kerasref import keras
from tests.support.models import build

L = keras.layers


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A small model whose scans take every road: a kernel with two identical filters (equal
    channel keys), a BatchNormalization, a kernel holding NaN, +Inf and a zero."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            L.Conv2D(16, 3, name="conv"),
            L.BatchNormalization(name="bn"),
            L.Flatten(),
            L.Dense(32, name="hidden"),
            L.Dense(4, name="head"),
        ]
    )
    weights = model.get_weights()
    weights[0][..., 5] = weights[0][..., 2]
    weights[-4][0, :3] = [np.nan, np.inf, 0.0]
    model.set_weights(weights)
    path = tmp_path_factory.mktemp("shared") / "m.keras"
    model.save(path)
    return path


@pytest.fixture
def graph(saved):
    with read_model(saved) as loaded:
        resolve(loaded.graph, weights_in_file=True)
        yield loaded.graph


def answers(shared, takes: bool = True, dies: bool = False, change=lambda b: b) -> int:
    """The pipe a sibling run here answers on: it takes every weight at once (`takes`),
    else none (the caller takes them all); `dies`: it answers nothing; `change`: what its
    answer becomes on the way."""
    answer = shared.sibling_work() if takes else encoded({}, [])
    return sent(b"" if dies else change(answer))


def sent(answer: bytes) -> int:
    """A file descriptor to read `answer` from, to its end (a file in memory: a pipe would
    hold only 64 KiB before a reader came)."""
    fd = os.memfd_create("answer")
    os.write(fd, answer)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def same(scans, expected):
    """Equal scans, bit for bit: the statistics' numbers and the channel keys."""
    assert list(scans) == list(expected)
    for key, scan in scans.items():
        assert scan.stats == expected[key].stats
        if expected[key].channel_keys is None:
            assert scan.channel_keys is None
        else:
            assert np.array_equal(scan.channel_keys, expected[key].channel_keys)
            assert scan.channel_keys.dtype == np.uint64


def stored(graph):
    return [(n, w) for _, n in graph.walk() for w in n.weights if w.values is not None]


def test_the_model_takes_every_road(graph):
    """What the other tests rely on: weights read straight from the file, one with
    channel keys of which two are equal, one holding values that are not finite."""
    weights = stored(graph)
    assert weights and all(isinstance(w.values, DirectArray) for _, w in weights)
    scans = weight_scans(graph)
    keys = scans[id(weights[0][1])].channel_keys
    assert keys is not None and keys[5] == keys[2]
    hidden = [scans[id(w)].stats for n, w in weights if n.name == "hidden"][0]
    assert (hidden.nan, hidden.inf) == (1, 1)


@pytest.mark.parametrize("takes", [True, False], ids=["sibling-takes-all", "here-takes-all"])
def test_shared_scans_are_those_of_one_process_in_model_order(graph, takes):
    shared = SharedScans(graph)
    same(shared.result(answers(shared, takes)), weight_scans(graph))


def test_weights_a_sibling_took_and_did_not_answer_for_are_scanned_here(graph):
    shared = SharedScans(graph)
    same(shared.result(answers(shared, dies=True)), weight_scans(graph))


def test_without_a_sibling_every_weight_is_scanned_here(graph):
    shared = SharedScans(graph)
    same(shared.result(None), weight_scans(graph))


def test_an_answer_for_some_weights_gives_their_scans_bit_for_bit(graph):
    weights = stored(graph)
    scans = [weight_scan(w.values, channel_axis(n, w)) for n, w in weights]
    theirs = {i: scan for i, scan in enumerate(scans) if i % 2}
    mine = {i: None for i in range(len(weights)) if not i % 2}
    back = decoded(encoded(theirs, weights), weights, taken=mine)
    assert list(back) == list(theirs)
    same(back, theirs)


@pytest.mark.parametrize(
    "tamper",
    [
        "cut-short",
        "keys-left-over",
        "weight-taken-here",
        "twice",
        "no-such-weight",
        "keys-missing",
        "more-zeros-than-values",
        "negative-count",
    ],
)
def test_an_answer_that_does_not_check_out_is_not_used(graph, tamper):
    weights = stored(graph)
    theirs = {i: weight_scan(w.values, channel_axis(n, w)) for i, (n, w) in enumerate(weights)}
    answer, taken = bytearray(encoded(theirs, weights)), {}
    records = np.frombuffer(answer, dtype=RECORD, count=len(theirs), offset=4)
    records = records.copy()
    if tamper == "cut-short":
        answer = answer[:-8]
    elif tamper == "keys-left-over":
        answer += bytes(8)
    elif tamper == "weight-taken-here":
        taken = {0: None}
    else:
        if tamper == "twice":
            records[1]["index"] = records[0]["index"]
        elif tamper == "no-such-weight":
            records[0]["index"] = len(weights)
        elif tamper == "keys-missing":
            records[0]["keys"] = -1
        elif tamper == "more-zeros-than-values":
            records[1]["zeros"] = weights[1][1].values.size + 1
        elif tamper == "negative-count":
            records[1]["nan"] = -1
        answer[4 : 4 + records.nbytes] = records.tobytes()
    assert decoded(bytes(answer), weights, taken) == {}
    assert len(decoded(encoded(theirs, weights), weights, {})) == len(weights)  # untampered


def test_a_tampered_answer_costs_only_time(graph):
    """The sibling's weights are then scanned here: the scans are the same."""
    shared = SharedScans(graph)
    no_keys = answers(shared, change=lambda done: done[:4] + bytes(len(done) - 4))
    same(shared.result(no_keys), weight_scans(graph))


def test_an_answer_longer_than_any_the_sibling_can_give_is_not_read_to_its_end(graph):
    shared = SharedScans(graph)
    same(
        shared.result(answers(shared, change=lambda done: done + bytes(1 << 20))),
        weight_scans(graph),
    )


@pytest.mark.parametrize(
    ("shape", "dtype", "axis"),
    [
        ((3, 3, 2, 4), "float32", -1),
        ((3, 3, 4, 2), "float16", -2),
        ((5, 6), "float64", -1),
        ((6,), "float32", -1),  # a bias: no channels
        ((5, 6), "float32", None),
        ((5, 6), "int32", -1),  # not a float array
        ((1, 1_100_000), "float32", -1),  # a row larger than a slice: slices cut across
    ],
)
def test_the_channel_keys_a_check_expects_are_those_a_scan_gives(shape, dtype, axis):
    values = np.arange(np.prod(shape)).reshape(shape).astype(dtype)
    keys = weight_scan(values, axis).channel_keys
    expected = -1 if keys is None else keys.size
    assert channel_key_count(shape, np.dtype(dtype), axis) == expected


def test_weights_read_through_h5py_are_scanned_here_never_by_the_sibling(tmp_path):
    """libhdf5 is used from one process only: a chunked, compressed kernel is not a token."""
    model = build("dense_bn")
    write_keras2_h5(model, tmp_path / "model.h5")
    with h5py.File(tmp_path / "model.h5", "a") as h5:
        first = model.layers[0].name  # by name: the file's order puts dense_10 before dense_9
        name = f"model_weights/{first}/{first}/kernel:0"
        kernel = h5[name][()]
        del h5[name]
        h5.create_dataset(name, data=kernel, chunks=(1, kernel.shape[1]), compression=1)
    with read_model(tmp_path / "model.h5") as loaded:
        resolve(loaded.graph, weights_in_file=True)
        weights = stored(loaded.graph)
        assert isinstance(weights[0][1].values, h5py.Dataset)
        shared = SharedScans(loaded.graph)
        answer = shared.sibling_work()
        same(shared.result(sent(answer)), weight_scans(loaded.graph))
        answered = decoded(answer, weights, taken={})
        assert set(answered) == set(range(1, len(weights)))


def test_a_report_whose_scans_come_last_has_each_weights_statistics(graph):
    """build_report makes the layers' reports while the sibling scans, and puts the
    statistics in when they come: the layers are those made with the scans at hand."""
    shared = SharedScans(graph)
    source = Source(
        format="keras_v3", sha256="", size=1, keras_version=None, backend=None, filename=None
    )
    report = build_report(graph, source, "r", scans=partial(shared.result, answers(shared)))
    assert report.layers == layer_reports(graph, scans=weight_scans(graph))
    assert any(w.stats is not None for layer in report.layers for w in layer.weights)
