"""The queue itself: procrastinate's app on the store's database, and the one task it runs.

An API replica defers `run_check` in the transaction that stores the report; a worker
(`keras-explainer worker`, app.queue.supervisor) runs it. The task's body is the supervisor
the worker passes in the job's context, so this module holds no state of its own.
"""

from __future__ import annotations

from typing import Any

from procrastinate import App, JobContext, PsycopgConnector

QUEUE = "checks"
TASK = "run_check"
SUPERVISOR = "supervisor"  # the key of the worker's Supervisor in the job context


def queue_app(url: str) -> App:
    """procrastinate's app on `url` with the check task; not opened."""
    app = App(connector=PsycopgConnector(conninfo=url))
    app.task(name=TASK, queue=QUEUE, pass_context=True)(_run_check)
    return app


def defer_check(app: App, connection: Any, report_id: str, folder: str) -> None:
    """Defer the check of `report_id` on `connection`, inside the caller's transaction: the
    job exists exactly when the report does."""
    app.tasks[TASK].configure(connection=connection).defer(report_id=report_id, folder=folder)


def _run_check(context: JobContext, report_id: str, folder: str) -> None:
    context.additional_context[SUPERVISOR].run(report_id, folder)
