"""Server-rendered pages: the upload form, a report, a BatchNormalization layer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from app.diagnosis.families import looked_for
from app.errors import LayerNotFound
from app.reports import Reports
from app.schemas import BatchNormReport, Report
from app.web.batchnorm_view import batchnorm_view
from app.web.deps import get_reports
from app.web.diagnosis_form import diagnose_received
from app.web.graph_view import graph_view, group_drawing
from app.web.negotiation import wants_html
from app.web.progress import STAGES
from app.web.report_view import report_view
from app.web.streaming import stream_template

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def upload_form(request: Request) -> Response:
    """The upload form."""
    settings = request.app.state.settings
    context = {
        "max_upload_bytes": settings.max_upload_bytes,
        "max_field_bytes": settings.max_field_bytes,
        "checks_enabled": settings.workers > 0,
        "stages": STAGES,
    }
    return request.app.state.templates.TemplateResponse(request, "index.html", context)


@router.get("/reports/{report_id}")
def report_page(
    request: Request, report_id: str, reports: Annotated[Reports, Depends(get_reports)]
) -> Response:
    """A report's page (or its JSON, for `Accept: application/json`)."""
    report = reports.get(report_id)
    if not wants_html(request):
        return JSONResponse(report.model_dump(mode="json"))
    return render_report(request, report)


@router.get("/reports/{report_id}/batchnorm/{layer}")
def batchnorm_page(
    request: Request,
    report_id: str,
    layer: str,
    reports: Annotated[Reports, Depends(get_reports)],
) -> Response:
    """One BatchNormalization layer of a report, with its own numbers."""
    report = reports.get(report_id)
    bn = find_batchnorm(report, layer)
    if not wants_html(request):
        return JSONResponse(bn.model_dump(mode="json"))
    context = {"view": batchnorm_view(report, bn), "report": report}
    return request.app.state.templates.TemplateResponse(request, "batchnorm.html", context)


@router.get("/reports/{report_id}/graph", response_class=HTMLResponse)
def graph_group(
    report_id: str, reports: Annotated[Reports, Depends(get_reports)], view: str = ""
) -> Response:
    """One group's drawing of a report's graph, as the page's script loads it when opened."""
    report = reports.get(report_id)
    return HTMLResponse(group_drawing(report, view, reports.store))


@router.post("/reports/{report_id}/diagnoses")
async def diagnosis_page(
    request: Request, report_id: str, reports: Annotated[Reports, Depends(get_reports)]
) -> Response:
    """The report page's form "Compare with your own numbers": the diagnosis as a page."""
    report = await run_in_threadpool(reports.get, report_id)
    diagnosis = await diagnose_received(request, report)
    context = {"report": report, "diagnosis": diagnosis}
    return request.app.state.templates.TemplateResponse(request, "diagnosis.html", context)


def render_report(request: Request, report: Report) -> Response:
    """The report page; `?class=`, `?q=` and `?weights=1` filter its layer table, `?overlay=`
    and `?open=` set its graph."""
    store = request.app.state.reports.store
    context = {
        "view": report_view(report, request.query_params),
        "report": report,
        "graph": graph_view(report, request.query_params, store),
        "mistakes": looked_for(layer.class_name for layer in report.layers),
    }
    return stream_template(request, "report.html", context)


def find_batchnorm(report: Report, layer: str) -> BatchNormReport:
    for bn in report.batchnorm:
        if bn.layer == layer:
            return bn
    raise LayerNotFound(
        f"This report has no BatchNormalization layer named {layer[:100]!r}.",
        {"layer": layer[:100]},
    )
