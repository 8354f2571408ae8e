"""Request bodies read as they stream in, under caps, into a private folder.

    multipart/form-data    `file` (the model), `inputs` (.npy/.npz or a JSON array), `spec`,
                           `weights` (the weights file saved beside a spec), `yours` (a
                           diagnosis's numbers: .npz/.npy, or JSON {"layer": array}),
                           and option fields (`check`, `wait`, `mode`, `recompute`)
    application/json       {"spec": ..., "inputs": [...], "check": ..., ...}
    application/octet-stream   the model file itself as the body

A browser form sends its empty fields too (a file input left empty is a part with
`filename=""`, an empty textarea an empty value): those count as not sent.

A declared Content-Length over the cap is refused before a byte is read; a body that grows
past it (chunked bodies included) is refused the moment it does. Files are written under
fixed names in a folder made for this request (mode 0700), never under the client's name;
the folder is removed by `Received.discard()` whatever happens. Parsing and writing run on a
worker thread, about a MiB at a time (one thread hop per 64 KiB chunk cost 0.15 s on a 100 MB
upload), so the event loop never blocks on them. The model file's sha256 is taken as it is
written: the content key needs no second read of the file.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

from app.errors import FileTooLarge, InvalidNumber, InvalidRequest
from app.safety.safe_json import has_non_finite, load_json

FILE_FIELDS = ("file", "inputs", "weights", "yours")
TEXT_FIELDS = ("spec", "inputs", "check", "wait", "mode", "keras_call", "recompute", "yours")
MODEL_NAME = "model"
INPUTS_NAME = "inputs"
WEIGHTS_NAME = "weights"
YOURS_NAME = "yours"
MAX_PART_HEADERS = 8
BATCH_BYTES = 1 << 20  # body bytes handed to the worker thread at once


@dataclass(frozen=True)
class Limits:
    """Caps on one request: each model file, each text field, the number of parts."""

    max_file_bytes: int
    max_field_bytes: int
    max_parts: int
    model_files: int = 1  # model files the request may carry (a comparison: two)

    @property
    def max_body_bytes(self) -> int:
        return self.model_files * self.max_file_bytes + 2 * self.max_field_bytes


@dataclass(frozen=True)
class Form:
    """Beyond the report's own fields: file fields kept by name in `Received.files` (a
    comparison's `a` and `b`), each of which may come as a text value instead."""

    named_files: tuple[str, ...] = ()

    @property
    def text_fields(self) -> tuple[str, ...]:
        return (*TEXT_FIELDS, *self.named_files)


REPORT_FORM = Form()


@dataclass
class NamedFile:
    """A file sent under one of a Form's names: where it is, its name as sent, its digest."""

    path: Path
    filename: str | None
    digest: tuple[str, int] | None = None


@dataclass
class Received:
    """What a request carried: files in `folder`, text fields and JSON values in `fields`."""

    folder: Path
    model_path: Path | None = None
    filename: str | None = None
    inputs_path: Path | None = None
    weights_path: Path | None = None  # a spec's weights file (save_weights), beside it
    yours_path: Path | None = None  # a diagnosis's numbers (.npz/.npy), app.diagnosis.yours
    fields: dict[str, Any] = field(default_factory=dict)
    model_digest: tuple[str, int] | None = None  # the model file's (sha256, size)
    files: dict[str, NamedFile] = field(default_factory=dict)  # a Form's named files

    def discard(self) -> None:
        """Remove the request's folder and everything written into it."""
        shutil.rmtree(self.folder, ignore_errors=True)


async def receive(
    request: Request, limits: Limits, work_dir: Path, form: Form = REPORT_FORM
) -> Received:
    """Read the request body into a new private folder below `work_dir`."""
    _refuse_declared_length(request, limits)
    media, params = parse_options_header(request.headers.get("content-type"))
    work_dir.mkdir(parents=True, exist_ok=True)
    received = Received(Path(tempfile.mkdtemp(prefix="upload-", dir=work_dir)))
    try:
        await _read_body(request, media, params, limits, received, form)
    except BaseException:
        received.discard()
        raise
    return received


async def _read_body(
    request: Request, media: bytes, params: dict, limits: Limits, received: Received, form: Form
) -> None:
    if media == b"multipart/form-data":
        await _read_multipart(request, params.get(b"boundary"), limits, received, form)
    elif media == b"application/json":
        body = await _read_small(request, limits.max_field_bytes)
        received.fields = _json_fields(body, form.text_fields)
    elif media == b"application/octet-stream":
        await _read_octets(request, limits, received)
    else:
        raise InvalidRequest(
            "Send the model as multipart/form-data (field `file`), as application/json "
            '({"spec": ...}), or as the raw bytes with Content-Type application/octet-stream.',
            {"content_type": media.decode("latin-1")[:100] or None},
        )


