"""Schemathesis against a running server's own OpenAPI document, for the suite's bounded run
(tests/safety/test_api_fuzz.py) and the long one (bench/fuzz_api.py).

Every operation of the document, in rounds: each round draws `examples` cases per operation
from schemathesis's strategies (data that fits the document, then data that does not, in
turn), sends them, and records the status and the time of each answer. Nothing here judges:
the caller asserts on the `Outcome`.

`fuzz_files` does the same with seeded mutations of model files (tests/support/fuzzing.py),
uploaded to the server: the readers' fuzz, through the whole request.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.support.fuzzing import mutation

REQUEST_TIMEOUT_S = 120
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


@dataclass
class ServerError:
    """A 5xx, with what was sent: enough to replay it by hand."""

    operation: str
    status: int
    body: object
    query: object
    answer: str


@dataclass
class Outcome:
    cases: int = 0
    statuses: Counter = field(default_factory=Counter)
    server_errors: list[ServerError] = field(default_factory=list)
    slowest_s: float = 0.0
    slowest: str = ""  # the operation, what was sent and the answer's status and code
    slowest_upload: bytes | None = None  # the file sent, when the slowest was an upload

    def record(self, operation: str, case, response, seconds: float) -> None:
        self.cases += 1
        self.statuses[(operation, response.status_code)] += 1
        if seconds > self.slowest_s:
            answer = f"{response.status_code} {_code(response)}".strip()
            sent = _shown(getattr(case, "body", None))
            self.slowest_s, self.slowest = seconds, f"{operation}: {sent!s:.120} → {answer}"
            self.slowest_upload = getattr(case, "data", None)
        if response.status_code >= 500:
            self.server_errors.append(
                ServerError(
                    operation,
                    response.status_code,
                    _shown(getattr(case, "body", None)),
                    case.query,
                    response.text[:500],
                )
            )


def fuzz_api(base: str, *, examples: int, rounds: int | None = None, seconds: float = 0) -> Outcome:
    """`rounds` rounds (or rounds until `seconds` have passed) of `examples` cases per
    operation of the server at `base`."""
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    outcome, started, done = Outcome(), time.monotonic(), 0
    while (rounds is None or done < rounds) and (rounds is not None or _left(started, seconds)):
        mode = MODES[done % len(MODES)]
        for operation in operations:
            _round(base, operation, mode, examples, outcome)
        done += 1
    return outcome


def fuzz_files(
    base: str,
    originals: dict[str, bytes],
    *,
    mutants: int,
    first_seed: int = 0,
    until: float = float("inf"),
) -> Outcome:
    """`mutants` seeded mutations of each original, uploaded with check=false (the reading,
    not Keras, is what they test); none sent once `time.monotonic()` passes `until`."""
    outcome = Outcome()
    for name, original in originals.items():
        for seed in range(first_seed, first_seed + mutants):
            if time.monotonic() > until:
                return outcome
            data = mutation(original, name.endswith(".keras"), random.Random(f"{name}-{seed}"))
            _upload(base, name, seed, data, outcome)
    return outcome


def _upload(base: str, name: str, seed: int, data: bytes, outcome: Outcome) -> None:
    case = _Upload(f"mutation of {name}, seed {seed}", {"check": "false"}, data)
    started = time.perf_counter()
    try:
        response = requests.post(
            f"{base}/api/v1/reports",
            params={"check": "false", "recompute": "true"},
            files={"file": (name, data)},
            timeout=REQUEST_TIMEOUT_S,
        )
    except requests.RequestException as exc:
        response = _NoAnswer(f"{type(exc).__name__}: {exc}"[:500])
    outcome.record(
        "POST /api/v1/reports (mutated file)", case, response, time.perf_counter() - started
    )


@dataclass
class _Upload:
    body: str
    query: dict
    data: bytes


def _code(response) -> str:
    """The error `code` of a JSON answer, or nothing."""
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("code", "")) if isinstance(body, dict) else ""


def _left(started: float, seconds: float) -> bool:
    return time.monotonic() - started < seconds


def _round(base: str, operation, mode, examples: int, outcome: Outcome) -> None:
    name = f"{operation.method.upper()} {operation.path}"

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def send(case) -> None:
        started = time.perf_counter()
        try:
            response = case.call(base_url=base, timeout=REQUEST_TIMEOUT_S)
        except requests.RequestException as exc:  # no answer at all: worse than a 5xx
            response = _NoAnswer(f"{type(exc).__name__}: {exc}"[:500])
        outcome.record(name, case, response, time.perf_counter() - started)

    try:
        send()
    except Unsatisfiable:  # no invalid request exists (an operation without parameters)
        pass


@dataclass
class _NoAnswer:
    text: str
    status_code: int = 599


def _shown(body: object) -> object:
    if isinstance(body, bytes | bytearray):
        return f"<{len(body)} bytes>"
    text = repr(body)
    return body if len(text) <= 2000 else text[:2000] + "..."
