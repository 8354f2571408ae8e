"""Every weight's scan (app.analysis.health.weight_scans), shared between this process and a
sibling forked from it, each on its own core.

The statistics are the largest part of a report (ResNet50: ~100 ms of CPU of ~190) and need
nothing but a weight's bytes, read straight from the file (`app.formats.direct`). Shared
among two threads, they gained little of the clock (ResNet50: 82 ms against 99 on one
thread, for 122 of CPU): the threads take turns at Python's lock with each other and with
the rest of the report. A sibling process (the caller's `fork`: app.siblings.beside) takes
no turns: it scans while this process makes the rest of the report, then this process
scans what is left, and joins the sibling's figures when the report needs them.

Which process scans which weight is decided as they go, without a lock of ours: the weights
that are read straight from the file are tokens in one pipe, largest first, and the kernel
hands each 4-byte token to one reader. The sibling takes tokens from its start; this
process, once the rest of the report is made, takes what is left. Each weight is scanned
whole by one process, so its figures are those of one pass, bit for bit. Weights read
through h5py are scanned here (libhdf5 is never used from two processes at once), and so is
any that the sibling took and did not answer for.

The sibling's answer is bytes this process checks (`decoded`) before it believes them: one
record per weight it scanned (its statistics, and how many channel keys follow), then the
keys. An answer that does not check out is not used: its weights are scanned here.
"""

from __future__ import annotations

import fcntl
import math
import os
import struct
from collections.abc import Iterable
from typing import Any

import numpy as np

from app.analysis.health import Scans, channel_axis, stored_weights, weight_scans
from app.analysis.stats import WeightScan, channel_key_count, weight_scan
from app.formats.direct import DirectArray
from app.graph import LayerNode, ModelGraph, WeightRef
from app.schemas import WeightStats

TOKEN = struct.Struct("<I")  # a weight's place in `SharedScans.stored`
RECORD = np.dtype(
    [
        ("index", "<u4"),
        ("min", "<f8"),  # NaN: None (no finite value)
        ("max", "<f8"),
        ("mean", "<f8"),
        ("std", "<f8"),
        ("nan", "<i8"),
        ("inf", "<i8"),
        ("zeros", "<i8"),
        ("zero_fraction", "<f8"),
        ("keys", "<i8"),  # how many channel keys follow in the answer; -1: None
    ]
)
COUNT = struct.Struct("<I")  # records in an answer


Stored = list[tuple[LayerNode, WeightRef]]


class SharedScans:
    """The scans of a graph's stored weights: `tokens` (None: none to share) for a sibling
    whose work is `sibling_work`, forked by the caller (app.siblings.beside), and
    `result(answers)` here, given the pipe the sibling answers on (None: no sibling)."""

    def __init__(self, graph: ModelGraph) -> None:
        self.graph = graph
        self.stored: Stored = stored_weights(graph)
        self.tokens = _token_pipe(self.stored, direct_weights(self.stored))
        self._result: Scans | None = None

    def sibling_work(self) -> bytes:
        """In the sibling: the weights it takes, scanned, as its answer."""
        return encoded(self._take_tokens(), self.stored)

    def result(self, answers: int | None) -> Scans:
        """Every stored weight's scan, in model order: the tokens left, then the weights read
        through h5py, while the sibling may still scan; its answer, read from `answers` to
        its end and checked; then here what it took and did not answer for."""
        if self._result is not None:
            return self._result
        if self.tokens is None:
            self._result = weight_scans(self.graph)
            return self._result
        direct = set(direct_weights(self.stored))
        most = _most_bytes(self.stored, direct)  # before the tokens: the sibling still scans
        scans = self._take_tokens()
        os.close(self.tokens)
        self.tokens = None
        self._scan_here(scans, (i for i in range(len(self.stored)) if i not in direct))
        if answers is not None:
            answer = _read_all(answers, most)
            scans.update(decoded(answer, self.stored, taken=scans) if answer is not None else {})
        self._scan_here(scans, (i for i in range(len(self.stored)) if i not in scans))
        self._result = {id(w): scans[index] for index, (_, w) in enumerate(self.stored)}
        return self._result

    def _take_tokens(self) -> dict[int, WeightScan]:
        scans: dict[int, WeightScan] = {}
        while token := os.read(self.tokens, TOKEN.size):  # type: ignore[arg-type]
            self._scan_here(scans, TOKEN.unpack(token))
        return scans

    def _scan_here(self, scans: dict[int, WeightScan], indices: Iterable[int]) -> None:
        for index in indices:
            node, weight = self.stored[index]
            scans[index] = weight_scan(weight.values, channel_axis(node, weight))


def _read_all(fd: int, most: int) -> bytes | None:
    """Everything sent on `fd` until its end; None past `most` bytes (not an answer)."""
    parts, size = [], 0
    while chunk := os.read(fd, 1 << 20):
        parts.append(chunk)
        size += len(chunk)
        if size > most:
            return None
    return b"".join(parts)


