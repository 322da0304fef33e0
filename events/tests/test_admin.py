"""Webhook endpoints in the admin: created through the service (secret shown once), their state
shown, and deliveries with their attempts, sent again with an action."""

import pytest
from django.urls import reverse

from events import services
from events.models import Delivery, WebhookEndpoint
from events.tests.receiver import receiver, run_ready_tasks

pytestmark = pytest.mark.django_db


def test_a_manager_creates_an_endpoint_and_sees_its_secret_once(manager_web):
    response = manager_web.post(
        reverse("admin:events_webhookendpoint_add"),
        {"url": "https://93.184.216.34/hooks", "events": '["order.placed"]', "is_active": "on"},
        follow=True,
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["order.placed"]
    assert endpoint.secret in response.content.decode()
    page = manager_web.get(reverse("admin:events_webhookendpoint_change", args=[endpoint.pk]))
    assert endpoint.secret not in page.content.decode()


def test_the_list_shows_a_disabled_endpoint(manager_web):
    endpoint = services.endpoint_create(url="https://93.184.216.34/hooks", events=["*"])
    from django.utils import timezone

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=False, disabled_at=timezone.now(), failing_since=timezone.now()
    )
    page = manager_web.get(reverse("admin:events_webhookendpoint_changelist"))
    assert "disabled after a day of failures" in page.content.decode()


def test_the_list_shows_a_slow_endpoint_and_since_when(manager_web):
    from django.utils import timezone

    slow = services.endpoint_create(url="https://93.184.216.34/slow", events=["*"])
    services.endpoint_create(url="https://93.184.216.34/fast", events=["*"])
    WebhookEndpoint.objects.filter(pk=slow.pk).update(degraded_since=timezone.now())
    page = manager_web.get(reverse("admin:events_webhookendpoint_changelist")).content.decode()
    assert "Degraded since" in page
    assert page.count('<td class="field-state">slow</td>') == 1
    assert page.count('<td class="field-state">ok</td>') == 1


def test_a_failed_delivery_is_shown_with_its_attempts_and_sent_again(manager_web):
    with receiver(script=[500] * 7) as hook:
        services.endpoint_create(url=hook.url, events=["*"])
        services.emit("order.placed", {"number": "SO-1"})
        run_ready_tasks()
        delivery = Delivery.objects.get()
        Delivery.objects.filter(pk=delivery.pk).update(status="failed", next_attempt_at=None)

        page = manager_web.get(reverse("admin:events_delivery_change", args=[delivery.pk]))
        assert "HTTP 500" in page.content.decode()

        response = manager_web.post(
            reverse("admin:events_delivery_changelist"),
            {"action": "redeliver", "_selected_action": [delivery.pk]},
            follow=True,
        )
        assert "1 deliveries queued again" in response.content.decode()
        delivery.refresh_from_db()
        assert delivery.status == "pending"
        run_ready_tasks()
        assert len(hook.requests) == 2
