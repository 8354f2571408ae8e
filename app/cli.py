"""`keras-explainer serve`, `keras-explainer inspect FILE`, `keras-explainer export FILE -o DIR`.

`keras-explainer diff A B [--json]` compares two model files (app.compare): what changed,
layer by layer and weight by weight. Its exit codes are its own:
    0  identical: the same layers and configs, every weight equal bit for bit
    1  only weights differ
    2  the architecture differs (a layer added, removed, renamed or changed; the inputs)
    3  a file was refused: its side, error code and sentence are printed on stderr
    4  bad usage (no such file)

`inspect FILE --yours mine.npz [--inputs x.npy]` diagnoses your own forward's numbers
(app.diagnoses, as `POST /api/v1/reports/{id}/diagnoses` does).

`inspect FILE` prints the report as tables, made and rendered in the reading process from the
same code as the API's (app.terminal_text). `--json`, `--check`, `--yours` and `--weights` go
through the same `Reports` as the API (no second implementation: app.reports), with a store
in a temporary folder; `--json` prints exactly the API's JSON. `--check` starts one Keras
worker for the manual-vs-predict check and shows its progress on stderr. `export` runs the
check the same way and writes the files `GET /api/v1/reports/{id}/forward` zips
(app.export): model_forward.py, weights.npz, the check's inputs, Keras' outputs, README.txt.

Exit codes:
    0  explained (and, with --check, the check passed)
    1  the check ran and failed: a layer differs from Keras beyond the tolerance; or, with
       --yours, your numbers part from Keras (the diagnosis says where and why)
    2  bad usage (no such file, unknown option)
    3  the file was refused: its error code and sentence are printed on stderr
    4  the check could not run: refused, unsupported by Keras, or an error (export: no
       program was written; the reason is printed on stderr)
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from app import isolation
from app.errors import ExplainerError
from app.safety.limits import DEFAULT_LIMITS, ReadLimits

# Each command imports what it uses: `inspect`'s tables (app.terminal_text) need no store,
# no report kept by id (app.reports) and no check machinery.
if TYPE_CHECKING:
    from app.reports import Options, Reports, Submission
    from app.schemas import CheckReport, Report

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE, EXIT_REFUSED, EXIT_NOT_CHECKED = 0, 1, 2, 3, 4
EXIT_READER_GONE = 128 + 13  # what a shell reports for a program SIGPIPE ended (`| head`)
DIFF_EXITS = {"identical": 0, "weights-differ": 1, "architecture-differs": 2}
DIFF_USAGE = 4
POLL_S = 0.2
LOG_FORMAT = "%(levelname)s:     %(name)s: %(message)s"
BAR_WIDTH = 30


def main(argv: list[str] | None = None, *, leave_at_once: bool = False) -> int:
    """Run the command `argv` asks for; its exit code. `leave_at_once`: the caller is the
    program itself (`command_line`), and a command that leaves nothing to tear down ends the
    process when it is done (`_leave`)."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = _parser().parse_args(argv)
    except SystemExit as usage:
        # argparse's usage errors exit 2, which is diff's "the architecture differs": a
        # pipeline reading diff's exit code must not take a typo for a verdict.
        if usage.code == EXIT_USAGE and argv[:1] == ["diff"]:
            return DIFF_USAGE
        raise
    args.leave_at_once = leave_at_once
    return args.run(args)