def _refuse_declared_length(request: Request, limits: Limits) -> None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limits.max_body_bytes:
        raise _too_large(limits.max_file_bytes)


def _too_large(cap: int) -> FileTooLarge:
    return FileTooLarge(
        f"The upload is larger than the {cap / (1 << 20):,.0f} MiB this service accepts.",
        {"max_bytes": cap},
    )


async def _chunks(request: Request, cap: int):
    """The body chunk by chunk, refused once it passes `cap` bytes in all."""
    seen = 0
    try:
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > cap:
                raise _too_large(cap)
            yield chunk
    except ClientDisconnect as exc:
        raise InvalidRequest("The upload was interrupted before it was complete.") from exc


async def _batches(request: Request, cap: int):
    """The body in pieces of about BATCH_BYTES (the last one shorter), under the same cap."""
    pending: list[bytes] = []
    size = 0
    async for chunk in _chunks(request, cap):
        pending.append(chunk)
        size += len(chunk)
        if size >= BATCH_BYTES:
            yield b"".join(pending)
            pending, size = [], 0
    if pending:
        yield b"".join(pending)


async def _read_small(request: Request, cap: int) -> bytes:
    parts = [chunk async for chunk in _chunks(request, cap)]
    return b"".join(parts)


def _json_fields(body: bytes, accepted: tuple[str, ...] = TEXT_FIELDS) -> dict[str, Any]:
    """The JSON body, parsed under the safety scan's caps (depth before parsing, duplicate keys,
    NaN): it carries the spec, so it gets the same parser as every other model JSON."""
    try:
        payload = load_json(body, what="The request body", syntax_error=InvalidRequest)
    except InvalidNumber as refused:
        payload = _with_non_finite_yours(body, refused)
    if not isinstance(payload, dict):
        raise InvalidRequest('The JSON body must be an object: {"spec": <model.to_json()>}.')
    unknown = sorted(set(payload) - set(accepted))
    if unknown:
        raise _unknown_fields(unknown, accepted)
    return payload


def _with_non_finite_yours(body: bytes, refused: InvalidNumber) -> Any:
    """The body again, NaN and ±Infinity read as floats, when `yours` alone holds them: the
    diagnosis refuses them naming the layer (`yours-not-finite`); anywhere else, `refused`."""
    payload = load_json(body, what="The request body", syntax_error=InvalidRequest, non_finite=True)
    if not isinstance(payload, dict) or not has_non_finite(payload.get(YOURS_NAME)):
        raise refused
    if any(has_non_finite(v) for k, v in payload.items() if k != YOURS_NAME):
        raise refused
    return payload


def _unknown_fields(names: list[str], accepted: tuple[str, ...] = TEXT_FIELDS) -> InvalidRequest:
    return InvalidRequest(
        f"Unknown field(s): {', '.join(n[:40] for n in names[:5])}. Accepted: file, "
        f"{', '.join(accepted)}.",
        {"unknown": [n[:40] for n in names[:5]]},
    )


async def _read_octets(request: Request, limits: Limits, received: Received) -> None:
    received.model_path = received.folder / MODEL_NAME
    received.filename = request.query_params.get("filename")
    with _HashingWriter(received.model_path) as out:
        async for batch in _batches(request, limits.max_file_bytes):
            await run_in_threadpool(out.write, batch)
    received.model_digest = out.digest()


class _HashingWriter:
    """A file written once, front to back, with its sha256 and size taken on the way."""

    def __init__(self, path: Path) -> None:
        self._file: BinaryIO = path.open("wb")
        self._sha = hashlib.sha256()
        self._size = 0

    def __enter__(self) -> _HashingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, data: bytes | memoryview) -> None:
        self._sha.update(data)
        self._size += len(data)
        self._file.write(data)

    def close(self) -> None:
        self._file.close()

    def digest(self) -> tuple[str, int]:
        return self._sha.hexdigest(), self._size


async def _read_multipart(
    request: Request, boundary: bytes | None, limits: Limits, received: Received, form: Form
) -> None:
    if not boundary:
        raise InvalidRequest("The multipart body has no boundary in its Content-Type.")
    sink = _PartSink(limits, received, form)
    try:
        parser = MultipartParser(boundary, sink.callbacks(), max_header_count=MAX_PART_HEADERS)
        async for batch in _batches(request, limits.max_body_bytes):
            await run_in_threadpool(parser.write, batch)
        await run_in_threadpool(parser.finalize)
    except (MultipartParseError, ValueError) as exc:
        raise InvalidRequest("The multipart body is malformed.") from exc
    finally:
        sink.close()
    if not sink.ended:
        raise InvalidRequest("The multipart body ended before its closing boundary.")


