"""The serving process' memory while it explains VGG16 (553 MB of weights), then checks it.

    .venv/bin/python bench/serving_memory.py [--no-check]

A real server (no workers: the breakdown only) gets VGG16(weights=None) as a legacy `.h5`
(about 553 MB) and as `.keras`. Printed: the server's resident memory before (after a warm-up
request) and its peak (VmHWM) after each upload. Target (issue 6): growth at most 50 MB —
the breakdown must not hold weight values it does not need.

Then a server with one Keras worker checks the `.keras` file (default inputs, `wait=true`):
its peak grows by at most 50 MB too (issue 12), while the worker and the reference process
write the layers' outputs (about 120 MB at batch 2) and the comparison maps each layer as
both sides have written it, then deletes it. The worker's and the reference process's own
memory is theirs, not the server's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
from _server import memory_kb, post_file, serving  # noqa: E402

CHECK_WAIT = {"check": "true", "wait": "true"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-check", action="store_true", help="the breakdown only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        model = keras.applications.VGG16(weights=None)
        small = Path(folder) / "small.keras"
        keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save(small)
        paths = [Path(folder) / "vgg16.h5", Path(folder) / "vgg16.keras"]
        for path in paths:
            model.save(path)
        with serving() as (base, pid):
            assert post_file(base, small, check="false").status_code == 201  # warm-up
            before = memory_kb(pid)
            for path in paths:
                response = post_file(base, path, check="false")
                assert response.status_code == 201, response.text
                peak = memory_kb(pid, "VmHWM")
                print(
                    f"{path.name:12} {path.stat().st_size / 1e6:6.0f} MB: server RSS before "
                    f"{before / 1024:6.1f} MB, peak {peak / 1024:6.1f} MB, growth "
                    f"{(peak - before) / 1024:6.1f} MB (target <= 50 MB)"
                )
        if not args.no_check:
            check_growth(small, paths[1])


def check_growth(small: Path, path: Path) -> None:
    """The server's peak growth while it has `path` checked by its one worker."""
    with serving(workers=1) as (base, pid):
        assert post_file(base, small, **CHECK_WAIT).json()["check"]["status"] == "passed"
        before = memory_kb(pid)
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM starts again from now
        response = post_file(base, path, **CHECK_WAIT)
        assert response.status_code == 201, response.text
        peak = memory_kb(pid, "VmHWM")
        check = response.json()["check"]
        print(
            f"{path.name:12} checked ({check['status']}, {check.get('code')}, "
            f"{check['timing'] and check['timing']['total_s']} s): server RSS before "
            f"{before / 1024:6.1f} MB, peak {peak / 1024:6.1f} MB, growth "
            f"{(peak - before) / 1024:6.1f} MB (target <= 50 MB)"
        )


if __name__ == "__main__":
    main()
