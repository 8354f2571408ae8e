"""A throwaway PostgreSQL cluster for the tests: `initdb` in a temporary folder, a server on a
free loopback port, a fresh database per test, everything removed at the end.

As root (CI, the container) the server runs as the `postgres` user, since PostgreSQL refuses
to run as root. `make test` installs Debian's `postgresql` when it is missing, as it does
Chromium; a missing server fails the tests that need it rather than skipping them.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

START_TIMEOUT_S = 60


@dataclass(frozen=True)
class Cluster:
    host: str
    port: int
    user: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    @contextmanager
    def database(self) -> Iterator[str]:
        """A new empty database's URL, dropped afterwards (its connections too)."""
        name = f"kex_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield self.url(name)
        finally:
            with psycopg.connect(self.url(), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_bin() -> Path:
    """The folder of initdb and pg_ctl: Debian keeps them out of PATH, by major version."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_major, reverse=True)
    if found:
        return Path(found[0]).parent
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    raise RuntimeError(
        "No PostgreSQL server here (initdb/pg_ctl): `make test` installs Debian's postgresql, "
        "or run `apt-get install postgresql`."
    )


@contextmanager
def running_cluster() -> Iterator[Cluster]:
    bin_dir = server_bin()
    as_root = os.geteuid() == 0
    user = "postgres" if as_root else _current_user()
    folder = Path(tempfile.mkdtemp(prefix="kex-pg-"))
    data = folder / "data"
    if as_root:
        shutil.chown(folder, user="postgres")
    port = _free_port()
    _run(as_root, [bin_dir / "initdb", "-D", data, "-A", "trust", "-U", user, "--no-sync"])
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    log = folder / "server.log"
    try:
        _run(as_root, [bin_dir / "pg_ctl", "-D", data, "-o", options, "-l", log, "-w",
                       "-t", str(START_TIMEOUT_S), "start"])  # fmt: skip
        yield Cluster("127.0.0.1", port, user)
    finally:
        _run(as_root, [bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "stop"], check=False)
        shutil.rmtree(folder, ignore_errors=True)


def _run(as_root: bool, command: list, check: bool = True) -> None:
    argv = [str(part) for part in command]
    if as_root:
        # /usr/sbin, where Debian keeps runuser, is not on every root's PATH (env -i).
        runuser = shutil.which("runuser") or "/usr/sbin/runuser"
        argv = [runuser, "-u", "postgres", "--", *argv]
    subprocess.run(argv, check=check, capture_output=True, timeout=START_TIMEOUT_S * 2)


def _major(path: str) -> int:
    version = Path(path).parents[1].name
    return int(version) if version.isdigit() else 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _current_user() -> str:
    import getpass

    return getpass.getuser()
