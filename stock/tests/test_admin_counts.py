"""Count sessions in the admin: store staff start one, scan and type counts, preview the
corrections with their value, apply or cancel, all through ``stock.counts``; refusals come back
as messages and change nothing."""

import pytest
from django.contrib.auth.models import Group, User

from catalog.groups import STORE_STAFF_GROUP
from catalog.models import Variant
from stock.models import CountSession, CountStatus, StockMovement
from stock.services import stock_adjust
from stock.tests.location_support import everything, levels
from stock.tests.test_counts import BARCODE_L, BARCODE_S, CLERK, commit, sell

pytestmark = pytest.mark.django_db

LIST = "/admin/stock/countsession/"
ADD = f"{LIST}add/"


def change(session):
    return f"{LIST}{session.pk}/change/"


def preview(session):
    return f"{LIST}{session.pk}/preview/"


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def clerk(login):
    user = User.objects.create_user("clerk", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=STORE_STAFF_GROUP))
    return login(user)


@pytest.fixture
def tee(make_product, store):
    product = make_product(name="Tee", stock={"S-M": 0, "L-XL": 0})
    Variant.objects.filter(product=product, size="S-M").update(barcode=BARCODE_S)
    Variant.objects.filter(product=product, size="L-XL").update(barcode=BARCODE_L)
    small, large = product.variants.get(size="S-M"), product.variants.get(size="L-XL")
    for variant, units in ((small, 6), (large, 3)):
        stock_adjust(
            variant_id=variant.pk, delta=units, reason="received", actor=CLERK, location=store
        )
    return {"product": product, "small": small, "large": large}


def _start(clerk, **data):
    return clerk.post(ADD, {"location": "STORE-01", **data}, follow=True)


def test_store_staff_start_a_count_and_land_on_its_counting_page(clerk, tee, store, main):
    page = clerk.get(ADD)
    assert page.status_code == 200
    assert b"Zero the rest" in page.content

    response = _start(clerk, zero_uncounted="on", note="Saturday")

    session = CountSession.objects.get()
    assert (session.location, session.zero_uncounted, session.note) == (store, True, "Saturday")
    assert (session.actor_kind, session.actor) == ("user", "clerk")
    assert response.redirect_chain == [(change(session), 302)]
    assert messages_of(response) == [f"COUNT-{session.pk} started at STORE-01: count away."]
    assert b'name="code"' in response.content
    assert response.content.count(b'class="count-line"') == 2


def test_a_second_count_at_the_location_comes_back_as_a_message(clerk, tee):
    _start(clerk)

    response = _start(clerk)

    assert CountSession.objects.count() == 1
    [message] = messages_of(response)
    assert message.startswith("Nothing was started: A count session (COUNT-")


def test_scanning_adds_one_and_a_typed_count_sets_the_line(clerk, tee):
    small, large = tee["small"], tee["large"]
    _start(clerk)
    session = CountSession.objects.get()

    for _ in range(2):
        scanned = clerk.post(change(session), {"code": BARCODE_S}, follow=True)
    by_sku = clerk.post(change(session), {"code": large.sku.lower()}, follow=True)
    typed = clerk.post(change(session), {"variant": large.pk, "counted": "3"}, follow=True)

    assert messages_of(scanned) == [f"{small.sku}: 2 counted."]
    assert messages_of(by_sku) == [f"{large.sku}: 1 counted."]
    assert messages_of(typed) == [f"{large.sku}: 3 counted."]
    assert dict(session.lines.values_list("variant_id", "counted")) == {small.pk: 2, large.pk: 3}


def test_an_unknown_code_is_a_message_and_counts_nothing(clerk, tee):
    _start(clerk)
    session = CountSession.objects.get()

    response = clerk.post(change(session), {"code": "0000000000000"}, follow=True)

    assert messages_of(response) == ["Not counted: No variant with this barcode."]
    assert not session.lines.filter(counted__isnull=False).exists()


