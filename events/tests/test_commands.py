from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone

from events import services
from events.checks import (
    attempt_lease_check,
    batch_window_check,
    private_targets_check,
    sends_per_endpoint_check,
)
from events.delivery import event_dispatch
from events.models import Delivery, Event

pytestmark = pytest.mark.django_db


def test_purge_deletes_events_older_than_seven_days_but_not_those_still_being_delivered(hook):
    services.endpoint_create(url=hook.url, events=["*"])
    old, pending, recent = (services.emit("order.placed", {"n": n}) for n in range(3))
    for event in (old, pending, recent):
        event_dispatch(event_id=event.pk)
    Delivery.objects.filter(event=old).update(status="succeeded", attempts=1, next_attempt_at=None)
    eight_days_ago = timezone.now() - timedelta(days=8)
    Event.objects.filter(pk__in=[old.pk, pending.pk]).update(occurred_at=eight_days_ago)

    out = StringIO()
    call_command("purge_events", stdout=out)

    assert set(Event.objects.values_list("pk", flat=True)) == {pending.pk, recent.pk}
    assert not Delivery.objects.filter(event_id=old.pk).exists()
    assert out.getvalue().startswith("Deleted 1 event(s)")


def test_purge_refuses_an_age_below_a_day():
    with pytest.raises(CommandError, match="at least 1"):
        call_command("purge_events", "--older-than-days", "0", stdout=StringIO())


def test_the_deploy_check_warns_while_private_targets_are_allowed():
    with override_settings(WEBHOOK_ALLOW_PRIVATE_TARGETS=True):
        [warning] = private_targets_check(None)
    assert warning.id == "inventory.W010"
    with override_settings(WEBHOOK_ALLOW_PRIVATE_TARGETS=False):
        assert private_targets_check(None) == []


def test_the_check_refuses_a_lease_no_longer_than_the_timeout():
    with override_settings(WEBHOOK_ATTEMPT_LEASE_SECONDS=5, WEBHOOK_TIMEOUT_SECONDS=5):
        [error] = attempt_lease_check(None)
    assert error.id == "inventory.E011"
    assert error.msg.startswith("WEBHOOK_ATTEMPT_LEASE_SECONDS (5) must be longer than")
    with override_settings(WEBHOOK_ATTEMPT_LEASE_SECONDS=6, WEBHOOK_TIMEOUT_SECONDS=5):
        assert attempt_lease_check(None) == []


@pytest.mark.parametrize("sends", [0, -1, 2.5, "4"])
def test_the_check_refuses_sends_per_endpoint_that_are_not_a_whole_number_from_one(sends):
    with override_settings(WEBHOOK_SENDS_PER_ENDPOINT=sends):
        [error] = sends_per_endpoint_check(None)
    assert error.id == "inventory.E012"


@pytest.mark.parametrize("sends", [1, 4])
def test_the_check_accepts_sends_per_endpoint_from_one(sends):
    with override_settings(WEBHOOK_SENDS_PER_ENDPOINT=sends):
        assert sends_per_endpoint_check(None) == []


@pytest.mark.parametrize("window", [-0.1, 1, 1.5, "0.2"])
def test_the_check_refuses_a_batch_window_outside_the_coalescing_window(window):
    with override_settings(WEBHOOK_BATCH_WINDOW_SECONDS=window):
        [error] = batch_window_check(None)
    assert error.id == "inventory.E013"


@pytest.mark.parametrize("window", [0, 0.2, 0.9])
def test_the_check_accepts_a_batch_window_within_the_coalescing_window(window):
    with override_settings(WEBHOOK_BATCH_WINDOW_SECONDS=window):
        assert batch_window_check(None) == []
