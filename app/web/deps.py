"""What routes take from the app: the report service, the request limits, the stages of
reports being made."""

from __future__ import annotations

from fastapi import Request

from app.diagnoses import Diagnoses
from app.reports import Reports
from app.web.progress import Progress
from app.web.upload import Limits


def get_reports(request: Request) -> Reports:
    return request.app.state.reports


def upload_limits(request: Request) -> Limits:
    settings = request.app.state.settings
    return Limits(
        max_file_bytes=settings.max_upload_bytes,
        max_field_bytes=settings.max_field_bytes,
        max_parts=settings.max_parts,
    )


def get_diagnoses(request: Request) -> Diagnoses:
    return request.app.state.diagnoses


def get_progress(request: Request) -> Progress:
    return request.app.state.progress
