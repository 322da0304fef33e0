"""The staff's stock dashboard, linked from the admin's index."""

import datetime
import re

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog.models import Variant
from conftest import TEST_ACTOR
from orders.models import Order
from orders.services import ReturnRequest, order_return, order_transition
from stock.ledger import StockChange
from stock.locations import location_create
from stock.services import stock_adjust, stock_apply

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("admin-dashboard")
FIND = reverse("admin-find")


@pytest.fixture
def shop(make_product, place_order_for_dashboard):
    tee = make_product(name="Organic Tee", price="20.00", stock={"S-M": 10, "L-XL": 1})
    make_product(
        name="Merino Sweater",
        category="Sweaters",
        price="90.00",
        collection="SS25",
        stock={"One Size": 0},
    )
    place_order_for_dashboard(tee.variants.get(size="S-M"), 3)
    return tee


@pytest.fixture
def place_order_for_dashboard(db):
    from core.api.authentication import api_key_actor
    from core.api.services import api_key_create
    from orders.services import LineRequest, order_place

    api_key, _ = api_key_create(name="web-shop", scopes=["orders:write"])

    def place(*lines):
        """Lines as ``variant, quantity`` (one line) or ``(variant, quantity)`` pairs."""
        if lines and not isinstance(lines[0], tuple):
            lines = (lines,)
        return order_place(
            lines=[
                LineRequest(variant_id=variant.pk, quantity=quantity) for variant, quantity in lines
            ],
            actor=api_key_actor(api_key),
        )

    return place


def _kpi(html, name):
    return re.search(rf'data-kpi="{name}">([^<]+)<', html).group(1).strip()


def test_the_dashboard_shows_stock_sales_low_stock_and_movements(manager_web, shop):
    response = manager_web.get(DASHBOARD)
    assert response.status_code == 200
    html = response.content.decode()
    # 10 + 1 on hand: the 3 the order committed are still on the shelf, and in the value.
    assert _kpi(html, "units") == "11"
    assert _kpi(html, "value") == "220.00 EUR"
    assert _kpi(html, "low") == "2"  # L-XL at 1, the sweater sold out
    # The order is placed, not paid: no sale yet, one unpaid order.
    assert _kpi(html, "orders") == "0"
    assert _kpi(html, "net") == "0.00 EUR"
    assert _kpi(html, "unpaid") == "1"
    # Both bar charts, one bar per category and per collection.
    assert len(re.findall(r'class="bar" style="width: [0-9.]+%"', html)) == 2 + 2
    # Thirty columns per day chart; today's order is one of them.
    for chart in ("orders-per-day", "units-per-day"):
        svg = html.split(f'id="{chart}"')[1].split("</svg>")[0]
        assert svg.count('<rect class="column"') == 30
    # The low-stock rows link to their variants; the ledger's latest rows too.
    sold_out = Variant.objects.get(product__name="Merino Sweater")
    assert (
        reverse("admin:catalog_variant_change", args=[sold_out.pk])
        in html.split('id="low-stock"')[1]
    )
    movements = html.split('id="latest-movements"')[1]
    assert "Order placed (committed)" in movements
    assert "(+3 committed)" in movements


def _sales_row(html, period):
    """The figures of one row of the sales table, by name."""
    row = html.split('id="sales-summary"')[1].split(f'data-period="{period}"')[1].split("</tr>")[0]
    return dict(re.findall(r'data-figure="(\w+)">([^<]*)<', row))


