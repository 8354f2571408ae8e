"""What a reader gives back: the graph, what the file says of its writer, and its refusals."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from app import siblings
from app.graph import ModelGraph
from app.safety.refusals import Refusal
from app.safety.sniff import Format

# The files of the models a reading process read, and what the scan opened in them: never
# closed there (`LoadedModel.close`), the process's exit ends them all at once.
LEFT_TO_EXIT: list[tuple[ExitStack, Any]] = []


@dataclass
class LoadedModel:
    """A model read from a file or a spec; `close()` releases the files behind its weights.

    `refusals` lists why the model must never run in Keras (a Lambda, a custom class, ...);
    the model is explained all the same. Empty: the safety scan found nothing to refuse.
    `_opened`: what the scan opened in those files for the reader (`app.safety.hdf5_scan.
    Walked`), kept with them: each of its objects is closed in libhdf5 as it is let go.
    """

    graph: ModelGraph
    format: Format
    keras_version: str | None = None
    backend: str | None = None
    refusals: list[Refusal] = field(default_factory=list)
    _resources: ExitStack = field(default_factory=ExitStack, repr=False)
    _opened: Any = field(default=None, repr=False)

    def close(self) -> None:
        """Release the files and what was opened in them; in a reading process
        (app.isolation), which ends by `os._exit` once it has answered, they are left to that
        exit instead: closing ResNet50's weights file and the ~680 objects the scan opened in
        it took ~7 ms of the reading process before its answer could go."""
        resources, opened = self._resources, self._opened
        self._resources, self._opened = ExitStack(), None
        if siblings.answers_fd is not None:
            LEFT_TO_EXIT.append((resources, opened))
            return
        resources.close()

    def __enter__(self) -> LoadedModel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
