"""Every object of an HDF5 file checked before any value in it is read.

Legacy `.h5` model files and a `.keras` archive's `model.weights.h5` are both walked, from the
root, over every link of every group:

    links        hard links only: a soft or external link could point anywhere, including
                 at another file on the server (`UnsafeLink`)
    storage      no external raw-data files, no virtual datasets (`ExternalStorage`)
    filters      deflate, shuffle, fletcher32 and LZF only: any other filter id could make
                 HDF5 load a plugin library (`UnknownFilter`)
    data types   datasets hold numbers (bfloat16 as Keras writes it included); attributes
                 hold numbers or strings (`UnsupportedDataType`)
    sizes        a dataset declares at most the cap, and not far more than it stores
                 (`ShapeBomb`); a compressed chunk inflates to at most its cap
                 (`DecompressionBomb`: reading any value of a chunk inflates all of it, so
                 a chunk bomb within the whole-dataset ratio would still cost a chunk's
                 size per read, found here rather than by the statistics' reads after
                 the check has started); an attribute's size is read from its header,
                 before its value (`OversizedAttribute`)

Variable-length string attributes need more than their header: each item refers to an object
in the file's global heap, and nothing stops a crafted file from pointing every item at the
same large object, so that 3,000 names in a 1 MB file take 3 GB once read (h5py reads them all
before converting anything). Keras 3 writes `layer_names` and `weight_names` this way, so they
cannot simply be refused: they are read and measured (every item at most
`max_text_item_bytes`, all together at most `max_attribute_bytes`). That read is bounded only by
the address-space limit of the process doing it, which is why `app.isolation` runs the
scan in a memory-limited child before the serving process ever does.

Otherwise only metadata is touched here: shapes, types and property lists, never a dataset's
values. The text attributes the scan hands on (a legacy file's `model_config`, `layer_names`,
`weight_names`, `keras_version`) are read with `hdf5_attrs.text_attr` and `list_attr`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import h5py
import numpy as np
from h5py import h5a, h5d, h5g, h5l, h5o, h5t, h5z

from app.errors import (
    DecompressionBomb,
    ExternalStorage,
    MalformedModel,
    OversizedAttribute,
    ShapeBomb,
    UnknownFilter,
    UnsafeFile,
    UnsafeLink,
    UnsupportedDataType,
)
from app.safety.limits import DEFAULT_LIMITS, ReadLimits

KNOWN_FILTERS = frozenset({h5z.FILTER_DEFLATE, h5z.FILTER_SHUFFLE, h5z.FILTER_FLETCHER32, 32000})
NUMERIC_KINDS = frozenset("fiub")  # float, signed, unsigned, bool
ATTRIBUTE_CLASSES = frozenset({h5t.INTEGER, h5t.FLOAT, h5t.STRING, h5t.ENUM})
BFLOAT16_BYTES = 2


def scan_hdf5(h5: h5py.File, limits: ReadLimits = DEFAULT_LIMITS) -> Walked:
    """Walk every group, dataset and link of `h5`; raise at the first unsafe one. What it
    opened, for a reader to use (`Walked`)."""
    scan = _Walk(h5, limits)
    scan.visit_attributes(h5)
    pending = [(h5.name, h5)]
    while pending:
        pending.extend(scan.members(*pending.pop()))
    return scan.walked


class Walked:
    """The members of each group the scan walked, as it opened them (`groups`: by the id()
    of the group's h5py object as the scan opened it, that object and its members, name →
    h5py Group or a dataset's low-level id (`_member`), in the file's order). A reader
    holding that object looks there before asking h5py again
    (`app.formats.hdf5.walked_members`; by object, not by path: h5py's `.name` asks libhdf5
    each time): walking ResNet50's weights file a second time took the `.keras` reader 82 ms
    of CPU instead of 36. A group not there (one the scan did not walk as that object: a
    hard link's second name; or one past `MAX_KEPT` objects) is asked of h5py then.

    An open object costs ~12 KB (libhdf5's and h5py's, measured on 20,000 small datasets),
    so at most `MAX_KEPT` are kept (~50 MB; ResNet50 has 357): a file near the scan's cap
    of objects would otherwise hold gigabytes open that the scan used to close one by one."""

    MAX_KEPT = 4096

    def __init__(self) -> None:
        self.groups: dict[int, tuple[Any, dict[str, Any]]] = {}  # read, never changed
        # What the scan asked of each dataset it kept, by the id() of its low-level id
        # (kept alive here: no other object takes it), for the reader to ask h5py nothing
        # again (ResNet50's 320 datasets: ~4 ms of the reader's CPU).
        self.facts: dict[int, DatasetFacts] = {}
        self.kept = 0

    def room(self) -> int:
        """How many more objects may be kept."""
        return self.MAX_KEPT - self.kept

    def record(
        self, group: Any, members: list[tuple[str, Any]], facts: dict[int, DatasetFacts]
    ) -> None:
        """`group`'s members, all of them (the caller kept at most `room()`), and the facts
        of those that are datasets."""
        self.groups[id(group)] = (group, dict(members))
        self.facts.update(facts)
        self.kept += len(members)


class _Walk:
    def __init__(self, h5: h5py.File, limits: ReadLimits) -> None:
        self.limits = limits
        self.visited = {_address(h5)}
        self.objects = 0
        self.walked = Walked()

    def members(self, path: str, group: h5py.Group) -> list[tuple[str, h5py.Group]]:
        """Check every member of `group` (reached by `path`); the subgroups not seen before,
        with their paths, to walk next. Its members are kept for the reader (`Walked`)
        while there is room for all of them."""
        groups = []
        room = self.walked.room()
        opened: list[tuple[str, Any]] | None = [] if room > 0 else None
        facts: dict[int, DatasetFacts] = {}
        parent = path.rstrip("/")
        for encoded, link_type in self.links(group):
            self.count()
            name = _text_name(group, encoded)
            if link_type != h5l.TYPE_HARD:
                _check_hard(group, name)  # refused, with the link's kind
            item = _member(group, name, encoded)
            if opened is not None:
                opened.append((name, item))
                opened = opened if len(opened) <= room else None
            checked = _Named(item, f"{parent}/{name}") if _is_dataset_id(item) else item
            info = h5o.get_info(checked.id)  # one look: its address and its attribute count
            address = (info.fileno, info.addr)
            if address in self.visited:
                continue
            self.visited.add(address)
            if info.num_attrs:
                self.visit_attributes(checked, info.num_attrs)
            if isinstance(item, h5py.Group):
                groups.append((checked.name, item))
            else:
                facts[id(item)] = _check_dataset(checked, self.limits, info.num_attrs)
        if opened is not None:
            self.walked.record(group, opened, facts)
        return groups

    def links(self, group: h5py.Group) -> list[tuple[bytes, int]]:
        """Each member's name and link type, in the file's (name) order, from one pass over
        the group's links (h5py's iteration asks libhdf5 for each name by its index, then
        the walk asked each link's type by its name: ResNet50's 676 members, ~6 ms); at most
        one more than the walk may still count, which `count()` refuses."""
        found: list[tuple[bytes, int]] = []
        room = self.limits.max_hdf5_objects - self.objects

        def take(name: bytes, info: Any) -> bool:
            found.append((name, info.type))
            return len(found) > room  # True stops the iteration

        group.id.links.iterate(take, info=True)
        return found

    def count(self) -> None:
        self.objects += 1
        if self.objects > self.limits.max_hdf5_objects:
            raise UnsafeFile(
                f"The HDF5 file holds more than {self.limits.max_hdf5_objects:,} objects; "
                "no Keras model file comes near that.",
                details={"limit": self.limits.max_hdf5_objects},
            )

    def visit_attributes(self, obj: Any, count: int | None = None) -> None:
        """Check `obj`'s attributes (`count` of them, when the caller asked already)."""
        count = h5o.get_info(obj.id).num_attrs if count is None else count
        if count > self.limits.max_attributes:
            raise OversizedAttribute(
                f"{_where(obj)} carries {count:,} attributes; Keras writes a handful.",
                details={"object": _where(obj), "attributes": count},
            )
        for index in range(count):
            self.check_attribute(obj, h5a.open(obj.id, index=index))

    def check_attribute(self, obj: Any, attr: Any) -> None:
        kind = attr.get_type()
        points = attr.get_space().get_simple_extent_npoints()
        if kind.get_class() not in ATTRIBUTE_CLASSES:
            raise UnsupportedDataType(
                f"{_where(obj)} carries an attribute that holds neither numbers nor text."
            )
        variable = _variable_length(kind)
        # A variable-length scalar (model_config) reads one heap object, at most the file.
        declared = 0 if variable else points * kind.get_size()
        if points > self.limits.max_attribute_items or declared > self.limits.max_attribute_bytes:
            raise _oversized(obj, declared, points)
        if variable and points > 1:
            self.check_text_items(obj, attr)

    def check_text_items(self, obj: Any, attr: Any) -> None:
        """Read a list of names and measure it (see the module docstring on memory)."""
        items = np.empty(attr.shape, dtype=h5py.string_dtype())
        try:
            attr.read(items)
        except OSError as exc:
            raise _unreadable_names(obj, exc) from None
        lengths = [len(item) for item in items.flat]
        longest, total = max(lengths, default=0), sum(lengths)
        if longest > self.limits.max_text_item_bytes or total > self.limits.max_attribute_bytes:
            raise OversizedAttribute(
                f"{_where(obj)} carries a list of names of {total:,} bytes, the longest "
                f"{longest:,}; Keras names are short.",
                details={"object": _where(obj), "bytes": total, "longest": longest},
            )


