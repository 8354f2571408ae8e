"""`keras-explainer serve` and `keras-explainer inspect FILE`.

`inspect` goes through the same `Reports` as the API (no second implementation: app.reports),
with a store in a temporary folder, and prints the report as tables or, with `--json`,
exactly the API's JSON. `--check` starts one Keras worker for the manual-vs-predict check
and shows its progress on stderr.

Exit codes:
    0  explained (and, with --check, the check passed)
    1  the check ran and failed: a layer differs from Keras beyond the tolerance
    2  bad usage (no such file, unknown option)
    3  the file was refused: its error code and sentence are printed on stderr
    4  the check could not run: refused, unsupported by Keras, or an error
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from app.errors import ExplainerError
from app.reports import Options, Reports, Submission
from app.schemas import CheckReport, Report
from app.store import SqliteReportStore

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE, EXIT_REFUSED, EXIT_NOT_CHECKED = 0, 1, 2, 3, 4
POLL_S = 0.2
LOG_FORMAT = "%(levelname)s:     %(name)s: %(message)s"
BAR_WIDTH = 30


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return args.run(args)


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
    inspect.add_argument("--mode", choices=("inference", "training"), default="inference")
    inspect.add_argument(
        "--keras-call",
        choices=("call", "predict"),
        help="how Keras runs the model for the check: an eager call or predict (default: "
        "the faster for the model)",
    )
    inspect.set_defaults(run=_inspect)
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


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """After a graceful shutdown uvicorn raises the signal it caught again, with the handler
    it found in place. With the default one, SIGTERM killed the process before Python's exit
    handlers ran, and multiprocessing's temp folder (pymp-*, the fork server's socket) stayed
    behind at every stop. Raised as SystemExit, the interpreter ends normally."""
    raise SystemExit(128 + signum)


def _inspect(args: argparse.Namespace) -> int:
    for path in (args.file, args.inputs, args.weights):
        if path is not None and not path.is_file():
            print(f"keras-explainer: no such file: {path}", file=sys.stderr)
            return EXIT_USAGE
    try:
        report = explain(
            args.file,
            check=args.check,
            inputs=args.inputs,
            mode=args.mode,
            weights=args.weights,
            keras_call=args.keras_call,
        )
    except ExplainerError as exc:
        print(f"keras-explainer: {exc.code}: {exc.message}", file=sys.stderr)
        return EXIT_REFUSED
    if args.json:
        print(json.dumps(report.model_dump(mode="json"), indent=2))
    else:
        from app.terminal import render

        print(render(report))
    return exit_code(report.check, args.check)


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
    keras_call: str | None = None,
) -> Report:
    """The report the API would give for this file (and a spec's weights file), through the
    same code path."""
    options = Options(check=check, mode=mode, keras_call=keras_call)
    submission = Submission(model_path=path, filename=path.name, inputs_path=inputs, owned=False)
    with tempfile.TemporaryDirectory(prefix="kex-cli-") as folder:
        if weights is not None:  # the model file the pair makes is written beside the copy
            submission.weights_path = Path(shutil.copy(weights, Path(folder) / "weights"))
        if not check:
            store = SqliteReportStore(Path(folder) / "reports.sqlite3")
            reports = Reports(store, limits=_settings_limits())
            return reports.create(submission, options)[0]
        return _explain_with_check(Path(folder), submission, options)


def _explain_with_check(folder: Path, submission: Submission, options: Options) -> Report:
    from app.check.runner import CheckRunner
    from app.config import Settings
    from app.main import check_settings, make_pool, read_limits

    settings = Settings(data_dir=folder, workers=1, spare_workers=0)
    pool = make_pool(settings)
    assert pool is not None
    pool.start()
    store = SqliteReportStore(settings.store_path)
    runner = CheckRunner(pool, store, settings.work_dir / "checks", max_active=1)
    try:
        limits = read_limits(settings)
        reports = Reports(store, runner, check_settings(settings), limits=limits)
        report, _ = reports.create(submission, options)
        return _follow(reports, report.id)
    finally:
        runner.stop()  # its warm reference process too: nothing outlives the command
        pool.stop()


def _settings_limits():
    from app.config import Settings
    from app.main import read_limits

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
    raise SystemExit(main())
