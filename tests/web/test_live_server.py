"""`keras-explainer serve` as a real uvicorn process: real sockets, real streaming."""

from __future__ import annotations

import signal
import socket
import threading
from pathlib import Path

import httpx2
import pytest

from tests.support.files import saved
from tests.support.live import serving
from tests.support.models import small_model

MAX_UPLOAD = 64 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    with serving(data, workers=0, max_upload_bytes=MAX_UPLOAD, max_field_bytes=4096) as live:
        yield live


def test_serve_explains_an_upload_over_http(server, tmp_path):
    path = saved(small_model(), tmp_path / "m.keras")
    response = httpx2.post(
        f"{server.base}/api/v1/reports", files={"file": ("m.keras", path.read_bytes())}, timeout=30
    )
    assert response.status_code == 201
    assert httpx2.get(server.base + response.headers["location"]).status_code == 200


def test_serve_refuses_a_chunked_upload_before_reading_it_all(server):
    host, port = server.base.removeprefix("http://").split(":")
    chunk = b"%x\r\n%s\r\n" % (8192, b"\0" * 8192)
    offered = 1000  # 8 MB in chunks against a 64 KiB cap
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        reader = Reader(sock)
        sock.sendall(
            b"POST /api/v1/reports HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        sent = send_until_answered(sock, chunk, offered, reader)
        reply = reader.wait()
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b'"code":"file-too-large"' in reply
    assert sent < offered // 10
    assert httpx2.get(f"{server.base}/api/v1/health").status_code == 200


class Reader:
    """Reads a socket on a thread from the start, so an answer sent before the server closes
    the connection is kept even if the close turns into a reset."""

    def __init__(self, sock: socket.socket) -> None:
        self.data = b""
        self.first = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(sock,), daemon=True)
        self.thread.start()

    def _run(self, sock: socket.socket) -> None:
        try:
            while chunk := sock.recv(65536):
                self.data += chunk
                self.first.set()
        except OSError:
            pass
        self.first.set()

    def wait(self) -> bytes:
        self.first.wait(timeout=10)
        self.thread.join(timeout=0.5)  # the rest of a reply split over packets
        return self.data


def send_until_answered(sock: socket.socket, chunk: bytes, offered: int, reader: Reader) -> int:
    sent = 0
    while sent < offered and not reader.first.is_set():
        try:
            sock.sendall(chunk)
        except OSError:
            break
        sent += 1
        reader.first.wait(0.01)
    return sent


def test_serve_refuses_a_declared_length_over_the_cap_at_once(server):
    response = httpx2.post(
        f"{server.base}/api/v1/reports",
        content=b"\0" * (MAX_UPLOAD + 3 * 4096 + 1),
        headers={"content-type": "application/octet-stream"},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "file-too-large"


def test_serve_process_maps_no_tensorflow_library(server):
    maps = Path(f"/proc/{server.pid}/maps").read_text()
    assert "tensorflow" not in maps


@pytest.mark.parametrize("workers", ["0", "1"])
def test_serve_stopped_by_sigterm_leaves_nothing_in_the_temp_folder(tmp_path, workers):
    """multiprocessing's pymp-* folder (the fork server's socket) and the workers' folders go
    with the server: uvicorn ends a SIGTERM by raising the signal again, which used to kill
    the process before Python's exit handlers ran, leaving one pymp-* folder per stop."""
    temp = tmp_path / "temp"
    temp.mkdir()
    with serving(tmp_path / "data", environ={"TMPDIR": str(temp)}, workers=workers) as live:
        assert any(p.name.startswith("pymp-") for p in temp.iterdir())  # the test can fail
    assert live.returncode == 128 + signal.SIGTERM
    assert sorted(p.name for p in temp.iterdir()) == []
