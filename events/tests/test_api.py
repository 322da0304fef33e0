"""The webhooks and events over the API: managed with webhooks:manage, the secret shown once,
rotated with a day's overlap, deliveries listed with their attempts and sent again; the events
read in cursor pages, filtered by type and time."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from events import services
from events.models import EVENT_TYPES, Delivery, Event, WebhookEndpoint
from events.tests.receiver import receiver, run_ready_tasks

pytestmark = pytest.mark.django_db

WEBHOOKS = "/api/v1/webhooks/"
EVENTS = "/api/v1/events/"


def _time(value):
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _as_json(endpoint):
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "events": endpoint.events,
        "is_active": endpoint.is_active,
        "description": endpoint.description,
        "disabled_at": _time(endpoint.disabled_at),
        "failing_since": _time(endpoint.failing_since),
        "degraded_since": _time(endpoint.degraded_since),
        "previous_secret_expires_at": _time(endpoint.previous_secret_expires_at),
        "created_at": _time(endpoint.created_at),
    }


def _invalid(response, details):
    assert response.status_code == 400, response.json()
    assert response.json() == {
        "error": {
            "code": "validation_error",
            "message": "The request is not valid; see details for the fields at fault.",
            "details": details,
        }
    }


@pytest.fixture
def manager_key(key_client):
    return key_client("webhooks:manage")


def test_a_key_without_the_scope_is_refused(key_client):
    client = key_client("orders:write")
    response = client.get(WEBHOOKS)
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "This API key lacks the scope webhooks:manage."
    assert client.get(EVENTS).status_code == 403


def test_creating_an_endpoint_shows_its_secret_once(manager_key):
    response = manager_key.post(
        WEBHOOKS,
        {"url": "https://93.184.216.34/hooks", "events": ["order.paid", "order.placed"]},
        HTTP_IDEMPOTENCY_KEY="create-1",
    )
    assert response.status_code == 201, response.json()
    endpoint = WebhookEndpoint.objects.get()
    assert response.json() == {**_as_json(endpoint), "secret": endpoint.secret}
    assert endpoint.events == ["order.paid", "order.placed"]
    assert response["Location"] == f"{WEBHOOKS}{endpoint.pk}/"
    assert endpoint.secret.startswith("whsec_")
    # Never again: not in the list, not in the detail.
    assert "secret" not in manager_key.get(f"{WEBHOOKS}{endpoint.pk}/").json()
    assert manager_key.get(WEBHOOKS).json()["results"] == [_as_json(endpoint)]
    # The same key replays the same answer, without a second endpoint.
    again = manager_key.post(
        WEBHOOKS,
        {"url": "https://93.184.216.34/hooks", "events": ["order.paid", "order.placed"]},
        HTTP_IDEMPOTENCY_KEY="create-1",
    )
    assert again.json() == response.json()
    assert WebhookEndpoint.objects.count() == 1


def test_the_endpoints_list_costs_three_queries(manager_key, django_assert_num_queries):
    for n in range(3):
        services.endpoint_create(url=f"https://93.184.216.34/{n}", events=["*"])
    with django_assert_num_queries(3):  # the key, the count, the page
        response = manager_key.get(WEBHOOKS)
    assert [e["url"] for e in response.json()["results"]] == [
        f"https://93.184.216.34/{n}" for n in range(3)
    ]


def test_bad_bodies_are_refused_with_field_errors(manager_key):
    response = manager_key.post(WEBHOOKS, {"url": "nope", "events": ["order.lost"], "secret": "x"})
    _invalid(
        response,
        {
            "secret": ["The secret is never set by hand: rotate it (POST .../rotate-secret/)."],
            "url": ["Enter a valid URL."],
            "events": [
                "Unknown event types: order.lost. Known: " + ", ".join(EVENT_TYPES) + ", *."
            ],
        },
    )
    assert not WebhookEndpoint.objects.exists()


@override_settings(WEBHOOK_ALLOW_PRIVATE_TARGETS=False)
@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34/hooks",
        "https://127.0.0.1/hooks",
        "https://[::1]/hooks",
        "https://10.1.2.3/hooks",
        "https://192.168.0.10/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost:8443/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
    ],
)
def test_urls_that_are_not_https_or_reach_private_addresses_are_refused(manager_key, url):
    response = manager_key.post(WEBHOOKS, {"url": url, "events": ["*"]})
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == "validation_error"
    assert list(response.json()["error"]["details"]) == ["url"]
    assert not WebhookEndpoint.objects.exists()


def test_an_endpoint_is_changed_and_deleted(manager_key):
    endpoint = services.endpoint_create(url="https://93.184.216.34/a", events=["*"])
    response = manager_key.patch(
        f"{WEBHOOKS}{endpoint.pk}/",
        {"events": ["product.created"], "description": "  catalog feed ", "is_active": False},
    )
    assert response.status_code == 200, response.json()
    endpoint.refresh_from_db()
    assert response.json() == _as_json(endpoint)
    assert (endpoint.events, endpoint.description, endpoint.is_active) == (
        ["product.created"],
        "catalog feed",
        False,
    )
    response = manager_key.patch(f"{WEBHOOKS}{endpoint.pk}/", {"secret": "whsec_mine"})
    _invalid(
        response,
        {"secret": ["The secret is never set by hand: rotate it (POST .../rotate-secret/)."]},
    )
    assert manager_key.delete(f"{WEBHOOKS}{endpoint.pk}/").status_code == 204
    assert not WebhookEndpoint.objects.exists()


def test_rotating_the_secret_shows_the_new_one_and_keeps_the_old_a_day(manager_key):
    endpoint = services.endpoint_create(url="https://93.184.216.34/a", events=["*"])
    old = endpoint.secret
    response = manager_key.post(f"{WEBHOOKS}{endpoint.pk}/rotate-secret/")
    assert response.status_code == 200, response.json()
    endpoint.refresh_from_db()
    assert response.json()["secret"] == endpoint.secret != old
    assert endpoint.previous_secret == old
    expires = endpoint.previous_secret_expires_at - timezone.now()
    assert timedelta(hours=23, minutes=59) < expires <= timedelta(hours=24)
    assert response.json()["previous_secret_expires_at"] == _time(
        endpoint.previous_secret_expires_at
    )


def test_an_endpoints_deliveries_with_their_attempts_and_a_redelivery(
    manager_key, django_assert_num_queries
):
    with receiver(script=[500]) as hook:
        endpoint = services.endpoint_create(url=hook.url, events=["*"])
        for number in ("SO-1", "SO-2"):  # one after the other: the first is answered 500
            services.emit("order.placed", {"number": number})
            run_ready_tasks()
        first, second = Event.objects.order_by("id")
        failed = Delivery.objects.get(event=first)
        assert failed.status == "pending"

        with django_assert_num_queries(4):  # the key, the endpoint, the page, its attempts
            response = manager_key.get(f"{WEBHOOKS}{endpoint.pk}/deliveries/")
        assert response.status_code == 200
        body = response.json()
        assert body["next"] is None
        assert [d["event"]["data"]["number"] for d in body["results"]] == ["SO-2", "SO-1"]
        older = body["results"][1]
        assert older["status"] == "pending"
        assert older["attempts"] == 1
        assert older["event"]["id"] == str(first.uuid)
        [attempt] = older["attempt_log"]
        assert attempt["number"] == 1
        assert attempt["status_code"] == 500
        assert attempt["succeeded"] is False
        assert attempt["error"] == "HTTP 500"
        assert attempt["response_body"] == "ok"

        # A delivery still pending is left to its schedule; a finished one is sent again.
        ok = Delivery.objects.get(event=second)
        response = manager_key.post(f"{WEBHOOKS}{endpoint.pk}/deliveries/{ok.pk}/redeliver/")
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == "pending"
        run_ready_tasks()
        ok.refresh_from_db()
        assert (ok.status, ok.attempts) == ("succeeded", 2)
        assert len(hook.requests) == 3

        other = services.endpoint_create(url=hook.url, events=["*"])
        response = manager_key.post(f"{WEBHOOKS}{other.pk}/deliveries/{ok.pk}/redeliver/")
        assert response.status_code == 404


def test_events_in_cursor_pages_filtered_by_type_and_time(manager_key, django_assert_num_queries):
    services.emit("order.placed", {"number": "SO-1"})
    services.emit("product.created", {"id": 1})
    services.emit("order.paid", {"number": "SO-1"})
    old = services.emit("order.placed", {"number": "SO-0"})
    Event.objects.filter(pk=old.pk).update(occurred_at=timezone.now() - timedelta(days=2))

    with django_assert_num_queries(2):  # the key, the page
        response = manager_key.get(EVENTS, {"page_size": 2})
    body = response.json()
    assert [e["type"] for e in body["results"]] == ["order.placed", "order.paid"]
    assert body["results"][0]["data"] == {"number": "SO-0"}
    rest = manager_key.get(body["next"]).json()
    assert [e["type"] for e in rest["results"]] == ["product.created", "order.placed"]

    response = manager_key.get(
        EVENTS,
        {
            "type": ["order.placed", "order.paid"],
            "occurred_after": (timezone.now() - timedelta(days=1)).isoformat(),
        },
    )
    assert [e["data"] for e in response.json()["results"]] == [
        {"number": "SO-1"},
        {"number": "SO-1"},
    ]
    one = Event.objects.get(type="product.created")
    detail = manager_key.get(f"{EVENTS}{one.uuid}/").json()
    # What a delivery's body carries, and every key of the schema (no sequence: null).
    assert detail == {**one.payload(), "sequence": None}

    _invalid(
        manager_key.get(EVENTS, {"type": "order.lost"}),
        {"type": ["Select a valid choice. order.lost is not one of the available choices."]},
    )
