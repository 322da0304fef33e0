"""A real webhook receiver for the tests: an HTTP server on loopback, in a thread, that records
every request and answers each with the next status of its script (then 200)."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    script: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    answer: bytes = b"ok"
    # Seconds to wait before answering (a slow receiver).
    delay: float = 0.0
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


@contextmanager
def receiver(script: list[int] | None = None) -> Iterator[Receiver]:
    """A receiver at ``http://127.0.0.1:<port>/hook``, stopped at the end."""
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
            if state.delay:
                threading.Event().wait(state.delay)
            self.send_response(status)
            self.send_header("Content-Length", str(len(state.answer)))
            self.end_headers()
            self.wfile.write(state.answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def run_ready_tasks(limit: int = 100) -> int:
    """Run the tasks that are due, in this process and transaction (what a worker would do,
    one at a time); the number run."""
    from django_tasks_db.models import DBTaskResult

    ran = 0
    while ran < limit:
        row = DBTaskResult.objects.ready().first()
        if row is None:
            return ran
        row.claim("test")
        row.task.call(*row.args_kwargs["args"], **row.args_kwargs["kwargs"])
        row.set_successful(None)
        ran += 1
    return ran
