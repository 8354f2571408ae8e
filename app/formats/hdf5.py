"""Careful HDF5 access shared by the `.keras` and legacy readers, in files the scan walked.

Only hard links are followed: a soft or external link in an uploaded file could point
anywhere, including at another file on the server. Datasets must hold their numbers
themselves (no virtual or external storage) and be numeric. Arrays are never read here:
a `StoredWeight` keeps what is sliced later, lazily: a contiguous dataset's byte range in the
file (`app.formats.direct`), or else the h5py Dataset.
"""

from __future__ import annotations

import functools
from typing import Any

import h5py
import numpy as np
from h5py import h5a, h5d, h5l

from app.errors import MalformedModel
from app.formats.bfloat16 import Bfloat16Values
from app.formats.direct import direct_values
from app.graph import StoredWeight
from app.safety.hdf5_attrs import decode
from app.safety.hdf5_scan import DatasetFacts, Walked
from app.safety.scanned import FileBytes

NUMERIC_KINDS = frozenset("fiub")  # float, signed int, unsigned int, bool


def child(group: h5py.Group, path: str) -> h5py.Group | h5py.Dataset | None:
    """The object at `path` below `group`, following hard links only; None when absent."""
    node: Any = group
    for part in (p for p in path.split("/") if p):
        if not isinstance(node, h5py.Group):
            return None
        link = node.get(part, getlink=True)
        if link is None:
            return None
        _check_hard(link, path)
        node = node[part]
    return node


def child_group(group: h5py.Group, path: str, walked: Walked | None = None) -> h5py.Group | None:
    """The group at `path` below `group` (hard links only), None when there is none; a
    member's asked of `walked` first, which holds what the scan opened (ResNet50's 177 layer
    groups: ~3 ms of the reader asking h5py for each again)."""
    known = walked_members(group, walked) if "/" not in path else None
    node = known.get(path) if known is not None else child(group, path)
    return node if isinstance(node, h5py.Group) else None


def walked_members(group: h5py.Group, walked: Walked | None) -> dict[str, Any] | None:
    """`group`'s members by name, in the file's order (not to be changed), as the scan
    opened them, when `group` is the object the scan walked and it kept them; else None."""
    kept = walked.groups.get(id(group)) if walked is not None else None
    return kept[1] if kept is not None and kept[0] is group else None


def hard_children(group: h5py.Group) -> list[str]:
    """Names of the members of `group`, in the file's (name) order; refuses any member that is
    a soft or external link (asked of the link table directly: `group.get(name,
    getlink=True)` looks each name up twice and builds a link object)."""
    names = list(group)
    links = group.id.links
    for name in names:
        if links.get_info(name.encode()).type != h5l.TYPE_HARD:
            _check_hard(group.get(name, getlink=True), f"{group.name}/{name}")
    return names


def _check_hard(link: Any, path: str) -> None:
    if not isinstance(link, h5py.HardLink):
        raise MalformedModel(
            f"The file links {path.lstrip('/')!r} to another location; model files with soft "
            "or external links are refused."
        )


def is_dataset(item: Any) -> bool:
    """A dataset, as h5py opens it or as the scan keeps it (its low-level id)."""
    return isinstance(item, h5py.Dataset | h5d.DatasetID)


def as_dataset(item: h5py.Dataset | h5d.DatasetID) -> h5py.Dataset:
    """h5py's Dataset of a dataset, made here when the scan kept only its id."""
    return item if isinstance(item, h5py.Dataset) else h5py.Dataset(item, readonly=True)


def stored_weight(
    dataset: h5py.Dataset | h5d.DatasetID,
    name: str,
    image: FileBytes | None = None,
    facts: DatasetFacts | None = None,
) -> StoredWeight:
    """A lazily read weight: `name` as the writer recorded it, the dataset's path for messages.
    Its values are read straight from `image` (the file's bytes) when the dataset is
    contiguous (`app.formats.direct`), else through h5py (whose Dataset is made only then).
    Its facts are the scan's when it kept them (`facts`), else asked of h5py once each (its
    properties ask again at every use)."""
    facts = facts or DatasetFacts.of(as_dataset(dataset))
    if facts.layout == h5d.VIRTUAL or facts.external > 0:
        raise MalformedModel(
            f"The weight {facts.path!r} keeps its values outside the file; such files are refused."
        )
    direct = direct_values(dataset, image, facts)
    dtype = _dtype_name(dataset, facts)
    values = as_dataset(dataset) if direct is None else direct
    return StoredWeight(
        name=name,
        shape=facts.shape,
        dtype=dtype,
        values=Bfloat16Values(values) if dtype == "bfloat16" else values,
        path=facts.path.lstrip("/"),
    )


def _dtype_name(dataset: h5py.Dataset | h5d.DatasetID, facts: DatasetFacts) -> str:
    if _says_bfloat16(dataset, facts):
        return "bfloat16"  # Keras stores bfloat16 as 2-byte opaque data with this attribute
    dtype = facts.dtype
    if dtype.kind not in NUMERIC_KINDS:
        raise MalformedModel(f"The weight {facts.path!r} does not hold numbers.")
    return _name_of(dtype)


@functools.lru_cache(maxsize=64)
def _name_of(dtype: np.dtype) -> str:
    """NumPy's name for `dtype` (`float32`), which NumPy works out in Python at each ask."""
    return dtype.name


def _says_bfloat16(dataset: h5py.Dataset | h5d.DatasetID, facts: DatasetFacts) -> bool:
    """Whether the dataset carries Keras' `dtype` attribute saying bfloat16 (asked only of a
    dataset with attributes: Keras writes none on the others)."""
    if not facts.attributes or not h5a.exists(as_dataset(dataset).id, b"dtype"):
        return False
    return decode(as_dataset(dataset).attrs["dtype"]) == "bfloat16"