def _unreadable_names(obj: Any, exc: OSError) -> MalformedModel:
    """A list of names HDF5 could not read: out of memory (an amplified heap), or damaged."""
    if "memory allocation failed" in str(exc):  # HDF5's wording; never shown to anyone
        return OversizedAttribute(
            f"{_where(obj)} carries a list of names that takes more memory to read than the "
            "explainer allows.",
            details={"object": _where(obj)},
        )
    return MalformedModel(f"{_where(obj)} carries a list of names that could not be read.")


def _oversized(obj: Any, declared: int, points: int) -> OversizedAttribute:
    return OversizedAttribute(
        f"{_where(obj)} carries an attribute larger than the explainer reads "
        f"({declared:,} bytes or {points:,} items).",
        details={"object": _where(obj), "bytes": declared, "items": points},
    )


def _text_name(group: h5py.Group, encoded: bytes) -> str:
    """A member's name as text. HDF5 names are bytes; Keras writes UTF-8, which is how h5py
    reads them (h5py hands back the bytes of any other name, which the scan then could not
    look up by)."""
    try:
        return encoded.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedModel(
            f"The file names an object in {_where(group)} with bytes that are not UTF-8 text; "
            "Keras names are text."
        ) from None


def _member(group: h5py.Group, name: str, encoded: bytes) -> Any:
    """`group[name]` as the walk keeps it: a group as h5py opens it; a dataset as its
    low-level id (h5py's Dataset, which a reader makes when it needs one, costs ~6 µs to
    make, a transfer property list among it: ResNet50's 320 datasets, ~2 ms of the walk);
    anything else as h5py opens it."""
    oid = h5o.open(group.id, encoded, lapl=group._lapl)  # typed by its kind, as h5py does
    if isinstance(oid, h5g.GroupID):
        return h5py.Group(oid)
    if _is_dataset_id(oid):
        return oid
    return group[name]  # a committed data type, or what h5py refuses, as h5py has it


