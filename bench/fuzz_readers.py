"""Fuzz the readers with thousands of seeded byte mutations of small valid model files.

    /work/main/.venv/bin/python bench/fuzz_readers.py [--mutants 1000] [--timeout 3] [--deep]

Four originals are built with Keras (a Dense/BatchNormalization MLP and a Bidirectional GRU,
each as `.keras` and as legacy `.h5`); every mutant (tests/support/fuzzing.py: raw bytes, or a
`.keras` member's bytes repacked) goes through `read_isolated` (a throwaway process first).
Each read must end in a model or an `ExplainerError` with a 4xx status, within the throwaway
process's timeout plus slack, and leave no temporary file of ours behind. With `--deep`, every
mutant that reads is also resolved, broken down and measured against the budgets, and anything but
a 4xx there is reported too (those modules are not the readers', so it is reported apart).

Prints the outcomes by code, every escape with its file and seed (to replay it:
`mutation(original, is_keras, random.Random(f"{name}-{seed}"))`), the slowest read, and
exits 1 when anything escaped. tests/safety/test_fuzz.py runs 300 of these in CI.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, uninstalled

from app.analysis.breakdown import layer_reports  # noqa: E402
from app.analysis.resolve import resolve  # noqa: E402
from app.check.budgets import DEFAULT_BUDGETS, check_budgets  # noqa: E402
from app.errors import ExplainerError  # noqa: E402
from app.explain import read_isolated  # noqa: E402
from app.safety.limits import ReadLimits  # noqa: E402
from tests.support.fuzzing import mutation, our_temporary_files, read_mutant  # noqa: E402

MODELS = ("dense_bn", "bidirectional_gru")
SLACK_S = 7.0


def originals(folder: Path) -> dict[str, bytes]:
    from tests.support.models import build  # imports Keras: only to make the originals

    files = {}
    for model in MODELS:
        for suffix in (".keras", ".h5"):
            build(model).save(folder / f"{model}{suffix}")
            files[f"{model}{suffix}"] = (folder / f"{model}{suffix}").read_bytes()
    return files


def analyse(path: Path, limits: ReadLimits) -> str:
    """What the service does after reading: resolve, breakdown, budgets."""
    try:
        with read_isolated(path, limits) as loaded:
            resolve(loaded.graph, weights_in_file=True)
            layer_reports(loaded.graph)
            check_budgets(loaded.graph, DEFAULT_BUDGETS)
    except ExplainerError as error:
        return error.code if 400 <= error.status < 500 else f"escaped: status {error.status}"
    except Exception as exc:  # reported, never hidden: this is what the run looks for
        return f"escaped: {type(exc).__name__}: {str(exc)[:80]}"
    return "ok"


def run(mutants: int, timeout: float, deep: bool, folder: Path) -> int:
    limits = ReadLimits(isolation_timeout_s=timeout)
    temporary = our_temporary_files(tempfile.gettempdir())
    reads, analyses, escapes, slowest = Counter(), Counter(), [], (0.0, "")
    started = time.perf_counter()
    for name, original in originals(folder).items():
        for seed in range(mutants):
            data = mutation(original, name.endswith(".keras"), random.Random(f"{name}-{seed}"))
            outcome, seconds = read_mutant(folder / "mutant", data, limits)
            reads[outcome] += 1
            slowest = max(slowest, (seconds, f"{name}-{seed}"))
            if outcome.startswith("escaped"):
                escapes.append(("read", name, seed, outcome))
            elif outcome == "ok" and deep:
                analysed = analyse(folder / "mutant", limits)
                analyses[analysed.split(":")[0] if analysed.startswith("esc") else analysed] += 1
                if analysed.startswith("escaped"):
                    escapes.append(("analysis", name, seed, analysed))
    leaked = our_temporary_files(tempfile.gettempdir()) - temporary
    report(reads, analyses, escapes, slowest, leaked, time.perf_counter() - started)
    too_slow = slowest[0] > timeout + SLACK_S
    return 1 if escapes or leaked or too_slow else 0


def report(reads, analyses, escapes, slowest, leaked, elapsed) -> None:
    total = sum(reads.values())
    print(f"{total} mutants read in {elapsed:.1f} s ({1000 * elapsed / total:.0f} ms each)")
    print("read outcomes:", dict(reads.most_common()))
    if analyses:
        print("analysis of the mutants that read:", dict(analyses.most_common()))
    print(f"slowest read: {slowest[0]:.2f} s ({slowest[1]})")
    print(f"temporary files left behind: {sorted(leaked) or 'none'}")
    for stage, name, seed, outcome in escapes:
        print(f"ESCAPED in {stage}: {name} seed {seed}: {outcome}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=int, default=1000, help="per original (4 originals)")
    parser.add_argument(
        "--timeout", type=float, default=3.0, help="the throwaway process's timeout, seconds"
    )
    parser.add_argument("--deep", action="store_true", help="also resolve, break down, budget")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fuzz-readers-") as folder:
        sys.exit(run(args.mutants, args.timeout, args.deep, Path(folder)))


if __name__ == "__main__":
    main()