def command_line() -> None:
    """`keras-explainer` as a program: the console script and `python -m app.cli`.

    When what reads the output goes away (`keras-explainer inspect m.keras | head`), the
    program ends quietly, as `cat` would, instead of with a traceback: the rest of the output
    goes nowhere (Python's own advice, "Note on SIGPIPE" in the `signal` module's docs)."""
    try:
        code = main(leave_at_once=True)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_READER_GONE
    raise SystemExit(code)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="keras-explainer", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="serve the web app and the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, help="Keras worker processes (KEX_WORKERS)")
    serve.set_defaults(run=_serve)
    inspect = commands.add_parser("inspect", help="explain a model file in the terminal")
    inspect.add_argument("file", type=Path, help=".keras, legacy .h5, or to_json() spec")
    inspect.add_argument("--json", action="store_true", help="print the API's JSON")
    inspect.add_argument("--check", action="store_true", help="run the manual-vs-predict check")
    inspect.add_argument("--inputs", type=Path, help=".npy or .npz inputs for the check")
    inspect.add_argument(
        "--weights", type=Path, help="the weights file saved beside a spec (save_weights .h5)"
    )
    inspect.add_argument(
        "--yours",
        type=Path,
        help="your own forward's numbers to diagnose: .npz keyed by layer name, or .npy",
    )
    inspect.add_argument("--mode", choices=("inference", "training"), default="inference")
    inspect.add_argument(
        "--code", action="store_true", help="add the NumPy code the check runs for the layers"
    )
    inspect.add_argument(
        "--unknown-dims",
        metavar="SIZES",
        help="the size costs count the inputs' unknown dimensions at: by input, as "
        "tokens=128,image=224, or one for all, as 224 (default 32)",
    )
    inspect.add_argument(
        "--keras-call",
        choices=("call", "predict"),
        help="how Keras runs the model for the check: an eager call or predict (default: "
        "the faster for the model)",
    )
    inspect.set_defaults(run=_inspect)
    export = commands.add_parser(
        "export", help="write the model as a standalone NumPy program that reproduces predict"
    )
    export.add_argument("file", type=Path, help=".keras, legacy .h5, or to_json() spec")
    export.add_argument("-o", "--output", type=Path, required=True, help="folder to write to")
    export.add_argument("--inputs", type=Path, help=".npy or .npz inputs for the check")
    export.add_argument(
        "--weights", type=Path, help="the weights file saved beside a spec (save_weights .h5)"
    )
    export.set_defaults(run=_export)
    migrate = commands.add_parser(
        "migrate", help="create or update a PostgreSQL store's tables (run once per release)"
    )
    migrate.add_argument(
        "--url", help="postgresql://user:password@host/db (default: KEX_STORE_URL)"
    )
    migrate.set_defaults(run=_migrate)
    worker = commands.add_parser(
        "worker", help="run checks from a team's queue (KEX_STORE_URL, KEX_SHARED_DIR)"
    )
    worker.add_argument("--workers", type=int, help="checks run at once (KEX_WORKERS)")
    worker.set_defaults(run=_worker)
    diff = commands.add_parser("diff", help="compare two model files, layer by layer")
    diff.add_argument("a", type=Path, help="the first model file (.keras, legacy .h5, spec)")
    diff.add_argument("b", type=Path, help="the second model file")
    diff.add_argument("--json", action="store_true", help="print the API's JSON")
    diff.add_argument("--all", action="store_true", help="list unchanged layers too")
    diff.set_defaults(run=_diff)
    return parser


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.config import Settings
    from app.main import create_app

    overrides = {"workers": args.workers} if args.workers is not None else {}
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)  # our warnings, with uvicorn's
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    uvicorn.run(create_app(Settings(**overrides)), host=args.host, port=args.port)
    return EXIT_OK


