"""`create_app()`: settings, store, worker pool, routers, static files, error handlers.

Start-up fails loudly on a missing templates or static folder or an unwritable data folder,
never quietly per request. The Keras workers start with the app (in the background: the
server answers at once) and stop with it. Nothing here imports Keras.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from app import __version__, timeline
from app.check import CHECK_CODES
from app.check.admission import CheckSettings
from app.check.budgets import BudgetLimits
from app.check.inputs import BATCH_SIZE as SEEDED_BATCH
from app.check.keras import WorkerPool
from app.check.runner import CheckRunner, Checks
from app.compare.service import Comparisons
from app.compare.store import ComparisonStore, SqliteComparisonStore
from app.config import Settings
from app.costs.rules import CONVENTION as COST_CONVENTION
from app.diagnoses import Diagnoses
from app.errors import all_error_classes
from app.isolation import start_fork_server
from app.reports import Reports, read_limits
from app.retention import Retention
from app.safety.refusals import REFUSAL_CODES
from app.store import ReportStore, open_store
from app.web import api, comparisons, errors, pages
from app.web.progress import Progress
from app.web.static_files import CachedStaticFiles
from app.web.templating import STATIC_DIR, make_templates

ABSTRACT = frozenset({"bad-request", "unprocessable", "not-found"})  # bases, never raised

DESCRIPTION = (
    "Explains Keras models: every parameter with its role, shape and `get_weights()` index, "
    "every BatchNormalization layer with its own numbers, and a check that reproduces "
    "`predict` by hand. Errors are `{code, message, details}` with a stable `code`.\n\n"
    "**Costs.** " + COST_CONVENTION + "\n\n"
    "**Findings.** `findings` lists what the stored values show, per layer and weight: "
    "`not-finite` (NaN or ±Inf values), `looks-untrained` (a kernel whose values lie within "
    "the bound of its initializer's draw at its fan-in and fan-out, with the expected std "
    "and mean, while its zeros-started bias is still 0), `bias-all-zero`, "
    "`identical-filters` (output channels equal bit for bit, not all 0) and `dead-channels` "
    "(BatchNormalization channels with gamma exactly 0 and beta ≤ 0 before a ReLU: 0 for "
    "every input)."
)


def describe_codes() -> str:
    """The API description's list of every error code, and of a check's codes."""
    errors = sorted(all_error_classes(), key=lambda cls: (cls.status, cls.code))
    lines = ["", "", "**Error codes** (HTTP status, `code`):", ""]
    lines += [f"- {cls.status} `{cls.code}`" for cls in errors if cls.code not in ABSTRACT]
    lines += ["- 404 `not-found`, 405 `method-not-allowed`: no such route or method", ""]
    lines += ["**Check codes** (`check.code` when a check did not pass or run):", ""]
    lines += [f"- `{code}`: {text}" for code, text in {**CHECK_CODES, **REFUSAL_CODES}.items()]
    return "\n".join(lines)


def create_app(settings: Settings | None = None, pool: WorkerPool | None = None) -> FastAPI:
    """The app on `settings`. Its Keras workers are its own, started and stopped with it,
    unless `pool` lends it started ones that outlive it (the tests share one warm pool)."""
    settings = settings or Settings()
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    timeline.record_to(settings.timeline_file)
    store = open_store(settings.store_url, settings.store_path)
    owned = pool is None
    pool = make_pool(settings) if owned else pool
    checks = make_checks(settings, store, pool)
    comparison_store = make_comparison_store(settings, store)
    retention = Retention(
        store, settings.retention_days, settings.max_store_bytes, settings.exports_dir
    )
    retention.also(comparison_store)
    app = FastAPI(
        title="keras-explainer",
        version=__version__,
        description=DESCRIPTION + describe_codes(),
        lifespan=_lifespan(pool if owned else None, checks, retention, store),
    )
    app.state.settings = settings
    app.state.templates = make_templates()
    app.state.work_dir = settings.work_dir
    app.state.pool = pool
    uploads = settings.uploads_dir if settings.keep_uploads else None
    limits = read_limits(settings)
    app.state.reports = Reports(
        store, checks, check_settings(settings), uploads, limits, settings.exports_dir
    )
    app.state.progress = Progress()
    app.state.comparisons = Comparisons(comparison_store, app.state.reports, uploads, limits)
    app.state.diagnoses = Diagnoses(
        settings.work_dir, uploads, settings.check_tolerance, settings.check_timeout_s
    )
    app.mount("/static", CachedStaticFiles(directory=STATIC_DIR, check_dir=True), name="static")
    app.include_router(api.router)
    app.include_router(comparisons.api)
    app.include_router(pages.router)
    app.include_router(comparisons.pages)
    errors.install(app)
    # HTML and JSON shrink about twentyfold (ResNet50's report page: 315 KB, 16 KB gzipped).
    # Level 6, not 9: nearly the same size for a third of the CPU on a shared machine.
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=6)
    if settings.trusted_host_list != ["*"]:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.trusted_host_list)
    return app


def make_comparison_store(settings: Settings, store: ReportStore) -> ComparisonStore:
    """Beside the reports: the same SQLite file, or the team's PostgreSQL (its pool)."""
    if settings.store_url and settings.store_url.startswith(("postgresql://", "postgres://")):
        from app.compare.postgres_store import PostgresComparisonStore

        return PostgresComparisonStore(store.pool)  # type: ignore[attr-defined]
    return SqliteComparisonStore(settings.store_path)


