"""`keras-explainer inspect`: the API's report in a terminal, and exit codes for scripts."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

import app.terminal_text as terminal_text_module
from app import isolation
from app.check import warm_reference
from app.cli import (
    EXIT_NOT_CHECKED,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_USAGE,
    _settings_limits,
    explain,
    main,
)
from app.config import Settings
from app.errors import UnreadableFile
from app.reports import read_limits
from app.safety.limits import DEFAULT_LIMITS
from app.terminal import render
from app.terminal_text import printable, terminal_text
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


def test_inspect_prints_each_layer_by_hand_and_the_code_only_when_asked(tmp_path, capsys):
    path = tmp_path / "seed.json"
    path.write_text(seed_model().to_json())
    assert main(["inspect", str(path)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "  settings: relu\n  formula:  y = relu(x · kernel + bias)\n" in out
    assert "  shapes:   x (None, 4096) · kernel (4096, 512) · bias (512,) → y (None, 512)\n" in out
    assert "y = gamma · (x − moving_mean) / √(moving_variance + 0.001) + beta" in out
    assert "  code:     core.dense\n" in out
    assert "def dense(" not in out
    assert main(["inspect", "--code", str(path)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "# core.dense\ndef dense(config: Config, weights: Weights" in out
    assert out.count("def dense(") == 1  # two Dense layers, one copy of their code
    assert "# activations.apply_activation\ndef apply_activation(" in out


def test_inspect_tables_are_the_api_reports_rendering(corpus, capsys):
    """`inspect FILE` makes its tables in the reading process (app.terminal_text): the same
    text as the API's full report rendered, which --json gives, with and without --code."""
    path = corpus / "hls4ml_keras_3layer_batch_norm.h5"
    full = explain(path)
    assert full.check.message == "Not asked for (check=false)."
    assert terminal_text(path, DEFAULT_LIMITS) == render(full)
    assert terminal_text(path, DEFAULT_LIMITS, code=True) == render(full, code=True)
    assert main(["inspect", str(path)]) == EXIT_OK
    assert capsys.readouterr().out == render(full) + "\n"


def test_inspect_tables_come_from_a_brief_report(corpus, monkeypatch):
    """What the tables do not print is not made: no BatchNormalization channel's values, no
    reference code, no digest of the file (read here, in this process, to see the report)."""
    path = corpus / "hls4ml_keras_3layer_batch_norm.h5"
    rendered = []
    monkeypatch.setattr(terminal_text_module, "render", lambda r, code: rendered.append(r) or "")
    terminal_text(path, replace(DEFAULT_LIMITS, isolate_hdf5=False))
    (brief,) = rendered
    full = explain(path)
    assert full.batchnorm and full.batchnorm[0].channel_values.listed > 0
    assert [bn.channel_values.listed for bn in brief.batchnorm] == [0] * len(brief.batchnorm)
    assert {bn.channel_values.truncated for bn in brief.batchnorm} == {True}
    assert full.reference_code and not brief.reference_code
    assert all(layer.forward.code and layer.forward.helpers for layer in _forwards(full))
    assert not any(layer.forward.code or layer.forward.helpers for layer in _forwards(brief))
    assert full.source.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert brief.source.sha256 == "" and brief.source.size == full.source.size


def test_inspect_tables_of_a_spec_and_its_weights_are_the_api_reports_rendering(corpus, capsys):
    """A spec with its weights file is made into one model file by `Reports` (app.pairs), as
    the API does; its tables are the full report's rendering there too."""
    spec = corpus / "wild" / "keras2" / "k2_3_1_cropping_avgpool_bn_model.json"
    weights = spec.with_name("k2_3_1_cropping_avgpool_bn_weights.h5")
    assert main(["inspect", str(spec), "--weights", str(weights)]) == EXIT_OK
    assert capsys.readouterr().out == render(explain(spec, weights=weights)) + "\n"


def _forwards(report):
    return [layer for layer in report.layers if layer.forward is not None]


