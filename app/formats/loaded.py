"""What a reader gives back: the graph, what the file says of its writer, and its refusals."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field

from app.graph import ModelGraph
from app.safety.refusals import Refusal
from app.safety.sniff import Format


@dataclass
class LoadedModel:
    """A model read from a file or a spec; `close()` releases the files behind its weights.

    `refusals` lists why the model must never run in Keras (a Lambda, a custom class, ...);
    the model is explained all the same. Empty: the safety scan found nothing to refuse.
    """

    graph: ModelGraph
    format: Format
    keras_version: str | None = None
    backend: str | None = None
    refusals: list[Refusal] = field(default_factory=list)
    _resources: ExitStack = field(default_factory=ExitStack, repr=False)

    def close(self) -> None:
        self._resources.close()

    def __enter__(self) -> LoadedModel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
