"""A batch's attempts share a connection while the receiver keeps it open (HTTP/1.1
keep-alive), and never one it cannot safely reuse."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from events.targets import Target
from events.tests.receiver import serving
from events.transport import Session


@dataclass
class KeepAlive:
    """What the receiver saw: connections opened, and requests (their bodies) on each."""

    port: int = 0
    # "keep": 204 and the connection kept; "close": 204 with Connection: close; "drop": 204,
    # then the connection closed unannounced once idle; "long": 200 with 5000 bytes;
    # "endless": 200 with gigabytes.
    mode: str = "keep"
    connections: int = 0
    bodies: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def target(self) -> Target:
        return Target("http", "127.0.0.1", self.port, "/hook", "127.0.0.1")


@contextmanager
def keep_alive_receiver(mode: str) -> Iterator[KeepAlive]:
    state = KeepAlive(mode=mode)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            with state.lock:
                state.connections += 1

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with state.lock:
                state.bodies.append(body)
            if state.mode == "endless":
                self.endless()
                return
            answer = b"x" * 5000 if state.mode == "long" else b""
            self.send_response(200 if answer else 204)
            self.send_header("Content-Length", str(len(answer)))
            if state.mode == "close":
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(answer)
            if state.mode == "drop":
                # As a server whose idle time-out has passed: no word to the client.
                self.wfile.flush()
                self.close_connection = True

        def endless(self) -> None:
            """Ten gigabytes announced, sent until the client hangs up."""
            self.send_response(200)
            self.send_header("Content-Length", str(10 * 1024**3))
            self.end_headers()
            chunk = b"x" * 65536
            try:
                while True:
                    self.wfile.write(chunk)
            except OSError:
                self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    with serving(server):
        yield state


def post_three(state: KeepAlive) -> list[int | None]:
    with Session(state.target) as session:
        answers = [session.post(b"%d" % n, {}, timeout=5) for n in range(3)]
    assert all(answer.succeeded for answer in answers), answers
    assert state.bodies == [b"0", b"1", b"2"]
    return [answer.status_code for answer in answers]


def test_attempts_share_one_connection_while_the_receiver_keeps_it():
    with keep_alive_receiver("keep") as state:
        assert post_three(state) == [204, 204, 204]
    assert state.connections == 1


@pytest.mark.parametrize("mode", ["close", "long"])
def test_a_connection_the_receiver_closes_or_with_an_answer_left_unread_is_not_reused(mode):
    with keep_alive_receiver(mode) as state:
        post_three(state)
    assert state.connections == 3


def test_a_connection_the_receiver_dropped_while_idle_is_replaced_and_the_attempt_made():
    with keep_alive_receiver("drop") as state:
        post_three(state)
    # Each request after the first found its connection closed, and went out on a new one:
    # none was lost, and none was counted as a failure.
    assert state.connections == 3


def test_an_answer_of_gigabytes_is_read_no_further_than_is_kept_and_its_connection_dropped():
    with keep_alive_receiver("endless") as state, Session(state.target) as session:
        started = time.monotonic()
        answers = [session.post(b"%d" % n, {}, timeout=5) for n in range(2)]
        took = time.monotonic() - started
    assert took < 2
    for answer in answers:
        assert answer.succeeded
        assert answer.body == "x" * 1024
    assert state.connections == 2