def _most_bytes(stored: Stored, direct: set[int]) -> int:
    """The longest answer the sibling can give: a record and the channel keys of every
    weight it could take."""
    keys = sum(max(0, _expected_keys(*stored[i])) for i in direct)
    return COUNT.size + len(direct) * RECORD.itemsize + keys * 8


def direct_weights(stored: Stored) -> list[int]:
    """Where the weights read straight from the file are in `stored`: the sibling's to take
    (it never uses libhdf5)."""
    return [i for i, (_, w) in enumerate(stored) if isinstance(w.values, DirectArray)]


def _token_pipe(stored: Stored, direct: list[int]) -> int | None:
    """The read end of a pipe holding a token for each of the `direct` weights, largest
    first, its write end closed (a reader that finds it empty gets its end); None when
    there is none, or more than a pipe holds."""
    if not direct:
        return None
    direct = sorted(direct, key=lambda i: -math.prod(stored[i][1].values.shape))
    tokens = b"".join(TOKEN.pack(i) for i in direct)
    reader, writer = os.pipe()
    try:
        if len(tokens) > 1 << 16:
            fcntl.fcntl(writer, fcntl.F_SETPIPE_SZ, len(tokens))
        if os.write(writer, tokens) != len(tokens):
            raise OSError("the tokens did not fit in the pipe")
    except OSError:
        os.close(reader)
        return None
    finally:
        os.close(writer)
    return reader


def encoded(scans: dict[int, WeightScan], stored: Stored) -> bytes:
    """The sibling's answer: a count, one `RECORD` per scan, then the channel keys. The
    records are made from tuples at once (a field set at a time took ~10 µs a record, while
    the reading process waits for the answer)."""
    rows, keys = [], []
    for index, scan in scans.items():
        stats = scan.stats
        if stats is None:  # an empty weight: never read straight from the file
            raise ValueError(f"no statistics for weight {index}")
        figures = (stats.min, stats.max, stats.mean, stats.std)
        rows.append(
            (
                index,
                *(math.nan if value is None else value for value in figures),
                stats.nan,
                stats.inf,
                stats.zeros,
                stats.zero_fraction,
                -1 if scan.channel_keys is None else scan.channel_keys.size,
            )
        )
        if scan.channel_keys is not None:
            keys.append(scan.channel_keys.astype("<u8", copy=False).tobytes())
    records = np.array(rows, dtype=RECORD)
    return COUNT.pack(len(scans)) + records.tobytes() + b"".join(keys)


def decoded(answer: bytes, stored: Stored, taken: dict[int, Any]) -> dict[int, WeightScan]:
    """The sibling's scans from its answer, each checked against its weight (one this
    process did not take, of the right size, with a key per channel where it has channel
    keys); {} when anything in it does not check out."""
    try:
        return _decoded(answer, stored, taken)
    except (ValueError, IndexError, struct.error):
        return {}


def _decoded(answer: bytes, stored: Stored, taken: dict[int, Any]) -> dict[int, WeightScan]:
    (count,) = COUNT.unpack_from(answer)
    end = COUNT.size + count * RECORD.itemsize
    records = np.frombuffer(answer, dtype=RECORD, count=count, offset=COUNT.size)
    keys = np.frombuffer(answer, dtype="<u8", offset=end) if len(answer) > end else None
    scans, used = {}, 0
    for record in records.tolist():  # tuples of Python numbers: a field of each at C speed
        index, keys_sent = record[0], record[-1]
        node, weight = stored[index]
        if index in taken or index in scans or not isinstance(weight.values, DirectArray):
            raise ValueError(f"weight {index} was not the sibling's to scan")
        channels = _expected_keys(node, weight)
        if keys_sent != channels:
            raise ValueError(f"weight {index}: {keys_sent} channel keys, not {channels}")
        own = None
        if channels >= 0:
            if keys is None or used + channels > keys.size:
                raise ValueError("the answer's channel keys are cut short")
            own, used = keys[used : used + channels].astype(np.uint64), used + channels
        scans[index] = WeightScan(_stats(record, weight.values.size), own)
    if used != (0 if keys is None else keys.size):
        raise ValueError("the answer holds more channel keys than its records")
    return scans


def _expected_keys(node: LayerNode, weight: WeightRef) -> int:
    values = weight.values
    return channel_key_count(tuple(values.shape), values.dtype, channel_axis(node, weight))


def _stats(record: tuple, size: int) -> WeightStats:
    """A record's statistics (`RECORD`'s fields as Python numbers, in its order)."""
    _, low, high, mean, std, nan, inf, zeros, zero_fraction, _ = record
    if any(not 0 <= n <= size for n in (nan, inf, zeros)) or nan + inf > size:
        raise ValueError("counts that do not fit the weight")
    values = {"min": low, "max": high, "mean": mean, "std": std}
    return WeightStats(
        **{name: None if math.isnan(v) else v for name, v in values.items()},
        nan=nan,
        inf=inf,
        zeros=zeros,
        zero_fraction=zero_fraction,
    )
