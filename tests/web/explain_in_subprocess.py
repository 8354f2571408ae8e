"""Run by test_server_isolation in a fresh interpreter: serve the app in-process, explain
every file given on the command line through the API, print what happened as JSON.

It imports only the app (never tests.support.kerasref), so any framework found in sys.modules
afterwards was imported by the app itself.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app

FRAMEWORKS = ("tensorflow", "keras", "tf_keras", "jax", "torch")


def main(paths: list[str]) -> None:
    statuses = {}
    with tempfile.TemporaryDirectory() as data_dir:
        with TestClient(create_app(Settings(data_dir=Path(data_dir)))) as client:
            for path in map(Path, paths):
                files = {"file": (path.name, path.read_bytes())}
                response = client.post("/api/v1/reports", files=files)
                statuses[path.name] = [response.status_code, response.json()["source"]["format"]]
    loaded = sorted({m.split(".")[0] for m in sys.modules} & set(FRAMEWORKS))
    print(json.dumps({"statuses": statuses, "frameworks": loaded}))


if __name__ == "__main__":
    main(sys.argv[1:])
