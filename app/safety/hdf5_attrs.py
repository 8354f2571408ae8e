"""A scanned HDF5 file's attributes as text: what the readers read of `model_config`,
`layer_names`, `weight_names`, `keras_version` once `hdf5_scan` walked the file and capped
every attribute's size. h5py hands back bytes, str or 0-d arrays; these give str.
"""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np


def text_attr(obj: h5py.Group | h5py.File, name: str) -> str | None:
    """A string attribute as str, whether h5py hands back bytes, str or a 0-d array."""
    if name not in obj.attrs:
        return None
    return decode(obj.attrs[name])


def list_attr(group: h5py.Group, name: str) -> list[str]:
    """A list-of-names attribute, joined from `name0`, `name1`, ... when Keras had to chunk it
    (an HDF5 object header holds at most 64 KiB)."""
    if name in group.attrs:
        return [decode(v) for v in np.atleast_1d(group.attrs[name])]
    values: list[str] = []
    chunk = 0
    while f"{name}{chunk}" in group.attrs:
        values.extend(decode(v) for v in np.atleast_1d(group.attrs[f"{name}{chunk}"]))
        chunk += 1
    return values


def decode(value: Any) -> str:
    """An attribute item as str: h5py hands back bytes, str or a 0-d array."""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value.item()
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).decode("utf-8")
    return str(value)
