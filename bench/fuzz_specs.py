"""Posts hypothesis-generated specs to the API for a given time: the strategies of the
property tests (tests/support/spec_strategies.py: writer-matrix specs with fields retyped,
redrawn, dropped or added), the same property (a report, or a 4xx with a stable code;
never a 5xx; the report's page renders). Prints how many cases ran and every failure,
shrunk by hypothesis to a small case.

    .venv/bin/python bench/fuzz_specs.py --minutes 30
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.safety.test_spec_properties import answer, assert_clean  # noqa: E402
from tests.support.api import make_client  # noqa: E402
from tests.support.spec_strategies import mutated_specs, redrawn_specs  # noqa: E402

ROUND = 500  # cases per hypothesis run; a new seed each round


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0, help="seed of the first round")
    args = parser.parse_args()
    deadline = time.monotonic() + args.minutes * 60
    cases, failures, rounds = 0, [], 0
    with tempfile.TemporaryDirectory() as folder, make_client(Path(folder)) as client:

        def case(spec_and_edits: tuple) -> None:
            nonlocal cases
            if time.monotonic() > deadline:
                return
            cases += 1
            spec, edits = spec_and_edits
            status, body = answer(client, spec)
            assert_clean(status, body, edits)

        while time.monotonic() < deadline:
            strategy = redrawn_specs() if rounds % 4 == 3 else mutated_specs()
            run = seed(args.seed + rounds)(
                settings(
                    max_examples=ROUND,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )(given(strategy)(case))
            )
            try:
                run()
            except Exception:  # a failure, shrunk; reported, then the next round
                failures.append(traceback.format_exc(limit=-3))
                print(failures[-1], flush=True)
            rounds += 1
            print(f"{cases} cases, {len(failures)} failures, {rounds} rounds", flush=True)
    print(f"done: {cases} cases in {args.minutes} minutes, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