def test_the_preview_shows_every_correction_with_its_value_and_apply_writes_them(clerk, tee, store):
    small = tee["small"]
    _start(clerk)
    session = CountSession.objects.get()
    clerk.post(change(session), {"variant": small.pk, "counted": "4"})
    sell(small, 1, store)  # after the count: a sale, not a loss

    page = clerk.get(preview(session))

    assert page.status_code == 200
    content = page.content.decode()
    assert f'data-sku="{small.sku}"' in content
    assert "-59.80" in content
    assert "The 1 line(s) not counted are left alone." in content
    assert 'id="count-apply"' in content

    applied = clerk.post(f"{LIST}{session.pk}/apply/", follow=True)

    assert messages_of(applied) == [
        f"COUNT-{session.pk} applied: 1 correction(s), -2 units, -59.80 in value."
    ]
    assert levels()[(small.sku, "STORE-01")] == (3, 0)
    session.refresh_from_db()
    assert session.status == CountStatus.APPLIED
    # Over, the page shows what was done, and no more fields to count in.
    assert b'name="code"' not in applied.content
    assert b'id="count-corrections"' in applied.content


def test_applying_below_the_committed_units_is_refused_with_a_message(clerk, tee, store):
    small = tee["small"]
    commit(small, 5, store)
    _start(clerk)
    session = CountSession.objects.get()
    clerk.post(change(session), {"variant": small.pk, "counted": "2"})
    before = everything()

    page = clerk.get(preview(session))
    refused = clerk.post(f"{LIST}{session.pk}/apply/", follow=True)

    assert b"below the 5 committed" in page.content
    [message] = messages_of(refused)
    assert message.startswith("Nothing was applied: Some counts at STORE-01 are below")
    assert everything() == before


def test_cancelling_moves_nothing(clerk, tee):
    _start(clerk)
    session = CountSession.objects.get()
    clerk.post(change(session), {"code": BARCODE_S}, follow=True)
    movements = StockMovement.objects.count()

    response = clerk.post(f"{LIST}{session.pk}/cancel/", follow=True)

    assert messages_of(response) == [f"COUNT-{session.pk} cancelled; nothing moved."]
    session.refresh_from_db()
    assert session.status == CountStatus.CANCELLED
    assert StockMovement.objects.count() == movements
    assert clerk.get(f"{LIST}{session.pk}/cancel/").status_code == 405


@pytest.mark.parametrize("action", ["apply", "cancel", "preview"])
def test_a_session_that_does_not_exist_is_404_on_every_action(clerk, action):
    # A stale tab, or a session that never was: not a server error.
    request = clerk.get if action == "preview" else clerk.post
    assert request(f"{LIST}999/{action}/").status_code == 404


def test_the_list_of_counts_in_a_pinned_number_of_queries(
    clerk, tee, main, django_assert_num_queries
):
    _start(clerk)
    clerk.post(ADD, {"location": "MAIN"})

    # The session, the user, their permissions (two), the filter's locations, the counts (the
    # page's and the total), the page: however many sessions there are.
    with django_assert_num_queries(8):
        response = clerk.get(LIST)

    assert response.status_code == 200
    assert response.content.count(b"COUNT-") >= 2
    assert b"2 of 2" not in response.content  # nothing counted yet
    assert b"0 of 2" in response.content


def test_staff_without_the_stock_permission_cannot_count(login, tee):
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    web = login(viewer)

    assert web.get(ADD).status_code == 403
    assert web.post(ADD, {"location": "STORE-01"}).status_code == 403
    assert not CountSession.objects.exists()


def test_the_counting_page_reads_its_lines_in_a_pinned_number_of_queries(
    clerk, tee, make_product, store, django_assert_num_queries
):
    for n in range(5):  # more lines cost no more queries
        variant = make_product(name=f"Sock {n}", stock={"S-M": 0}).variants.get()
        stock_adjust(variant_id=variant.pk, delta=1, reason="received", actor=CLERK, location=store)
    _start(clerk)
    session = CountSession.objects.get()

    # The session, the user, their permissions (two), the session with its location and
    # product, its lines with their variants and products.
    with django_assert_num_queries(6):
        response = clerk.get(change(session))

    assert response.content.count(b'class="count-line"') == 7