def _migrate(args: argparse.Namespace) -> int:
    url = args.url or os.environ.get("KEX_STORE_URL", "")
    if not url.startswith(("postgresql://", "postgres://")):
        print(
            "keras-explainer: migrate needs a PostgreSQL store: --url postgresql://… or "
            "KEX_STORE_URL (SQLite makes its table itself)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    import psycopg

    from app.store.migrate import migrate

    try:
        applied = migrate(url)
    except psycopg.Error as error:
        print(f"keras-explainer: migrate failed: {error}", file=sys.stderr)
        return EXIT_CHECK_FAILED
    print(f"applied: {', '.join(applied)}" if applied else "the store is up to date")
    return EXIT_OK


def _worker(args: argparse.Namespace) -> int:
    from app.config import Settings

    workers = args.workers if args.workers is not None else None
    settings = Settings(**({"workers": workers} if workers is not None else {}))
    url = settings.store_url or ""
    if not url.startswith(("postgresql://", "postgres://")) or settings.shared_dir is None:
        print(
            "keras-explainer: a worker needs a PostgreSQL store and a shared folder: set "
            "KEX_STORE_URL=postgresql://… and KEX_SHARED_DIR",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if settings.workers < 1:
        print("keras-explainer: a worker runs at least one check (--workers 1)", file=sys.stderr)
        return EXIT_USAGE
    from app.main import make_pool
    from app.queue.supervisor import NoNetworkIsolation, run_worker

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    pool = make_pool(settings)
    assert pool is not None
    try:
        run_worker(settings, pool)
    except NoNetworkIsolation as refusal:
        print(f"keras-explainer: {refusal}", file=sys.stderr)
        return EXIT_REFUSED
    return EXIT_OK


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """After a graceful shutdown uvicorn raises the signal it caught again, with the handler
    it found in place. With the default one, SIGTERM killed the process before Python's exit
    handlers ran, and multiprocessing's temp folder (pymp-*, the fork server's socket) stayed
    behind at every stop. Raised as SystemExit, the interpreter ends normally."""
    raise SystemExit(128 + signum)


def _inspect(args: argparse.Namespace) -> int:
    for path in (args.file, args.inputs, args.weights, args.yours):
        if path is not None and not path.is_file():
            print(f"keras-explainer: no such file: {path}", file=sys.stderr)
            return EXIT_USAGE
    if args.yours is not None and args.weights is not None:
        print(
            "keras-explainer: --yours takes a model file, not a spec and weights", file=sys.stderr
        )
        return EXIT_USAGE
    if not args.check and args.yours is None:  # one thread until the report is made:
        # its reading process is then a fork of this one
        isolation.fork_directly()
    tables = not (args.json or args.check or args.yours is not None)
    if tables and args.weights is None:
        return _print_tables(args)
    # What is imported now lives as long as the command: left out of every garbage
    # collection the report's objects cause (ResNet50: 28 ms of CPU → 6).
    gc.freeze()
    try:
        report = explain(
            args.file,
            check=args.check,
            inputs=args.inputs,
            mode=args.mode,
            weights=args.weights,
            keras_call=args.keras_call,
            unknown_dims=args.unknown_dims,
            brief=tables and not args.code,
        )
        diagnosis = None if args.yours is None else diagnose(report, args)
    except ExplainerError as exc:
        print(f"keras-explainer: {exc.code}: {exc.message}", file=sys.stderr)
        return EXIT_REFUSED
    if args.json:
        body = report.model_dump(mode="json")
        if diagnosis is not None:
            body["diagnosis"] = diagnosis.model_dump(mode="json")
        print(json.dumps(body, indent=2))
    else:
        from app.terminal import render, render_diagnosis

        print(render(report, code=args.code))
        if diagnosis is not None:
            print("\n" + render_diagnosis(diagnosis))
    if diagnosis is not None and diagnosis.verdict != "matches-keras":
        return EXIT_CHECK_FAILED
    return exit_code(report.check, args.check)


def _print_tables(args: argparse.Namespace) -> int:
    """`inspect FILE` as tables: made and rendered in the reading process (app.terminal_text)."""
    if "numpy" not in sys.modules:  # the tables take no matrix product: OpenBLAS's worker
        # thread, started as NumPy is imported, would only spin (25 ms of CPU on another core)
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # No pydantic plugin (they watch validations, for a service's monitoring) has anything to
    # do in a one-shot command: without this, pydantic's first model class reads the entry
    # points of every installed distribution to find them (~5 ms for ~80 distributions).
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    gc.disable()  # what is imported lives as long as the command: no collection would free
    # any of it, and those that ran during these imports took 7% of them (~17 ms of ~250)
    from app.terminal_text import terminal_text

    gc.freeze()  # see _inspect
    gc.enable()
    try:
        sizes = _unknown_dims(args.unknown_dims)
        print(terminal_text(args.file, _settings_limits(), sizes, code=args.code))
        code = EXIT_OK
    except ExplainerError as exc:
        print(f"keras-explainer: {exc.code}: {exc.message}", file=sys.stderr)
        code = EXIT_REFUSED
    if args.leave_at_once:
        _leave(code)
    return code


def _leave(code: int) -> NoReturn:
    """End the process now with `code`, its output flushed, without the interpreter's
    teardown: freeing every module's objects one by one (numpy, h5py, pydantic, the
    registries) took ~10 ms of the tables' ~600 for nothing. Only for a command that holds no
    file, thread, child process or temporary folder by then, and has no exit handler of its
    own to run: the tables, whose reading process has ended (app.isolation)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _unknown_dims(text: str | None) -> tuple[tuple[str, int], ...]:
    if not text:
        return ()
    from app.reports import parse_unknown_dims

    return parse_unknown_dims(text)


def _diff(args: argparse.Namespace) -> int:
    from app.compare.task import SideFile, compare_files
    from app.compare.terminal import render_comparison

    for path in (args.a, args.b):
        if not path.is_file():
            print(f"keras-explainer: no such file: {path}", file=sys.stderr)
            return DIFF_USAGE
    isolation.fork_directly()  # one thread: the reading process is a fork of this one
    try:
        comparison = compare_files(
            SideFile(args.a, filename=args.a.name),
            SideFile(args.b, filename=args.b.name),
            _settings_limits(),
        )
    except ExplainerError as exc:
        print(f"keras-explainer: {exc.code}: {exc.message}", file=sys.stderr)
        return EXIT_REFUSED
    if args.json:
        print(json.dumps(comparison.model_dump(mode="json"), indent=2))
    else:
        print(render_comparison(comparison, changed_only=not args.all))
    return DIFF_EXITS[comparison.verdict]


def diagnose(report: Report, args: argparse.Namespace):
    """The diagnosis of `--yours`, as the API makes it (its own process reads the model)."""
    from app.config import Settings
    from app.diagnoses import Diagnoses, DiagnosisAsk

    settings = Settings()
    with tempfile.TemporaryDirectory(prefix="kex-cli-") as folder:
        diagnoses = Diagnoses(
            Path(folder), None, settings.check_tolerance, settings.check_timeout_s
        )
        ask = DiagnosisAsk(yours_path=args.yours, inputs_path=args.inputs, model_path=args.file)
        return diagnoses.run(report, ask)


def _export(args: argparse.Namespace) -> int:
    for path in (args.file, args.inputs, args.weights):
        if path is not None and not path.is_file():
            print(f"keras-explainer: no such file: {path}", file=sys.stderr)
            return EXIT_USAGE
    try:
        written = export(args.file, args.output, inputs=args.inputs, weights=args.weights)
    except ExplainerError as exc:
        print(f"keras-explainer: {exc.code}: {exc.message}", file=sys.stderr)
        return EXIT_NOT_CHECKED if exc.status == 409 else EXIT_REFUSED
    for path in written:
        print(path)
    return EXIT_OK


def export(
    path: Path, output: Path, inputs: Path | None = None, weights: Path | None = None
) -> list[Path]:
    """Run the check on the file (as `inspect --check`) and copy the program it wrote to
    `output`; the files written."""
    from app.export.bundle import FILES as EXPORT_FILES
    from app.export.kept import exported_folder

    with tempfile.TemporaryDirectory(prefix="kex-cli-") as folder:
        report = explain(path, check=True, inputs=inputs, weights=weights, data_dir=Path(folder))
        source = exported_folder(report, _exports_dir(Path(folder)))
        output.mkdir(parents=True, exist_ok=True)
        return [
            Path(shutil.copy(source / name, output / name))
            for name in EXPORT_FILES
            if (source / name).is_file()
        ]


def _exports_dir(folder: Path) -> Path:
    from app.config import Settings

    return Settings(data_dir=folder).exports_dir


def exit_code(check: CheckReport, asked: bool) -> int:
    if not asked or check.status == "passed":
        return EXIT_OK
    return EXIT_CHECK_FAILED if check.status == "failed" else EXIT_NOT_CHECKED


def explain(
    path: Path,
    check: bool = False,
    inputs: Path | None = None,
    mode: str = "inference",
    weights: Path | None = None,
    data_dir: Path | None = None,
    keras_call: str | None = None,
    unknown_dims: str | None = None,
    brief: bool = False,
) -> Report:
    """The report the API would give for this file (and a spec's weights file), through the
    same code path; in `data_dir` (what the check keeps: its exported program), else in a
    folder removed on return. `brief`: without what only a page or the JSON shows (the
    tables of a spec and its weights, app.analysis.report)."""
    from app.reports import Options, Reports, Submission, parse_unknown_dims
    from app.store import SqliteReportStore

    if data_dir is None:
        with tempfile.TemporaryDirectory(prefix="kex-cli-") as folder:
            return explain(
                path, check, inputs, mode, weights, Path(folder), keras_call, unknown_dims,
                brief,
            )  # fmt: skip
    sizes = parse_unknown_dims(unknown_dims)
    options = Options(
        check=check, mode=mode, keras_call=keras_call, unknown_dims=sizes, brief=brief
    )
    submission = Submission(model_path=path, filename=path.name, inputs_path=inputs, owned=False)
    if weights is not None:  # the model file the pair makes is written beside the copy
        submission.weights_path = Path(shutil.copy(weights, data_dir / "weights"))
    if not check:
        store = SqliteReportStore(data_dir / "reports.sqlite3")
        reports = Reports(store, limits=_settings_limits())
        return reports.create(submission, options)[0]
    return _explain_with_check(data_dir, submission, options)


def _explain_with_check(folder: Path, submission: Submission, options: Options) -> Report:
    from app.check.runner import CheckRunner
    from app.config import Settings
    from app.main import check_settings, make_pool
    from app.reports import Reports, read_limits
    from app.store import SqliteReportStore

    settings = Settings(data_dir=folder, workers=1, spare_workers=0)
    pool = make_pool(settings)
    assert pool is not None
    pool.start()
    store = SqliteReportStore(folder / "reports.sqlite3")  # the command's own, never a team's
    runner = CheckRunner(
        pool, store, settings.work_dir / "checks", max_active=1, exports_dir=settings.exports_dir
    )
    try:
        limits = read_limits(settings)
        reports = Reports(store, runner, check_settings(settings), limits=limits)
        report, _ = reports.create(submission, options)
        return _follow(reports, report.id)
    finally:
        runner.stop()  # its warm reference process too: nothing outlives the command
        pool.stop()


def _settings_limits() -> ReadLimits:
    """The reading process's caps from the `KEX_*` settings. Settings (pydantic-settings: 0.2 s
    of CPU to import, a third of the command's imports) is read only when a `KEX_` variable
    is set (in any case, as pydantic-settings reads them); with none, its defaults are
    ReadLimits' own (tests/test_cli.py holds them equal)."""
    if not any(name.upper().startswith("KEX_") for name in os.environ):
        return DEFAULT_LIMITS
    from app.config import Settings
    from app.reports import read_limits

    return read_limits(Settings())


def _follow(reports: Reports, report_id: str) -> Report:
    """Poll the stored report, drawing the check's progress on stderr, until it ends."""
    while (report := reports.get(report_id)).check.status in ("queued", "running"):
        _draw(report.check)
        time.sleep(POLL_S)
    print(file=sys.stderr)
    return report


def _draw(check: CheckReport) -> None:
    progress = check.progress
    fraction = progress.done / progress.total if progress and progress.total else 0.0
    filled = int(BAR_WIDTH * fraction)
    stage = progress.stage if progress else check.status
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    print(f"\rcheck [{bar}] {stage:<11}", end="", file=sys.stderr, flush=True)


if __name__ == "__main__":
    command_line()
