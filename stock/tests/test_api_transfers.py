"""Transfers over the API: drafted, shipped, received in parts, closed short, cancelled; the
field errors, the conflicts, who may act where, the list's filters and its queries."""

import pytest
from rest_framework.test import APIClient

from catalog.tests.support import answer_shape, documented_shape
from core.api.models import ApiKey
from core.api.tests.support import assert_error, assert_invalid
from stock.api.transfer_serializers import TransferOutputSerializer
from stock.locations import location_change_errors
from stock.models import StockLevel, StockMovement, Transfer
from stock.tests.location_support import everything

pytestmark = pytest.mark.django_db

TRANSFERS = "/api/v1/transfers/"


def _url(transfer_id, action=""):
    return f"{TRANSFERS}{transfer_id}/{action + '/' if action else ''}"


@pytest.fixture
def sizes(make_product):
    """A tee: 5 S-M and 3 L-XL at MAIN."""
    tee = make_product(name="Tee", stock={"S-M": 5, "L-XL": 3})
    return tee.variants.get(size="S-M"), tee.variants.get(size="L-XL")


@pytest.fixture
def draft(stock_client, sizes, main, store):
    small, large = sizes
    response = stock_client.post(
        TRANSFERS,
        {
            "from_location": "main",
            "to_location": "store-01",
            "lines": [{"variant": small.pk, "quantity": 2}, {"sku": large.sku, "quantity": 3}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def _level(variant, location):
    level = StockLevel.objects.filter(variant=variant, location=location).first()
    return (level.on_hand, level.committed, level.incoming) if level else (0, 0, 0)


def _post(client, transfer, action, body=None, **headers):
    return client.post(_url(transfer["id"], action), body or {}, format="json", **headers)


def test_a_transfer_is_drafted_with_its_lines_by_id_or_sku(stock_client, sizes, main, store):
    small, large = sizes
    response = stock_client.post(
        TRANSFERS,
        {
            "from_location": "main",
            "to_location": "store-01",
            "lines": [
                {"variant": small.pk, "quantity": 2},
                {"sku": large.sku.lower(), "quantity": 1},
            ],
            "note": " For the window ",
            "reference": "REQ-7",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    transfer = Transfer.objects.get()
    lines = list(transfer.lines.order_by("id"))
    body = response.json()
    assert response["Location"] == f"{TRANSFERS}{transfer.pk}/"
    assert body == {
        "id": transfer.pk,
        "number": transfer.number,
        "status": "draft",
        "from_location": "MAIN",
        "to_location": "STORE-01",
        "lines": [
            {
                "id": lines[0].pk,
                "variant": small.pk,
                "sku": small.sku,
                "quantity": 2,
                "quantity_received": 0,
                "quantity_lost": 0,
            },
            {
                "id": lines[1].pk,
                "variant": large.pk,
                "sku": large.sku,
                "quantity": 1,
                "quantity_received": 0,
                "quantity_lost": 0,
            },
        ],
        "shortfall": 0,
        "note": "For the window",
        "reference": "REQ-7",
        "created_at": body["created_at"],
        "shipped_at": None,
        "received_at": None,
        "cancelled_at": None,
    }
    assert body["created_at"].endswith("Z")
    assert _level(small, main) == (5, 0, 0)  # a draft moves nothing
    assert not StockMovement.objects.filter(reason__startswith="transfer").exists()
    assert stock_client.get(_url(transfer.pk)).json() == body
    assert answer_shape(body) == documented_shape(TransferOutputSerializer())


@pytest.mark.parametrize(
    ("change", "details"),
    [
        ({"to_location": "MAIN"}, {"to_location"}),
        ({"to_location": "NOPE"}, {"to_location"}),
        ({"from_location": "store-02"}, {"from_location"}),  # archived
        ({"from_location": ""}, {"from_location"}),
        ({"lines": []}, {"lines"}),
        ({"lines": [{"variant": 10**9, "quantity": 1}]}, {"lines"}),
        ({"lines": [{"sku": "NO-SUCH-SKU", "quantity": 1}]}, {"lines"}),
        ({"lines": [{"variant": "small", "quantity": 0}]}, {"lines"}),
        ({"lines": [{"variant": "small", "quantity": -2}]}, {"lines"}),
        ({"lines": [{"quantity": 1}]}, {"lines"}),
        ({"lines": [{"variant": "small", "sku": "x", "quantity": 1}]}, {"lines"}),
        ({"status": "in_transit"}, {"status"}),
    ],
)
def test_a_bad_transfer_is_refused_with_field_errors_and_nothing_is_made(
    stock_client, sizes, main, store, archived, change, details
):
    small, _ = sizes
    body = {
        "from_location": "MAIN",
        "to_location": "STORE-01",
        "lines": [{"variant": small.pk, "quantity": 1}],
    }
    body.update(change)
    for line in body["lines"]:
        if line.get("variant") == "small":
            line["variant"] = small.pk
    before = everything()

    assert_invalid(stock_client.post(TRANSFERS, body, format="json"), *details)
    assert not Transfer.objects.exists()
    assert everything() == before


def test_each_bad_line_is_named_at_its_place(stock_client, sizes, main, store):
    small, large = sizes
    response = stock_client.post(
        TRANSFERS,
        {
            "from_location": "MAIN",
            "to_location": "STORE-01",
            "lines": [
                {"variant": small.pk, "quantity": 1},
                {"sku": small.sku, "quantity": 2},  # the same variant again
                {"variant": 10**9, "quantity": 1},
                {"variant": large.pk, "quantity": 1},
            ],
        },
        format="json",
    )

    error = assert_invalid(response, "lines")
    assert error["details"]["lines"] == [
        {},
        {"sku": ["This variant is in the transfer more than once."]},
        {"variant": ["No such variant."]},
        {},
    ]


def test_the_same_location_twice_names_the_destination(stock_client, sizes, main):
    small, _ = sizes
    response = stock_client.post(
        TRANSFERS,
        {
            "from_location": "MAIN",
            "to_location": "main",
            "lines": [{"variant": small.pk, "quantity": 1}],
        },
        format="json",
    )
    error = assert_invalid(response, "to_location")
    assert error["details"]["to_location"] == [
        "A transfer goes to another location than the one it is from."
    ]


def test_ship_receive_in_parts_and_the_levels_on_the_way(stock_client, draft, sizes, main, store):
    small, large = sizes

    response = _post(stock_client, draft, "ship")

    assert response.status_code == 200, response.json()
    shipped = response.json()
    assert shipped["status"] == "in_transit"
    assert shipped["shipped_at"] is not None
    assert _level(small, main) == (3, 0, 0)
    assert _level(small, store) == (0, 0, 2)
    assert _level(large, store) == (0, 0, 3)
    small_line, large_line = (line["id"] for line in shipped["lines"])

    response = _post(
        stock_client,
        draft,
        "receive",
        {"lines": [{"line": small_line, "quantity": 2}, {"line": large_line, "quantity": 1}]},
    )

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "in_transit"
    assert [line["quantity_received"] for line in response.json()["lines"]] == [2, 1]
    assert _level(small, store) == (2, 0, 0)
    assert _level(large, store) == (1, 0, 2)

    response = _post(
        stock_client, draft, "receive", {"lines": [{"line": large_line, "quantity": 2}]}
    )

    assert response.json()["status"] == "received"
    assert response.json()["received_at"] is not None
    assert response.json()["shortfall"] == 0
    assert _level(large, store) == (3, 0, 0)
    moved = StockMovement.objects.filter(reference=draft["number"])
    assert sorted(moved.values_list("reason", "location__code", "delta", "incoming_delta")) == [
        ("transfer_in", "STORE-01", 1, -1),
        ("transfer_in", "STORE-01", 2, -2),
        ("transfer_in", "STORE-01", 2, -2),
        ("transfer_out", "MAIN", -3, 0),
        ("transfer_out", "MAIN", -2, 0),
        ("transfer_out", "STORE-01", 0, 2),
        ("transfer_out", "STORE-01", 0, 3),
    ]


def test_receiving_more_than_is_in_transit_is_refused_by_line(stock_client, draft, sizes, store):
    _post(stock_client, draft, "ship")
    small_line, large_line = (line["id"] for line in draft["lines"])
    before = everything()

    response = _post(
        stock_client,
        draft,
        "receive",
        {"lines": [{"line": small_line, "quantity": 1}, {"line": large_line, "quantity": 4}]},
    )

    error = assert_invalid(response, "lines")
    assert error["details"]["lines"] == [
        {},
        {"quantity": ["From 1 to 3: 3 shipped, 0 received already."]},
    ]
    assert everything() == before


@pytest.mark.parametrize(
    "lines",
    [[], [{"line": 10**9, "quantity": 1}], [{"line": "first", "quantity": 0}]],
)
def test_a_bad_receipt_is_refused(stock_client, draft, lines):
    _post(stock_client, draft, "ship")
    for line in lines:
        if line["line"] == "first":
            line["line"] = draft["lines"][0]["id"]
    before = everything()
    assert_invalid(_post(stock_client, draft, "receive", {"lines": lines}), "lines")
    assert everything() == before


def test_shipping_more_than_is_available_names_the_short_lines_and_moves_nothing(
    stock_client, draft, sizes, main, store, place_order
):
    small, _ = sizes
    place_order((small, 4))  # 4 of the 5 committed: 1 available
    before = everything()

    response = _post(stock_client, draft, "ship")

    error = assert_error(response, 409, "insufficient_stock")
    assert error["details"] == {
        "location": "MAIN",
        "lines": [
            {
                "line": draft["lines"][0]["id"],
                "variant": small.pk,
                "sku": small.sku,
                "location": "MAIN",
                "requested": 2,
                "available": 1,
            }
        ],
    }
    assert everything() == before
    assert Transfer.objects.get().status == "draft"


def test_closing_writes_off_what_never_arrived(stock_client, draft, sizes, store):
    small, large = sizes
    _post(stock_client, draft, "ship")
    small_line = draft["lines"][0]["id"]
    _post(stock_client, draft, "receive", {"lines": [{"line": small_line, "quantity": 1}]})

    response = _post(stock_client, draft, "close")

    assert response.status_code == 200, response.json()
    closed = response.json()
    assert closed["status"] == "received"
    assert closed["shortfall"] == 4
    assert [(line["quantity_received"], line["quantity_lost"]) for line in closed["lines"]] == [
        (1, 1),
        (0, 3),
    ]
    assert _level(small, store) == (1, 0, 0)
    assert _level(large, store) == (0, 0, 0)
    lost = StockMovement.objects.filter(reference=draft["number"], reason="lost")
    assert sorted(lost.values_list("delta", "incoming_delta")) == [(0, -3), (0, -1)]


def test_cancelling_a_draft_moves_nothing(stock_client, draft, sizes, main):
    before = everything()
    response = _post(stock_client, draft, "cancel")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancelled_at"] is not None
    assert everything() == before


def test_cancelling_in_transit_puts_the_units_back_at_the_source(
    stock_client, draft, sizes, main, store
):
    small, large = sizes
    _post(stock_client, draft, "ship")

    response = _post(stock_client, draft, "cancel")

    assert response.json()["status"] == "cancelled"
    assert _level(small, main) == (5, 0, 0)
    assert _level(large, main) == (3, 0, 0)
    assert _level(small, store) == (0, 0, 0)
    cancelled = StockMovement.objects.filter(reason="transfer_cancelled")
    assert sorted(cancelled.values_list("location__code", "delta", "incoming_delta")) == [
        ("MAIN", 2, 0),
        ("MAIN", 3, 0),
        ("STORE-01", 0, -3),
        ("STORE-01", 0, -2),
    ]


@pytest.mark.parametrize(
    ("steps", "action"),
    [
        (["ship"], "ship"),
        ([], "receive"),
        ([], "close"),
        (["cancel"], "ship"),
        (["cancel"], "cancel"),
        (["ship", "receive"], "cancel"),
        (["ship", "close"], "close"),
        (["ship", "close"], "cancel"),
    ],
)
def test_an_action_the_status_does_not_allow_is_invalid_transition(
    stock_client, draft, steps, action
):
    receipt = {"lines": [{"line": draft["lines"][0]["id"], "quantity": 1}]}
    for step in steps:
        response = _post(stock_client, draft, step, receipt if step == "receive" else None)
        assert response.status_code == 200, response.json()
    before = everything()

    response = _post(stock_client, draft, action, receipt if action == "receive" else None)

    error = assert_error(response, 409, "invalid_transition")
    assert error["details"]["action"] == action
    assert everything() == before


@pytest.mark.parametrize("action", ["", "ship", "receive", "close", "cancel"])
def test_an_unknown_transfer_is_404(stock_client, action, db):
    method = stock_client.get if not action else stock_client.post
    body = {"lines": [{"line": 1, "quantity": 1}]} if action == "receive" else {}
    assert_error(method(_url(10**9, action), body, format="json"), 404, "not_found")


@pytest.mark.parametrize("action", ["ship", "close", "cancel"])
def test_an_action_without_a_body_refuses_one(stock_client, draft, action):
    assert_invalid(_post(stock_client, draft, action, {"quantity": 1}), "quantity")


def test_a_key_without_stock_write_may_neither_read_nor_act(key_client, draft):
    reader = key_client("catalog:write", "orders:write")
    assert_error(reader.get(TRANSFERS), 403, "permission_denied")
    assert_error(_post(reader, draft, "ship"), 403, "permission_denied")
    assert Transfer.objects.get().status == "draft"


def test_a_key_bound_to_the_destination_receives_but_does_not_ship(
    draft, stock_client, main, store, make_key
):
    till = APIClient()
    till.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_key('stock:write')}")
    ApiKey.objects.order_by("-pk").first().locations.set([store])

    error = assert_error(_post(till, draft, "ship"), 403, "permission_denied")
    assert error["details"] == {"location": "MAIN", "allowed_locations": ["STORE-01"]}
    assert _post(stock_client, draft, "ship").status_code == 200
    line = draft["lines"][0]["id"]
    response = _post(till, draft, "receive", {"lines": [{"line": line, "quantity": 2}]})
    assert response.status_code == 200, response.json()


def test_a_key_bound_to_the_source_ships_but_does_not_receive(draft, stock_client, main, make_key):
    warehouse = APIClient()
    warehouse.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_key('stock:write')}")
    ApiKey.objects.order_by("-pk").first().locations.set([main])

    assert _post(warehouse, draft, "ship").status_code == 200
    line = draft["lines"][0]["id"]
    response = _post(warehouse, draft, "receive", {"lines": [{"line": line, "quantity": 2}]})
    error = assert_error(response, 403, "permission_denied")
    assert error["details"] == {"location": "STORE-01", "allowed_locations": ["MAIN"]}
    assert _post(warehouse, draft, "close").status_code == 403
    assert Transfer.objects.get().status == "in_transit"


def test_a_replayed_ship_answers_the_first_answer_and_ships_once(stock_client, draft, sizes, main):
    small, _ = sizes
    first = _post(stock_client, draft, "ship", HTTP_IDEMPOTENCY_KEY="ship-1")
    again = _post(stock_client, draft, "ship", HTTP_IDEMPOTENCY_KEY="ship-1")

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert _level(small, main) == (3, 0, 0)
    assert StockMovement.objects.filter(reason="transfer_out").count() == 4


def test_a_replayed_create_makes_one_transfer(stock_client, sizes, main, store):
    small, _ = sizes
    body = {
        "from_location": "MAIN",
        "to_location": "STORE-01",
        "lines": [{"variant": small.pk, "quantity": 1}],
    }
    first = stock_client.post(TRANSFERS, body, format="json", HTTP_IDEMPOTENCY_KEY="tr-1")
    again = stock_client.post(TRANSFERS, body, format="json", HTTP_IDEMPOTENCY_KEY="tr-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert Transfer.objects.count() == 1


@pytest.fixture
def three(stock_client, sizes, main, store, online):
    """Three transfers, oldest first: MAIN→STORE-01 shipped, MAIN→WEB draft, STORE-01→WEB
    draft (after the first is received)."""
    small, large = sizes

    def make(source, destination, variant):
        response = stock_client.post(
            TRANSFERS,
            {
                "from_location": source,
                "to_location": destination,
                "lines": [{"variant": variant.pk, "quantity": 1}],
            },
            format="json",
        )
        return response.json()

    first = make("MAIN", "STORE-01", small)
    _post(stock_client, first, "ship")
    second = make("MAIN", "WEB", large)
    third = make("STORE-01", "WEB", small)
    return first, second, third


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, [2, 1, 0]),
        ({"status": "draft"}, [2, 1]),
        ({"status": ["draft", "in_transit"]}, [2, 1, 0]),
        ({"status": "in_transit"}, [0]),
        ({"from_location": "main"}, [1, 0]),
        ({"to_location": "WEB"}, [2, 1]),
        ({"from_location": "STORE-01", "to_location": "web"}, [2]),
        ({"from_location": "NOPE"}, []),
    ],
)
def test_the_list_is_newest_first_and_filters(stock_client, three, query, expected):
    response = stock_client.get(TRANSFERS, query)
    assert response.status_code == 200, response.json()
    assert [row["id"] for row in response.json()["results"]] == [three[i]["id"] for i in expected]


def test_the_list_refuses_an_unknown_filter_or_status(stock_client, db):
    assert_invalid(stock_client.get(TRANSFERS, {"state": "draft"}), "state")
    assert_invalid(stock_client.get(TRANSFERS, {"status": "lost"}), "status")


def test_a_page_of_transfers_costs_the_same_queries_however_many(
    stock_client, three, sizes, django_assert_num_queries
):
    with django_assert_num_queries(3):  # the key, the page with its locations, the lines
        response = stock_client.get(TRANSFERS)
    assert len(response.json()["results"]) == 3
    assert all(
        answer_shape(row) == documented_shape(TransferOutputSerializer())
        for row in response.json()["results"]
    )
    with django_assert_num_queries(3):
        assert stock_client.get(TRANSFERS, {"page_size": 1}).json()["next"]


def test_staff_read_transfers_as_they_read_the_ledger_and_act_as_they_change_stock(
    draft, store_staff
):
    clerk = APIClient()
    clerk.force_login(store_staff)
    assert clerk.get(TRANSFERS).status_code == 200
    assert _post(clerk, draft, "ship").status_code == 200


def test_units_in_transit_show_as_incoming_at_the_destination_and_in_the_ledger(
    stock_client, draft, sizes
):
    small, _ = sizes
    _post(stock_client, draft, "ship")
    _post(
        stock_client,
        draft,
        "receive",
        {"lines": [{"line": draft["lines"][0]["id"], "quantity": 1}]},
    )

    levels = stock_client.get("/api/v1/stock-levels/", {"variant": small.pk}).json()["results"]
    assert [(r["location"], r["on_hand"], r["available"], r["incoming"]) for r in levels] == [
        ("MAIN", 3, 3, 0),
        ("STORE-01", 1, 1, 1),
    ]
    detail = stock_client.get(f"/api/v1/variants/{small.pk}/").json()
    assert detail["quantity"] == 4  # in transit: available nowhere
    assert [
        {key: level[key] for key in ("location", "on_hand", "committed", "available", "incoming")}
        for level in detail["levels"]
    ] == [
        {"location": "MAIN", "on_hand": 3, "committed": 0, "available": 3, "incoming": 0},
        {"location": "STORE-01", "on_hand": 1, "committed": 0, "available": 1, "incoming": 1},
    ]
    movements = stock_client.get(f"/api/v1/variants/{small.pk}/movements/").json()["results"]
    assert [
        (m["reason"], m["location"], m["on_hand_delta"], m["incoming_delta"], m["incoming_after"])
        for m in movements[:3]
    ] == [
        ("transfer_in", "STORE-01", 1, -1, 1),
        ("transfer_out", "STORE-01", 0, 2, 2),
        ("transfer_out", "MAIN", -2, 0, 0),
    ]
    assert all(m["reference"] == draft["number"] for m in movements[:3])


def _archive(client, location):
    return client.patch(f"/api/v1/locations/{location.pk}/", {"is_active": False}, format="json")


def test_a_location_with_a_draft_or_units_on_their_way_is_not_archived(
    stock_client, manager_client, draft, store
):
    # A draft to it: refused, naming the transfer
    error = assert_error(_archive(manager_client, store), 409, "protected")
    assert error["details"] == {
        "location": "STORE-01",
        "incoming": 0,
        "transfers": [draft["number"]],
    }
    assert error["message"] == (
        f"STORE-01 cannot be archived: transfers from or to it are not done yet "
        f"({draft['number']}); an archived location takes no stock. Ship and receive, close or "
        "cancel them first."
    )
    assert location_change_errors(store, is_active=False, is_default=False) == {
        "is_active": error["message"]
    }

    # Shipped: its 5 units are on their way there
    _post(stock_client, draft, "ship")
    error = assert_error(_archive(manager_client, store), 409, "protected")
    assert error["details"] == {
        "location": "STORE-01",
        "incoming": 5,
        "transfers": [draft["number"]],
    }
    assert "5 unit(s) are on their way to it" in error["message"]
    store.refresh_from_db()
    assert store.is_active

    # Cancelled: nothing on the way, nothing there; it may be archived
    _post(stock_client, draft, "cancel")
    response = _archive(manager_client, store)
    assert response.status_code == 200, response.json()
    assert response.json()["is_active"] is False


def test_the_source_of_a_draft_is_not_archived_either(
    stock_client, manager_client, sizes, store, online
):
    small, _ = sizes
    response = stock_client.post(
        TRANSFERS,
        {
            "from_location": "WEB",
            "to_location": "STORE-01",
            "lines": [{"variant": small.pk, "quantity": 1}],
        },
        format="json",
    )
    number = response.json()["number"]
    error = assert_error(_archive(manager_client, online), 409, "protected")
    assert error["details"] == {"location": "WEB", "incoming": 0, "transfers": [number]}
    _post(stock_client, response.json(), "cancel")
    assert _archive(manager_client, online).status_code == 200
