"""Where the reading process's CPU time goes, phase by phase, on one model file.

    .venv/bin/python bench/reading_phases.py [FILE] [--repeats 5]

Runs in this process, one after the other, what a breakdown runs (the serving process's
hash of the upload, then the throwaway reading process's work: the safety scan, the reader,
the model read, the report with each of its parts, its JSON; then the serving process's
validation of that JSON), `--repeats` times, and prints each phase's CPU time (user +
system, `time.process_time`): the first run's, which a reading process pays (what is done
once per process: the reference's source parsed, pydantic's validators first used), and the
best. CPU time, not the clock: this machine is shared, and a phase's CPU time hardly moves
with the load. Without FILE: keras.applications.ResNet50(weights=None) saved as `.keras`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.analysis import batchnorm, breakdown, costs, forward, health  # noqa: E402
from app.analysis.report import build_report  # noqa: E402
from app.analysis.resolve import resolve  # noqa: E402
from app.check.model_read import model_read  # noqa: E402
from app.explain import file_digest  # noqa: E402
from app.formats import read_scanned  # noqa: E402
from app.safety.scan import identify, scan_file  # noqa: E402
from app.schemas import Report, Source  # noqa: E402


class Phases:
    """Each phase's first and best CPU time."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.best: dict[str, float] = {}

    def run(self, name: str, step: Callable[[], Any]) -> Any:
        start = time.process_time()
        result = step()
        spent = time.process_time() - start
        self.first.setdefault(name, spent)
        self.best[name] = min(self.best.get(name, spent), spent)
        return result


def one_run(path: Path, phases: Phases) -> int:
    """One breakdown's work, phase by phase; the size of the report's JSON."""
    sha256, size = phases.run("the upload's SHA-256 (serving process)", lambda: file_digest(path))
    fmt = phases.run("identify (sniff, polyglot)", lambda: identify(path))
    scanned = phases.run("safety scan", lambda: scan_file(path, fmt=fmt))
    loaded = phases.run("reader", lambda: read_scanned(scanned))
    try:
        graph = loaded.graph
        phases.run("resolve", lambda: resolve(graph, weights_in_file=True))
        phases.run("model read", lambda: model_read(graph, loaded.format, loaded.refusals))
        source = Source(
            format=loaded.format,
            sha256=sha256,
            size=size,
            keras_version=loaded.keras_version,
            backend=loaded.backend,
            filename=path.name,
        )
        model_costs = phases.run("  costs", lambda: costs.model_costs(graph, {}))
        scans = phases.run("  every weight's statistics", lambda: health.weight_scans(graph))
        layers = phases.run(
            "  layers", lambda: breakdown.layer_reports(graph, costs=model_costs, scans=scans)
        )
        phases.run("  BatchNormalization", lambda: batchnorm.batchnorm_reports(graph))
        phases.run("  health findings", lambda: health.health_findings(graph, scans))
        phases.run("  reference code", lambda: forward.reference_code(layers))
        report = phases.run("report (all of the above)", lambda: build_report(graph, source, "r"))
        text = phases.run("report's JSON", report.model_dump_json)
        phases.run("its validation (serving process)", lambda: Report.model_validate_json(text))
        return len(text)
    finally:
        loaded.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, nargs="?")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.file or _resnet50(Path(folder) / "resnet50.keras")
        phases = Phases()
        for _ in range(args.repeats):
            size = one_run(path, phases)
    print(f"{path.name}: report JSON {size:,} bytes; CPU ms, first run and best of {args.repeats}")
    for name, best in phases.best.items():
        print(f"{phases.first[name] * 1e3:8.1f} {best * 1e3:8.1f}  {name}")


def _resnet50(path: Path) -> Path:
    import keras

    keras.applications.ResNet50(weights=None).save(path)
    return path


if __name__ == "__main__":
    main()
