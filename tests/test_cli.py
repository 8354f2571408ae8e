"""`keras-explainer inspect`: the API's report in a terminal, and exit codes for scripts."""

from __future__ import annotations

import json

from app.check import warm_reference
from app.cli import EXIT_NOT_CHECKED, EXIT_OK, EXIT_REFUSED, EXIT_USAGE, main
from tests.support.api import make_client
from tests.support.files import saved
from tests.support.models import seed_model, small_model


def test_inspect_prints_the_seed_totals_and_batchnorm(tmp_path, capsys):
    path = tmp_path / "seed.json"
    path.write_text(seed_model().to_json())
    assert main(["inspect", str(path)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "Total params: 2,140,752" in out
    assert "Trainable params: 2,139,728" in out
    assert "Non-trainable params: 1,024" in out
    assert "4096 × 512 + 512 = 2,097,664" in out
    assert "gamma #2 (trainable), beta #3 (trainable), moving_mean #4 (non-trainable)" in out


def test_inspect_json_is_exactly_the_api_json(tmp_path, capsys):
    path = saved(small_model(), tmp_path / "m.keras")
    assert main(["inspect", "--json", str(path)]) == EXIT_OK
    ours = json.loads(capsys.readouterr().out)
    with make_client(tmp_path) as client, path.open("rb") as fh:
        files = {"file": ("m.keras", fh)}
        api = client.post("/api/v1/reports", files=files, params={"check": "false"}).json()
    for volatile in ("id", "created_at"):
        ours.pop(volatile), api.pop(volatile)
    assert ours == api


def test_inspect_refused_file_exits_3_with_its_code(tmp_path, capsys):
    path = tmp_path / "notes.h5"
    path.write_text("not a model")
    assert main(["inspect", str(path)]) == EXIT_REFUSED
    assert "unsupported-format" in capsys.readouterr().err


def test_inspect_missing_file_exits_2(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "absent.keras")]) == EXIT_USAGE
    assert "no such file" in capsys.readouterr().err


def test_inspect_check_runs_keras_and_exits_0_when_it_passes(tmp_path, capsys):
    path = saved(small_model(), tmp_path / "m.keras")
    assert main(["inspect", "--check", str(path)]) == EXIT_OK
    captured = capsys.readouterr()
    assert "Manual vs predict: passed" in captured.out
    assert "Keras ran: model(x, training=False)" in captured.out
    assert "check [" in captured.err
    assert path.is_file()  # the user's file is copied for the check, never moved


def test_inspect_check_leaves_no_reference_process_or_folder_behind(tmp_path, monkeypatch):
    """The check's reference process is reaped; the next check's warm one, started when a
    check ends, is stopped with the command."""
    spawned = []

    def spawn():
        spawned.append(original())
        return spawned[-1]

    original = warm_reference._spawn
    monkeypatch.setattr(warm_reference, "_spawn", spawn)
    path = saved(small_model(), tmp_path / "m.keras")
    assert main(["inspect", "--check", str(path)]) == EXIT_OK
    assert spawned
    for process in spawned:
        assert process.proc.poll() is not None
        assert not process.home.exists()


def test_inspect_check_of_an_unknown_class_exits_4(corpus, capsys):
    path = corpus / "hls4ml_qkeras-v3_3layer.keras"
    assert main(["inspect", "--check", str(path)]) == EXIT_NOT_CHECKED
    assert "Manual vs predict: refused" in capsys.readouterr().out
