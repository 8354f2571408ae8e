"""The JSON API, `/api/v1`: create a report, fetch it, ask how the service is."""

from __future__ import annotations

import io
from dataclasses import replace
from functools import partial
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from app import __version__, timeline
from app.check.keras.sandbox import isolations
from app.diagnoses import seeded_inputs
from app.diagnosis.schemas import Diagnosis, ReportWithDiagnosis
from app.errors import InvalidRequest
from app.layers.registry import known_classes
from app.reports import Mode, Options, Reports, Submission, parse_unknown_dims
from app.schemas import (
    CheckReport,
    ErrorBody,
    Health,
    KerasCall,
    Report,
    ReportProgress,
    WorkerState,
)
from app.web.deps import get_diagnoses, get_progress, get_reports, upload_limits
from app.web.diagnosis_form import (
    DIAGNOSIS_BODY,
    DIAGNOSIS_EXAMPLE,
    diagnose_received,
    diagnose_stored,
    diagnosis_ask,
    has_yours,
)
from app.web.examples import REPORT_EXAMPLE, SPEC_EXAMPLE
from app.web.negotiation import wants_html
from app.web.pages import render_report
from app.web.progress import KEY_PATTERN, Mark
from app.web.upload import Received, receive

router = APIRouter(prefix="/api/v1")

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Malformed request, spec or model file."},
    413: {"model": ErrorBody, "description": "The upload is over the size limit."},
    415: {"model": ErrorBody, "description": "Not a .keras, legacy HDF5 or spec JSON."},
    422: {"model": ErrorBody, "description": "Unknown layers, or weights that do not fit."},
    503: {"model": ErrorBody, "description": "Every Keras worker is busy; see Retry-After."},
}
UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "spec": {"type": "string", "description": "model.to_json()"},
                    "inputs": {"type": "string", "format": "binary"},
                    "yours": {
                        "type": "string",
                        "format": "binary",
                        "description": "Your own forward's numbers, to diagnose (.npz by "
                        'layer name, .npy, or JSON {"layer_name": array}). Numbers refused '
                        "(400, `details.field` and `details.layer`) store no report.",
                    },
                    "weights": {
                        "type": "string",
                        "format": "binary",
                        "description": "The weights file saved beside a spec (save_weights).",
                    },
                },
                "oneOf": [{"required": ["file"]}, {"required": ["spec"]}],  # never both
            }
        },
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["spec"],
                "properties": {"spec": {"description": "model.to_json(), object or string"}},
            },
            "example": {"spec": SPEC_EXAMPLE},
        },
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    },
}
FLAG = {"true": True, "1": True, "on": True, "yes": True, "false": False, "0": False}
FLAG.update({"off": False, "no": False})


@router.post(
    "/reports",
    status_code=201,
    response_model=Report,
    summary="Explain a model",
    responses={
        201: {
            "model": ReportWithDiagnosis,
            "description": "The report; with `yours`, also the `diagnosis` of your numbers.",
            "content": {"application/json": {"example": REPORT_EXAMPLE}},
        },
        200: {"model": Report, "description": "The same upload was explained before."},
        **ERRORS,
    },
    openapi_extra={"requestBody": UPLOAD_BODY},
)
async def create_report(
    request: Request,
    reports: Annotated[Reports, Depends(get_reports)],
    check: Annotated[bool, Query(description="Run the manual-vs-predict check.")] = True,
    wait: Annotated[bool, Query(description="Answer once the check has finished.")] = False,
    mode: Annotated[Mode, Query(description="inference, or training (batch statistics).")] = (
        "inference"
    ),
    keras_call: Annotated[
        KerasCall | None,
        Query(
            description="How Keras runs the model: `call`, an eager `model(x, "
            "training=False)`, or `predict` (inference mode only); by default the faster "
            "for the model, where it gives predict's numbers (`predict` for a model with a "
            "recurrent layer or a LayerNormalization). The report names the call made."
        ),
    ] = None,
    recompute: Annotated[bool, Query(description="Explain again even if seen before.")] = False,
    unknown_dims: Annotated[
        str | None,
        Query(
            description="The size MACs, FLOPs and activation memory count an input's unknown "
            "dimensions at (all but the batch axis), by input name: `tokens=128,image=224`, or "
            "one size for every input: `224`. Shapes are worked out again from those sizes. "
            "Without it each unknown dimension counts as 32; the report states the size used "
            "per input in `totals.unknown_dims`."
        ),
    ] = None,
    progress: Annotated[
        str | None,
        Query(
            pattern=KEY_PATTERN,
            description="A key of your choosing (16 to 64 letters, digits, - or _) under "
            "which `GET /api/v1/progress/{key}` says how far this request has got while it runs.",
        ),
    ] = None,
) -> Response:
    """Explain a `.keras`, legacy `.h5` or `model.to_json()` spec; 201 with the report."""
    received = await receive(request, upload_limits(request), request.app.state.work_dir)
    timeline.mark("upload received")
    try:
        asked = {"check": check, "wait": wait, "mode": mode, "keras_call": keras_call}
        asked["unknown_dims"] = unknown_dims
        options = _options(received.fields, recompute=recompute, **asked)
        with get_progress(request).following(progress) as mark:
            report, created, diagnosis = await _create(request, reports, received, options, mark)
    finally:
        await run_in_threadpool(received.discard)  # rmtree: off the event loop
    location = f"/api/v1/reports/{report.id}"
    if wants_html(request):
        return RedirectResponse(f"/reports/{report.id}", status_code=303)
    if diagnosis is not None:
        report = ReportWithDiagnosis(**report.__dict__, diagnosis=diagnosis)
    # A large report, off the loop; one made now is written from the JSON it was stored as.
    body = await run_in_threadpool(reports.answer_json, report)
    status = 201 if created else 200
    timeline.mark("answer made")
    return json_text(body, status_code=status, headers={"Location": location})


