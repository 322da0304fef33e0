"""The sales report: per day in the store's time zone, payments, refunds and unpaid orders
counted on the day of each event, every day present, in one query."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from conftest import TEST_ACTOR
from orders.models import Order, OrderReturn
from orders.services import ReturnRequest, order_return, order_transition
from reports.tests.api.support import SALES
from stock.ledger import StockChange
from stock.services import stock_apply

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def _berlin(text):
    """A moment given as the store's wall-clock time in Berlin."""
    return datetime.datetime.fromisoformat(text).replace(tzinfo=BERLIN)


def _order(place_order, *lines, placed, paid=None, fulfilled=None, cancelled=None):
    """An order taken through its lifecycle by the services, then its timestamps moved to the
    given moments (the services stamp the current time)."""
    order = place_order(*lines)
    for action, moment in (("pay", paid), ("fulfil", fulfilled), ("cancel", cancelled)):
        if moment is not None:
            order_transition(order_id=order.pk, action=action, actor=TEST_ACTOR)
    Order.objects.filter(pk=order.pk).update(
        created_at=placed, paid_at=paid, fulfilled_at=fulfilled, cancelled_at=cancelled
    )
    return order


def _return(order, variant, quantity, *, at):
    line = order.lines.get(variant=variant)
    recorded = order_return(
        order_id=order.pk,
        lines=[ReturnRequest(line_id=line.pk, quantity=quantity)],
        actor=TEST_ACTOR,
    )
    OrderReturn.objects.filter(pk=recorded.pk).update(created_at=at)
    return recorded


@pytest.fixture
def berlin(settings):
    settings.TIME_ZONE = "Europe/Berlin"


@pytest.fixture
def shop(catalog):
    """A tee at 20.00 and a sweater at 80.00, with enough stock for every test here."""
    tee, sweater = catalog
    tee_sm = tee.variants.get(size="S-M")
    sweater_sm = sweater.variants.get()
    stock_apply(
        changes=[
            StockChange(variant_id=tee_sm.pk, delta=100),
            StockChange(variant_id=sweater_sm.pk, delta=100),
        ],
        reason="received",
        actor=TEST_ACTOR,
    )
    return tee_sm, sweater_sm


def _sales(client, date_from, date_to):
    response = client.get(SALES, {"date_from": date_from, "date_to": date_to})
    assert response.status_code == 200, response.content
    return response.json()


def _day(orders, units, gross, refunds, unpaid=(0, 0, "0.00")):
    """The figures of one day (or of the total), as the API writes them."""
    net = Decimal(gross) - Decimal(refunds)
    return {
        "orders": orders,
        "units": units,
        "gross": gross,
        "refunds": refunds,
        "net": f"{net:.2f}",
        "unpaid": {"orders": unpaid[0], "units": unpaid[1], "value": unpaid[2]},
    }


def test_sales_count_payments_refunds_and_unpaid_orders_on_the_day_of_each_event(
    berlin, key_client, place_order, shop, django_assert_num_queries
):
    """Orders in every state over four days around Berlin's switch to summer time (29 March
    2026), with moments just after midnight in Berlin, which are still the day before in UTC."""
    tee, sweater = shop
    # Paid ten minutes into the first day (still 26 March in UTC): a sale of the 27th.
    _order(
        place_order, (tee, 1), placed=_berlin("2026-03-26 20:00"), paid=_berlin("2026-03-27 00:10")
    )
    # Placed late on the 27th, paid just after midnight: a sale of the 28th, not of the 27th.
    two_tees = _order(
        place_order,
        (tee, 2),
        placed=_berlin("2026-03-27 23:50"),
        paid=_berlin("2026-03-28 00:30"),
        fulfilled=_berlin("2026-03-28 09:00"),
    )
    # Paid on the 28th, cancelled on the 30th: sold on the 28th, refunded in full on the 30th.
    _order(
        place_order,
        (tee, 1),
        placed=_berlin("2026-03-28 10:00"),
        paid=_berlin("2026-03-28 10:05"),
        cancelled=_berlin("2026-03-30 11:00"),
    )
    # Cancelled before it was paid: never a sale, never a refund, no longer open.
    _order(
        place_order,
        (sweater, 1),
        placed=_berlin("2026-03-28 12:00"),
        cancelled=_berlin("2026-03-28 13:00"),
    )
    # Sold and partly returned on the same day (the day the clocks went forward).
    mixed = _order(
        place_order,
        (sweater, 1),
        (tee, 1),
        placed=_berlin("2026-03-29 12:00"),
        paid=_berlin("2026-03-29 12:01"),
        fulfilled=_berlin("2026-03-29 15:00"),
    )
    _return(mixed, sweater, 1, at=_berlin("2026-03-29 18:00"))
    # One of the two tees comes back a quarter of an hour into the 30th (the 29th in UTC).
    _return(two_tees, tee, 1, at=_berlin("2026-03-30 00:15"))
    # Placed in the range, paid after it: in no figure of the range.
    _order(
        place_order,
        (sweater, 2),
        placed=_berlin("2026-03-29 20:00"),
        paid=_berlin("2026-03-31 08:00"),
    )
    # Still unpaid: apart from the sales, on the day it was placed.
    _order(place_order, (sweater, 1), (tee, 2), placed=_berlin("2026-03-30 23:59"))
    # Outside the range on either side.
    _order(
        place_order, (tee, 1), placed=_berlin("2026-03-26 23:00"), paid=_berlin("2026-03-26 23:59")
    )
    _order(place_order, (tee, 1), placed=_berlin("2026-03-31 00:00"))

    client = key_client("reports:read")
    with django_assert_num_queries(2):  # the key, the report
        body = _sales(client, "2026-03-27", "2026-03-30")

    assert body["time_zone"] == "Europe/Berlin"
    days = {day.pop("date"): day for day in body["days"]}
    assert list(days) == ["2026-03-27", "2026-03-28", "2026-03-29", "2026-03-30"]
    assert days == {
        "2026-03-27": _day(1, 1, "20.00", "0.00"),
        "2026-03-28": _day(2, 3, "60.00", "0.00"),
        "2026-03-29": _day(1, 2, "100.00", "80.00"),
        "2026-03-30": _day(0, 0, "0.00", "40.00", unpaid=(1, 3, "120.00")),
    }
    assert body["total"] == _day(4, 6, "180.00", "120.00", unpaid=(1, 3, "120.00"))
    # Every figure of the total is the sum of the days'.
    for key in ("orders", "units"):
        assert body["total"][key] == sum(day[key] for day in days.values())
    for key in ("gross", "refunds", "net"):
        assert Decimal(body["total"][key]) == sum(Decimal(day[key]) for day in days.values())


