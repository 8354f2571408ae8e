"""What computing costs and weight health adds to a breakdown of ResNet50, in one run.

    .venv/bin/python bench/costs_and_health.py [--repeats 7]

The breakdown is what the throwaway reading process does for an upload, here in this process
(`isolate_hdf5` off, so that the functions below can be swapped): read the `.keras` file,
resolve it, make the model read and the report with every weight's statistics, and write
the report as JSON. The file is ResNet50(weights=None) saved in a temporary folder.

Each repetition runs it twice, in turns (which one goes first alternates): as it is, and with
the functions in MEASURED replaced by stubs that do nothing (costs "not known", no zero count,
no findings). The ratio of the two, per pair, is what costs and health add. CPU time is the
figure to read on a loaded machine (nothing here waits), wall time is printed beside it. The
time spent inside the measured functions themselves, in the runs as they are, is printed
too: the same question answered without a subtraction of two noisy numbers.

Target (issue 16): less than 10% added.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.analysis.costs import UNKNOWN, ModelCosts  # noqa: E402
from app.explain import explain_file, file_digest  # noqa: E402
from app.safety.limits import DEFAULT_LIMITS  # noqa: E402


def no_costs(graph, unknown_dims=None) -> ModelCosts:
    """Every layer's cost not known, no peak: what the report held before issue 16."""
    return ModelCosts(defaultdict(lambda: UNKNOWN), 0)


def no_zeros(chunk) -> int:
    return 0


def no_findings(graph, scans) -> list:
    return []


def no_channel_keys(node, weight) -> None:
    """No channel axis: the statistics pass then keys no channels (identical filters)."""
    return None


# What costs and weight health compute, as (module, name the caller looks up, stub): named
# where the caller looks it up (the module that imports it).
MEASURED: list[tuple[str, str, Callable]] = [
    ("app.analysis.report", "model_costs", no_costs),  # MACs, FLOPs, bytes, peak memory
    ("app.analysis.stats", "zero_count", no_zeros),  # each weight's exact zeros (sparsity)
    ("app.analysis.report", "health_findings", no_findings),  # untrained, dead, NaN, ...
    ("app.analysis.health", "channel_axis", no_channel_keys),  # keys for identical filters
]
# Timed in the runs as they are, never stubbed: for scale, every weight's statistics, which
# the breakdown made before issue 16 (min, max, mean, std; NaN and ±Inf counted), with the
# channel keys the health findings added to the same pass.
CONTEXT: list[tuple[str, str]] = [("app.analysis.report", "weight_scans")]

LIMITS = dataclasses.replace(DEFAULT_LIMITS, isolate_hdf5=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "resnet50.keras"
        save_resnet50(path)
        digest = file_digest(path)
        breakdown(path, digest)  # warm-up: imports, the page cache
        inside: dict[str, float] = defaultdict(float)
        pairs = [one_pair(path, digest, inside, first=i % 2) for i in range(args.repeats)]
    report(pairs, inside, args.repeats)


def save_resnet50(path: Path) -> None:
    """In a process of its own: the one measured never imports Keras, as the reading
    process does not."""
    code = "import sys, keras; keras.applications.ResNet50(weights=None).save(sys.argv[1])"
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, capture_output=True)


def breakdown(path: Path, digest: tuple[str, int]) -> bytes:
    return explain_file(path, digest=digest, limits=LIMITS).report.model_dump_json().encode()


def one_pair(path, digest, inside: dict[str, float], first: int) -> dict[str, tuple]:
    """One run as it is and one with the stubs, in the order `first` says."""
    runs: dict[str, tuple] = {}
    for variant in ("with", "without")[::-1] if first else ("with", "without"):
        with ExitStack() as stack:
            for module, name, stub in MEASURED:
                replacement = stub if variant == "without" else None
                stack.enter_context(swapped(module, name, replacement, inside))
            if variant == "with":
                for module, name in CONTEXT:
                    stack.enter_context(swapped(module, name, None, inside))
            runs[variant] = timed(lambda: breakdown(path, digest))
    return runs


@contextmanager
def swapped(module_name: str, name: str, stub: Callable | None, inside: dict) -> Iterator[None]:
    """`module.name` replaced by `stub`, or (None) by the original timed into `inside`."""
    module = importlib.import_module(module_name)
    original = getattr(module, name)
    key = f"{module_name}.{name}"

    def timed_original(*args, **kwargs):
        start = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            inside[key] += time.process_time() - start

    setattr(module, name, stub or timed_original)
    try:
        yield
    finally:
        setattr(module, name, original)


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall s, CPU s) of one call, after a collection so that neither pays for the other."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def report(pairs: list[dict[str, tuple]], inside: dict[str, float], repeats: int) -> None:
    def column(variant: str, which: int) -> list[float]:
        return [pair[variant][which] for pair in pairs]

    print(f"{'file':42s}: ResNet50(weights=None) .keras, read in this process")
    for which, label in ((1, "CPU"), (0, "wall")):
        with_, without = column("with", which), column("without", which)
        ratios = [a / b - 1 for a, b in zip(with_, without, strict=True)]
        print(
            f"{f'breakdown with / without ({label})':42s}: "
            f"{statistics.median(with_) * 1e3:7.1f} / {statistics.median(without) * 1e3:7.1f} ms"
            f" (medians of {repeats}; best {min(with_) * 1e3:.1f} / {min(without) * 1e3:.1f})"
        )
        print(
            f"{f'added ({label})':42s}: median of the pairs {statistics.median(ratios):+.1%}, "
            f"best / best {min(with_) / min(without) - 1:+.1%}  (target < +10%)"
        )
    base = statistics.median(column("without", 1))
    measured = [f"{module}.{name}" for module, name, _ in MEASURED]
    for key, seconds in inside.items():
        per_run = seconds / repeats
        print(
            f"{'inside ' + key:42s}: {per_run * 1e3:6.1f} ms CPU a breakdown, {per_run / base:.1%}"
        )
    total = sum(inside[key] for key in measured) / repeats
    print(f"{'inside the measured functions':42s}: {total * 1e3:6.1f} ms CPU, {total / base:.1%}")


if __name__ == "__main__":
    main()
