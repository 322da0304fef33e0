"""The admin's replenishment page (the suggestion, and a draft transfer made from it, through
the same service as the API) and what the stock dashboard shows of locations and transfers:
the stock by location and the open transfers."""

import re

import pytest
from django.contrib import admin
from django.urls import reverse

from core.actors import system_actor
from stock.models import Transfer, TransferStatus
from stock.services import stock_adjust, stock_level_settings_set
from stock.tests.location_support import levels
from stock.transfers import TransferLineRequest, transfer_create, transfer_ship

pytestmark = pytest.mark.django_db

ACTOR = system_actor("test")
PAGE = reverse("admin-replenishment")
DASHBOARD = reverse("admin-dashboard")


@pytest.fixture
def low_shop(make_product, main, store):
    """A tee at MAIN (S-M 10, L-XL 1); at STORE-01 S-M 1 (low: target 3) and L-XL 0 with a
    target of 6 (MAIN has 1 of it)."""
    tee = make_product(name="Tee", price="20.00", stock={"S-M": 10, "L-XL": 1})
    small, large = tee.variants.get(size="S-M"), tee.variants.get(size="L-XL")
    stock_adjust(variant_id=small.pk, delta=1, reason="received", actor=ACTOR, location=store)
    stock_level_settings_set(
        variant=large, location=store, low_stock_threshold=None, target=6, actor=ACTOR
    )
    return {"small": small, "large": large}


def _rows(html):
    """(SKU, suggested) of each line of the page's table."""
    return re.findall(r'data-suggested="([^"]+)"><strong>(\d+)</strong>', html)


def test_the_page_shows_the_suggestion(manager_web, low_shop):
    response = manager_web.get(PAGE, {"to": "STORE-01", "source": "MAIN"})
    assert response.status_code == 200
    html = response.content.decode()
    small, large = low_shop["small"], low_shop["large"]
    # S-M: 3 - 1 = 2; L-XL: 6 - 0, but MAIN has 1.
    assert _rows(html) == [(small.sku, "2"), (large.sku, "1")]
    assert "Create draft transfer (3 units)" in html
    # Every admin page links here from its shortcuts.
    index = manager_web.get(reverse("admin:index")).content.decode()
    assert f'<a href="{PAGE}">Replenishment</a>' in index


def test_the_page_costs_the_same_queries_however_many_lines(manager_web, make_product, main, store):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert manager_web.get(PAGE, {"to": "STORE-01", "source": "MAIN"}).status_code == 200
        return len(queries)

    make_product(name="Tee", stock={"S-M": 5})
    before = count()
    for n in range(4):
        product = make_product(name=f"Tee {n}", stock={"S-M": 5, "L-XL": 5})
        for variant in product.variants.all():
            stock_adjust(variant_id=variant.pk, delta=1, reason="received", actor=ACTOR,
                         location=store)  # fmt: skip
    assert count() == before


def test_without_a_choice_the_page_asks_for_one(manager_web, low_shop):
    html = manager_web.get(PAGE).content.decode()
    assert 'id="replenishment-choose"' in html
    assert 'id="replenishment-lines"' not in html


def test_the_same_location_twice_is_refused(manager_web, low_shop):
    html = manager_web.get(PAGE, {"to": "MAIN", "source": "MAIN"}).content.decode()
    assert "Replenish from another location than the one replenished." in html
    assert 'id="replenishment-lines"' not in html


def test_nothing_low_says_so(manager_web, low_shop, online):
    html = manager_web.get(PAGE, {"to": "WEB", "source": "MAIN"}).content.decode()
    assert "Nothing at WEB needs replenishing." in html
    assert 'id="replenishment-draft"' not in html


def test_the_button_drafts_the_transfer_through_the_service(manager_web, low_shop, manager):
    before = levels()
    response = manager_web.post(
        PAGE, {"to": "STORE-01", "source": "MAIN", "note": "For Saturday"}, follow=True
    )
    assert response.status_code == 200
    transfer = Transfer.objects.get()
    assert (transfer.status, transfer.note, transfer.created_by) == (
        TransferStatus.DRAFT,
        "For Saturday",
        manager.username,
    )
    small, large = low_shop["small"], low_shop["large"]
    assert sorted(transfer.lines.values_list("variant_id", "quantity")) == sorted(
        [(small.pk, 2), (large.pk, 1)]
    )
    assert levels() == before  # a draft moves nothing
    html = response.content.decode()
    assert f"Draft transfer {transfer.number} from MAIN to STORE-01: 3 units." in html
    if admin.site.is_registered(Transfer):
        assert response.redirect_chain[-1][0] == reverse(
            "admin:stock_transfer_change", args=[transfer.pk]
        )
    else:
        assert response.redirect_chain[-1][0] == f"{PAGE}?to=STORE-01&source=MAIN"