def test_days_begin_at_midnight_in_the_stores_time_zone(settings, key_client, place_order, shop):
    tee, _ = shop
    # 00:30 in Berlin on the 28th is 23:30 UTC on the 27th.
    _order(
        place_order, (tee, 1), placed=_berlin("2026-03-27 23:00"), paid=_berlin("2026-03-28 00:30")
    )
    client = key_client("reports:read")

    settings.TIME_ZONE = "Europe/Berlin"
    berlin = _sales(client, "2026-03-27", "2026-03-28")
    settings.TIME_ZONE = "UTC"
    utc = _sales(client, "2026-03-27", "2026-03-28")

    assert [day["gross"] for day in berlin["days"]] == ["0.00", "20.00"]
    assert [day["gross"] for day in utc["days"]] == ["20.00", "0.00"]
    assert utc["time_zone"] == "UTC"


def test_a_past_days_sales_never_change_only_new_days_do(berlin, key_client, place_order, shop):
    """Later payments, returns and cancellations count on their own days; the day an order was
    sold keeps its figures. Only the unpaid figures follow the orders' current state."""
    tee, sweater = shop
    client = key_client("reports:read")
    sold = _order(
        place_order,
        (tee, 2),
        (sweater, 1),
        placed=_berlin("2026-05-04 09:00"),
        paid=_berlin("2026-05-04 09:05"),
        fulfilled=_berlin("2026-05-04 17:00"),
    )
    paid_then_cancelled = _order(
        place_order, (tee, 1), placed=_berlin("2026-05-04 10:00"), paid=_berlin("2026-05-04 10:01")
    )
    open_order = _order(place_order, (sweater, 1), placed=_berlin("2026-05-04 11:00"))
    before = _sales(client, "2026-05-04", "2026-05-06")

    _return(sold, tee, 1, at=_berlin("2026-05-05 12:00"))
    order_transition(order_id=paid_then_cancelled.pk, action="cancel", actor=TEST_ACTOR)
    Order.objects.filter(pk=paid_then_cancelled.pk).update(cancelled_at=_berlin("2026-05-06 08:00"))
    order_transition(order_id=open_order.pk, action="pay", actor=TEST_ACTOR)
    Order.objects.filter(pk=open_order.pk).update(paid_at=_berlin("2026-05-06 09:00"))
    after = _sales(client, "2026-05-04", "2026-05-06")

    first_before, first_after = before["days"][0], after["days"][0]
    assert first_before.pop("unpaid") == {"orders": 1, "units": 1, "value": "80.00"}
    assert first_after.pop("unpaid") == {"orders": 0, "units": 0, "value": "0.00"}
    expected = {"date": "2026-05-04", **_day(2, 4, "140.00", "0.00")}
    del expected["unpaid"]
    assert first_after == first_before == expected
    assert after["days"][1] == {"date": "2026-05-05", **_day(0, 0, "0.00", "20.00")}
    assert after["days"][2] == {"date": "2026-05-06", **_day(1, 1, "80.00", "20.00")}
    # Over the three days: sold 220.00, gave back 40.00.
    assert after["total"] == _day(3, 5, "220.00", "40.00")


