"""One webhook POST: to the address that was checked, within a deadline, never following a
redirect, reading no more of the answer than is kept."""

import contextlib
import http.client
import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from types import TracebackType

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


class _Deadline:
    """Cuts the connection off when the attempt's time is up. A socket's timeout bounds each
    read, not the whole answer: a receiver sending a byte now and then would hold the worker
    for as long as it liked (and past the lease, when another worker tries the delivery too)."""

    def __init__(self, connection: http.client.HTTPConnection, seconds: float) -> None:
        self._connection = connection
        self._seconds = seconds
        self.passed = False

    def __enter__(self) -> "_Deadline":
        _watchdog.watch(self, time.monotonic() + self._seconds)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _watchdog.forget(self)

    def cut(self) -> None:
        self.passed = True
        sock = self._connection.sock
        if sock is not None:
            # The plain socket's shutdown, also under TLS: the reading thread's call returns.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """Cuts off the connections whose deadline passed, from one thread for the process (a
    thread per attempt would cost more than a whole delivery to a fast receiver). Under its
    lock, a deadline forgotten is never cut: the caller goes on to close its socket."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._deadlines: dict[_Deadline, float] = {}
        self._thread: threading.Thread | None = None

    def watch(self, deadline: _Deadline, at: float) -> None:
        with self._lock:
            self._deadlines[deadline] = at
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="webhook-deadlines", daemon=True
                )
                self._thread.start()
            self._lock.notify()

    def forget(self, deadline: _Deadline) -> None:
        with self._lock:
            self._deadlines.pop(deadline, None)

    def _run(self) -> None:
        with self._lock:
            while True:
                now = time.monotonic()
                for deadline, at in list(self._deadlines.items()):
                    if at <= now:
                        del self._deadlines[deadline]
                        deadline.cut()
                soonest = min(self._deadlines.values(), default=None)
                self._lock.wait(None if soonest is None else soonest - now)


_watchdog = _Watchdog()


def post(target: Target, body: bytes, headers: dict[str, str], *, timeout: float) -> Answer:
    """POST ``body`` on a connection of its own; see ``Session.post``."""
    with Session(target) as session:
        return session.post(body, headers, timeout=timeout)


# The receiver closed an idle kept-alive connection just as a request went out on it: the
# request fails at once, not after the receiver has had it for a while (it may have acted on
# it, and is not sent it again within the attempt).
_STALE_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
_STALE_WITHIN_SECONDS = 0.5


class Session:
    """Attempts to one target, one after another, on one connection for as long as the
    receiver keeps it open (HTTP/1.1 keep-alive): a batch's attempts cost one TCP (and TLS)
    handshake, and the receiver one connection, rather than one each. A connection is kept
    only after an answer read to its end that did not ask for it to be closed; one cut off,
    or with more to read than is kept, is closed."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._connection: http.client.HTTPConnection | None = None

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def post(self, body: bytes, headers: dict[str, str], *, timeout: float) -> Answer:
        """POST ``body``; any answer within ``timeout`` seconds, or the reason there was none.
        Never raises for the network."""
        return self._post(body, headers, timeout=timeout, started=time.monotonic())

    def _post(
        self, body: bytes, headers: dict[str, str], *, timeout: float, started: float
    ) -> Answer:
        connection = self._connection
        reused = connection is not None
        if connection is None:
            kind = (
                _PinnedHTTPSConnection if self.target.scheme == "https" else _PinnedHTTPConnection
            )
            connection = self._connection = kind(self.target, timeout=timeout)
        elif connection.sock is not None:
            connection.sock.settimeout(timeout)
        deadline = _Deadline(connection, timeout)
        status_code: int | None = None
        text = ""
        error = ""
        keep = False
        try:
            with deadline:
                connection.request(
                    "POST",
                    self.target.path,
                    body=body,
                    headers={
                        **headers,
                        "Content-Type": "application/json",
                        "User-Agent": "inventory-webhooks/1",
                    },
                )
                response = connection.getresponse()
                status_code = response.status
                # One byte more than is kept tells a longer answer from one of exactly that
                # length; the rest (which may be gigabytes) is never read.
                text = response.read(RESPONSE_KEPT_BYTES + 1)[:RESPONSE_KEPT_BYTES].decode(
                    "utf-8", errors="replace"
                )
                keep = response.isclosed() and not response.will_close
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
                if 300 <= status_code < 400:
                    error += " (redirects are not followed)"
        except (OSError, http.client.HTTPException) as exc:
            left = timeout - (time.monotonic() - started)
            stale = reused and status_code is None and isinstance(exc, _STALE_CONNECTION)
            at_once = time.monotonic() - started < _STALE_WITHIN_SECONDS
            if stale and at_once and not deadline.passed and left > 0:
                # Nothing was answered on a connection the receiver had closed: once more on a
                # new one, within the attempt's time (should the request have got through, the
                # receiver sees it twice, as at-least-once allows).
                self.close()
                return self._post(body, headers, timeout=left, started=started)
            if deadline.passed:
                error = f"TimeoutError: timed out (no whole answer within {timeout:g} s)"
            else:
                error = f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
            if status_code is not None and 200 <= status_code < 300:
                # The answer was 2xx but its body broke off: the receiver did get the event.
                error = ""
        finally:
            # (After a retry, the connection open is the retry's, kept or closed by it.)
            if not keep and self._connection is connection:
                self.close()
        duration_ms = int((time.monotonic() - started) * 1000)
        return Answer(status_code=status_code, body=text, error=error, duration_ms=duration_ms)
