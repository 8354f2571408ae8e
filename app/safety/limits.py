"""The caps the safety scan enforces, as one value the caller passes in.

The readers never read settings: `app.config.Settings` (or a test) builds an `ReadLimits`
and hands it to `read_model` / `read_spec`. The defaults are generous for every real Keras
file we know (the largest `keras.applications` config, EfficientNetV2L's, is 0.96 MB and 11
levels deep; the largest weight tensor, VGG16's first Dense kernel, is 411 MB) and tight for
crafted ones.
"""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1 << 20
GiB = 1 << 30


@dataclass(frozen=True)
class ReadLimits:
    """Caps on what the readers will parse, decompress or open."""

    # JSON (config.json, metadata.json, legacy `model_config`, specs):
    max_json_bytes: int = 16 * MiB
    max_json_depth: int = 100
    max_json_values: int = 2_000_000  # nodes of an already-parsed spec object
    # Python objects that parsing would make, estimated from the text before parsing it (at
    # most 72 bytes a container, 64 a string, 40 any value): 12 MB of `[[]],` made
    # 376 MB of lists. keras.applications' largest configs estimate at 6.6 MB (NASNetLarge).
    max_json_objects_bytes: int = 48 * MiB
    # .keras archives: the real (decompressed) size of model.weights.h5, and of any
    # compressed member beyond `expansion_floor_bytes`, at most `max_expansion` × stored.
    max_member_bytes: int = 4 * GiB
    max_expansion: int = 100
    expansion_floor_bytes: int = 64 * MiB
    # HDF5 (legacy files and model.weights.h5):
    max_dataset_bytes: int = 2 * GiB  # declared size of one dataset
    max_dataset_expansion: int = 1000  # declared ÷ stored, beyond `expansion_floor_bytes`
    # One compressed chunk, inflated whole by any read that touches it. h5py's own chunks are
    # at most 1 MiB, and no Keras version compresses or chunks its weights at all.
    max_chunk_bytes: int = 16 * MiB
    max_attribute_bytes: int = 16 * MiB  # declared size of one attribute, before reading it
    max_attribute_items: int = 1_000_000  # elements of one attribute
    max_text_item_bytes: int = 1024  # one item of a list of names (layer_names, weight_names)
    max_attributes: int = 4096  # attributes on one object
    max_hdf5_objects: int = 200_000  # groups, datasets and links in one file
    # HDF5-bearing files are read first in a throwaway process (`app.isolation`):
    isolate_hdf5: bool = True
    # Its processor time grows with the file: `isolation_floor_s` for any file, plus a
    # second per `isolation_bytes_per_s`, at most `isolation_timeout_s`, which also caps the
    # wall clock (a child waiting its turn on a busy machine uses no processor time).
    # VGG16's 553 MB .h5 reads in about a second and gets 36; a mutated file of 50 kB that
    # makes libhdf5 loop is refused after 10 seconds instead of a minute.
    isolation_timeout_s: float = 60.0
    isolation_floor_s: float = 10.0
    isolation_bytes_per_s: int = 20 * MiB
    isolation_memory_bytes: int = 2 * GiB  # address space of the child, libraries included

    def isolation_deadline_s(self, file_bytes: int) -> float:
        """The reading process's processor-time limit for a file of `file_bytes`: the floor
        and a second per whole `isolation_bytes_per_s`, or the cap when that is lower."""
        scaled = self.isolation_floor_s + file_bytes // self.isolation_bytes_per_s
        return min(self.isolation_timeout_s, scaled)


DEFAULT_LIMITS = ReadLimits()