def test_the_dashboards_sales_are_the_reports_figures(
    manager_web, key_client, make_product, place_order_for_dashboard
):
    tee = make_product(name="Tee", price="20.00", stock={"S-M": 20})
    sweater = make_product(name="Sweater", category="Sweaters", price="80.00", stock={"S-M": 5})
    tee_sm, sweater_sm = tee.variants.get(), sweater.variants.get()
    today = timezone.localdate()
    now = timezone.now()
    ten_days_ago = now - datetime.timedelta(days=10)

    def order(*lines, placed, paid=None, fulfil=False, cancel=False):
        placed_order = place_order_for_dashboard(*lines)
        actions = [
            ("pay", paid),
            ("fulfil", paid if fulfil else None),
            ("cancel", now if cancel else None),
        ]
        for action, moment in actions:
            if moment is not None:
                order_transition(order_id=placed_order.pk, action=action, actor=TEST_ACTOR)
        Order.objects.filter(pk=placed_order.pk).update(created_at=placed, paid_at=paid)
        return placed_order

    # Ten days ago: two sweaters and a tee sold; today one sweater comes back.
    returned = order(
        (sweater_sm, 2), (tee_sm, 1), placed=ten_days_ago, paid=ten_days_ago, fulfil=True
    )
    order_return(
        order_id=returned.pk,
        lines=[ReturnRequest(line_id=returned.lines.get(variant=sweater_sm).pk, quantity=1)],
        actor=TEST_ACTOR,
    )
    # Today: three tees sold, one paid tee cancelled (sold and refunded today), one order open,
    # one cancelled before payment.
    order((tee_sm, 3), placed=now, paid=now)
    order((tee_sm, 1), placed=now, paid=now, cancel=True)
    order((sweater_sm, 1), (tee_sm, 2), placed=now)
    order((tee_sm, 1), placed=now, cancel=True)

    html = manager_web.get(DASHBOARD).content.decode()
    report = (
        key_client("reports:read")
        .get("/api/v1/reports/sales/", {"date_from": today - datetime.timedelta(days=29)})
        .json()
    )
    week = (
        key_client("reports:read")
        .get("/api/v1/reports/sales/", {"date_from": today - datetime.timedelta(days=6)})
        .json()
    )

    def shown(figures):
        return {
            "orders": str(figures["orders"]),
            "units": str(figures["units"]),
            "gross": figures["gross"],
            "refunds": figures["refunds"],
            "net": figures["net"],
            "unpaid_orders": str(figures["unpaid"]["orders"]),
            "unpaid_value": figures["unpaid"]["value"],
        }

    assert _sales_row(html, 1) == shown(report["days"][-1])  # today
    assert _sales_row(html, 2) == shown(week["total"])
    assert _sales_row(html, 3) == shown(report["total"])
    # Worked out by hand: 180.00 + 60.00 + 20.00 sold, 80.00 + 20.00 given back.
    assert _sales_row(html, 3) == {
        "orders": "3",
        "units": "7",
        "gross": "260.00",
        "refunds": "100.00",
        "net": "160.00",
        "unpaid_orders": "1",
        "unpaid_value": "120.00",
    }
    assert _sales_row(html, 1)["net"] == "-20.00"
    assert _kpi(html, "orders") == "3"
    assert _kpi(html, "net") == "160.00 EUR"
    assert _kpi(html, "unpaid") == "1"
    # The charts count orders and units paid per day.
    units_chart = html.split('id="units-per-day"')[1].split("</svg>")[0]
    titles = re.findall(r"<title>([^<]*)</title>", units_chart)
    assert len(titles) == 30
    assert titles[-1].endswith(
        ": 2 orders paid, 4 units; gross 80.00, refunds 100.00, net -20.00 EUR"
    )


def test_the_dashboard_costs_the_same_queries_for_a_large_catalog(
    manager_web, make_product, django_assert_num_queries
):
    make_product(name="First", stock={"S-M": 1})
    with django_assert_num_queries(QUERIES):
        assert manager_web.get(DASHBOARD).status_code == 200
    for index in range(40):
        product = make_product(name=f"Product {index}", stock={"S-M": index % 3, "L-XL": 5})
        stock_apply(
            changes=[StockChange(variant_id=product.variants.get(size="L-XL").pk, delta=1)],
            reason="received",
            actor=TEST_ACTOR,
        )
    with django_assert_num_queries(QUERIES):
        assert manager_web.get(DASHBOARD).status_code == 200


