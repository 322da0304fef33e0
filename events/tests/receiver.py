"""A real webhook receiver for the tests: an HTTP or HTTPS server on loopback, in a thread, that
records every request and answers each with the next status of its script (then 200), maybe
slowly, or hangs up without answering; and the throwaway certificates its HTTPS is served with."""

import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    # When it arrived (time.time(), as an event's occurred_at).
    received_at: float = field(default_factory=time.time)


@dataclass
class Receiver:
    url: str
    script: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    answer: bytes = b"ok"
    # Seconds to wait before answering (a slow receiver).
    delay: float = 0.0
    # Close the connection instead of answering.
    hang_up: bool = False
    # Over HTTPS: the host names clients asked for (SNI), and the handshakes that failed.
    server_names: list[str | None] = field(default_factory=list)
    tls_errors: list[str] = field(default_factory=list)
    # Requests being answered now, and the most there were at once.
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_status(self) -> int:
        with self.lock:
            return self.script.pop(0) if self.script else 200

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """The requests once there are ``count`` of them (or all there are after ``timeout``)."""
        deadline = threading.Event()
        waited = 0.0
        while len(self.requests) < count and waited < timeout:
            deadline.wait(0.05)
            waited += 0.05
        return list(self.requests)


@dataclass(frozen=True)
class ServerCertificate:
    """A server's certificate and its key, in PEM files."""

    certificate: Path
    key: Path


@dataclass(frozen=True)
class Certificates:
    """A throwaway CA (``ca``, its certificate in PEM) and certificates it signed."""

    ca: Path
    localhost: ServerCertificate
    other_host: ServerCertificate


def _openssl(*args: str, cwd: Path) -> None:
    openssl = shutil.which("openssl")
    assert openssl, "the HTTPS tests make their certificates with the openssl command"
    subprocess.run([openssl, *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(directory: Path) -> Certificates:
    """A CA valid for a day, and certificates it signed for ``localhost`` and for another
    host name, with the extensions a strict verifier asks for (in ``directory``)."""
    new_key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-noenc")
    _openssl(
        *("req", "-x509", *new_key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1"),
        *("-subj", "/CN=Webhook tests CA"),
        *("-addext", "basicConstraints=critical,CA:TRUE"),
        *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
        cwd=directory,
    )

    def signed_for(name: str) -> ServerCertificate:
        (directory / f"{name}.ext").write_text(
            f"subjectAltName=DNS:{name}\n"
            "basicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature\n"
            "extendedKeyUsage=serverAuth\n"
            "subjectKeyIdentifier=hash\n"
            "authorityKeyIdentifier=keyid\n"
        )
        _openssl(
            *("req", *new_key, "-keyout", f"{name}.key", "-out", f"{name}.csr"),
            *("-subj", f"/CN={name}"),
            cwd=directory,
        )
        _openssl(
            *("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key"),
            *("-CAcreateserial", "-days", "1", "-extfile", f"{name}.ext", "-out", f"{name}.pem"),
            cwd=directory,
        )
        return ServerCertificate(
            certificate=directory / f"{name}.pem", key=directory / f"{name}.key"
        )

    return Certificates(
        ca=directory / "ca.pem",
        localhost=signed_for("localhost"),
        other_host=signed_for("other-host.test"),
    )


def _localhost() -> tuple[socket.AddressFamily, str]:
    """The address ``localhost`` resolves to first: the one a delivery to it connects to."""
    family, _, _, _, address = socket.getaddrinfo("localhost", 0, type=socket.SOCK_STREAM)[0]
    return family, str(address[0])


@contextmanager
def receiver(
    script: list[int] | None = None, *, certificate: ServerCertificate | None = None
) -> Iterator[Receiver]:
    """A receiver at ``http://127.0.0.1:<port>/hook``, or with a ``certificate`` at
    ``https://localhost:<port>/hook``; stopped at the end."""
    state = Receiver(url="", script=list(script or []))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            status = state.next_status()
            with state.lock:
                state.requests.append(
                    Received(path=self.path, headers=dict(self.headers.items()), body=body)
                )
                state.in_flight += 1
                state.max_in_flight = max(state.max_in_flight, state.in_flight)
            try:
                if state.delay:
                    threading.Event().wait(state.delay)
            finally:
                with state.lock:
                    state.in_flight -= 1
            if state.hang_up:
                self.close_connection = True
                return
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(state.answer)))
                self.end_headers()
                self.wfile.write(state.answer)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a timeout): nothing to tell it

        def log_message(self, format: str, *args: object) -> None:
            pass

    if certificate is None:
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate.certificate, certificate.key)
        context.sni_callback = lambda _connection, name, _context: state.server_names.append(name)

        family, address = _localhost()

        class TLSServer(ThreadingHTTPServer):
            address_family = family

            def get_request(self) -> tuple[socket.socket, object]:
                connection, client = super().get_request()
                # The handshake happens in the request's thread, at its first read.
                tls = context.wrap_socket(
                    connection, server_side=True, do_handshake_on_connect=False
                )
                return tls, client

            def handle_error(
                self, request: socket.socket | tuple[bytes, socket.socket], client_address: object
            ) -> None:
                error = sys.exc_info()[1]
                if not isinstance(error, ssl.SSLError):
                    super().handle_error(request, client_address)
                    return
                with state.lock:
                    state.tls_errors.append(str(error))

        server = TLSServer((address, 0), Handler)
        state.url = f"https://localhost:{server.server_address[1]}/hook"
    with serving(server):
        yield state


@contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[None]:
    """The server answering from a thread of its own while in the block, then closed."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def run_ready_tasks(limit: int = 100, *, queue: str | None = None) -> int:
    """Run the tasks that are due (on ``queue``, or on any), in this process and transaction
    (what a worker would do, one at a time); the number run."""
    from django_tasks import TaskContext
    from django_tasks_db.models import DBTaskResult

    ready = DBTaskResult.objects.ready()
    if queue is not None:
        ready = ready.filter(queue_name=queue)
    ran = 0
    while ran < limit:
        row = ready.first()
        if row is None:
            return ran
        row.claim("test")
        task, args, kwargs = row.task, row.args_kwargs["args"], row.args_kwargs["kwargs"]
        if task.takes_context:
            task.call(TaskContext(task_result=row.task_result), *args, **kwargs)
        else:
            task.call(*args, **kwargs)
        row.set_successful(None)
        ran += 1
    return ran
