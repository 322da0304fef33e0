"""One Idempotency-Key sent by several threads at once changes stock once (PostgreSQL)."""

import functools
import time
from datetime import timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog.tests.support import race
from core.api import idempotency
from core.api.idempotency import REPLAYED_HEADER
from core.api.models import IdempotencyKey
from core.api.services import api_key_create
from stock import services as stock_services
from stock.models import StockMovement
from stock.tests.concurrency_support import (
    _assert_ledger_holds,
    _fail_bulk_create_after_the_update,
    _quantities,
    _snapshot,
    _unexpected,
    _variant_ids,
)

# serialized_rollback, as in the project's other transactional tests: each test restores the data
# of the migrations (staff groups, content types) that the flush after the one before emptied,
# and leaves the tables empty for the next one.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _stock_client(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


def _post_adjust(
    raw_key: str, variant_id: int, body: dict[str, Any], idempotency_key: str
) -> tuple[int, str | None, Any]:
    response = _stock_client(raw_key).post(
        f"/api/v1/variants/{variant_id}/adjust/",
        body,
        format="json",
        HTTP_IDEMPOTENCY_KEY=idempotency_key,
    )
    return response.status_code, response.headers.get(REPLAYED_HEADER), response.json()


def _in_progress(status: int, body: Any) -> bool:
    return status == 409 and body["error"]["code"] == "idempotency_in_progress"


def test_one_idempotency_key_sent_by_five_threads_at_once_changes_stock_once(
    make_product, request
) -> None:
    # Given a till whose key may change stock, retrying one delivery from five threads
    [variant_id] = _variant_ids(("S-M", 5), make_product=make_product)
    _, raw_key = api_key_create(name="till-7", scopes=["stock:write"])
    body = {"delta": 3, "reason": "received", "note": "delivery 42"}

    # When the five identical requests arrive at once
    outcomes = race(
        [
            functools.partial(_post_adjust, raw_key, variant_id, body, "delivery-42")
            for _ in range(5)
        ]
    )

    # Then one made the change; each other one replayed its answer or was told to retry
    assert not _unexpected(outcomes)
    fresh = [o for o in outcomes if o[0] == 201 and o[1] is None]
    replayed = [o for o in outcomes if o[0] == 201 and o[1] == "true"]
    in_progress = [o for o in outcomes if _in_progress(o[0], o[2])]
    # Kept with the test's report, to see how the race went.
    request.node.user_properties.append(("fresh", len(fresh)))
    request.node.user_properties.append(("replayed", len(replayed)))
    request.node.user_properties.append(("in_progress", len(in_progress)))
    assert len(fresh) == 1, outcomes
    assert len(fresh) + len(replayed) + len(in_progress) == 5, outcomes
    [(_, _, answer)] = fresh
    assert all(replay == answer for _, _, replay in replayed)
    assert answer["variant"]["quantity"] == 8
    # and the stock changed once, with one movement and one stored key
    assert _quantities([variant_id]) == {variant_id: 8}
    ledger = _assert_ledger_holds([variant_id])[variant_id]
    assert [(m.reason, m.delta, m.note) for m in ledger[1:]] == [("received", 3, "delivery 42")]
    assert ledger[1].pk == answer["movement"]["id"]
    assert list(IdempotencyKey.objects.values_list("key", "status_code")) == [("delivery-42", 201)]


