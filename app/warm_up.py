"""Imported by the fork server only (app.isolation's preload): it explains once a small model
spec, `warm_up.json` (ZeroPadding2D, Conv2D, BatchNormalization, Activation, MaxPooling2D,
Add, GlobalAveragePooling2D and Dense, as Keras' `model.to_json()` wrote them), so that
what a process does once on its first model is done there, before any reading process is
forked from it: our reference's source parsed for the layers' code, the config scan's and
pydantic's first calls, the registry's lookups. Every child then starts warm: ResNet50's
reading process took about 60 ms less CPU (of some 520), for 80 ms once in the fork server.

A spec, not a model file: the fork server opens no HDF5 and starts no thread (each child is
forked from one clean thread). What fails here only leaves the children cold.
"""

from __future__ import annotations

import logging
from pathlib import Path

from app.explain import explain_spec

SPEC = Path(__file__).with_name("warm_up.json")
logger = logging.getLogger(__name__)


def warm_up() -> None:
    try:
        explain_spec(SPEC.read_text(encoding="utf-8"))
    except Exception:  # a bug of ours: the children start cold, nothing else changes
        logger.exception("the fork server's warm-up failed")


warm_up()
