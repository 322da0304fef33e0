"""Transfers in the admin: listed; drafted on the add page (pre-filled from its address); shipped,
received (typed in or scanned), closed short and cancelled from the transfer's page through the
transfer services; a refusal is a message and changes nothing; a packing list to print. Staff
need the transfer's view, add and change permissions, which both staff groups hold."""

from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.http import QueryDict
from django.test import Client
from django.urls import reverse

from catalog.groups import MANAGER_GROUP, STORE_STAFF_GROUP
from core.actors import Actor
from stock import services as stock_services
from stock.admin.transfers import initial_from_query, transfer_add_url
from stock.exceptions import InvalidTransferLines
from stock.models import (
    Location,
    StockLevel,
    StockMovement,
    Transfer,
    TransferLine,
    TransferStatus,
)
from stock.transfers import (
    ReceiptLine,
    TransferLineRequest,
    transfer_create,
    transfer_receive,
    transfer_ship,
)

pytestmark = pytest.mark.django_db

CLERK = Actor(kind="system", name="clerk")
TRANSFERS = reverse("admin:stock_transfer_changelist")
TRANSFER_ADD = reverse("admin:stock_transfer_add")


@pytest.fixture
def sizes(make_product):
    tee = make_product(name="Tee", stock={"S-M": 5, "L-XL": 3})
    return tee.variants.get(size="S-M"), tee.variants.get(size="L-XL")


@pytest.fixture
def clerk_web(login: Callable[[User], Client], store_staff: User) -> Client:
    return login(store_staff)


def _user(*codenames: str) -> User:
    user = User.objects.create_user(username="limited", password="pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="stock", codename__in=codenames)
    )
    return user


def _draft(main: Location, store: Location, *lines: tuple[Any, int], **fields: str) -> Transfer:
    return transfer_create(
        from_location=main,
        to_location=store,
        lines=[TransferLineRequest(variant_id=v.pk, quantity=q) for v, q in lines],
        actor=CLERK,
        **fields,
    )


def _shipped(main: Location, store: Location, *lines: tuple[Any, int]) -> Transfer:
    transfer = _draft(main, store, *lines)
    return transfer_ship(transfer_id=transfer.pk, actor=CLERK)


def _url(name: str, transfer: Transfer) -> str:
    return reverse(f"admin:stock_transfer_{name}", args=[transfer.pk])


