"""One `Settings`, read from `KEX_*` environment variables. Only the web layer and the CLI read
it; analyses receive what they need as arguments."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1 << 20


class Settings(BaseSettings):
    """Limits, folders and pool size. Every field is `KEX_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="KEX_", extra="ignore")

    data_dir: Path = Field(
        Path("data"), description="Where the report store (SQLite) and work folders live."
    )
    store_url: str | None = Field(
        None,
        description="sqlite:///path/to/reports.sqlite3 (default: <data_dir>/reports.sqlite3), "
        "or postgresql://user:password@host/db for replicas that share one store (run "
        "`keras-explainer migrate` first).",
    )
    shared_dir: Path | None = Field(
        None,
        description="A folder every replica and worker mounts (with a PostgreSQL store and "
        "KEX_WORKERS=0): checks travel through it to `keras-explainer worker` processes.",
    )
    queue_heartbeat_s: float = Field(
        10.0,
        gt=0,
        description="How often a `keras-explainer worker` says it is alive; after three "
        "silent heartbeats its checks go to another worker.",
    )
    max_upload_bytes: int = Field(
        1024 * MIB, gt=0, description="Largest model file accepted (VGG16 .h5 is 553 MB)."
    )
    max_field_bytes: int = Field(
        16 * MIB, gt=0, description="Largest spec JSON or inputs JSON accepted in a request."
    )
    max_parts: int = Field(8, gt=0, description="Most multipart parts (file, spec, inputs...).")
    workers: int = Field(1, ge=0, description="Keras worker processes running checks at once.")
    spare_workers: int = Field(1, ge=0, description="Warm workers waiting for the next check.")
    max_queued_checks: int = Field(8, ge=0, description="Checks waiting before 503 busy.")
    check_timeout_s: float = Field(
        300.0,
        gt=0,
        description="Wall-clock limit of one check, at the least: a larger model gets its "
        "forward's MACs at its batch over KEX_CHECK_MACS_PER_S.",
    )
    check_macs_per_s: float = Field(
        1e8,
        gt=0,
        description="The slowest forward a check is given time for, in multiply-accumulates "
        "per second (EfficientNetB7 at 600 × 600 ran at 2.8e8 on a loaded 2-core machine).",
    )
    worker_max_rss_bytes: int = Field(
        6 << 30, gt=0, description="A Keras worker over this resident memory is killed."
    )
    wait_timeout_s: float = Field(600.0, gt=0, description="Longest a `wait=true` POST blocks.")
    check_tolerance: float = Field(
        1e-4,
        gt=0,
        description="Largest error, relative to a layer output's scale, that passes the check.",
    )
    check_seed: int = Field(0, description="Seed of the inputs and of a spec's weights.")
    check_max_params: int = Field(400_000_000, gt=0, description="Largest model a check runs.")
    check_max_tensor_bytes: int = Field(1 << 30, gt=0, description="Largest single tensor.")
    check_max_activation_bytes: int = Field(
        4 << 30, gt=0, description="Every layer output of one sample together (batch 1)."
    )
    check_max_layers: int = Field(10_000, gt=0, description="Most layers a check runs.")
    check_max_input_elements: int = Field(50_000_000, gt=0, description="At batch 1.")
    check_max_input_bytes: int = Field(
        200_000_000, gt=0, description="At batch 1, each Input at its dtype (seeded inputs)."
    )
    check_max_disk_bytes: int = Field(
        8 << 30,
        gt=0,
        description="Most disk one check writes at once, at its batch (both sides' layer "
        "outputs, its weights and inputs: README, Real-size models).",
    )

    read_timeout_s: float = Field(
        60.0,
        gt=0,
        description="Most wall-clock time the throwaway process that reads an HDF5-bearing "
        "upload gets: 10 s for any file plus 1 s per 20 MiB, up to this (VGG16's 553 MB .h5 "
        "reads in about a second and gets 36 s).",
    )
    read_max_memory_bytes: int = Field(
        2 << 30,
        gt=0,
        description="Address space of that process, libraries included.",
    )

    retention_days: float = Field(30.0, gt=0, description="Reports older than this are deleted.")
    max_store_bytes: int = Field(
        1024 * MIB, gt=0, description="The oldest reports go once the store is larger."
    )
    keep_uploads: bool = Field(
        False, description="Keep uploaded model files in <data_dir>/uploads after their job."
    )
    trusted_hosts: str = Field(
        "*",
        description="Comma-separated `Host` names answered (`kex.example.com,*.example.com`); "
        "any other gets 400. `*`: any host (pages link by path, never by the Host header).",
    )
    check_defer_initializers: bool = Field(
        True,
        description="The Keras worker loads a model without drawing the initial values its "
        "file's then replace (faster; the same model: app.check.keras.initial_values); "
        "false: it loads as Keras does.",
    )
    timeline_file: Path | None = Field(
        None,
        description="A file the serving process appends each step of a request to (clock "
        "and CPU time, app.timeline), for bench/check_timeline.py; unset: nothing is written.",
    )

    @field_validator("data_dir", "shared_dir")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        """Absolute: worker processes run in folders of their own, where a relative path
        would point somewhere else."""
        return value.expanduser().resolve() if value is not None else None

    @field_validator("store_url")
    @classmethod
    def _store_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value

    @field_validator("trusted_hosts")
    @classmethod
    def _host_patterns(cls, value: str) -> str:
        """Each a name, `*`, or `*.domain`: what Starlette's TrustedHostMiddleware matches."""
        for pattern in _hosts(value):
            if "*" in pattern[1:] or (pattern.startswith("*") and not pattern.startswith("*.")):
                if pattern != "*":
                    raise ValueError(f"`{pattern}`: a wildcard must be `*` or `*.domain`")
        return value

    @property
    def trusted_host_list(self) -> list[str]:
        return _hosts(self.trusted_hosts) or ["*"]

    @property
    def store_path(self) -> Path:
        """The SQLite file of the report store (when `store_url` is not PostgreSQL)."""
        if self.store_url and self.store_url.startswith("sqlite:///"):
            return Path(self.store_url.removeprefix("sqlite:///"))
        return self.data_dir / "reports.sqlite3"

    @property
    def queued(self) -> bool:
        """Checks go to a job queue for `keras-explainer worker` processes, not to workers of
        this process: a PostgreSQL store, a shared folder, and no workers here."""
        return (
            self.store_url is not None
            and self.store_url.startswith(("postgresql://", "postgres://"))
            and self.shared_dir is not None
            and self.workers == 0
        )

    @property
    def uploads_dir(self) -> Path:
        """Kept uploads (KEX_KEEP_UPLOADS): in the shared folder when there is one, so that
        every replica can diagnose or compare a report's model."""
        return (self.shared_dir or self.data_dir) / "uploads"

    @property
    def exports_dir(self) -> Path:
        """Each checked report's standalone program (app.export), kept with the report: in
        the shared folder when there is one, since a worker on another host writes it."""
        return (self.shared_dir or self.data_dir) / "exports"

    @property
    def work_dir(self) -> Path:
        """Private per-request folders live below this one."""
        return self.data_dir / "work"


def _hosts(value: str) -> list[str]:
    return [host.strip() for host in value.split(",") if host.strip()]