async def _create(
    request: Request, reports: Reports, received: Received, options: Options, mark: Mark
) -> tuple[Report, bool, Diagnosis | None]:
    """The report (made now, or found in the store), waited for when asked; with `yours`,
    the diagnosis of their numbers. `mark` follows the stages (app.web.progress)."""
    ask = diagnosis_ask(received) if has_yours(received) else None
    if ask is not None:  # their numbers are compared with Keras' once the check has run
        options = replace(options, wait=True)
    accept = None if ask is None else partial(get_diagnoses(request).read, ask=ask)
    submission = _submission(received)
    report, created = await run_in_threadpool(reports.create, submission, options, accept, mark)
    if options.wait and report.check.status in ("queued", "running"):
        mark("check")
        timeout = request.app.state.settings.wait_timeout_s
        report = await run_in_threadpool(reports.wait, report, timeout)
    diagnosis = None
    if ask is not None:
        diagnosis = await run_in_threadpool(
            diagnose_stored, reports, get_diagnoses(request), report, created, ask
        )
    return report, created, diagnosis


@router.get(
    "/progress/{key}",
    response_model=ReportProgress,
    summary="How far a report being made has got",
)
def progress_of(key: str, request: Request) -> Response:
    """The stage of a `POST /reports` sent with `progress=<key>`, while it runs."""
    return json_response(get_progress(request).get(key))


@router.get(
    "/reports/{report_id}",
    response_model=Report,
    summary="Fetch a report",
    responses={
        200: {"content": {"application/json": {"example": REPORT_EXAMPLE}}},
        404: {"model": ErrorBody, "description": "No report has this id."},
    },
)
def get_report(
    request: Request, report_id: str, reports: Annotated[Reports, Depends(get_reports)]
) -> Response:
    """The report as JSON (or its page, for `Accept: text/html`)."""
    report = reports.get(report_id)
    if wants_html(request):
        return render_report(request, report)
    return json_response(report)


@router.get(
    "/reports/{report_id}/check",
    response_model=CheckReport,
    summary="Fetch a report's check",
    responses={404: {"model": ErrorBody, "description": "No report has this id."}},
)
def get_check(report_id: str, reports: Annotated[Reports, Depends(get_reports)]) -> Response:
    """The check alone (status, progress, results): cheap to poll while it runs."""
    return json_response(reports.get_check(report_id))


@router.post(
    "/reports/{report_id}/check/cancel",
    response_model=CheckReport,
    summary="Cancel a report's check",
    responses={
        404: {"model": ErrorBody, "description": "No report has this id."},
        409: {"model": ErrorBody, "description": "`check-ended`: nothing left to cancel."},
    },
)
def cancel_check(report_id: str, reports: Annotated[Reports, Depends(get_reports)]) -> Response:
    """Stop a queued or running check: its report keeps the breakdown, and its check says
    `not_run` with the code `cancelled`. On a team's queue a waiting job never starts and a
    running one's results are dropped."""
    return json_response(reports.cancel_check(report_id))


@router.post(
    "/reports/{report_id}/diagnoses",
    response_model=Diagnosis,
    summary="Diagnose your own numbers",
    responses={
        200: {"content": {"application/json": {"example": DIAGNOSIS_EXAMPLE}}},
        400: {"model": ErrorBody, "description": "Bad numbers or inputs; see `details`."},
        404: {"model": ErrorBody, "description": "No report has this id."},
        413: {"model": ErrorBody, "description": "The upload is over the size limit."},
    },
    openapi_extra={"requestBody": DIAGNOSIS_BODY},
)
async def create_diagnosis(
    request: Request, report_id: str, reports: Annotated[Reports, Depends(get_reports)]
) -> Response:
    """Where your forward's numbers part from Keras, and which known mistake reproduces them."""
    report = await run_in_threadpool(reports.get, report_id)
    return json_response(await diagnose_received(request, report))


