"""Seeded byte mutations of model files, for the fuzz test and bench/fuzz_readers.py.

Three ways to damage a file: its raw bytes (any format); and, for a `.keras` archive, the
bytes of `config.json` or of `model.weights.h5`, packed again into a valid zip, so that the
damage reaches the JSON and HDF5 parsers instead of stopping at a CRC check.
"""

from __future__ import annotations

import io
import os
import random
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from app.errors import ExplainerError
from app.explain import read_isolated
from app.safety.keras_v3 import TEMP_PREFIX
from app.safety.limits import ReadLimits

INTERESTING = (b"\x00", b"\xff", b"\x7f", b"\x80", b"\xff\xff\xff\xff", b"\x00\x00\x00\x80")


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """One to four random edits: flip a bit, set a byte, insert, delete, duplicate, cut."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        rng.choice(EDITS)(out, rng)
    return bytes(out)


def _flip(out: bytearray, rng: random.Random) -> None:
    if out:
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)


def _set(out: bytearray, rng: random.Random) -> None:
    if out:
        at = rng.randrange(len(out))
        value = rng.choice(INTERESTING)
        out[at : at + len(value)] = value


def _insert(out: bytearray, rng: random.Random) -> None:
    at = rng.randrange(len(out) + 1)
    out[at:at] = rng.randbytes(rng.randint(1, 64))


def _delete(out: bytearray, rng: random.Random) -> None:
    if out:
        at = rng.randrange(len(out))
        del out[at : at + rng.randint(1, 64)]


def _duplicate(out: bytearray, rng: random.Random) -> None:
    if out:
        at = rng.randrange(len(out))
        out[at:at] = out[at : at + rng.randint(1, 256)]


def _cut(out: bytearray, rng: random.Random) -> None:
    if len(out) > 1:
        del out[rng.randrange(1, len(out)) :]


EDITS: tuple[Callable[[bytearray, random.Random], None], ...] = (
    _flip, _flip, _set, _set, _insert, _delete, _duplicate, _cut,
)  # fmt: skip


def mutate_member(archive: bytes, member: str, rng: random.Random) -> bytes:
    """The archive with one member's bytes mutated, repacked with valid checksums."""
    source = zipfile.ZipFile(io.BytesIO(archive))
    target = io.BytesIO()
    with zipfile.ZipFile(target, "w") as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == member:
                data = mutate_bytes(data, rng)
            out.writestr(info.filename, data)
    return target.getvalue()


def mutation(original: bytes, is_keras: bool, rng: random.Random) -> bytes:
    """One mutant of `original`: raw bytes, or (for .keras) one member's bytes."""
    if not is_keras:
        return mutate_bytes(original, rng)
    strategy = rng.randrange(3)
    if strategy == 0:
        return mutate_bytes(original, rng)
    member = "config.json" if strategy == 1 else "model.weights.h5"
    return mutate_member(original, member, rng)


def read_mutant(path: Path, data: bytes, limits: ReadLimits) -> tuple[str, float]:
    """Write `data` to `path`, read it; the outcome ("ok", an error code, or "escaped: ..."
    for anything but a 4xx `ExplainerError`) and the seconds it took."""
    path.write_bytes(data)
    started = time.perf_counter()
    try:
        with read_isolated(path, limits):
            outcome = "ok"
    except ExplainerError as error:
        outcome = error.code if 400 <= error.status < 500 else f"escaped: status {error.status}"
    except Exception as exc:  # the very thing a fuzzer looks for: report it, never hide it
        outcome = f"escaped: {type(exc).__name__}"
    return outcome, time.perf_counter() - started


def our_temporary_files(folder: str) -> set[str]:
    """Entries of the temporary folder that our readers could have made."""
    return {name for name in os.listdir(folder) if name.startswith(TEMP_PREFIX)}


def original_files(folder: Path) -> dict[str, bytes]:
    """The seeds the fuzzers mutate: two small models (BatchNormalization, a Bidirectional GRU)
    saved as `.keras` and `.h5` in `folder`, by file name."""
    from tests.support.models import build  # Keras: only where seeds are made

    files = {}
    for model in ("dense_bn", "bidirectional_gru"):
        for suffix in (".keras", ".h5"):
            build(model).save(folder / f"{model}{suffix}")
            files[f"{model}{suffix}"] = (folder / f"{model}{suffix}").read_bytes()
    return files
