"""Run by ``container-smoke`` against the running container; writes what it saw as JSON.

    python container_probe.py OUT.json MODEL.keras MODEL.h5 HEALTHCHECK_ARGV_JSON

``BASE`` is the container's address (set by container-smoke). The probe only gathers facts
(HTTP statuses, totals, the user the server runs as, installed distributions, the store after a
restart); ``test_container.py`` asserts on them, so a failure names the fact that was wrong.

Beyond ``BASE``, container-smoke's interface gives no handle on the container, so the probe
leans on two details of that script: the container is named ``smoke-<port>``, and the podman
settings it exports (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF) reach this process. Without
them the probe stops with a sentence saying so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx2

HEALTH_WAIT_S = 120
WORKER_READY_S = 180
DISTRIBUTIONS = ["tensorflow", "tensorflow-cpu", "keras", "tf_keras", "torch"]
INSTALLED = (
    "import json, importlib.metadata as m\n"
    "def version(name):\n"
    "    try:\n"
    "        return m.version(name)\n"
    "    except m.PackageNotFoundError:\n"
    "        return None\n"
    f"print(json.dumps({{n: version(n) for n in {DISTRIBUTIONS!r}}}))\n"
)
# A Keras worker spawned the way the server spawns it: proves the layout (PYTHONPATH = the
# project root) and that TensorFlow imports as the non-root user.
WORKER = (
    "import json\n"
    "from app.check.keras.process import WorkerProcess\n"
    "worker = WorkerProcess.spawn()\n"
    f"ready = worker.await_ready({WORKER_READY_S})\n"
    "tail = '' if ready else worker.stderr_tail()\n"
    "worker.reap()\n"
    "print(json.dumps({'ready': ready, 'keras': worker.keras_version,\n"
    "                  'tensorflow': worker.tf_version, 'stderr_tail': tail}))\n"
)
STORE_OWNER = (
    "import json, os\n"
    "store = '/data/reports.sqlite3'\n"
    "print(json.dumps(os.stat(store).st_uid if os.path.exists(store) else None))\n"
)


def main(out: Path, keras_path: Path, h5_path: Path, healthcheck: list[str]) -> None:
    base = os.environ["BASE"]
    container = f"smoke-{urlsplit(base).port}"
    if podman("container", "exists", container).returncode != 0:
        sys.exit(f"container-smoke no longer names its container {container}; update the probe")
    facts: dict = {"container": container}
    with httpx2.Client(base_url=base, timeout=60) as http:
        facts["uploads"] = {p.suffix: upload(http, p) for p in (keras_path, h5_path)}
        facts["pages"] = pages(http, facts["uploads"][".keras"].get("id"))
        facts["process_uid"] = uid_of_pid_1(container)
        facts["exec_uid"] = int(exec_in(container, "id", "-u").stdout)
        facts["mounts"] = mounts(container)
        facts["store_owner_uid"] = python_in(container, STORE_OWNER)
        facts["distributions"] = python_in(container, INSTALLED)
        facts["worker"] = python_in(container, WORKER)
        facts["healthcheck_rc"] = exec_in(container, *healthcheck, check=False).returncode
        facts["after_restart"] = after_restart(http, container, keras_path, facts["uploads"])
    out.write_text(json.dumps(facts, indent=2))


def upload(http: httpx2.Client, path: Path) -> dict:
    response = http.post(
        "/api/v1/reports", params={"check": "false"}, files={"file": (path.name, path.read_bytes())}
    )
    body = response.json()
    return {
        "status": response.status_code,
        "id": body.get("id"),
        "totals": body.get("totals"),
        "format": body.get("source", {}).get("format"),
        "body": body if response.is_error else None,
    }


def pages(http: httpx2.Client, report_id: str | None) -> dict:
    """The pages need templates/ and static/ where the code looks for them."""
    paths = ["/", "/static/style.css", f"/reports/{report_id}"]
    return {path: http.get(path, headers={"Accept": "text/html"}).status_code for path in paths}


def after_restart(http: httpx2.Client, container: str, keras_path: Path, uploads: dict) -> dict:
    podman("restart", container, check=True)
    wait_for_health(http)
    fetched = {}
    for suffix, upload_ in uploads.items():
        response = http.get(f"/api/v1/reports/{upload_['id']}")
        fetched[suffix] = {"status": response.status_code, "totals": response.json().get("totals")}
    again = upload(http, keras_path)
    return {"fetched": fetched, "reupload": {"status": again["status"], "id": again["id"]}}


def wait_for_health(http: httpx2.Client) -> None:
    deadline = time.monotonic() + HEALTH_WAIT_S
    while time.monotonic() < deadline:
        try:
            if http.get("/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(1)
    sys.exit("the container did not answer /api/v1/health after the restart")


def uid_of_pid_1(container: str) -> int:
    """The real uid of the server process (PID 1: the image's CMD in exec form)."""
    status = exec_in(container, "cat", "/proc/1/status").stdout
    line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    return int(line.split()[1])


def mounts(container: str) -> list[str]:
    template = "{{range .Mounts}}{{.Destination}} {{end}}"
    return podman("inspect", "--format", template, container, check=True).stdout.split()


def python_in(container: str, code: str):
    """Run `code` with the image's Python, as the image's user; it prints one JSON value."""
    return json.loads(exec_in(container, "python", "-c", code).stdout)


def exec_in(container: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return podman("exec", container, *argv, check=check)


def podman(*args: str, check: bool = False) -> subprocess.CompletedProcess:
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=600)
    if check and result.returncode != 0:
        command = " ".join(args[:2])
        sys.exit(f"podman {command} failed ({result.returncode}): {result.stderr[-2000:]}")
    return result


if __name__ == "__main__":
    out, keras_file, h5_file, argv = sys.argv[1:]
    main(Path(out), Path(keras_file), Path(h5_file), json.loads(argv))
