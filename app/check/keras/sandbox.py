"""The walls around a worker process, besides our parser and the allowlist.

    network      a new, empty network namespace when the platform allows it: `unshare --net`
                 as root, else inside a new user namespace (`unshare --user
                 --map-root-user --net`, no privilege outside it); probed once, reported by
                 /api/v1/health
    rlimits      set by the parent on the child (`prlimit`) when a job starts: CPU seconds
                 for this job, largest file it may write, open files, no core dumps
    environment  scrubbed of everything but PATH and our own variables; a private folder
                 as HOME, TMPDIR and KERAS_HOME (app.check.keras.process)
    single use   one job per process; wall clock and RSS watched by the parent (pool.py)

The CPU limit counts from what the process has used so far (importing TensorFlow), so the
job gets its whole budget: SIGXCPU at the soft limit, SIGKILL a little later.
"""

from __future__ import annotations

import functools
import logging
import os
import resource
import shutil
import subprocess
from dataclasses import dataclass

logger = logging.getLogger(__name__)

UNSHARE_NET = ["unshare", "--net", "--"]
UNSHARE_USER_NET = ["unshare", "--user", "--map-root-user", "--net", "--"]
CPU_GRACE_S = 5
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class JobLimits:
    cpu_s: int
    max_file_bytes: int
    max_open_files: int = 512


@functools.cache
def network_prefix() -> tuple[str, ...] | None:
    """The first way to an empty network namespace that works here (probed once): a plain
    one (root), else one inside a user namespace (any user, where the kernel allows
    unprivileged user namespaces); None when neither does."""
    if shutil.which("unshare") is not None:
        for prefix in (UNSHARE_NET, UNSHARE_USER_NET):
            if _works(prefix):
                return tuple(prefix)
    logger.warning("workers run without a network namespace: unshare is refused")
    return None


def _works(prefix: list[str]) -> bool:
    try:
        probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def network_isolation() -> bool:
    return network_prefix() is not None


def command_prefix() -> list[str]:
    """What goes before `python -m ...` to start a worker: the namespace where we can."""
    return list(network_prefix() or ())


def isolations() -> dict[str, bool]:
    """Which walls are in force, for /api/v1/health."""
    return {
        "network_namespace": network_isolation(),
        "rlimits": True,
        "scrubbed_environment": True,
        "private_folder": True,
        "single_use": True,
    }


def apply_limits(pid: int, limits: JobLimits) -> None:
    """Set the job's rlimits on process `pid`; a process already gone is left alone."""
    cpu = used_cpu_s(pid) + limits.cpu_s
    wanted = {
        resource.RLIMIT_CPU: (cpu, cpu + CPU_GRACE_S),
        resource.RLIMIT_FSIZE: (limits.max_file_bytes, limits.max_file_bytes),
        resource.RLIMIT_NOFILE: (limits.max_open_files, limits.max_open_files),
        resource.RLIMIT_CORE: (0, 0),
    }
    try:
        for kind, values in wanted.items():
            resource.prlimit(pid, kind, values)
    except (ProcessLookupError, PermissionError, ValueError) as exc:
        logger.warning("could not limit worker %s: %s", pid, exc)


def used_cpu_s(pid: int) -> int:
    """CPU seconds (user + system) process `pid` has used, from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except OSError:
        return 0
    return (int(fields[11]) + int(fields[12])) // CLOCK_TICKS + 1