# The session, the user, its permissions (2), the locations, two groupings of stock value, the
# low-stock list, the stock by location, the open transfers, the sales per day, the latest
# movements.
QUERIES = 12


def test_staff_who_may_not_see_orders_see_stock_only(login, shop):
    clerk = User.objects.create_user("viewer", password="pw", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_variant"))
    html = login(clerk).get(DASHBOARD).content.decode()
    assert 'data-kpi="value"' in html
    assert 'data-kpi="net"' not in html
    assert 'id="sales-summary"' not in html
    assert 'id="orders-per-day"' not in html


def test_who_may_open_the_dashboard(login, shop):
    assert Client().get(DASHBOARD).status_code == 302  # to the admin's login
    no_rights = User.objects.create_user("intern", password="pw", is_staff=True)
    assert login(no_rights).get(DASHBOARD).status_code == 403
    customer = User.objects.create_user("customer", password="pw")
    assert login(customer).get(DASHBOARD).status_code == 302


def test_the_index_links_the_dashboard_and_every_admin_page_has_the_finder(manager_web):
    index = manager_web.get(reverse("admin:index")).content.decode()
    assert f'href="{DASHBOARD}"' in index
    assert 'class="sku-finder"' in index
    products = manager_web.get(reverse("admin:catalog_product_changelist")).content.decode()
    assert f'action="{FIND}"' in products


@pytest.fixture
def two_places(shop):
    """MAIN as the shop has it (the tee's S-M: 10 on hand, 3 committed; L-XL: 1), and
    STORE-01 with 2 of the S-M, one since lost."""
    store = location_create(code="STORE-01", name="High Street", kind="store")
    small = shop.variants.get(size="S-M")
    stock_adjust(variant_id=small.pk, delta=2, reason="received", actor=TEST_ACTOR, location=store)
    stock_adjust(variant_id=small.pk, delta=-1, reason="lost", actor=TEST_ACTOR, location=store)
    return store


def test_the_dashboard_shows_the_stock_at_the_location_chosen(
    manager_web, two_places, django_assert_num_queries
):
    small = two_places.stock_levels.get().variant

    with django_assert_num_queries(QUERIES):
        response = manager_web.get(DASHBOARD, {"location": "STORE-01"})

    html = response.content.decode()
    assert response.context["where"]["location"].value() == "STORE-01"
    assert '<option value="STORE-01" selected>STORE-01 (High Street)</option>' in html
    assert _kpi(html, "units") == "1"
    assert _kpi(html, "value") == "20.00 EUR"
    # Running low there: the S-M's one unit (its threshold is 2); nothing else is there.
    low = html.split('id="low-stock"')[1].split("</table>")[0]
    assert re.findall(r'data-available="([^"]+)">(-?\d+)<', low) == [(small.sku, "1")]
    movements = html.split('id="latest-movements"')[1].split("</table>")[0]
    assert re.findall(r'<td class="location">([^<]*)</td>', movements) == ["STORE-01"] * 2
    assert f"?location__id__exact={two_places.pk}" in html


def test_the_dashboard_over_every_location_adds_them_up(manager_web, two_places):
    html = manager_web.get(DASHBOARD).content.decode()

    assert _kpi(html, "units") == "12"  # 10 + 1 at MAIN, 1 at STORE-01
    assert _kpi(html, "value") == "240.00 EUR"
    movements = html.split('id="latest-movements"')[1].split("</table>")[0]
    assert re.findall(r'<td class="location">([^<]*)</td>', movements) == [
        "STORE-01",
        "STORE-01",
        "MAIN",
        "MAIN",
        "MAIN",
    ]


def test_an_unknown_location_shows_its_error_and_every_location(manager_web, two_places):
    response = manager_web.get(DASHBOARD, {"location": "NOWHERE"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "Select a valid choice. NOWHERE is not one of the available choices." in html
    assert "Showing every location." in html
    assert _kpi(html, "units") == "12"