def test_inspect_tables_replace_what_a_terminal_would_act_on():
    """A layer name is the file's to choose: escape sequences and other controls are not
    printed as they are (the line feed is kept)."""
    assert printable("conv\x1b[2J\x07\r\tx\x7f\x9b\nok ·") == "conv?[2J???x??\nok ·"


def test_inspect_tables_replace_exactly_c0_but_the_line_feed_del_and_c1():
    """Every code point, one by one: C0 (U+0000–U+001F) but U+000A, DEL (U+007F) and C1
    (U+0080–U+009F) become `?`; every other character, surrogates included, is kept."""
    replaced = {*range(0x00, 0x0A), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0)}
    text = "".join(map(chr, range(0x110000)))
    expected = "".join("?" if code in replaced else chr(code) for code in range(0x110000))
    assert printable(text) == expected


def test_inspect_tables_refuse_a_reading_process_answer_without_text(corpus, monkeypatch):
    path = corpus / "hls4ml_keras_3layer_batch_norm.h5"
    monkeypatch.setattr(isolation, "run_task", lambda *args, **kwargs: {"text": ["x"]})
    with pytest.raises(UnreadableFile):
        terminal_text(path, DEFAULT_LIMITS)


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


# What a terminal report without the check has no use for: the web stack, Keras, the
# settings' parser (read only when a KEX_ variable is set), a team's queue and store, an HTTP
# client. (pydantic is imported: the report is pydantic's, as the API's is.)
NOT_FOR_INSPECT = ("fastapi", "starlette", "uvicorn", "jinja2", "tensorflow", "keras")
NOT_FOR_INSPECT += ("pydantic_settings", "dotenv", "procrastinate", "psycopg", "httpx", "httpx2")
# Nor, for its tables (made in the reading process, app.terminal_text), a store, a report kept
# by id, the check's admission, a diagnosis, the model read (the check's plan and budgets).
NOT_FOR_TABLES = ("sqlite3", "app.store", "app.reports", "app.check.admission", "app.diagnosis")
NOT_FOR_TABLES += ("app.check.model_read", "app.check.plan", "app.check.budgets")
# Nor NumPy's random module: the tables draw nothing (a constant bias's start is made without
# a generator: app.analysis.initializers.Seeded).
NOT_FOR_TABLES += ("numpy.random",)
# Nor a fork server (the reading process is forked from the command itself) or a thread pool
# (the reading process shares its weights' scans with a sibling process).
NOT_FOR_TABLES += ("multiprocessing.forkserver", "concurrent.futures")
MODULES_AFTER_INSPECT = """
import contextlib, io, json, sys
from app.cli import main
if __name__ == "__main__":
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(["inspect", sys.argv[1]])
    print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def test_inspect_imports_no_web_stack_no_keras_and_no_store(tmp_path):
    """`inspect` without --check starts fast: it imports only what the terminal report uses
    (a fresh interpreter, so nothing else imported them first)."""
    answer = _inspect_in_a_fresh_interpreter(MODULES_AFTER_INSPECT, tmp_path)
    assert answer["code"] == EXIT_OK
    imported = {name.split(".")[0] for name in answer["modules"]}
    assert imported & set(NOT_FOR_INSPECT) == set()
    assert set(answer["modules"]) & set(NOT_FOR_TABLES) == set()


MODULES_AFTER_IMPORT = (
    "import json, sys, app.cli, app.formats; print(json.dumps(sorted(sys.modules)))"
)


def test_the_command_module_and_the_readers_load_without_pydantic():
    """`app.cli` (its parser, the reading process's plumbing) and the safety scan and readers
    load without pydantic: the tables' imports, the report's schemas first, all happen in
    `_print_tables`, with the collector paused (a fresh interpreter, so nothing else imported
    pydantic first)."""
    done = subprocess.run(
        [sys.executable, "-c", MODULES_AFTER_IMPORT],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert done.returncode == 0, done.stderr
    modules = {name.split(".")[0] for name in json.loads(done.stdout)}
    assert "app" in modules and "h5py" in modules  # the readers were imported
    assert "pydantic" not in modules and "pydantic_core" not in modules


ENTRY_POINTS_READ = """
import contextlib, importlib.metadata, io, json, sys
read, look_up = [], importlib.metadata.entry_points
importlib.metadata.entry_points = lambda **kw: read.append(kw) or look_up(**kw)
from app.cli import main
if __name__ == "__main__":
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(["inspect", sys.argv[1]])
    print(json.dumps({"code": code, "read": read}))
"""


def test_inspect_tables_look_up_no_pydantic_plugin(tmp_path):
    """The tables' command turns pydantic's plugins off (a one-shot command has no use for
    them): its first model class reads no installed distribution's entry points (a fresh
    interpreter, so no model class was made before)."""
    answer = _inspect_in_a_fresh_interpreter(ENTRY_POINTS_READ, tmp_path)
    assert answer == {"code": EXIT_OK, "read": []}


def _inspect_in_a_fresh_interpreter(script: str, tmp_path: Path) -> dict:
    """What `script` (which runs `inspect` on the file given it) prints last, as JSON, run on
    a small model in a fresh interpreter."""
    path = saved(small_model(), tmp_path / "m.keras")
    (tmp_path / "script.py").write_text(script)
    done = subprocess.run(
        [sys.executable, str(tmp_path / "script.py"), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


# `python -m app.cli ARGS` with an exit handler of its own, to see whether the interpreter's
# exit ran.
COMMAND_LINE_WATCHED = """
import atexit, runpy, sys
atexit.register(lambda: print("torn down", file=sys.stderr))
runpy.run_module("app.cli", run_name="__main__", alter_sys=True)
"""


def _python_m_app_cli(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    script = tmp_path / "command_line.py"
    script.write_text(COMMAND_LINE_WATCHED)
    # Not unbuffered: on a pipe the text waits in stdout's buffer, which leaving must flush.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run(
        [sys.executable, str(script), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
    )


def test_inspect_tables_leave_the_process_at_once_with_all_their_text(tmp_path):
    """The program ends as soon as the tables are printed, without the interpreter's
    teardown (no exit handler runs), and the whole text is out, flushed."""
    path = saved(small_model(), tmp_path / "m.keras")
    done = _python_m_app_cli(tmp_path, "inspect", str(path))
    assert done.returncode == EXIT_OK, done.stderr
    assert "torn down" not in done.stderr
    assert done.stdout == terminal_text(path, DEFAULT_LIMITS) + "\n"


def test_inspect_piped_into_a_reader_that_has_gone_ends_quietly(tmp_path):
    """`keras-explainer inspect m.keras | head -1`: the reader has gone when the tables are
    written; the program ends with what a shell reports for SIGPIPE (128 + 13), without a
    traceback."""
    path = saved(small_model(), tmp_path / "m.keras")
    script = tmp_path / "command_line.py"
    script.write_text(COMMAND_LINE_WATCHED)
    with subprocess.Popen(
        [sys.executable, str(script), "inspect", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=Path(__file__).resolve().parent.parent,
    ) as command:
        command.stdout.close()  # gone before the file is read: the tables' write finds no reader
        stderr = command.stderr.read().decode()
        assert command.wait(timeout=120) == 141, stderr
    assert "Traceback" not in stderr, stderr


def test_inspect_that_prints_no_tables_ends_as_usual(tmp_path):
    done = _python_m_app_cli(tmp_path, "inspect", str(tmp_path / "missing.keras"))
    assert done.returncode == EXIT_USAGE
    assert "no such file" in done.stderr and "torn down" in done.stderr


def test_inspect_without_kex_settings_reads_with_the_settings_defaults(monkeypatch):
    """`inspect` skips reading Settings when no KEX_ variable is set: then the caps it uses
    must be those Settings' defaults give."""
    for name in list(os.environ):
        if name.upper().startswith("KEX_"):
            monkeypatch.delenv(name)
    assert _settings_limits() is DEFAULT_LIMITS
    assert read_limits(Settings()) == DEFAULT_LIMITS


def test_inspect_reads_kex_settings_when_set(monkeypatch):
    monkeypatch.setenv("kex_read_timeout_s", "7")  # pydantic-settings ignores the case
    assert _settings_limits().isolation_timeout_s == 7.0