@router.get(
    "/reports/{report_id}/inputs.npz",
    summary="Download the check's seeded inputs",
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "x0, x1, ..."},
        400: {"model": ErrorBody, "description": "The check did not run on seeded inputs."},
        404: {"model": ErrorBody, "description": "No report has this id."},
    },
)
def get_inputs(report_id: str, reports: Annotated[Reports, Depends(get_reports)]) -> Response:
    """The check's seeded inputs as a .npz (x0, x1, ...): run your own forward on them."""
    arrays = seeded_inputs(reports.get(report_id))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    headers = {"Content-Disposition": f'attachment; filename="inputs-{report_id[:32]}.npz"'}
    return Response(buffer.getvalue(), media_type="application/octet-stream", headers=headers)


@router.get(
    "/reports/{report_id}/forward",
    summary="Export the model as a NumPy program",
    response_class=Response,
    responses={
        200: {
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
            "description": "model_forward/: model_forward.py, weights.npz, inputs.npy, "
            "expected.npz (when Keras ran), README.txt. A model file whose check did not "
            "run (check=false, no workers) is exported with the weights it stores, seeded "
            "inputs and no expected.npz (the README says so).",
        },
        404: {"model": ErrorBody, "description": "No report has this id."},
        409: {
            "model": ErrorBody,
            "description": "No program for this report: `export-refused` (the check refused "
            "the model, or would have), `export-unavailable` (a class has no forward, a call "
            "the program cannot write, or the check ended before writing it), "
            "`export-needs-check` (a spec without weights whose check did not run: its "
            "weights are the check's seeded draws), `export-not-ready` (the check is running).",
        },
    },
)
def get_forward(report_id: str, reports: Annotated[Reports, Depends(get_reports)]) -> Response:
    """The model as a standalone NumPy program that reproduces predict, as a zip."""
    data = reports.forward_program(report_id)
    filename = f"model_forward-{report_id[:12]}.zip"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(data, media_type="application/zip", headers=headers)


@router.get("/health", response_model=Health, summary="Service health")
def health(request: Request, reports: Annotated[Reports, Depends(get_reports)]) -> Health:
    """Version, what the service can explain, and the state of its Keras workers."""
    pool = request.app.state.pool
    return Health(
        status="ok",
        version=__version__,
        layer_classes=len(known_classes()),
        checks="enabled" if reports.checks is not None else "disabled",
        active_checks=reports.checks.active() if reports.checks is not None else 0,
        workers=WorkerState(**pool.state(), isolations=isolations()) if pool else None,
    )


def json_response(body: BaseModel, status_code: int = 200, headers=None) -> Response:
    """`body` as JSON written by pydantic itself: for a large report, several times faster
    than `JSONResponse` over `model_dump` (which goes through Python's json module)."""
    return json_text(body.model_dump_json(), status_code, headers)


def json_text(text: str | bytes, status_code: int = 200, headers=None) -> Response:
    return Response(text, status_code=status_code, headers=headers, media_type="application/json")


def _submission(received: Received) -> Submission:
    fields = received.fields
    return Submission(
        model_path=received.model_path,
        filename=received.filename,
        spec=fields.get("spec"),
        inputs_path=received.inputs_path,
        inputs_json=fields.get("inputs"),
        weights_path=received.weights_path,
        digest=received.model_digest,
    )


def _options(
    fields: dict[str, Any],
    check: bool,
    wait: bool,
    mode: str,
    keras_call: str | None,
    recompute: bool,
    unknown_dims: str | None = None,
) -> Options:
    """Query parameters, overridden by the same names sent as form or JSON fields."""
    mode = fields.get("mode", mode)
    if mode not in ("inference", "training"):
        raise InvalidRequest("The field `mode` must be `inference` or `training`.")
    return Options(
        check=_flag(fields, "check", check),
        wait=_flag(fields, "wait", wait),
        mode=mode,
        keras_call=_keras_call(fields.get("keras_call", keras_call)),
        recompute=_flag(fields, "recompute", recompute),
        unknown_dims=parse_unknown_dims(_text(fields.get("unknown_dims", unknown_dims))),
    )


def _text(value: Any) -> str | None:
    if value is not None and not isinstance(value, str | int):
        raise InvalidRequest("The field `unknown_dims` must be a string, as `tokens=128`.")
    return None if value is None else str(value)


def _keras_call(value: Any) -> KerasCall | None:
    if value not in ("call", "predict", None):
        raise InvalidRequest("The field `keras_call` must be `call` or `predict`.")
    return value


def _flag(fields: dict[str, Any], name: str, default: bool) -> bool:
    value = fields.get(name, default)
    if isinstance(value, bool):
        return value
    flag = FLAG.get(str(value).strip().lower())
    if flag is None:
        raise InvalidRequest(f"The field `{name}` must be true or false.")
    return flag
