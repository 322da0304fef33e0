"""Request bodies sent with ``Transfer-Encoding: chunked`` and no ``Content-Length``, to the API.

Django reads a request body by its ``Content-Length``: without one it reads nothing, so a PATCH
sent chunked (as HTTP/1.1 clients may when they stream a body) would answer 200 having changed
nothing, a POST would get a false 400, and the body size limit would never be checked. This
WSGI middleware reads such a body before Django sees the request, up to the same limit, and
hands it on with its length; a larger one is 413. A server that does not decode chunked bodies
for its application (it does not set ``wsgi.input_terminated``, as Django's ``runserver`` does
not) cannot have its body read at all: that request is 411, never an empty body acted on.
"""

import io
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from core.server.access import REQUEST_ID_HEADER, log_access, request_id

WSGIApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def error_body(code: str, message: str) -> bytes:
    """The API's error envelope, written as the API writes it (compact), without Django."""
    envelope = {"error": {"code": code, "message": message, "details": None}}
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


def error_headers(body: bytes, request_id: str) -> list[tuple[str, str]]:
    return [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        (REQUEST_ID_HEADER, request_id),
    ]


class ChunkedBodyMiddleware:
    def __init__(self, application: WSGIApplication, *, limit: Callable[[], int]) -> None:
        self.application = application
        self.limit = limit  # read per request: tests change the setting

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not environ.get("CONTENT_LENGTH"):
            started = time.perf_counter()
            # Outside the API (the admin's forms, its CSV upload of up to 10 MB) no browser
            # chunks a body: one that arrives so is refused rather than held to the API's limit.
            api = environ.get("PATH_INFO", "").startswith("/api/")
            if not api or not environ.get("wsgi.input_terminated"):
                return self._refuse(
                    environ,
                    start_response,
                    started,
                    (411, "Length Required"),
                    "length_required",
                    "This server cannot read a chunked body; send it with a Content-Length.",
                )
            limit = self.limit()
            body = environ["wsgi.input"].read(limit + 1)
            if len(body) > limit:
                return self._refuse(
                    environ,
                    start_response,
                    started,
                    (413, "Request Entity Too Large"),
                    "payload_too_large",
                    f"The request body is larger than the limit of {limit} bytes.",
                )
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.application(environ, start_response)

    def _refuse(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        started: float,
        status: tuple[int, str],
        code: str,
        message: str,
    ) -> list[bytes]:
        """The envelope, with the client's request id, and the access line every request
        gets (its caller unknown: the request never reached authentication)."""
        body = error_body(code, message)
        given = request_id(environ.get("HTTP_X_REQUEST_ID"))
        start_response(
            f"{status[0]} {status[1]}", [*error_headers(body, given), ("Connection", "close")]
        )
        log_access(
            method=environ.get("REQUEST_METHOD", "-"),
            path=environ.get("PATH_INFO", "-"),
            status=status[0],
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            caller="-",
            request_id=given,
        )
        return [body]