class _PartSink:
    """python-multipart callbacks: headers per part, file parts to disk, fields to memory."""

    def __init__(self, limits: Limits, received: Received, form: Form = REPORT_FORM) -> None:
        self.limits, self.received, self.form = limits, received, form
        self.parts = 0
        self.ended = False
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._name: str | None = None
        self._file: _HashingWriter | None = None
        self._text: bytearray | None = None
        self._size = 0

    def callbacks(self) -> dict[str, Callable]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda d, s, e: self._header_name.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._header_value.extend(d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._end,
            "on_end": self._finish,
        }

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            if self._name == "file":
                self.received.model_digest = self._file.digest()
            elif self._name in self.received.files:
                self.received.files[self._name].digest = self._file.digest()
            self._file = None

    def _begin(self) -> None:
        self.parts += 1
        if self.parts > self.limits.max_parts:
            raise InvalidRequest(f"The request has more than {self.limits.max_parts} parts.")
        self._headers = {}

    def _header_end(self) -> None:
        self._headers[bytes(self._header_name).lower()] = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        disposition, params = parse_options_header(self._headers.get(b"content-disposition"))
        name = params.get(b"name", b"").decode("utf-8", "replace")
        if disposition != b"form-data" or not name:
            raise InvalidRequest("A multipart part has no form-data name.")
        filename = params.get(b"filename")
        self._name, self._size = name, 0
        file_fields = (*FILE_FIELDS, *self.form.named_files)
        if filename == b"" and name in file_fields:
            self._name = None  # a form's file input left empty: the part is not a file
        elif filename is not None and name in self.form.named_files:
            self._open_named(name, filename.decode("utf-8", "replace"))
        elif filename is not None and name in FILE_FIELDS:
            self._open_file(name, filename.decode("utf-8", "replace"))
        elif name in self.form.text_fields or name == "file":
            self._text = bytearray()
        else:
            raise _unknown_fields([name], self.form.text_fields)

    def _open_named(self, name: str, filename: str) -> None:
        if name in self.received.files or name in self.received.fields:
            raise InvalidRequest(f"Send one `{name}` per request.")
        path = self.received.folder / f"named-{name}"
        self.received.files[name] = NamedFile(path, filename)
        self._file = _HashingWriter(path)

    def _open_file(self, name: str, filename: str) -> None:
        received = self.received
        if name == "file":
            if received.model_path is not None:
                raise InvalidRequest("Send one model file per request.")
            received.model_path, received.filename = received.folder / MODEL_NAME, filename
            self._file = _HashingWriter(received.model_path)
        elif name == WEIGHTS_NAME:
            if received.weights_path is not None:
                raise InvalidRequest("Send one weights file per request.")
            received.weights_path = received.folder / WEIGHTS_NAME
            self._file = _HashingWriter(received.weights_path)
        elif name == YOURS_NAME:
            if received.yours_path is not None:
                raise InvalidRequest("Send one file of your numbers per request.")
            received.yours_path = received.folder / YOURS_NAME
            self._file = _HashingWriter(received.yours_path)
        else:
            received.inputs_path = received.folder / INPUTS_NAME
            self._file = _HashingWriter(received.inputs_path)

    def _data(self, data: bytes, start: int, end: int) -> None:
        self._size += end - start
        if self._file is not None:
            if self._size > self.limits.max_file_bytes:
                error = _too_large(self.limits.max_file_bytes)
                error.details["field"] = self._name  # which file, when a request has two
                raise error
            self._file.write(memoryview(data)[start:end])
        elif self._text is not None:
            if self._size > self.limits.max_field_bytes:
                raise InvalidRequest(
                    f"The field `{self._name}` is larger than "
                    f"{self.limits.max_field_bytes:,} bytes."
                )
            self._text.extend(data[start:end])

    def _end(self) -> None:
        self.close()
        if self._text and self._name == "file":
            raise InvalidRequest("The field `file` must be a file upload, not a text value.")
        if self._text and self._name is not None:  # an empty form field counts as not sent
            self.received.fields[self._name] = self._text.decode("utf-8", "replace")
        self._text, self._name = None, None

    def _finish(self) -> None:
        self.ended = True
