"""Comparisons of two models: `POST /api/v1/comparisons`, `GET /api/v1/comparisons/{id}`,
and the page `/comparisons/{id}`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app.compare.schemas import Comparison
from app.compare.service import Comparisons, SideAsk
from app.compare.task import side_error
from app.errors import ExplainerError, InvalidRequest
from app.schemas import ErrorBody
from app.web.api import _flag, json_response, json_text
from app.web.comparison_example import COMPARISON_EXAMPLE
from app.web.comparison_view import comparison_view
from app.web.deps import upload_limits
from app.web.negotiation import wants_html
from app.web.upload import Form, Received, receive

api = APIRouter(prefix="/api/v1")
pages = APIRouter(include_in_schema=False)

COMPARISON_FORM = Form(named_files=("a", "b"))
SIDE = {
    "type": "string",
    "format": "binary",
    "description": "A model file (.keras, legacy .h5, spec JSON), or a report's id as text.",
}
COMPARISON_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["a", "b"],
                "properties": {"a": SIDE, "b": SIDE},
            }
        },
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["a", "b"],
                "properties": {
                    "a": {"type": "string", "description": "A report's id."},
                    "b": {"type": "string", "description": "A report's id."},
                },
            },
            "example": {
                "a": "3f2a9c4e5b6d47a8b9c0d1e2f3a4b5c6",
                "b": "9e8d7c6b5a4f43e2d1c0b9a8f7e6d5c4",
            },
        },
    },
}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Malformed request or model file; `details.side`."},
    404: {"model": ErrorBody, "description": "No report has a side's id (`details.side`)."},
    413: {"model": ErrorBody, "description": "A file is over the size limit."},
    415: {"model": ErrorBody, "description": "A side is not a .keras, legacy HDF5 or spec."},
    422: {"model": ErrorBody, "description": "Unknown layers or weights that do not fit."},
}


def get_comparisons(request: Request) -> Comparisons:
    return request.app.state.comparisons


@api.post(
    "/comparisons",
    status_code=201,
    response_model=Comparison,
    summary="Compare two models",
    responses={
        201: {"content": {"application/json": {"example": COMPARISON_EXAMPLE}}},
        200: {"model": Comparison, "description": "These two models were compared before."},
        **ERRORS,
    },
    openapi_extra={"requestBody": COMPARISON_BODY},
)
async def create_comparison(
    request: Request,
    comparisons: Annotated[Comparisons, Depends(get_comparisons)],
    check: Annotated[
        bool, Query(description="Run the manual-vs-predict check in each side's report.")
    ] = False,
    recompute: Annotated[bool, Query(description="Compare again even if done before.")] = False,
) -> Response:
    """What changed between two models (`a`, `b`: files or report ids); 201 with it."""
    limits = upload_limits(request)
    limits = type(limits)(**{**limits.__dict__, "model_files": 2})
    work_dir = request.app.state.work_dir
    try:
        received = await receive(request, limits, work_dir, COMPARISON_FORM)
    except ExplainerError as exc:  # a file over the cap: named by its side
        field = exc.details.get("field")
        raise side_error(field, exc) if field in ("a", "b") else exc from exc
    try:
        a, b = _side(received, "a"), _side(received, "b")
        check = _flag(received.fields, "check", check)
        recompute = _flag(received.fields, "recompute", recompute)
        comparison, created = await run_in_threadpool(comparisons.create, a, b, check, recompute)
    finally:
        await run_in_threadpool(received.discard)
    if wants_html(request):
        return RedirectResponse(f"/comparisons/{comparison.id}", status_code=303)
    headers = {"Location": f"/api/v1/comparisons/{comparison.id}"}
    return json_text(comparison.model_dump_json(), 201 if created else 200, headers)


@api.get(
    "/comparisons/{comparison_id}",
    response_model=Comparison,
    summary="Fetch a comparison",
    responses={
        200: {"content": {"application/json": {"example": COMPARISON_EXAMPLE}}},
        404: {"model": ErrorBody, "description": "No comparison has this id."},
    },
)
def get_comparison(
    request: Request,
    comparison_id: str,
    comparisons: Annotated[Comparisons, Depends(get_comparisons)],
) -> Response:
    """The comparison as JSON (or its page, for `Accept: text/html`)."""
    comparison = comparisons.get(comparison_id)
    if wants_html(request):
        return render_comparison(request, comparison)
    return json_response(comparison)


@pages.get("/comparisons/{comparison_id}")
def comparison_page(
    request: Request,
    comparison_id: str,
    comparisons: Annotated[Comparisons, Depends(get_comparisons)],
) -> Response:
    """A comparison's page; `?changed=1` lists only what changed."""
    comparison = comparisons.get(comparison_id)
    if not wants_html(request):
        return json_response(comparison)
    return render_comparison(request, comparison)


def render_comparison(request: Request, comparison: Comparison) -> Response:
    changed_only = request.query_params.get("changed", "") in ("1", "true", "on")
    context = {"view": comparison_view(comparison, changed_only), "comparison": comparison}
    return request.app.state.templates.TemplateResponse(request, "comparison.html", context)


def _side(received: Received, side: str) -> SideAsk:
    sent = received.files.get(side)
    report_id = received.fields.get(side)
    if sent is not None and report_id is not None:
        raise InvalidRequest(f"Send `{side}` once: a file or a report's id.", {"side": side})
    if sent is not None:
        return SideAsk(path=sent.path, filename=sent.filename, digest=sent.digest)
    if report_id is not None and not isinstance(report_id, str):
        raise InvalidRequest(f"`{side}` must be a report's id (text).", {"side": side})
    return SideAsk(report_id=report_id.strip() if report_id else None)
