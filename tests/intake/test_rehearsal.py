"""The rehearsal: an HDF5 file that makes libhdf5 spin forever is refused after the timeout,
and the process that asked keeps answering."""

from __future__ import annotations

import inspect
import shutil
import time
from dataclasses import replace

import pytest

from app import service
from app.errors import MalformedModel, OversizedAttribute, UnreadableFile
from app.formats import read_model
from app.intake import rehearsal
from app.intake.limits import IntakeLimits
from app.intake.rehearsal import _judge
from app.service import explain_file
from tests.support.hostile import save_base

HEAP_COLLECTION = b"GCOL"
HEAP_HEADER = 16  # signature, version, reserved, collection size
HEAP_SIZE = 4096


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    return save_base(tmp_path_factory.mktemp("base"))


def spinning_file(saved, tmp_path):
    """The base `.h5` with its global heap's objects zeroed (what a fuzzed file showed):
    libhdf5 then loops forever reading the names Keras 3 keeps there."""
    path = tmp_path / "spins.h5"
    shutil.copyfile(saved.h5_path, path)
    data = bytearray(path.read_bytes())
    at = data.find(HEAP_COLLECTION)
    assert at > 0
    data[at + HEAP_HEADER : at + HEAP_SIZE] = bytes(HEAP_SIZE - HEAP_HEADER)
    path.write_bytes(data)
    return path


def test_read_refuses_file_that_hangs_the_hdf5_library(saved, tmp_path):
    started = time.perf_counter()
    with pytest.raises(UnreadableFile) as info:
        read_model(spinning_file(saved, tmp_path), IntakeLimits(rehearsal_timeout_s=2))
    elapsed = time.perf_counter() - started
    assert (info.value.code, info.value.status) == ("unreadable-file", 400)
    assert info.value.details == {"timeout_s": 2}
    assert 2 <= elapsed < 12
    with read_model(saved.h5_path) as loaded:  # still answering, with the same fork server
        assert loaded.refusals == []


@pytest.mark.parametrize(
    ("outcome", "error", "message"),
    [
        ("timeout", UnreadableFile, "did not finish within 60 seconds"),
        (("signal", 11), UnreadableFile, "crashed"),
        ({"outcome": "memory"}, UnreadableFile, "more memory"),
        ({"outcome": "damaged"}, MalformedModel, "arrays in this file are damaged"),
        (
            {"outcome": "error", "code": "oversized-attribute", "message": "Too long."},
            OversizedAttribute,
            "Too",
        ),
        ({"something": "else"}, UnreadableFile, "crashed"),
    ],
)
def test_judge_turns_each_child_outcome_into_its_error(outcome, error, message):
    with pytest.raises(error, match=message) as info:
        _judge(outcome, IntakeLimits())
    assert type(info.value) is error


def test_judge_returns_a_finished_task_result():
    assert _judge({"outcome": "done", "result": {"a": 1}}, IntakeLimits()) == {"a": 1}


def test_explain_in_a_child_gives_what_the_server_would_compute(saved):
    child = explain_file(saved.h5_path)
    direct = explain_file(saved.h5_path, limits=replace(IntakeLimits(), rehearse_hdf5=False))
    assert child.report.model_dump(exclude={"id", "created_at"}) == direct.report.model_dump(
        exclude={"id", "created_at"}
    )
    assert child.gate == direct.gate


def test_explain_in_a_child_hands_over_the_gate_it_read(saved):
    """The gate comes as an early answer, while the child goes on making the report."""
    seen = []
    explanation = explain_file(saved.h5_path, on_gate=seen.append)
    assert seen == [explanation.gate]
    assert explanation.gate.format == "legacy_h5" and explanation.gate.inputs


def test_what_the_gate_callback_raises_ends_the_child_and_is_raised(saved):
    def refuse(gate):
        raise MalformedModel("refused at the gate")

    with pytest.raises(MalformedModel, match="refused at the gate"):
        explain_file(saved.h5_path, on_gate=refuse)


def test_child_answers_in_json_never_pickle():
    source = inspect.getsource(rehearsal)
    assert "recv_bytes" in source and ".recv()" not in source and ".send(" not in source


def test_a_second_gate_from_the_child_is_refused_and_starts_nothing(saved, monkeypatch):
    """Only a child a hostile file took over would send two gates: the first may start a
    check, a second must not start another."""
    gate = explain_file(saved.h5_path).gate.to_json()

    def two_gates(task, path, limits, on_early=None, **arguments):
        on_early(gate)
        on_early(gate)
        return {}

    monkeypatch.setattr(service, "run_task", two_gates)
    seen = []
    with pytest.raises(UnreadableFile):
        explain_file(saved.h5_path, on_gate=seen.append)
    assert len(seen) == 1
