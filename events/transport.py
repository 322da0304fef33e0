"""One webhook POST: to the address that was checked, within a deadline, never following a
redirect, reading no more of the answer than is kept."""

import http.client
import os
import socket
import ssl
import time
from dataclasses import dataclass

from events.models import RESPONSE_KEPT_BYTES
from events.targets import Target


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int | None
    body: str
    error: str
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address, not to whatever the host name resolves to now."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


# One TLS context per trust store: building one reads the whole CA bundle (about 30 ms of CPU
# with a system's), several times what a whole delivery to a fast receiver takes.
_tls_contexts: dict[tuple[str | None, str | None], ssl.SSLContext] = {}


def tls_context() -> ssl.SSLContext:
    """The system's trust store, as OpenSSL's default verify paths find it: ``SSL_CERT_FILE``
    and ``SSL_CERT_DIR`` when set (how a private CA is trusted), the system's CAs otherwise."""
    trust = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    context = _tls_contexts.get(trust)
    if context is None:
        context = _tls_contexts[trust] = ssl.create_default_context()
    return context


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    def connect(self) -> None:
        super().connect()
        # The certificate is checked against the host name (also sent for SNI), as it would be
        # without pinning; the handshake has the connection's timeout.
        self.sock = tls_context().wrap_socket(self.sock, server_hostname=self.host)


def post(target: Target, body: bytes, headers: dict[str, str], *, timeout: float) -> Answer:
    """POST ``body``; any answer within ``timeout`` seconds, or the reason there was none.
    Never raises for the network."""
    started = time.monotonic()
    kind = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = kind(target, timeout=timeout)
    status_code: int | None = None
    text = ""
    error = ""
    try:
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={
                **headers,
                "Content-Type": "application/json",
                "User-Agent": "inventory-webhooks/1",
                "Connection": "close",
            },
        )
        response = connection.getresponse()
        status_code = response.status
        # One byte more than is kept tells a longer answer from one of exactly that length;
        # the rest (which may be gigabytes) is never read.
        remaining = timeout - (time.monotonic() - started)
        if remaining <= 0:
            raise TimeoutError("timed out")
        if connection.sock is not None:
            connection.sock.settimeout(remaining)
        text = response.read(RESPONSE_KEPT_BYTES + 1)[:RESPONSE_KEPT_BYTES].decode(
            "utf-8", errors="replace"
        )
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
            if 300 <= status_code < 400:
                error += " (redirects are not followed)"
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
        if status_code is not None and 200 <= status_code < 300:
            # The answer was 2xx but its body broke off: the receiver did get the event.
            error = ""
    finally:
        connection.close()
    duration_ms = int((time.monotonic() - started) * 1000)
    return Answer(status_code=status_code, body=text, error=error, duration_ms=duration_ms)
