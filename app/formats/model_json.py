"""A model config, once parsed from JSON: scanned, then turned into the graph.

Every reader ends here, so the scan (`app.intake.config_scan`) sees every config before the
parser (`app.formats.config`) does, whichever file or request it came in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.formats.config import parse_model
from app.graph import ModelGraph
from app.intake.config_scan import scan_model_config
from app.intake.refusals import Refusal


@dataclass
class ReadResult:
    """What a reader found: the graph, the writer's Keras version and backend, and the
    reasons the model must not run in Keras (empty when it may)."""

    graph: ModelGraph
    keras_version: str | None = None
    backend: str | None = None
    refusals: list[Refusal] = field(default_factory=list)


def graph_from_config(config: Any, *, spec: bool) -> tuple[ModelGraph, list[Refusal]]:
    """Scan `config` (raising for hostile content), then parse it into a `ModelGraph`."""
    refusals = scan_model_config(config, spec=spec)
    return parse_model(config), refusals