def _messages(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def _level(variant, location) -> tuple[int, int, int]:
    level = StockLevel.objects.filter(variant=variant, location=location).first()
    return (level.on_hand, level.committed, level.incoming) if level else (0, 0, 0)


def _state() -> dict[str, Any]:
    """Every level (incoming included), transfer and line, and the size of the ledger: what a
    refusal must leave as it was."""
    return {
        "levels": sorted(
            StockLevel.objects.values_list(
                "variant__sku", "location__code", "on_hand", "committed", "incoming"
            )
        ),
        "transfers": sorted(Transfer.objects.values_list("number", "status", "updated_at")),
        "lines": sorted(
            TransferLine.objects.values_list("pk", "quantity_received", "quantity_lost")
        ),
        "movements": StockMovement.objects.count(),
    }


# The list.


def test_the_list_shows_the_transfers_newest_first(superuser_web, sizes, main, store):
    small, large = sizes
    older = _draft(main, store, (small, 2), (large, 3))
    newer = _shipped(main, store, (small, 1))

    response = superuser_web.get(TRANSFERS)

    assert response.status_code == 200
    changelist = response.context["cl"]
    assert changelist.list_display == [
        "number",
        "status_badge",
        "from_code",
        "to_code",
        "lines_and_units",
        "created",
        "shipped",
        "received",
    ]
    rows = list(changelist.result_list)
    assert [row.number for row in rows] == [newer.number, older.number]
    content = response.content.decode()
    assert f'<a href="{_url("change", older)}">{older.number}</a>' in content
    assert "2 / 5" in content  # two lines, five units
    assert "1 / 1" in content
    assert '<span class="transfer-status status-in_transit">In transit</span>' in content
    assert '<span class="transfer-status status-draft">Draft</span>' in content
    assert [changelist.model_admin.shipped(row) for row in rows][1] == "-"  # the draft


def test_the_list_filters_by_status_and_location_and_finds_a_number_or_a_sku(
    superuser_web, sizes, main, store, online
):
    small, large = sizes
    draft = _draft(main, store, (small, 1))
    shipped = _shipped(main, online, (large, 1))

    def numbers(**query: Any) -> list[str]:
        return [t.number for t in superuser_web.get(TRANSFERS, query).context["cl"].result_list]

    assert numbers(status__exact="draft") == [draft.number]
    assert numbers(status__exact="in_transit") == [shipped.number]
    assert numbers(to_location__id__exact=online.pk) == [shipped.number]
    assert numbers(from_location__id__exact=main.pk) == [shipped.number, draft.number]
    assert numbers(q=draft.number) == [draft.number]
    assert numbers(q=large.sku) == [shipped.number]
    assert numbers(q=small.sku.lower()) == [draft.number]


def test_the_list_takes_the_same_queries_however_many_transfers(
    superuser_web, sizes, main, store, django_assert_num_queries
):
    small, large = sizes
    _draft(main, store, (small, 1), (large, 1))
    superuser_web.get(TRANSFERS)  # the session and the content types are cached
    with django_assert_num_queries(7) as few:
        superuser_web.get(TRANSFERS)
    for _ in range(4):
        _draft(main, store, (small, 1), (large, 2))
    with django_assert_num_queries(len(few.captured_queries)):
        response = superuser_web.get(TRANSFERS)
    assert len(response.context["cl"].result_list) == 5


# Permissions.


def test_both_staff_groups_hold_the_transfer_permissions(manager, store_staff):
    for user in (manager, store_staff):
        assert user.has_perms(
            ["stock.view_transfer", "stock.add_transfer", "stock.change_transfer"]
        ), user.groups.get().name
        assert not user.has_perm("stock.delete_transfer")
    assert {MANAGER_GROUP, STORE_STAFF_GROUP} == {
        user.groups.get().name for user in (manager, store_staff)
    }


def test_staff_without_the_permissions_see_no_transfers(login, sizes, main, store):
    transfer = _draft(main, store, (sizes[0], 1))
    web = login(User.objects.create_user(username="nobody", password="pw", is_staff=True))

    for url in (
        TRANSFERS,
        TRANSFER_ADD,
        _url("change", transfer),
        _url("packing_list", transfer),
        _url("receive", transfer),
        _url("close", transfer),
        _url("cancel", transfer),
    ):
        assert web.get(url).status_code == 403, url
    assert web.post(_url("ship", transfer)).status_code == 403
    assert Transfer.objects.get().status == TransferStatus.DRAFT


def test_the_view_permission_shows_a_transfer_without_its_buttons(login, sizes, main, store):
    transfer = _draft(main, store, (sizes[0], 1))
    web = login(_user("view_transfer"))

    page = web.get(_url("change", transfer))
    assert page.status_code == 200
    assert not any(page.context[name] for name in ("can_ship", "can_cancel"))
    assert _url("ship", transfer) not in page.content.decode()
    assert web.get(_url("packing_list", transfer)).status_code == 200
    assert web.get(TRANSFER_ADD).status_code == 403
    for name in ("ship", "close", "cancel"):
        assert web.post(_url(name, transfer), {"post": "yes"}).status_code == 403
    assert web.get(_url("receive", transfer)).status_code == 403
    assert Transfer.objects.get().status == TransferStatus.DRAFT


def test_nobody_deletes_a_transfer(superuser_web, sizes, main, store):
    transfer = _draft(main, store, (sizes[0], 1))

    assert superuser_web.get(_url("delete", transfer)).status_code == 403
    assert superuser_web.get(TRANSFERS).context["action_form"] is None  # no bulk delete


# The add page.


def test_the_add_page_is_filled_in_from_its_address(clerk_web, sizes, main, store):
    small, large = sizes
    url = transfer_add_url(
        from_code="main", to_code=store.code, lines=[(small.sku, 3), (large.sku.lower(), 1)]
    )

    response = clerk_web.get(url)

    assert response.status_code == 200
    form, formset = response.context["form"], response.context["formset"]
    assert form["from_location"].value() == "MAIN"
    assert form["to_location"].value() == "STORE-01"
    assert [(f["sku"].value(), f["quantity"].value()) for f in formset.forms[:3]] == [
        (small.sku, 3),
        (large.sku, 1),
        (None, None),
    ]
    content = response.content.decode()
    assert f'value="{small.sku}"' in content
    assert '<option value="STORE-01" selected>' in content


def test_an_address_that_does_not_parse_leaves_the_rest_to_fill_in():
    transfer, lines = initial_from_query(
        QueryDict("from=&to=store-01&lines=TEE-1:x,,TEE-2,TEE-3:2&note= hello ")
    )

    assert transfer == {"to_location": "STORE-01", "note": "hello"}
    assert lines == [{"sku": "TEE-1"}, {"sku": "TEE-2"}, {"sku": "TEE-3", "quantity": 2}]


def _add_form(lines: list[tuple[str, str]], **fields: str) -> dict[str, str]:
    data = {
        "transfer-from_location": "MAIN",
        "transfer-to_location": "STORE-01",
        "transfer-note": "",
        "transfer-reference": "",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "500",
        **fields,
    }
    for index, (sku, quantity) in enumerate(lines):
        data[f"lines-{index}-sku"] = sku
        data[f"lines-{index}-quantity"] = quantity
    return data


def test_the_add_page_makes_a_draft_through_the_service(clerk_web, store_staff, sizes, main, store):
    small, large = sizes
    before = _state()

    response = clerk_web.post(
        TRANSFER_ADD,
        _add_form(
            [(small.sku.lower(), "2"), ("", ""), (large.sku, "3")],
            **{"transfer-note": "For Saturday", "transfer-reference": "REQ-7"},
        ),
    )

    transfer = Transfer.objects.get()
    assert response.status_code == 302
    assert response.url == _url("change", transfer)
    assert (transfer.status, transfer.from_location, transfer.to_location) == (
        TransferStatus.DRAFT,
        main,
        store,
    )
    assert (transfer.note, transfer.reference, transfer.created_by, transfer.user) == (
        "For Saturday",
        "REQ-7",
        "clerk",
        store_staff,
    )
    assert list(transfer.lines.values_list("variant", "quantity")) == [
        (small.pk, 2),
        (large.pk, 3),
    ]
    assert _messages(response) == [
        (
            "success",
            f"Draft {transfer.number} made: 2 line(s), 5 unit(s) from MAIN to STORE-01. "
            "Nothing moves until it ships.",
        )
    ]
    after = _state()
    assert (after["levels"], after["movements"]) == (before["levels"], before["movements"])


@pytest.mark.parametrize(
    ("lines", "fields", "errors"),
    [
        (
            [("TEE-NOPE", "1"), ("{small}", "1"), ("{small}", "2")],
            {},
            {
                0: {"sku": ["No such variant."]},
                2: {"sku": ["This variant is in the transfer more than once."]},
            },
        ),
        (
            [("{small}", "0")],
            {},
            {0: {"quantity": ["Ensure this value is greater than or equal to 1."]}},
        ),
        ([("{small}", "")], {}, {0: {"quantity": ["How many units?"]}}),
        ([("", "2")], {}, {0: {"sku": ["Which variant? Type or scan its SKU."]}}),
    ],
)
def test_bad_lines_are_shown_on_their_rows_and_nothing_is_made(
    clerk_web, sizes, main, store, lines, fields, errors
):
    small, _ = sizes
    posted = [(sku.format(small=small.sku), quantity) for sku, quantity in lines]

    response = clerk_web.post(TRANSFER_ADD, _add_form(posted, **fields))

    assert response.status_code == 200
    formset = response.context["formset"]
    assert {
        index: dict(form.errors) for index, form in enumerate(formset.forms) if form.errors
    } == errors
    assert "Nothing was made" in response.content.decode()
    assert not Transfer.objects.exists()


def test_a_transfer_to_where_it_comes_from_or_without_lines_is_refused(
    clerk_web, sizes, main, store, archived
):
    small, _ = sizes

    same = clerk_web.post(
        TRANSFER_ADD, _add_form([(small.sku, "1")], **{"transfer-to_location": "MAIN"})
    )
    empty = clerk_web.post(TRANSFER_ADD, _add_form([("", "")]))
    closed = clerk_web.post(
        TRANSFER_ADD, _add_form([(small.sku, "1")], **{"transfer-to_location": archived.code})
    )

    assert same.context["form"].errors == {
        "to_location": ["A transfer goes to another location than the one it is from."]
    }
    assert empty.context["formset"].non_form_errors() == [
        "A transfer needs at least one line: a SKU and a quantity."
    ]
    assert list(closed.context["form"].errors) == ["to_location"]  # archived: not a choice
    assert not Transfer.objects.exists()


# The transfer's page.


def test_a_drafts_page_offers_ship_and_cancel(
    clerk_web, sizes, main, store, django_assert_num_queries
):
    small, large = sizes
    transfer = _draft(main, store, (small, 2), (large, 3), note="Window", reference="REQ-1")
    clerk_web.get(_url("change", transfer))

    # The session, the user, the transfer, its lines with their variants, the permissions.
    with django_assert_num_queries(6):
        response = clerk_web.get(_url("change", transfer))

    assert response.status_code == 200
    context = response.context
    assert (
        context["can_ship"],
        context["can_receive"],
        context["can_close"],
        context["can_cancel"],
    ) == (
        True,
        False,
        False,
        True,
    )
    content = response.content.decode()
    for text in (
        transfer.number,
        "Draft",
        "MAIN",
        "STORE-01",
        "Window",
        "REQ-1",
        small.sku,
        large.sku,
    ):
        assert text in content
    assert f'action="{_url("ship", transfer)}"' in content
    assert _url("cancel", transfer) in content
    assert _url("packing_list", transfer) in content
    assert "In transit</th>" not in content  # nothing shipped: no receipt columns


def test_a_transfer_in_transit_shows_what_arrived_and_offers_receive_close_cancel(
    clerk_web, sizes, main, store
):
    small, large = sizes
    transfer = _shipped(main, store, (small, 2), (large, 3))

    fresh = clerk_web.get(_url("change", transfer)).context
    transfer_receive(
        transfer_id=transfer.pk,
        lines=[ReceiptLine(line_id=transfer.lines.get(variant=small).pk, quantity=1)],
        actor=CLERK,
    )
    partly = clerk_web.get(_url("change", transfer))

    assert (fresh["can_receive"], fresh["can_close"], fresh["can_cancel"]) == (True, True, True)
    context = partly.context
    assert (context["can_ship"], context["can_receive"], context["can_close"]) == (
        False,
        True,
        True,
    )
    assert context["can_cancel"] is False  # units arrived: close it instead
    assert [
        (line.quantity, line.quantity_received, line.quantity_lost, line.in_transit)
        for line in context["lines"]
    ] == [(2, 1, 0, 1), (3, 0, 0, 3)]
    assert (context["totals"].received, context["totals"].in_transit) == (1, 4)


def test_an_unknown_transfer_is_not_found(superuser_web):
    for name in ("change", "receive", "close", "cancel", "packing_list"):
        response = superuser_web.get(reverse(f"admin:stock_transfer_{name}", args=[999]))
        assert response.status_code == 404, name
    assert superuser_web.get("/admin/stock/transfer/nope/change/").status_code == 404


# Ship.


def test_ship_takes_the_lines_from_the_source(clerk_web, sizes, main, store):
    small, large = sizes
    transfer = _draft(main, store, (small, 2), (large, 3))

    response = clerk_web.post(_url("ship", transfer))

    assert response.url == _url("change", transfer)
    assert Transfer.objects.get().status == TransferStatus.IN_TRANSIT
    assert (_level(small, main), _level(small, store)) == ((3, 0, 0), (0, 0, 2))
    assert (_level(large, main), _level(large, store)) == ((0, 0, 0), (0, 0, 3))
    assert _messages(response) == [
        (
            "success",
            f"{transfer.number} shipped: its units left MAIN and are in transit to STORE-01.",
        )
    ]


def test_ship_short_of_stock_names_the_short_lines_and_changes_nothing(
    clerk_web, sizes, main, store
):
    small, large = sizes
    transfer = _draft(main, store, (small, 9), (large, 3))
    stock_services.stock_adjust(
        variant_id=large.pk, delta=-1, reason="damaged", actor=CLERK, location=main
    )
    before = _state()

    response = clerk_web.post(_url("ship", transfer))

    assert response.status_code == 302
    assert _state() == before
    assert _messages(response) == [
        (
            "error",
            f"Nothing was changed: Not enough stock available at MAIN to ship {transfer.number}; "
            f"nothing was shipped. Short: {small.sku} (9 asked, 5 available), "
            f"{large.sku} (3 asked, 2 available).",
        )
    ]


def test_shipping_twice_is_refused_and_a_get_ships_nothing(clerk_web, sizes, main, store):
    small, _ = sizes
    transfer = _draft(main, store, (small, 1))

    clerk_web.get(_url("ship", transfer))
    assert Transfer.objects.get().status == TransferStatus.DRAFT
    clerk_web.post(_url("ship", transfer))
    before = _state()
    again = clerk_web.post(_url("ship", transfer))

    assert _state() == before
    assert _messages(again)[-1] == (
        "error",
        f"Nothing was changed: Transfer {transfer.number} is in transit: it cannot ship.",
    )


# Receive.


def _receipt(transfer: Transfer, **quantities: int | str) -> dict[str, str]:
    """The receive form: quantities by SKU."""
    lines = {line.variant.sku: line.pk for line in transfer.lines.select_related("variant")}
    return {f"line_{lines[sku]}": str(units) for sku, units in quantities.items()}


def test_the_receive_form_starts_with_what_is_in_transit(
    clerk_web, sizes, main, store, django_assert_num_queries
):
    small, large = sizes
    transfer = _shipped(main, store, (small, 2), (large, 3))
    transfer_receive(
        transfer_id=transfer.pk,
        lines=[ReceiptLine(line_id=transfer.lines.get(variant=large).pk, quantity=3)],
        actor=CLERK,
    )
    clerk_web.get(_url("receive", transfer))

    with django_assert_num_queries(6):
        response = clerk_web.get(_url("receive", transfer))

    assert response.status_code == 200
    form = response.context["form"]
    assert [(line.variant.sku, form[form.field_name(line)].value()) for line in form.lines] == [
        (small.sku, 2)  # the large size arrived in full: no row
    ]
    content = response.content.decode()
    assert "data-scan-field" in content
    assert 'src="/static/stock/transfers.js"' in content


def test_receiving_part_of_a_transfer_leaves_the_rest_in_transit(clerk_web, sizes, main, store):
    small, large = sizes
    transfer = _shipped(main, store, (small, 2), (large, 3))

    response = clerk_web.post(
        _url("receive", transfer), {**_receipt(transfer, **{small.sku: 2, large.sku: 1})}
    )

    assert response.status_code == 302
    assert Transfer.objects.get().status == TransferStatus.IN_TRANSIT
    assert (_level(small, store), _level(large, store)) == ((2, 0, 0), (1, 0, 2))
    assert _messages(response) == [
        (
            "success",
            f"Received 3 unit(s) of {transfer.number} at STORE-01; the rest is still in transit.",
        )
    ]


def test_the_same_receipt_submitted_twice_is_booked_once(clerk_web, sizes, main, store):
    # A double click: both posts carry what the form showed (nothing received yet).
    small, large = sizes
    transfer = _shipped(main, store, (small, 2), (large, 3))
    shown = clerk_web.get(_url("receive", transfer)).context["form"]
    assert 'name="received_before" value="0"' in str(shown["received_before"])
    body = {**_receipt(transfer, **{small.sku: 1, large.sku: 0}), "received_before": "0"}

    first = clerk_web.post(_url("receive", transfer), body)
    assert _messages(first)[0][0] == "success"
    again = clerk_web.post(_url("receive", transfer), body)

    # (the first answer's message, not shown yet, comes first)
    assert _messages(again)[-1] == (
        "error",
        f"Nothing was received: 1 unit(s) of {transfer.number} were received since you "
        "read it; nothing was received. Look at the transfer again.",
    )
    assert _level(small, store) == (1, 0, 1)


def test_receiving_every_unit_receives_the_transfer(clerk_web, sizes, main, store):
    small, large = sizes
    transfer = _shipped(main, store, (small, 2), (large, 3))

    response = clerk_web.post(
        _url("receive", transfer), _receipt(transfer, **{small.sku: 2, large.sku: 3})
    )

    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.RECEIVED
    assert transfer.received_at is not None
    assert _messages(response)[0][1].endswith(
        f"every unit has arrived: {transfer.number} is received."
    )


@pytest.mark.parametrize(
    ("small_units", "large_units", "error"),
    [
        (3, 0, "Ensure this value is less than or equal to 2."),
        (0, 0, "Enter the units of at least one line that arrived."),
        (-1, 0, "Ensure this value is greater than or equal to 0."),
    ],
)
def test_a_receipt_beyond_the_units_in_transit_is_refused(
    clerk_web, sizes, main, store, small_units, large_units, error
):
    small, large = sizes
    transfer = _shipped(main, store, (small, 2), (large, 3))
    before = _state()

    response = clerk_web.post(
        _url("receive", transfer),
        _receipt(transfer, **{small.sku: small_units, large.sku: large_units}),
    )

    assert response.status_code == 200
    assert error in response.content.decode()
    assert _state() == before


def test_a_receipt_posted_after_another_takes_only_what_is_still_in_transit(
    clerk_web, sizes, main, store
):
    """Another receipt took every unit of a line after the form was drawn: posted again, the
    form checks against the line as it is now, and that line is not received twice."""
    small, large = sizes
    transfer = _shipped(main, store, (small, 2), (large, 3))
    assert clerk_web.get(_url("receive", transfer)).status_code == 200
    transfer_receive(
        transfer_id=transfer.pk,
        lines=[ReceiptLine(line_id=transfer.lines.get(variant=small).pk, quantity=2)],
        actor=CLERK,
    )

    response = clerk_web.post(
        _url("receive", transfer), _receipt(transfer, **{small.sku: 2, large.sku: 3})
    )

    assert response.status_code == 302
    assert (_level(small, store), _level(large, store)) == ((2, 0, 0), (3, 0, 0))
    assert _messages(response)[-1][1].startswith(f"Received 3 unit(s) of {transfer.number}")


def test_a_receipt_the_service_refuses_shows_its_errors_on_the_lines(clerk_web, sizes, main, store):
    """A receipt racing another one past the form's check: the service's refusal, line by
    line, on the form's fields."""
    small, large = sizes
    transfer = _shipped(main, store, (small, 2), (large, 3))
    before = _state()
    refusal = InvalidTransferLines(details={"lines": [{}, {"quantity": ["From 1 to 1."]}]})

    with mock.patch("stock.admin.transfers.transfer_receive", side_effect=refusal):
        response = clerk_web.post(
            _url("receive", transfer), _receipt(transfer, **{small.sku: 1, large.sku: 2})
        )

    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors == {f"line_{transfer.lines.get(variant=large).pk}": ["From 1 to 1."]}
    assert _state() == before


def test_a_scan_posted_without_javascript_adds_one_to_its_line(clerk_web, sizes, main, store):
    small, large = sizes
    transfer = _shipped(main, store, (small, 2), (large, 3))
    before = _state()

    once = clerk_web.post(
        _url("receive", transfer),
        {**_receipt(transfer, **{small.sku: 0, large.sku: 0}), "scan": small.sku.lower()},
    )
    full = clerk_web.post(
        _url("receive", transfer),
        {**_receipt(transfer, **{small.sku: 2, large.sku: 0}), "scan": f" {small.sku} "},
    )
    unknown = clerk_web.post(
        _url("receive", transfer),
        {**_receipt(transfer, **{small.sku: 1, large.sku: 0}), "scan": "NOPE"},
    )

    assert _state() == before  # a scan receives nothing
    form = once.context["form"]
    assert [form[form.field_name(line)].value() for line in form.lines] == ["1", "0"]
    assert once.context["form"]["scan"].value() is None
    assert _messages(full) == [
        ("warning", f"All 2 unit(s) of {small.sku} in transit are counted already.")
    ]
    assert _messages(unknown) == [("warning", "NOPE is not in this transfer.")]


def test_a_scan_finds_a_line_by_barcode(clerk_web, make_product, main, store):
    tee = make_product(name="Tee", stock={"S-M": 5}, barcode="4006381333931")
    variant = tee.variants.get()
    transfer = _shipped(main, store, (variant, 2))

    response = clerk_web.post(
        _url("receive", transfer),
        {**_receipt(transfer, **{variant.sku: 0}), "scan": "4006381333931"},
    )

    form = response.context["form"]
    assert form[form.field_name(form.lines[0])].value() == "1"


def test_a_draft_has_nothing_to_receive(clerk_web, sizes, main, store):
    transfer = _draft(main, store, (sizes[0], 1))

    response = clerk_web.get(_url("receive", transfer))

    assert response.url == _url("change", transfer)
    assert _messages(response) == [("error", f"{transfer.number} is draft: nothing to receive.")]


# Close short.


def test_closing_short_shows_then_writes_off_what_never_arrived(clerk_web, sizes, main, store):
    small, large = sizes
    transfer = _shipped(main, store, (small, 2), (large, 3))
    transfer_receive(
        transfer_id=transfer.pk,
        lines=[
            ReceiptLine(line_id=transfer.lines.get(variant=small).pk, quantity=2),
            ReceiptLine(line_id=transfer.lines.get(variant=large).pk, quantity=1),
        ],
        actor=CLERK,
    )
    before = _state()

    confirmation = clerk_web.get(_url("close", transfer))
    assert _state() == before
    assert confirmation.context["allowed"] is True
    assert [(line.variant.sku, line.in_transit) for line in confirmation.context["missing"]] == [
        (large.sku, 2)
    ]
    assert "Written off in all" in confirmation.content.decode()

    response = clerk_web.post(_url("close", transfer), {"post": "yes"})

    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.RECEIVED
    assert _level(large, store) == (1, 0, 0)
    assert _messages(response) == [
        ("success", f"{transfer.number} closed: 2 unit(s) written off as lost in transit.")
    ]
    page = clerk_web.get(_url("change", transfer))
    assert not any(page.context[name] for name in ("can_receive", "can_close", "can_cancel"))
    assert "Closed short: 2 units never arrived" in page.content.decode()


def test_closing_a_draft_is_refused(clerk_web, sizes, main, store):
    transfer = _draft(main, store, (sizes[0], 1))
    before = _state()

    confirmation = clerk_web.get(_url("close", transfer))
    response = clerk_web.post(_url("close", transfer), {"post": "yes"})

    assert confirmation.context["allowed"] is False
    assert _state() == before
    assert _messages(response) == [
        ("error", f"Nothing was changed: Transfer {transfer.number} is draft: it cannot close.")
    ]


# Cancel.


def test_cancelling_a_draft_moves_nothing(clerk_web, sizes, main, store):
    transfer = _draft(main, store, (sizes[0], 1))
    levels = _state()["levels"]

    confirmation = clerk_web.get(_url("cancel", transfer))
    response = clerk_web.post(_url("cancel", transfer), {"post": "yes"})

    assert "It is a draft: nothing moves." in confirmation.content.decode()
    assert Transfer.objects.get().status == TransferStatus.CANCELLED
    assert _state()["levels"] == levels
    assert _messages(response) == [("success", f"{transfer.number} cancelled.")]


def test_cancelling_in_transit_puts_the_units_back_at_the_source(clerk_web, sizes, main, store):
    small, _ = sizes
    transfer = _shipped(main, store, (small, 2))

    confirmation = clerk_web.get(_url("cancel", transfer))
    response = clerk_web.post(_url("cancel", transfer), {"post": "yes"})

    assert "go back on the shelf at MAIN" in confirmation.content.decode()
    assert (_level(small, main), _level(small, store)) == ((5, 0, 0), (0, 0, 0))
    assert _messages(response) == [
        ("success", f"{transfer.number} cancelled. Its units are back on the shelf at MAIN.")
    ]


def test_a_transfer_of_which_units_arrived_cannot_be_cancelled(clerk_web, sizes, main, store):
    small, large = sizes
    transfer = _shipped(main, store, (small, 2), (large, 1))
    transfer_receive(
        transfer_id=transfer.pk,
        lines=[ReceiptLine(line_id=transfer.lines.get(variant=small).pk, quantity=1)],
        actor=CLERK,
    )
    before = _state()

    confirmation = clerk_web.get(_url("cancel", transfer))
    unconfirmed = clerk_web.post(_url("cancel", transfer))
    response = clerk_web.post(_url("cancel", transfer), {"post": "yes"})

    assert confirmation.context["allowed"] is False
    assert "close it short instead" in confirmation.content.decode()
    assert unconfirmed.status_code == 200  # the confirmation again, nothing done
    assert _state() == before
    assert _messages(response) == [
        (
            "error",
            f"Nothing was changed: Units of {transfer.number} have arrived: close it instead of "
            "cancelling it.",
        )
    ]


# The packing list.


def test_the_packing_list_lists_every_line_to_print(
    clerk_web, make_product, main, store, django_assert_num_queries
):
    tee = make_product(name="Tee", stock={"S-M": 5, "L-XL": 3}, barcode=None)
    small, large = tee.variants.get(size="S-M"), tee.variants.get(size="L-XL")
    transfer = _draft(main, store, (small, 2), (large, 3), reference="REQ-9")
    clerk_web.get(_url("packing_list", transfer))

    with django_assert_num_queries(6):
        response = clerk_web.get(_url("packing_list", transfer))

    assert response.status_code == 200
    content = response.content.decode()
    for text in (transfer.number, "MAIN", "STORE-01", "REQ-9", small.sku, large.sku, "Tee"):
        assert text in content
    assert "<script>" not in content  # the content security policy allows no inline script
    assert 'src="/static/stock/transfers.js"' in content
    assert "data-print" in content


def test_the_pages_run_no_inline_script(clerk_web, sizes, main, store):
    transfer = _shipped(main, store, (sizes[0], 1))

    for url in (TRANSFER_ADD, _url("change", transfer), _url("receive", transfer)):
        content = clerk_web.get(url).content.decode()
        assert "<script>" not in content, url
        assert " onclick=" not in content, url


def test_stock_moves_made_outside_do_not_matter_to_the_pages(clerk_web, sizes, main, store):
    """A change at the destination while the transfer is in transit: received units add to it."""
    small, _ = sizes
    transfer = _shipped(main, store, (small, 2))
    stock_services.stock_adjust(
        variant_id=small.pk, delta=4, reason="received", actor=CLERK, location=store
    )

    clerk_web.post(_url("receive", transfer), _receipt(transfer, **{small.sku: 2}))

    assert _level(small, store) == (6, 0, 0)


def test_more_lines_shows_the_page_again_as_typed_with_more_rows(clerk_web, sizes, main, store):
    small, _ = sizes
    data = _add_form(
        [(small.sku, "2"), ("", ""), ("TYPO", "")], **{"transfer-to_location": "STORE-01"}
    )

    response = clerk_web.post(TRANSFER_ADD, {**data, "_more": "More lines"})

    assert response.status_code == 200
    assert not Transfer.objects.exists()
    form, formset = response.context["form"], response.context["formset"]
    assert not form.is_bound
    assert form["to_location"].value() == "STORE-01"
    assert [(f["sku"].value(), f["quantity"].value()) for f in formset.forms] == [
        (small.sku, "2"),
        ("TYPO", None),
        *[(None, None)] * 5,
    ]


def test_a_shipped_transfers_page_shows_its_movements_in_the_ledger(
    clerk_web, sizes, main, store, django_assert_num_queries
):
    small, large = sizes
    transfer = _shipped(main, store, (small, 2), (large, 3))
    transfer_receive(
        transfer_id=transfer.pk,
        lines=[ReceiptLine(line_id=transfer.lines.get(variant=small).pk, quantity=2)],
        actor=CLERK,
    )
    stock_services.stock_adjust(  # another movement of the same variant: not the transfer's
        variant_id=small.pk, delta=1, reason="received", actor=CLERK, location=store
    )
    clerk_web.get(_url("change", transfer))

    # As a draft's page, and the transfer's movements.
    with django_assert_num_queries(7):
        response = clerk_web.get(_url("change", transfer))

    assert [
        (m.location.code, m.variant.sku, m.reason, m.delta, m.incoming_delta)
        for m in response.context["movements"]
    ] == [
        ("MAIN", small.sku, "transfer_out", -2, 0),
        ("MAIN", large.sku, "transfer_out", -3, 0),
        ("STORE-01", small.sku, "transfer_out", 0, 2),
        ("STORE-01", large.sku, "transfer_out", 0, 3),
        ("STORE-01", small.sku, "transfer_in", 2, -2),
    ]
    content = response.content.decode()
    assert f"/admin/stock/stockmovement/?q={transfer.number}" in content


def test_what_staff_did_is_in_the_transfers_history(clerk_web, store_staff, sizes, main, store):
    small, _ = sizes
    clerk_web.post(TRANSFER_ADD, _add_form([(small.sku, "2")]))
    transfer = Transfer.objects.get()
    clerk_web.post(_url("ship", transfer))
    clerk_web.post(_url("receive", transfer), _receipt(transfer, **{small.sku: 1}))
    clerk_web.post(_url("close", transfer), {"post": "yes"})

    entries = LogEntry.objects.filter(object_id=str(transfer.pk)).order_by("id")
    assert [(e.user, e.action_flag, e.get_change_message()) for e in entries] == [
        (store_staff, 1, "Added."),
        (
            store_staff,
            2,
            f"{transfer.number} shipped: its units left MAIN and are in transit to STORE-01.",
        ),
        (store_staff, 2, "Received 1 unit(s)."),
        (store_staff, 2, f"{transfer.number} closed: 1 unit(s) written off as lost in transit."),
    ]
    history = clerk_web.get(_url("history", transfer))
    assert "Received 1 unit(s)." in history.content.decode()
