"""Every error, mapped to HTTP in one place: JSON `{code, message, details}` or an error page.

Our own errors carry their status and code. FastAPI's validation errors become 400
`invalid-request` naming the parameter; unknown URLs and methods get `not-found` and
`method-not-allowed`; anything else is a 500 `internal-error` whose traceback goes to the log,
never to the client.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import ExplainerError
from app.schemas import ErrorBody
from app.web.negotiation import wants_html

logger = logging.getLogger(__name__)

HTTP_CODES = {404: "not-found", 405: "method-not-allowed"}
HTTP_MESSAGES = {
    404: "There is nothing at this address.",
    405: "This address does not accept that method.",
}
NEXT_STEPS = {
    "unsupported-format": "Upload a .keras archive, a legacy HDF5 file (.h5), or paste the "
    "JSON that model.to_json() returns.",
    "file-too-large": "Upload a smaller file, or ask the operator to raise KEX_MAX_UPLOAD_BYTES.",
    "malformed-model": "Save the model again with model.save() and upload the new file.",
    "invalid-spec": "Paste exactly what model.to_json() returns.",
    "unknown-layers": "Upload the saved model file instead: with its weights, unknown layers "
    "are listed as they are stored.",
    "report-not-found": "Upload the model again to make a new report.",
}


def next_step(body: ErrorBody) -> str | None:
    """What the person should do now: for inputs of the wrong shape or count, the shapes."""
    details = body.details or {}
    if "shape" in details and "expected" in details:
        wanted = ", ".join("any size" if d is None else str(d) for d in details["expected"])
        given = ", ".join(str(d) for d in details["shape"])
        return (
            f"Send inputs of shape ({wanted}) for {details.get('input', 'the input')}; the file "
            f"held ({given}). The first axis is the batch: numpy.save('inputs.npy', x) with "
            "x of that shape, or leave the inputs empty for seeded random ones."
        )
    if isinstance(details.get("expected"), int) and isinstance(details.get("given"), int):
        return (
            f"Send one array per model input: {details['expected']} of them (an .npz with one "
            f"array per Input), not {details['given']}; or leave the inputs empty."
        )
    if body.code == "invalid-spec" and {"line", "column"} <= details.keys():
        return (
            f"The JSON breaks at line {details['line']}, column {details['column']} of the "
            "pasted text: a copy cut short, or Python's print of a dict (single quotes, True, "
            "None) instead of the JSON. Paste exactly what model.to_json() returns."
        )
    return NEXT_STEPS.get(body.code)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ExplainerError, _explainer_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


def error_response(
    request: Request,
    status: int,
    body: ErrorBody,
    headers: dict[str, str] | None = None,
) -> Response:
    """The error as JSON, or as a page for a client that prefers HTML."""
    if wants_html(request):
        return request.app.state.templates.TemplateResponse(
            request,
            "error.html",
            {"status": status, "error": body, "next_step": next_step(body)},
            status_code=status,
            headers=headers,
        )
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


async def _explainer_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ExplainerError)
    body = ErrorBody(code=exc.code, message=exc.message, details=exc.details or None)
    return error_response(request, exc.status, body, getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = [_problem(error) for error in exc.errors()]
    message = problems[0]["message"] if problems else "The request is not valid."
    body = ErrorBody(code="invalid-request", message=message, details={"problems": problems})
    return error_response(request, 400, body)


def _problem(error: dict[str, Any]) -> dict[str, Any]:
    where, name = (list(error.get("loc", ())) + ["", ""])[:2]
    expected = {"bool_parsing": "true or false", "literal_error": "one of the listed values"}
    wanted = expected.get(error.get("type", ""), "a valid value")
    if error.get("type") == "string_pattern_mismatch":
        wanted = f"text matching {error.get('ctx', {}).get('pattern', 'its pattern')}"
    return {
        "parameter": str(name),
        "in": str(where),
        "message": f"The {where} parameter `{name}` must be {wanted}.",
    }


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "http-error")
    message = HTTP_MESSAGES.get(exc.status_code, "The request could not be served.")
    body = ErrorBody(code=code, message=message)
    return error_response(request, exc.status_code, body, exc.headers)  # 405 keeps its Allow


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    logger.exception("unexpected error serving %s %s", request.method, request.url.path)
    body = ErrorBody(
        code="internal-error",
        message="Something went wrong on our side; the error was logged. Please try again.",
    )
    return error_response(request, 500, body)
