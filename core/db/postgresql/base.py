"""Django's PostgreSQL backend, with a health check of reused connections that costs no round
trip when the connection is sound.

With ``CONN_HEALTH_CHECKS``, Django sends ``SELECT 1`` before the first query of every request
that reuses a connection: on this 2-core machine, about 130 µs and a round trip's CPU on both
sides, on every request (a product detail's whole work is three queries). A sound idle
connection has nothing to read: the server only speaks when asked. A server that shuts down,
crashes, restarts or is killed (``pg_terminate_backend``), and a pooler that goes away, say so
(a FATAL message, then end of file), which makes the socket readable. So the socket is polled
without waiting, and only when it has something to say is the connection checked the usual
way (``SELECT 1``, which also reads what was said) and replaced if it fails.

A connection cut without a word (a network partition) is not caught here, nor by ``SELECT 1``
short of a timeout: the request's query then fails and Django replaces the connection after it.
"""

import select

import psycopg
from django.db.backends.postgresql import base

from core import shortcuts


class DatabaseWrapper(base.DatabaseWrapper):
    # Set by Django's wrapper (missing from its type stubs).
    health_check_enabled: bool
    health_check_done: bool

    def close_if_health_check_failed(self) -> None:
        if not shortcuts.on("pg-health-check"):  # docs/private-internals.md#pg-health-check
            super().close_if_health_check_failed()
            return
        if self.connection is None or not self.health_check_enabled or self.health_check_done:
            return
        if not self.is_quiet() and not self.is_usable():
            self.close()
        self.health_check_done = True

    def is_quiet(self) -> bool:
        """Whether the idle connection's socket is open with nothing to read: no message, no
        end of file, no error."""
        if self.connection is None or self.connection.closed:
            return False
        try:
            fd = self.connection.pgconn.socket
        except psycopg.OperationalError:  # the socket is gone
            return False
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLPRI)
        # POLLERR, POLLHUP and POLLNVAL are reported whether asked for or not.
        return not poller.poll(0)
