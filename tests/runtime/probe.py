"""Run as a worker would be (WorkerProcess.spawn), to report what it can see and do.

Reads one JSON line ({"port": n}); prints one JSON line: whether it reached the host's port
on 127.0.0.1, its rlimits, its environment's names, HOME and TMPDIR.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import sys


def main() -> None:
    request = json.loads(sys.stdin.readline())
    print(
        json.dumps(
            {
                "event": "probe",
                "reached": _reached(request["port"]),
                "cpu": resource.getrlimit(resource.RLIMIT_CPU),
                "fsize": resource.getrlimit(resource.RLIMIT_FSIZE),
                "nofile": resource.getrlimit(resource.RLIMIT_NOFILE),
                "core": resource.getrlimit(resource.RLIMIT_CORE),
                "environment": sorted(os.environ),
                "home": os.environ.get("HOME"),
                "tmpdir": os.environ.get("TMPDIR"),
            }
        ),
        flush=True,
    )


def _reached(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


if __name__ == "__main__":
    main()
