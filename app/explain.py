"""Explain a model: read it, then make its report, in two stages the caller takes in order.

    with explaining(path) as ex:    the model is read: `ex.read` is its `ModelRead`
                                    (app.check.model_read): the scan's refusals, the budget
                                    figures, the inputs and the check's plan. Enough to
                                    decide on a check and to start it. Made only when asked
                                    for (`with_read=False`: None; `inspect` without the
                                    check has no use for it: ResNet50's plan, 26 ms of CPU).
        report = ex.report()        every weight's statistics, the BatchNormalization
                                    analyses, ... (for ResNet50, as long again as reading it)

So a caller can start a check between the two (app.reports). A file that holds HDF5 is
explained in a throwaway process (app.isolation): the serving process never opens it with
libhdf5. The child sends the model read as soon as it has it, then the report, each as
pydantic's JSON bytes, validated here on arrival (pydantic's JSON is several times faster
than `json` with the report's numbers, 25 ms against 76 for ResNet50's). A spec, and a file
when `limits.isolate_hdf5` is off, are explained here.

A caller that starts no check wants the report first (`read_last=True`): the child then
sends the report as soon as it has it and makes the model read after, while the caller
validates the report (ResNet50's model read, ~34 ms of CPU, beside the validation's ~30 ms
instead of before the report); `ex.read` is then asked for after `ex.report()`. A caller that
wants the model read only after it has answered (app.reports: the program written when no
check runs) takes the reading process's end with `ex.outlive()`: leaving the `with` then
leaves the process running, and the caller calls what `outlive` gave once it has `ex.read`.

In a reading process, every weight's statistics are begun in a sibling process once the
model is resolved (`siblings.beside`, app.analysis.shared_scans), on the other core, while
this one makes the rest of the report.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from app import isolation, siblings
from app.analysis.costs import ModelCosts, model_costs, total_macs
from app.analysis.report import build_report
from app.analysis.resolve import resolve
from app.analysis.shared_scans import SharedScans
from app.analysis.stats import value_blocks
from app.errors import InvalidRequest, UnreadableFile
from app.formats import LoadedModel, ReadLimits, read_model, read_spec, sniff_path
from app.graph import ModelGraph
from app.safety.limits import DEFAULT_LIMITS
from app.schemas import Report, Source, new_report_id

# The model read's module (the check's plan and budgets, 8–14 ms of imports) is imported where
# a model read is made or received: `inspect`'s tables ask for none. The server has it
# imported already (app.reports), and the fork server's warm-up makes one (app.warm_up).
if TYPE_CHECKING:
    from app.check.model_read import ModelRead

Sizes = Mapping[str, int]  # an input's name ("*": every input) → its unknown dimensions' size


class Explaining(Protocol):
    """An explanation under way: the model read (`read`; None when not asked for), then
    `report()`; `outlive()` for a caller that takes `read` after the `with`."""

    read: ModelRead | None

    def report(self) -> Report: ...

    def outlive(self) -> Callable[[], None]: ...


@dataclass
class Explanation:
    report: Report
    read: ModelRead | None


@contextmanager
def explaining(
    path: Path,
    filename: str | None = None,
    digest: tuple[str, int] | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    report_id: str | None = None,
    unknown_dims: Sizes | None = None,
    with_read: bool = True,
    brief: bool = False,
    read_last: bool = False,
) -> Iterator[Explaining]:
    """Explain a model file (.keras, legacy HDF5 or spec JSON; the format comes from the bytes).

    `digest` is the file's (sha256, size) when the caller already has it; `unknown_dims` the
    size costs count each input's unknown dimensions at (app.analysis.sizes); `with_read`
    whether the model read is made (else `read` is None); `brief` the report without what
    only a page or the JSON shows (app.analysis.report.build_report); `read_last` that the
    model read is asked for after the report (a reading process then makes it last)."""
    digest = digest or file_digest(path)
    report_id = report_id or new_report_id()
    sizes = dict(unknown_dims or {})
    if not limits.isolate_hdf5 or sniff_path(path) == "spec_json":
        here_args = (filename, digest, report_id, sizes, with_read, brief)
        with _explaining_here(path, limits, *here_args) as here:
            yield here
        return
    arguments = {
        "filename": filename,
        "digest": list(digest),
        "report_id": report_id,
        "unknown_dims": sizes,
        "with_read": with_read,
        "brief": brief,
        "read_last": read_last,
    }
    started = isolation.started(explain_task, path, limits, **arguments)
    with ExitStack() as ending:
        yield _InChild(ending.enter_context(started), with_read, read_last, ending)


@contextmanager
def explaining_spec(
    spec: dict[str, Any] | str, report_id: str | None = None, unknown_dims: Sizes | None = None
) -> Iterator[Explaining]:
    """Explain the JSON that model.to_json() writes, given as an object or a string."""
    raw = (spec if isinstance(spec, str) else json.dumps(spec, sort_keys=True)).encode()
    digest = hashlib.sha256(raw).hexdigest()
    with read_spec(spec) as loaded:
        sizes = dict(unknown_dims or {})
        yield _Here(loaded, digest, len(raw), None, report_id or new_report_id(), sizes)


def explain_file(path: Path, **options: Any) -> Explanation:
    """The report of a model file, and its model read (`explaining`'s options)."""
    with explaining(path, **options) as ex:
        return Explanation(ex.report(), ex.read)


def explain_spec(spec: dict[str, Any] | str, report_id: str | None = None) -> Explanation:
    """The report of a spec, and its model read."""
    with explaining_spec(spec, report_id) as ex:
        return Explanation(ex.report(), ex.read)


class _Here:
    """An explanation in this process, of a loaded model: its graph resolved and its model
    read made at once, the report when asked for."""

    def __init__(
        self,
        loaded: LoadedModel,
        sha256: str,
        size: int,
        filename: str | None,
        report_id: str,
        unknown_dims: Sizes,
        with_read: bool = True,
        brief: bool = False,
    ) -> None:
        self.loaded, self.report_id, self.unknown_dims = loaded, report_id, unknown_dims
        self.brief = brief
        self.source = Source(
            format=loaded.format,
            sha256=sha256,
            size=size,
            keras_version=loaded.keras_version,
            backend=loaded.backend,
            filename=filename,
        )
        resolve(loaded.graph, weights_in_file=loaded.format != "spec_json")
        # In a reading process the weights' scans begin in a sibling now, and go on while
        # the rest is made.
        self.shared, self.sibling = _shared_scans(loaded.graph)
        try:
            # Counted before the model read is sent: the check's timeout follows its MACs.
            self.costs = _costs(loaded.graph, unknown_dims)
            self.read = self.model_read() if with_read else None
        except BaseException:
            self.end()
            raise

    def model_read(self) -> ModelRead:
        from app.check.model_read import model_read

        graph = self.loaded.graph
        macs = total_macs(graph, self.costs) if self.costs else 0
        return model_read(graph, self.loaded.format, self.loaded.refusals, macs)

    def report(self) -> Report:
        graph, sizes = self.loaded.graph, self.unknown_dims
        scans = None
        if self.shared is not None:
            scans = partial(self.shared.result, self.sibling.answers if self.sibling else None)
        return build_report(
            graph, self.source, self.report_id, sizes, self.brief, self.costs, scans
        )

    def outlive(self) -> Callable[[], None]:
        """Nothing outlives the `with`: the model read is made already, in this process."""
        return lambda: None

    def end(self) -> None:
        """Let go of the sibling scanning weights, if there is one."""
        if self.sibling is not None:
            self.sibling.end()


def _shared_scans(graph: ModelGraph) -> tuple[SharedScans | None, siblings.Beside | None]:
    """In a reading process, every weight's scan shared with a sibling begun now
    (app.analysis.shared_scans); (None, None) elsewhere: `weight_scans`' threads."""
    if not siblings.can_fork_beside():
        return None, None
    shared = SharedScans(graph)
    return shared, siblings.beside(shared.sibling_work) if shared.tokens is not None else None


def _costs(graph: ModelGraph, unknown_dims: Sizes) -> ModelCosts | None:
    """The report's costs; None at sizes the model cannot take (the report says so)."""
    try:
        return model_costs(graph, unknown_dims)
    except InvalidRequest:
        return None


class _InChild:
    """An explanation in a throwaway process: what it sends is validated on arrival (only a
    process a hostile file took over would send what does not validate), once each. The
    model read, when asked for, is waited for at once: the child sends it first. With
    `read_last` the child sends the report first, and the model read when `read` is asked
    for, after `report()`."""

    def __init__(
        self,
        child: isolation.Child,
        with_read: bool = True,
        read_last: bool = False,
        ending: ExitStack | None = None,
    ):
        self.child, self.read_last = child, with_read and read_last
        self._ending = ending or ExitStack()
        self._read: ModelRead | None = None
        if with_read and not read_last:
            self._read = _read_from_child(child.early())

    @property
    def read(self) -> ModelRead | None:
        if self.read_last and self._read is None:
            self._read = _read_from_child(self.child.result())
        return self._read

    def report(self) -> Report:
        answer = self.child.early() if self.read_last else self.child.result()
        return _from_child(Report.model_validate_json, answer)

    def outlive(self) -> Callable[[], None]:
        """The reading process's end, taken from the `with`: it runs on after it (making the
        model read last), until the caller calls what this returns."""
        return self._ending.pop_all().close


def _read_from_child(answer: isolation.Answer) -> ModelRead:
    from app.check.model_read import ModelRead

    return _from_child(ModelRead.model_validate_json, answer)


@contextmanager
def _explaining_here(
    path: Path,
    limits: ReadLimits,
    filename: str | None,
    digest: tuple[str, int],
    report_id: str,
    unknown_dims: Sizes,
    with_read: bool = True,
    brief: bool = False,
) -> Iterator[_Here]:
    """In a reading process (the only one `siblings.beside` forks), every weight's scan
    is begun in a sibling: the explanation's (`explain_task`) and `inspect`'s tables'
    (app.terminal_text)."""
    with read_model(path, limits) as loaded:
        sha256, size = digest
        args = (filename, report_id, unknown_dims, with_read, brief)
        here = _Here(loaded, sha256, size, *args)
        try:
            yield here
        finally:
            here.end()


def _from_child(read: Callable[[Any], Any], data: Any) -> Any:
    try:
        return read(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise UnreadableFile(isolation.INCOMPLETE) from exc


@isolation.task
def explain_task(
    path: Path,
    limits: ReadLimits,
    early: isolation.Early,
    filename: str | None,
    digest: list,
    report_id: str,
    unknown_dims: Sizes,
    with_read: bool = True,
    brief: bool = False,
    read_last: bool = False,
) -> bytes:
    """The explanation, in the throwaway process: the model read early (when asked for),
    then the report; with `read_last`, the report early, then the model read."""
    pair = (digest[0], digest[1])
    read_first = with_read and not read_last
    here_args = (filename, pair, report_id, unknown_dims, read_first, brief)
    with _explaining_here(path, limits, *here_args) as here:
        if here.read is not None:
            early(here.read.model_dump_json().encode())
        elif with_read:  # read_last
            early(here.report().model_dump_json().encode())
            return here.model_read().model_dump_json().encode()
        return here.report().model_dump_json().encode()


# The fork server explains a small spec once before forking reading processes (app.warm_up).
isolation.warm_up_with("app.warm_up")


def read_isolated(path: Path, limits: ReadLimits = DEFAULT_LIMITS) -> LoadedModel:
    """`read_model` in this process, once a throwaway process has read the file whole (every
    stored array) without harm; a spec, or any file when `limits.isolate_hdf5` is off, is
    read here at once."""
    if limits.isolate_hdf5 and sniff_path(path) != "spec_json":
        isolation.run_task(read_task, path, limits)
    return read_model(path, limits)


@isolation.task
def read_task(path: Path, limits: ReadLimits, early: isolation.Early) -> dict[str, Any]:
    """The server's reading of `path`, then every stored array, row block by row block."""
    with read_model(path, limits) as loaded:
        for _, node in loaded.graph.walk():
            for stored in node.stored or []:
                _read_rows(stored.values)
    return {}


def _read_rows(values: Any) -> None:
    for block in value_blocks(tuple(values.shape)):
        values[block]


def file_digest(path: Path) -> tuple[str, int]:
    """The file's SHA-256 and size; `hashlib.file_digest` reads into one buffer it reuses
    (ResNet50's 103 MB: 80 ms of CPU against 88 with a new bytes object per read)."""
    with path.open("rb") as fh:
        sha = hashlib.file_digest(fh, "sha256")
        return sha.hexdigest(), fh.tell()
