"""`keras-explainer serve` and `keras-explainer inspect FILE`.

`inspect` goes through the same `Reports` service as the API (no second implementation),
with a store in a temporary folder, and prints the report as tables or, with `--json`,
exactly the API's JSON.

Exit codes: 0 explained; 2 bad usage; 3 the file was refused (its error code is printed).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from app.errors import ExplainerError
from app.reports import Options, Reports, Submission
from app.schemas import Report
from app.store import SqliteReportStore

EXIT_OK, EXIT_USAGE, EXIT_REFUSED = 0, 2, 3


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
    inspect.set_defaults(run=_inspect)
    return parser


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.config import Settings
    from app.main import create_app

    overrides = {"workers": args.workers} if args.workers is not None else {}
    uvicorn.run(create_app(Settings(**overrides)), host=args.host, port=args.port)
    return EXIT_OK


def _inspect(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        print(f"keras-explainer: no such file: {args.file}", file=sys.stderr)
        return EXIT_USAGE
    try:
        report = explain(args.file)
    except ExplainerError as exc:
        print(f"keras-explainer: {exc.code}: {exc.message}", file=sys.stderr)
        return EXIT_REFUSED
    if args.json:
        print(json.dumps(report.model_dump(mode="json"), indent=2))
    else:
        from app.terminal import render

        print(render(report))
    return EXIT_OK


def explain(path: Path) -> Report:
    """The report the API would give for this file, through the same service."""
    with tempfile.TemporaryDirectory(prefix="kex-cli-") as folder:
        reports = Reports(SqliteReportStore(Path(folder) / "reports.sqlite3"))
        submission = Submission(model_path=path, filename=path.name)
        report, _ = reports.create(submission, Options(check=False))
        return report


if __name__ == "__main__":
    raise SystemExit(main())