def make_checks(settings: Settings, store: ReportStore, pool: WorkerPool | None) -> Checks | None:
    """Where this replica's checks run: its own workers, the team's queue, or nowhere."""
    if pool is not None:
        max_active = settings.workers + settings.max_queued_checks
        return CheckRunner(
            pool, store, settings.work_dir / "checks", max_active, settings.exports_dir
        )
    if settings.queued:
        from app.queue.submit import QueuedChecks
        from app.queue.tasks import queue_app
        from app.store.postgres import PostgresReportStore

        assert isinstance(store, PostgresReportStore) and settings.shared_dir is not None
        queue = queue_app(settings.store_url or "")
        return QueuedChecks(store, queue, settings.shared_dir, settings.max_queued_checks)
    return None


def make_pool(settings: Settings) -> WorkerPool | None:
    if settings.workers == 0:
        return None
    return WorkerPool(
        size=settings.workers,
        spares=settings.spare_workers,
        timeout_s=settings.check_timeout_s,
        max_rss_bytes=settings.worker_max_rss_bytes,
        # The check runner admits at most workers + max_queued_checks checks (503 beyond), each
        # one Keras job: the pool's own queue never needs to refuse.
        max_queued=settings.workers + settings.max_queued_checks,
        # Every layer's output, written by the worker: what the activation budget admits
        # (batch 1) at the seeded batch. A fixed 256 MiB made a 0.6M-parameter SRGAN at
        # 128×128 (≈ 0.5 GB of layer outputs at batch 2) an `invalid-result`.
        max_output_bytes=settings.check_max_activation_bytes * SEEDED_BATCH,
        defer_initializers=settings.check_defer_initializers,
    )


def check_settings(settings: Settings) -> CheckSettings:
    return CheckSettings(
        tolerance=settings.check_tolerance,
        seed=settings.check_seed,
        timeout_s=settings.check_timeout_s,
        macs_per_s=settings.check_macs_per_s,
        budgets=BudgetLimits(
            max_params=settings.check_max_params,
            max_tensor_bytes=settings.check_max_tensor_bytes,
            max_activation_bytes=settings.check_max_activation_bytes,
            max_layers=settings.check_max_layers,
            max_input_elements=settings.check_max_input_elements,
            max_input_bytes=settings.check_max_input_bytes,
        ),
        max_disk_bytes=settings.check_max_disk_bytes,
    )


def _lifespan(
    pool: WorkerPool | None,
    checks: Checks | None,
    retention: Retention,
    store: ReportStore,
):
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        start_fork_server()
        if pool is not None:
            pool.start()
        if checks is not None:
            checks.start_warm_reference()
        retention.start()
        try:
            yield
        finally:
            retention.stop()
            if checks is not None:
                checks.stop()
            if pool is not None:
                pool.stop()
            store.close()

    return lifespan