def _is_dataset_id(item: Any) -> bool:
    return isinstance(item, h5d.DatasetID)


class _Named(NamedTuple):
    """A dataset's low-level id with the path the walk reached it by: what the checks ask
    of a dataset (`.id`, and `.name` for their messages)."""

    id: Any
    name: str


def _check_hard(group: h5py.Group, name: str) -> None:
    link = group.get(name, getlink=True)
    if not isinstance(link, h5py.HardLink):
        kind = "an external" if isinstance(link, h5py.ExternalLink) else "a soft"
        raise UnsafeLink(
            f"The file links {_join(group, name)!r} to another location ({kind} link); model "
            "files with soft or external links are refused.",
            details={"object": _join(group, name)},
        )


@dataclass(frozen=True)
class DatasetFacts:
    """What the scan and the readers ask of a dataset, each asked of h5py once (h5py's
    `dataset.dtype` and `.shape` build theirs again at every use): also its path (h5py's
    `.name` asks libhdf5), the bytes it stores and how many attributes it carries."""

    shape: tuple[int, ...]
    dtype: np.dtype
    layout: int
    external: int  # raw-data files outside the file (the scan refused any)
    path: str
    stored: int  # bytes allocated in the file (`get_storage_size`)
    attributes: int

    @classmethod
    def of(cls, dataset: h5py.Dataset) -> DatasetFacts:
        plist = dataset.id.get_create_plist()
        shape = tuple(int(d) for d in dataset.id.shape or ())
        stored, attributes = dataset.id.get_storage_size(), h5o.get_info(dataset.id).num_attrs
        layout, external = plist.get_layout(), plist.get_external_count()
        return cls(shape, dataset.id.dtype, layout, external, dataset.name, stored, attributes)


