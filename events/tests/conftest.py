"""Fixtures of the events' tests: a receiver on loopback and an endpoint subscribed to it, and
the certificates of receivers over HTTPS."""

from collections.abc import Iterator

import pytest

from events.models import WebhookEndpoint
from events.services import endpoint_create
from events.tests.receiver import Certificates, Receiver, make_certificates, receiver


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as state:
        yield state


@pytest.fixture
def endpoint(db: None, hook: Receiver) -> WebhookEndpoint:
    return endpoint_create(url=hook.url, events=["*"], description="test receiver")


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A throwaway CA, and the certificates it signed for HTTPS receivers."""
    return make_certificates(tmp_path_factory.mktemp("tls"))
