"""What the scan hands the readers: typed values, one per kind of upload, and the config step
every kind shares.

    ScannedArchive  a `.keras` archive: its config, metadata's Keras version, the weights file
    ScannedHdf5     a legacy HDF5 file: its config, its layers' arrays, writer and backend
    ScannedSpec     the JSON of model.to_json(): its config, writer and backend when recorded
    ScannedConfig   a config scanned (`config_scan`: refusals) and checked (`model_config`)
    FileBytes       an HDF5 file's bytes in the file open for it, which the readers read a
                    contiguous weight's values from directly (`app.formats.direct`)

A file's values hold the files it opened in `resources` (weights are read lazily, by whoever
reads the graph); the reader hands them on to the model it makes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import h5py

from app.errors import InvalidSpec, MalformedModel
from app.safety.config_scan import scan_model_config
from app.safety.hdf5_scan import Walked
from app.safety.model_config import ModelConfig, check_model_config
from app.safety.refusals import Refusal


@dataclass(frozen=True)
class FileBytes:
    """Bytes [offset, offset + size) of an open file: an HDF5 file's whole image (a legacy
    file, or a `.keras` archive's stored `model.weights.h5` member), which the readers read
    contiguous weights from (`app.formats.direct`). The file object, not its descriptor
    number, is kept: once closed, a read raises instead of reading whatever file got the
    number next."""

    fh: BinaryIO
    offset: int
    size: int


@dataclass(frozen=True)
class ScannedConfig:
    """A model config that passed the scan: its checked structure, and the reasons it must
    never run in Keras (empty when it may)."""

    model: ModelConfig
    refusals: list[Refusal] = field(default_factory=list)


@dataclass(frozen=True)
class ScannedArchive:
    """A `.keras` archive: its config, the Keras version metadata.json records, and
    model.weights.h5 open and walked."""

    config: ScannedConfig
    keras_version: str | None
    weights: h5py.File
    resources: ExitStack
    image: FileBytes | None = None  # the weights file's bytes, for direct reads
    walked: Walked | None = None  # what the scan opened of it, for the reader


@dataclass(frozen=True)
class StoredLayer:
    """A layer's arrays as a legacy file lists them: the name of its group (an entry of
    `layer_names`), and each array's name (from `weight_names`) with its dataset."""

    name: str
    arrays: list[tuple[str, h5py.Dataset]]


@dataclass(frozen=True)
class ScannedHdf5:
    """A legacy HDF5 model file, open and walked: its config, its layers' arrays in
    `layer_names` order (each name once), and the writer's version and backend."""

    config: ScannedConfig
    layers: list[StoredLayer]
    keras_version: str | None
    backend: str | None
    resources: ExitStack
    image: FileBytes | None = None  # the file's bytes, for direct reads


@dataclass(frozen=True)
class ScannedWeights:
    """A weights-only HDF5 file, open and walked: its layers' arrays in `layer_names` order
    and the writer's version and backend (its resources are the caller's)."""

    layers: list[StoredLayer]
    keras_version: str | None
    backend: str | None


@dataclass(frozen=True)
class ScannedSpec:
    """The JSON of model.to_json(): its config, and the writer's version and backend when it
    records them (Keras 2 does)."""

    config: ScannedConfig
    keras_version: str | None = None
    backend: str | None = None
    compile_settings: bool = False  # a `compile_config` of its own (to_json() of a compiled model)
    wrapper: str | None = None  # what the config came out of (a TensorFlow.js model.json)


Scanned = ScannedArchive | ScannedHdf5 | ScannedSpec


def scan_config(config: Any) -> ScannedConfig:
    """Scan a parsed config (refusals; `PathInConfig` for a path), then check its structure
    (`InvalidSpec`)."""
    refusals = scan_model_config(config)
    return ScannedConfig(check_model_config(config), refusals)


def file_config(config: Any) -> ScannedConfig:
    """A file's config, a bad one reported as a malformed file."""
    try:
        return scan_config(config)
    except InvalidSpec as exc:
        raise MalformedModel(
            f"The model config in this file is malformed. {exc.message}", exc.details
        ) from exc


@contextmanager
def translated(errors: tuple[type[BaseException], ...], sentence: str) -> Iterator[None]:
    """A library's exception (one of `errors`) raised as `MalformedModel(sentence)`."""
    try:
        yield
    except errors as exc:
        raise MalformedModel(sentence) from exc
