"""The PostgreSQL backend's health check of reused connections: no round trip while the
connection is sound, the usual check when the server has said something, a new connection
when it has gone."""

import time
from collections.abc import Iterator

import pytest
from django.db import connection, connections

from core.db.postgresql.base import DatabaseWrapper

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def reused() -> Iterator[DatabaseWrapper]:
    """A connection of its own (the test's is inside its transaction), open and idle, as a
    worker holds it between requests."""
    wrapper = connections.create_connection("default")
    assert isinstance(wrapper, DatabaseWrapper)
    assert wrapper.health_check_enabled is False  # read from settings on connect
    wrapper.ensure_connection()
    assert wrapper.health_check_enabled is True
    yield wrapper
    wrapper.close()


def _checks(wrapper: DatabaseWrapper, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Record every full check (``SELECT 1``) the wrapper makes, and its outcome."""
    made: list[bool] = []
    full_check = wrapper.is_usable

    def recorded() -> bool:
        made.append(full_check())
        return made[-1]

    monkeypatch.setattr(wrapper, "is_usable", recorded)
    return made


def _new_request(wrapper: DatabaseWrapper) -> None:
    """What Django does before a request's first query on a reused connection."""
    wrapper.health_check_done = False
    wrapper.close_if_health_check_failed()


def _wait_until_not_quiet(wrapper: DatabaseWrapper) -> None:
    deadline = time.monotonic() + 5
    while wrapper.is_quiet():
        assert time.monotonic() < deadline, "the socket never became readable"
        time.sleep(0.01)


def test_a_sound_connection_is_reused_without_a_round_trip(reused, monkeypatch):
    checks = _checks(reused, monkeypatch)
    raw = reused.connection
    for _ in range(3):
        _new_request(reused)
    assert checks == []
    assert reused.connection is raw


def test_a_connection_the_server_ended_is_replaced_before_the_request_uses_it(reused, monkeypatch):
    checks = _checks(reused, monkeypatch)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [reused.connection.info.backend_pid])
        assert cursor.fetchone() == (True,)
    _wait_until_not_quiet(reused)

    _new_request(reused)

    assert checks == [False]
    assert reused.connection is None
    with reused.cursor() as cursor:  # the request's query opens a new connection
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_a_sound_connection_with_something_to_read_is_checked_and_kept(reused, monkeypatch):
    # A notification is the one thing a sound idle connection may have to read.
    with reused.cursor() as cursor:
        cursor.execute("LISTEN health_check_test")
    # Sent from a connection in autocommit: the test's own would hold it until its rollback.
    sender = connections.create_connection("default")
    try:
        with sender.cursor() as cursor:
            cursor.execute("NOTIFY health_check_test")
    finally:
        sender.close()
    checks = _checks(reused, monkeypatch)
    raw = reused.connection
    _wait_until_not_quiet(reused)

    _new_request(reused)

    assert checks == [True]
    assert reused.connection is raw
