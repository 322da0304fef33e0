"""Fixtures of the events' tests: a receiver on loopback and an endpoint subscribed to it."""

from collections.abc import Iterator

import pytest

from events.models import WebhookEndpoint
from events.services import endpoint_create
from events.tests.receiver import Receiver, receiver


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as state:
        yield state


@pytest.fixture
def endpoint(db: None, hook: Receiver) -> WebhookEndpoint:
    return endpoint_create(url=hook.url, events=["*"], description="test receiver")