def _check_dataset(dataset: Any, limits: ReadLimits, attributes: int) -> DatasetFacts:
    """`dataset`'s storage, filters, type and sizes checked; what was asked of it on the
    way (it carries `attributes`)."""
    if not isinstance(dataset, _Named):
        raise UnsupportedDataType(
            f"The file holds {_where(dataset)}, which is neither a group nor a dataset."
        )
    plist = dataset.id.get_create_plist()
    layout = plist.get_layout()
    dtype = dataset.id.dtype  # asked once: h5py's `dataset.dtype` builds it at every use
    _check_storage(dataset, plist, layout)
    _check_filters(dataset, plist)
    _check_dtype(dataset, dtype)
    shape = tuple(int(d) for d in dataset.id.shape or ())  # asked where it always was
    stored = dataset.id.get_storage_size()
    # no external files (refused above); the property list is let go: kept with each
    # dataset for the reader, which asks only for these, it held ~1 KB more per dataset
    facts = DatasetFacts(shape, dtype, layout, 0, dataset.name, stored, attributes)
    _check_declared_size(dataset, facts, limits)
    _check_chunk_size(dataset, facts, plist, limits)
    return facts


def _check_storage(dataset: _Named, plist: Any, layout: int) -> None:
    if layout == h5d.VIRTUAL or plist.get_external_count() > 0:
        raise ExternalStorage(
            f"The weight {_where(dataset)} keeps its values outside the file (external or "
            "virtual storage); such files are refused.",
            details={"object": _where(dataset)},
        )


def _check_filters(dataset: _Named, plist: Any) -> None:
    for index in range(plist.get_nfilters()):
        code = plist.get_filter(index)[0]
        if code not in KNOWN_FILTERS:
            raise UnknownFilter(
                f"The weight {_where(dataset)} is encoded with HDF5 filter {code}, which is not "
                "one Keras or h5py writes (deflate, shuffle, fletcher32, LZF).",
                details={"object": _where(dataset), "filter": int(code)},
            )


def _check_dtype(dataset: _Named, dtype: np.dtype) -> None:
    if dtype.kind in NUMERIC_KINDS and dtype.fields is None:
        return
    if dtype.kind == "V" and dtype.itemsize == BFLOAT16_BYTES and _says_bfloat16(dataset):
        return
    raise UnsupportedDataType(
        f"The weight {_where(dataset)} does not hold numbers.",
        details={"object": _where(dataset)},
    )


def _says_bfloat16(dataset: _Named) -> bool:
    marker = h5py.Dataset(dataset.id, readonly=True).attrs.get("dtype")
    if isinstance(marker, bytes):
        marker = marker.decode("utf-8", "replace")
    return marker == "bfloat16"


def _check_declared_size(dataset: _Named, facts: DatasetFacts, limits: ReadLimits) -> None:
    shape = facts.shape
    declared = math.prod(shape) * facts.dtype.itemsize
    stored = facts.stored
    over_ratio = (
        declared > limits.expansion_floor_bytes and declared > limits.max_dataset_expansion * stored
    )
    if declared > limits.max_dataset_bytes or over_ratio:
        raise ShapeBomb(
            f"The weight {_where(dataset)} declares shape {tuple(shape)} ({declared:,} bytes) "
            f"but stores {stored:,} bytes; it is refused as a shape bomb.",
            details={"object": _where(dataset), "bytes": declared, "stored": stored},
        )


def _check_chunk_size(dataset: _Named, facts: DatasetFacts, plist: Any, limits: ReadLimits) -> None:
    """A filtered chunk's inflated size, from the chunk shape alone (metadata)."""
    if facts.layout != h5d.CHUNKED or plist.get_nfilters() == 0:
        return
    chunk_bytes = math.prod(plist.get_chunk()) * facts.dtype.itemsize
    if chunk_bytes > limits.max_chunk_bytes:
        raise DecompressionBomb(
            f"The weight {_where(dataset)} is stored in compressed chunks of {chunk_bytes:,} "
            f"bytes each; the explainer inflates at most {limits.max_chunk_bytes:,} at a time.",
            details={"object": _where(dataset), "chunk_bytes": chunk_bytes},
        )


def _variable_length(kind: Any) -> bool:
    return isinstance(kind, h5t.TypeStringID) and kind.is_variable_str()


def _address(obj: Any) -> tuple[int, int]:
    info = h5o.get_info(obj.id)
    return info.fileno, info.addr


def _where(obj: Any) -> str:
    name = obj.name if isinstance(obj.name, str) else "?"
    return repr(name.lstrip("/") or "/")


def _join(group: h5py.Group, name: str) -> str:
    return f"{group.name.rstrip('/')}/{name}".lstrip("/")