def test_a_duplicate_that_waits_too_long_is_told_to_retry_and_its_retry_replays(
    make_product, monkeypatch
) -> None:
    # Given a first request that takes a second to finish, and duplicates that wait 0.2 s
    [variant_id] = _variant_ids(("S-M", 5), make_product=make_product)
    _, raw_key = api_key_create(name="till-10", scopes=["stock:write"])
    body = {"delta": 1, "reason": "returned"}
    monkeypatch.setattr(idempotency, "IN_PROGRESS_WAIT", timedelta(milliseconds=200))
    adjust = stock_services.stock_adjust

    def slow_adjust(**kwargs: Any) -> StockMovement:
        movement = adjust(**kwargs)
        time.sleep(1)  # the effect is written, its transaction still open
        return movement

    monkeypatch.setattr(stock_services, "stock_adjust", slow_adjust)

    # When five identical requests arrive at once
    outcomes = race(
        [functools.partial(_post_adjust, raw_key, variant_id, body, "return-7") for _ in range(5)]
    )

    # Then the first makes the change and the four others are told to retry, not to give up
    assert not _unexpected(outcomes)
    [(_, _, answer)] = [o for o in outcomes if o[0] == 201]
    assert sum(_in_progress(status, reply) for status, _, reply in outcomes) == 4, outcomes
    # and a retry replays the answer of the first, changing nothing
    monkeypatch.setattr(stock_services, "stock_adjust", adjust)
    assert _post_adjust(raw_key, variant_id, body, "return-7") == (201, "true", answer)
    assert _quantities([variant_id]) == {variant_id: 6}
    ledger = _assert_ledger_holds([variant_id])[variant_id]
    assert [(m.reason, m.delta) for m in ledger[1:]] == [("returned", 1)]


def test_one_idempotency_key_with_five_different_bodies_at_once_applies_one_of_them(
    make_product,
) -> None:
    # Given five requests that wrongly share a key, each with another change
    [variant_id] = _variant_ids(("S-M", 5), make_product=make_product)
    _, raw_key = api_key_create(name="till-8", scopes=["stock:write"])
    bodies = [{"delta": n, "reason": "received"} for n in range(1, 6)]

    # When they arrive at once
    outcomes = race(
        [functools.partial(_post_adjust, raw_key, variant_id, b, "same-key") for b in bodies]
    )

    # Then exactly one applies; the others are told the key was used for another request
    # (or, had they waited too long, to retry)
    assert not _unexpected(outcomes)
    [(_, _, answer)] = [o for o in outcomes if o[0] == 201]
    reused = [
        o for o in outcomes if o[0] == 422 and o[2]["error"]["code"] == "idempotency_key_reused"
    ]
    in_progress = [o for o in outcomes if _in_progress(o[0], o[2])]
    assert len(reused) + len(in_progress) == 4, outcomes
    delta = answer["movement"]["delta"]
    assert _quantities([variant_id]) == {variant_id: 5 + delta}
    ledger = _assert_ledger_holds([variant_id])[variant_id]
    assert [(m.reason, m.delta) for m in ledger[1:]] == [("received", delta)]


def test_a_server_error_over_the_api_keeps_no_key_and_the_retry_applies_once(
    make_product, monkeypatch
) -> None:
    # Given a till's delivery, and a ledger that fails once the quantity is written
    [variant_id] = _variant_ids(("S-M", 5), make_product=make_product)
    _, raw_key = api_key_create(name="till-9", scopes=["stock:write"])
    body = {"delta": 2, "reason": "received"}
    before = _snapshot([variant_id])
    seen: dict[int, int] = {}
    _fail_bulk_create_after_the_update(monkeypatch, [variant_id], seen)

    # When the request fails halfway
    status, replayed, answer = _post_adjust(raw_key, variant_id, body, "delivery-43")

    # Then it is a 500, nothing changed and the key was not kept
    assert (status, replayed, answer["error"]["code"]) == (500, None, "server_error")
    assert seen == {variant_id: 7}
    assert _snapshot([variant_id]) == before
    assert not IdempotencyKey.objects.exists()

    # When the till retries with the same key once the ledger works again, then once more
    monkeypatch.undo()
    first = _post_adjust(raw_key, variant_id, body, "delivery-43")
    second = _post_adjust(raw_key, variant_id, body, "delivery-43")

    # Then the retry applies (it is no replay of the error), the next one replays it
    assert first[:2] == (201, None)
    assert second == (201, "true", first[2])
    assert _quantities([variant_id]) == {variant_id: 7}
    ledger = _assert_ledger_holds([variant_id])[variant_id]
    assert [(m.reason, m.delta) for m in ledger[1:]] == [("received", 2)]