def test_with_nothing_to_send_no_transfer_is_drafted(manager_web, low_shop, online):
    response = manager_web.post(PAGE, {"to": "WEB", "source": "MAIN"}, follow=True)
    assert "No transfer was drafted: Nothing to replenish at WEB from MAIN" in (
        response.content.decode()
    )
    assert not Transfer.objects.exists()


def test_who_may_see_and_draft(login, low_shop, store_staff, django_user_model):
    from django.contrib.auth.models import Permission

    clerk = login(store_staff)  # Store staff change stock
    assert clerk.get(PAGE, {"to": "STORE-01", "source": "MAIN"}).status_code == 200
    assert clerk.post(PAGE, {"to": "STORE-01", "source": "MAIN"}).status_code == 302
    assert Transfer.objects.count() == 1
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_variant"))
    as_viewer = login(viewer)
    html = as_viewer.get(PAGE, {"to": "STORE-01", "source": "MAIN"}).content.decode()
    assert 'id="replenishment-lines"' in html
    assert 'id="replenishment-draft"' not in html
    assert as_viewer.post(PAGE, {"to": "STORE-01", "source": "MAIN"}).status_code == 403
    nobody = login(django_user_model.objects.create_user("plain", password="pw", is_staff=True))
    assert nobody.get(PAGE).status_code == 403
    assert Transfer.objects.count() == 1


# The dashboard


def _dashboard(client, **params):
    response = client.get(DASHBOARD, params)
    assert response.status_code == 200
    return response.content.decode()


def _figures(html, code):
    row = re.search(rf'<tr data-location="{code}"[^>]*>(.*?)</tr>', html, re.S)
    assert row, code
    return dict(re.findall(r'data-figure="(\w+)">([^<]*)<', row.group(1)))


def test_the_dashboard_shows_the_stock_and_its_value_by_location(
    manager_web, low_shop, main, store, online
):
    small = low_shop["small"]
    transfer = transfer_create(
        from_location=main,
        to_location=store,
        lines=[TransferLineRequest(variant_id=small.pk, quantity=4)],
        actor=ACTOR,
    )
    transfer_ship(transfer_id=transfer.pk, actor=ACTOR)
    html = _dashboard(manager_web)
    # MAIN: 10 - 4 + 1 = 7 units at 20.00; the shop: 1 on hand, 4 incoming; WEB: nothing.
    assert _figures(html, "MAIN") == {
        "units": "7",
        "committed": "0",
        "incoming": "0",
        "value": "140.00",
    }
    assert _figures(html, "STORE-01") == {
        "units": "1",
        "committed": "0",
        "incoming": "4",
        "value": "20.00",
    }
    assert _figures(html, "WEB")["units"] == "0"


def test_the_dashboard_lists_the_open_transfers(manager_web, low_shop, main, store, online):
    small = low_shop["small"]

    def draft(source, destination, units):
        return transfer_create(
            from_location=source,
            to_location=destination,
            lines=[TransferLineRequest(variant_id=small.pk, quantity=units)],
            actor=ACTOR,
        )

    shipped = draft(main, store, 2)
    transfer_ship(transfer_id=shipped.pk, actor=ACTOR)
    drafted = draft(main, online, 3)
    html = _dashboard(manager_web)
    assert re.findall(r'data-transfer="(TR-\w+)"', html) == [drafted.number, shipped.number]
    assert "shipped " in html
    assert "drafted " in html
    # At one location: those from or to it.
    at_shop = _dashboard(manager_web, location="STORE-01")
    assert re.findall(r'data-transfer="(TR-\w+)"', at_shop) == [shipped.number]
    assert f'<a href="{PAGE}">Replenish a location</a>' in html


def test_the_dashboard_says_when_no_transfer_is_open(manager_web, low_shop):
    assert "No transfer is drafted or on its way." in _dashboard(manager_web)


def test_running_low_at_a_location_shows_the_threshold_that_applies_there(
    manager_web, low_shop, store
):
    large = low_shop["large"]
    stock_level_settings_set(
        variant=large, location=store, low_stock_threshold=4, target=6, actor=ACTOR
    )
    html = _dashboard(manager_web, location="STORE-01")
    table = re.search(r'<table class="dashboard-table" id="low-stock">(.*?)</table>', html, re.S)
    row = re.search(rf"{large.sku}</a></td>(.*?)</tr>", table.group(1), re.S).group(1)
    assert re.findall(r'<td class="num">(\d+)</td>', row) == ["4"]