def test_sales_per_day_with_every_day_present(
    key_client, place_order, shop, django_assert_num_queries
):
    tee, sweater = shop
    now = timezone.now()
    _order(place_order, (tee, 2), (sweater, 1), placed=now, paid=now)
    _order(place_order, (tee, 1), placed=now)  # unpaid
    long_ago = now - datetime.timedelta(days=40)  # outside the default 30 days
    _order(place_order, (sweater, 1), placed=long_ago, paid=long_ago)

    client = key_client("reports:read")
    with django_assert_num_queries(2):  # the key, the report
        response = client.get(SALES)
    assert response.status_code == 200
    body = response.json()
    today = timezone.localdate()
    assert body["date_to"] == today.isoformat()
    assert body["date_from"] == (today - datetime.timedelta(days=29)).isoformat()
    assert [day["date"] for day in body["days"]] == [
        (today - datetime.timedelta(days=offset)).isoformat() for offset in range(29, -1, -1)
    ]
    assert body["days"][-1] == {
        "date": today.isoformat(),
        **_day(1, 3, "120.00", "0.00", unpaid=(1, 1, "20.00")),
    }
    assert all(
        day == {"date": day["date"], **_day(0, 0, "0.00", "0.00")} for day in body["days"][:-1]
    )
    assert body["total"] == _day(1, 3, "120.00", "0.00", unpaid=(1, 1, "20.00"))

    wide = client.get(SALES, {"date_from": (today - datetime.timedelta(days=45)).isoformat()})
    assert wide.json()["total"]["orders"] == 2


def test_the_report_costs_one_query_whatever_the_range_and_the_orders(
    key_client, place_order, shop, django_assert_num_queries
):
    tee, sweater = shop
    client = key_client("reports:read")
    today = timezone.localdate()
    year_ago = (today - datetime.timedelta(days=365)).isoformat()
    with django_assert_num_queries(2):
        assert client.get(SALES, {"date_from": year_ago}).status_code == 200
    now = timezone.now()
    for days_ago in range(0, 300, 10):
        moment = now - datetime.timedelta(days=days_ago)
        order = _order(
            place_order, (tee, 1), (sweater, 1), placed=moment, paid=moment, fulfilled=moment
        )
        _return(order, tee, 1, at=moment)
        _order(place_order, (tee, 1), placed=moment)
    with django_assert_num_queries(2):
        body = client.get(SALES, {"date_from": year_ago}).json()
    assert body["total"] == _day(30, 60, "3000.00", "600.00", unpaid=(30, 30, "600.00"))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"date_from": "2026-02-30"}, "date_from"),
        ({"date_to": "yesterday"}, "date_to"),
        ({"date_from": "2026-05-02", "date_to": "2026-05-01"}, "date_from"),
        ({"date_from": "2024-01-01", "date_to": "2026-01-01"}, "date_from"),
        ({"from": "2026-01-01"}, "from"),
        ({"date_from": "9999-12-01", "date_to": "9999-12-31"}, "date_from"),
        ({"date_from": "0001-01-01", "date_to": "0001-01-02"}, "date_from"),
    ],
)
def test_sales_refuses_a_bad_range(key_client, query, field):
    response = key_client("reports:read").get(SALES, query)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["details"]


def test_the_schema_describes_the_sales_report_as_it_answers(reader, key_client, place_order, shop):
    """Every field the report answers is in the schema, required, with its type; money as
    decimal strings."""
    tee, _ = shop
    now = timezone.now()
    _order(place_order, (tee, 1), placed=now, paid=now)
    body = _sales(key_client("reports:read"), timezone.localdate(), timezone.localdate())
    schemas = reader.get("/api/schema/").json()["components"]["schemas"]

    def check(schema_name, value):
        schema = schemas[schema_name]
        assert set(schema["properties"]) == set(schema["required"]) == set(value)
        for name, field in schema["properties"].items():
            if "$ref" in field or "allOf" in field:
                continue
            if field["type"] == "string" and field.get("format") == "decimal":
                assert Decimal(value[name]).as_tuple().exponent == -2
            elif field["type"] == "integer":
                assert isinstance(value[name], int)

    check("Sales", body)
    check("SalesTotal", body["total"])
    check("SalesDay", body["days"][0])
    check("Unpaid", body["total"]["unpaid"])
    money = {"gross", "refunds", "net"}
    assert {
        name
        for name, field in schemas["SalesDay"]["properties"].items()
        if field.get("format") == "decimal"
    } == money


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_sales_report_reads_each_kind_of_event_by_an_index():
    import datetime

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reports.selectors import sales_by_day

    with CaptureQueriesContext(connection) as queries:
        sales_by_day(date_from=datetime.date(2026, 1, 1), date_to=datetime.date(2026, 1, 31))
    with connection.cursor() as cursor:
        # An empty table is cheapest to scan: ask which index the plan would use otherwise.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {queries.captured_queries[-1]['sql']}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    for index in (
        "orders_order_paid_idx",
        "orders_order_paid_cancel_idx",
        "orders_return_created_idx",
        "orders_order_status_idx",
    ):
        assert f"Index Scan using {index}" in plan, plan
