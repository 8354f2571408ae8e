"""The Docker image, built and run for real by ../shared/tools/container-smoke (podman).

The smoke tool builds the Dockerfile over a locally made python:3.11-slim, waits for
/api/v1/health, then runs container_probe.py against the container; the tests here assert on
what the probe saw. One build and run serves every test of the module.

Slow (a cold run builds the base image and installs TensorFlow: minutes), so marked `slow`;
`make test` runs it. Skipped only when the smoke tool is not beside the project.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.files import saved
from tests.support.models import seed_model

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT.parent / "shared" / "tools" / "container-smoke"
PROBE = Path(__file__).with_name("container_probe.py")
# A cold run (no cached base image, no layer cache) took 313 s here, a warm one 29 s.
SMOKE_TIMEOUT_S = 1800
SEED_TOTALS = {"params": 2_140_752, "trainable": 2_139_728, "non_trainable": 1_024}
# 1.52 GB measured; the full `tensorflow` wheel instead of tensorflow-cpu adds 0.6 GB.
IMAGE_BUDGET_BYTES = 2_000_000_000

pytestmark = pytest.mark.slow


@dataclass
class Smoke:
    facts: dict
    image_bytes: int
    seconds: float


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> Smoke:
    if not SMOKE.is_file():
        pytest.skip("../shared/tools/container-smoke is not beside the project")
    folder = tmp_path_factory.mktemp("container")
    model = seed_model()
    argv = [
        str(folder / "facts.json"),
        str(saved(model, folder / "seed.keras")),
        str(saved(model, folder / "seed.h5")),
        json.dumps(healthcheck_argv()),
    ]
    started = time.monotonic()
    rc, log = run_smoke([sys.executable, str(PROBE), *argv])
    seconds = time.monotonic() - started
    assert rc == 0, f"container-smoke exited {rc}:\n{log[-4000:]}"
    size = re.search(r"image size: (\d+) bytes", log)
    assert size, f"container-smoke logged no image size:\n{log[-4000:]}"
    print(f"\ncontainer-smoke: {seconds:.0f} s, image {int(size[1]) / 1e6:.0f} MB")
    return Smoke(json.loads((folder / "facts.json").read_text()), int(size[1]), seconds)


def run_smoke(command: list[str]) -> tuple[int, str]:
    """container-smoke ROOT -- command; on timeout, SIGTERM the whole group so its trap
    removes the container."""
    proc = subprocess.Popen(
        ["bash", str(SMOKE), str(ROOT), "--", *command],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env=smoke_environment(),
    )
    try:
        log, _ = proc.communicate(timeout=SMOKE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        log, _ = proc.communicate(timeout=60)
        pytest.fail(f"container-smoke took over {SMOKE_TIMEOUT_S} s:\n{log[-4000:]}")
    return proc.returncode, log


def smoke_environment() -> dict[str, str]:
    """This environment with the system folders on PATH: podman's network plugin runs
    `iptables`, which lives in /usr/sbin, missing from the PATH of a shell started clean
    (`env -i PATH=/usr/local/bin:/usr/bin:/bin`), where the build then fails."""
    folders = os.environ.get("PATH", "").split(os.pathsep)
    added = [path for path in ("/usr/local/sbin", "/usr/sbin", "/sbin") if path not in folders]
    return {**os.environ, "PATH": os.pathsep.join([*folders, *added])}


def healthcheck_argv() -> list[str]:
    """The Dockerfile's HEALTHCHECK command (podman's OCI builds drop HEALTHCHECK, and the
    smoke tool runs with --no-healthcheck, so the probe runs the command itself)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    command = re.search(r"^HEALTHCHECK\b.*?\bCMD\s+(\[.*\])\s*$", text, re.MULTILINE)
    assert command, "the Dockerfile has no HEALTHCHECK ... CMD [...] line"
    return json.loads(command[1])


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_container_explains_seed_model(smoke, suffix):
    upload = smoke.facts["uploads"][suffix]
    assert upload["status"] == 201, upload["body"]
    assert {key: upload["totals"][key] for key in SEED_TOTALS} == SEED_TOTALS
    assert upload["format"] == {".keras": "keras_v3", ".h5": "legacy_h5"}[suffix]


def test_container_serves_pages_from_templates_and_static(smoke):
    assert set(smoke.facts["pages"].values()) == {200}, smoke.facts["pages"]


def test_container_runs_as_non_root(smoke):
    assert smoke.facts["process_uid"] != 0
    assert smoke.facts["exec_uid"] == smoke.facts["process_uid"]


def test_container_keeps_reports_in_data_volume_across_restart(smoke):
    assert "/data" in smoke.facts["mounts"]
    assert smoke.facts["store_owner_uid"] == smoke.facts["process_uid"]  # None: not in /data
    after = smoke.facts["after_restart"]
    for suffix, fetched in after["fetched"].items():
        assert fetched["status"] == 200, suffix
        assert {key: fetched["totals"][key] for key in SEED_TOTALS} == SEED_TOTALS
    # The same bytes again: answered from the store (200, the same report), not made anew.
    assert after["reupload"] == {"status": 200, "id": smoke.facts["uploads"][".keras"]["id"]}


def test_container_has_tensorflow_cpu_without_tf_keras_or_torch(smoke):
    installed = smoke.facts["distributions"]
    assert installed["tensorflow-cpu"] and installed["keras"], installed
    assert installed["tensorflow"] is None, installed
    assert installed["tf_keras"] is None and installed["torch"] is None, installed


def test_container_worker_imports_keras(smoke):
    worker = smoke.facts["worker"]
    assert worker["ready"], worker["stderr_tail"]
    assert worker["tensorflow"] == smoke.facts["distributions"]["tensorflow-cpu"]
    assert worker["keras"] == smoke.facts["distributions"]["keras"]


def test_container_healthcheck_command_passes(smoke):
    assert smoke.facts["healthcheck_rc"] == 0


def test_container_image_within_size_budget(smoke):
    assert smoke.image_bytes < IMAGE_BUDGET_BYTES
