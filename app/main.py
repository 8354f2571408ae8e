"""`create_app()`: settings, store, routers, static files, error handlers.

Start-up fails loudly on a missing templates or static folder or an unwritable data folder,
never quietly per request. Nothing here imports Keras.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app import __version__
from app.config import Settings
from app.reports import Reports
from app.store import SqliteReportStore
from app.web import api, errors, pages
from app.web.templating import STATIC_DIR, make_templates

DESCRIPTION = (
    "Explains Keras models: every parameter with its role, shape and `get_weights()` index, "
    "every BatchNormalization layer with its own numbers, and a check that reproduces "
    "`predict` by hand. Errors are `{code, message, details}` with a stable `code`."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(title="keras-explainer", version=__version__, description=DESCRIPTION)
    app.state.settings = settings
    app.state.templates = make_templates()
    app.state.work_dir = settings.work_dir
    app.state.reports = Reports(SqliteReportStore(settings.store_path))
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=True), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)
    errors.install(app)
    return app
