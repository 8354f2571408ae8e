"""After regenerate.sh: put back the committed bytes of every regenerated file whose content
is the committed one, so that the diff holds only what the writers wrote anew.

    .venv/bin/python tests/writers/keep_unchanged.py [WRITER ...]   # default: every writer

Writing the battery twice never gives the same bytes: `.npz` and `.keras` are zip files that
date their members; a `.keras` file's `metadata.json` has `date_saved`; Keras 2 configs
number shared objects by Python's `id()` (`shared_object_id`); Keras 3 draws a `seed` for a
Random* layer built without one (unused at inference); and TensorFlow's kernels give the
writer's outputs (`y0, y1, ...`) within a few float32 steps of the last run's. A file is
put back when, those aside, its content is equal: its arrays exactly, the outputs within
OUTPUT_NOISE relative (the matrix's tolerance is 1e-4). What still differs is printed.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

FILES = Path(__file__).parent / "files"
OUTPUT_NOISE = 1e-5


def main() -> None:
    writers = sys.argv[1:] or sorted(p.name for p in FILES.iterdir() if p.is_dir())
    status = git("status", "--porcelain", "--", *(str(FILES / w) for w in writers)).decode()
    kept, differ = 0, []
    for line in status.splitlines():
        if line[:2].strip() != "M":  # new files are new; a deleted one was not written again
            continue
        path = Path(git("rev-parse", "--show-toplevel").decode().strip()) / line[3:]
        why = difference(path, git("show", f"HEAD:{line[3:]}"), path.read_bytes())
        if why is None:
            git("checkout", "--", str(path))
            kept += 1
        else:
            differ.append(f"{path.relative_to(FILES)}: {why}")
    print(f"{kept} files put back as committed; {len(differ)} differ")
    print("\n".join(differ))


def git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=FILES, capture_output=True, check=True).stdout


def difference(path: Path, old: bytes, new: bytes) -> str | None:
    """None when the content is the same, else what differs."""
    if path.suffix == ".npz":
        return npz_difference(old, new)
    if path.suffix == ".keras":
        return keras_difference(old, new)
    if path.suffix == ".json" and path.name != "writer.json":
        return None if same_config(old, new) else "the config"
    return None if old == new else "the bytes"


def npz_difference(old: bytes, new: bytes) -> str | None:
    with np.load(io.BytesIO(old)) as a, np.load(io.BytesIO(new)) as b:
        if sorted(a.files) != sorted(b.files):
            return f"the arrays: {sorted(a.files)} then {sorted(b.files)}"
        for key in a.files:
            x, y = a[key], b[key]
            if x.dtype != y.dtype or x.shape != y.shape:
                return f"{key}: {x.dtype}{x.shape} then {y.dtype}{y.shape}"
            if x.tobytes() == y.tobytes():
                continue
            scale = max(float(np.max(np.abs(x))), np.finfo(np.float32).tiny)
            relative = float(np.max(np.abs(x.astype(float) - y.astype(float)))) / scale
            if not key.startswith("y") or relative > OUTPUT_NOISE:
                return f"{key}: values (relative {relative:.3g})"
    return None


def keras_difference(old: bytes, new: bytes) -> str | None:
    a, b = zipfile.ZipFile(io.BytesIO(old)), zipfile.ZipFile(io.BytesIO(new))
    if a.namelist() != b.namelist():
        return f"the members: {a.namelist()} then {b.namelist()}"
    for name in a.namelist():
        x, y = a.read(name), b.read(name)
        if x == y:
            continue
        if name == "metadata.json":
            x, y = json.loads(x), json.loads(y)
            x.pop("date_saved", None)
            y.pop("date_saved", None)
            if x == y:
                continue
        elif name == "config.json" and same_config(x, y):
            continue
        return name
    return None


def same_config(old: bytes, new: bytes) -> bool:
    return unrandomized(json.loads(old), {}) == unrandomized(json.loads(new), {})


def unrandomized(config, ids: dict):
    """The config with shared_object_id renumbered in order of appearance (which objects are
    shared still counts) and every `seed` left out."""
    if isinstance(config, dict):
        return {
            key: ids.setdefault(value, len(ids))
            if key == "shared_object_id"
            else unrandomized(value, ids)
            for key, value in config.items()
            if key != "seed"
        }
    if isinstance(config, list):
        return [unrandomized(value, ids) for value in config]
    return config


if __name__ == "__main__":
    main()
