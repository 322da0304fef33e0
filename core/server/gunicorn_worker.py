"""gunicorn's sync worker, answering what gunicorn itself refuses in the API's error envelope.

gunicorn answers some requests before the application sees them: a request line longer than it
reads (414), headers too many or too large (431), a malformed request (400), an unsupported
transfer coding (501). It writes those as an HTML page, which an API client cannot read. This
worker lets gunicorn decide the status (and log its warning, as it does) and writes the answer
as the API's JSON envelope instead, with an access line like every request's. Named by
``worker_class`` in ``gunicorn.conf.py``.

It relies on one thing gunicorn does not promise (gunicorn is pinned; test_gunicorn.py sends
each of these requests through it): ``Worker.handle_error`` writes its answer to the client's
socket with ``sendall``. Should a later gunicorn write otherwise, nothing is captured and
gunicorn answers as it always did.
"""

import socket
import time
from typing import Any

from gunicorn.workers.sync import SyncWorker

from core.server.access import log_access, request_id
from core.server.chunked import error_body, error_headers

# Each status gunicorn answers by itself, with the envelope's code and message.
ERRORS = {
    400: ("parse_error", "The request is malformed (its line, headers or chunks)."),
    403: ("permission_denied", "The request is forbidden."),
    414: (
        "uri_too_long",
        "The request line (method, address and query string) is longer than the server reads.",
    ),
    417: ("expectation_failed", "The server cannot meet the request's Expect header."),
    431: (
        "request_header_fields_too_large",
        "The request has too many headers, or too large ones.",
    ),
    501: ("not_implemented", "The request uses a transfer coding the server does not support."),
}
SERVER_ERROR = ("server_error", "An unexpected error occurred; it has been logged.")


class _Capture:
    """The client's socket, except that what gunicorn writes to it is kept, not sent."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.written = b""

    def sendall(self, data: bytes) -> None:
        self.written += data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class JsonErrorSyncWorker(SyncWorker):
    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: BaseException) -> None:
        started = time.perf_counter()
        capture = _Capture(client)
        super().handle_error(req, capture, addr, exc)
        status_line = capture.written.split(b"\r\n", 1)[0].decode("latin-1")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            # Nothing captured: a gunicorn that writes otherwise. It answers, as it always did.
            super().handle_error(req, client, addr, exc)
            return
        status, reason = int(parts[1]), parts[2] if len(parts) > 2 else ""
        code, message = ERRORS.get(status, SERVER_ERROR)
        given = request_id(_header(req, "X-REQUEST-ID"))
        body = error_body(code, message)
        head = [f"HTTP/1.1 {status} {reason}", "Connection: close"]
        head += [f"{name}: {value}" for name, value in error_headers(body, given)]
        try:
            client.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        except OSError:
            self.log.debug("Failed to send error message.")
        log_access(
            method=getattr(req, "method", None) or "-",
            path=getattr(req, "path", None) or "-",
            status=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            caller="-",
            request_id=given,
        )


def _header(req: Any, name: str) -> str | None:
    """A header of what gunicorn read of the request, if it read that far."""
    for header, value in getattr(req, "headers", None) or []:
        if header == name:
            return str(value)
    return None
