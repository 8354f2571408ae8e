"""Seeded byte mutations of small valid `.keras` and `.h5` files made here: reading each one
ends in a model or in an `ExplainerError` with a 4xx status (never another exception), within
bounded time, leaving no temporary file behind. bench/fuzz_readers.py runs thousands."""

from __future__ import annotations

import random
import tempfile
from collections import Counter

import pytest

from app.safety.limits import ReadLimits
from tests.support.fuzzing import mutation, original_files, our_temporary_files, read_mutant

MUTANTS_PER_FILE = 75
TIMEOUT_S = 3.0  # a mutant that hangs libhdf5 is refused after this (see test_isolation_process)
SLACK_S = 7.0


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    return original_files(tmp_path_factory.mktemp("originals"))


def test_fuzz_readers_end_in_a_model_or_a_4xx(originals, tmp_path):
    limits = ReadLimits(isolation_timeout_s=TIMEOUT_S)
    temporary = our_temporary_files(tempfile.gettempdir())
    outcomes, escaped, slowest = Counter(), [], 0.0
    for name, original in originals.items():
        for seed in range(MUTANTS_PER_FILE):
            data = mutation(original, name.endswith(".keras"), random.Random(f"{name}-{seed}"))
            outcome, seconds = read_mutant(tmp_path / "mutant", data, limits)
            outcomes[outcome] += 1
            slowest = max(slowest, seconds)
            if outcome.startswith("escaped"):
                escaped.append((name, seed, outcome))
    assert escaped == []
    assert slowest < TIMEOUT_S + SLACK_S
    assert our_temporary_files(tempfile.gettempdir()) <= temporary
    assert sum(outcomes.values()) == 4 * MUTANTS_PER_FILE
    assert outcomes["ok"] > 0 and outcomes["malformed-model"] > 0  # the mutants reach both ends
