"""Stock in the admin: staff change and count stock from the product's variant rows and from the
variant's own page, each change recorded by the stock service with the staff user as actor; the
ledger is read-only for everyone; nothing with stock history is deleted; and a domain error at
save time rolls the whole save back."""

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib import messages
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from catalog.admin.variants import RECENT_MOVEMENTS
from catalog.models import Product, Variant
from catalog.tests.support import (
    STOCK_FIELDS,
    admin_url,
    product_add_data,
    product_form_data,
)
from catalog.validators import MAX_QUANTITY
from core.actors import system_actor, user_actor
from stock import services as stock_services
from stock.exceptions import InsufficientStock
from stock.models import MovementReason, StockMovement

pytestmark = pytest.mark.django_db

ACTOR = system_actor("test")

PRODUCTS = reverse("admin:catalog_product_changelist")
PRODUCT_ADD = reverse("admin:catalog_product_add")
VARIANTS = reverse("admin:catalog_variant_changelist")
VARIANT_ADD = reverse("admin:catalog_variant_add")
MOVEMENTS = reverse("admin:stock_stockmovement_changelist")
MOVEMENT_ADD = reverse("admin:stock_stockmovement_add")

# The two places staff change stock: a variant's row on its product's page, and its own page.
DOORS = ["inline", "variant page"]


@pytest.fixture
def tee(make_product: Callable[..., Product]) -> Product:
    """A tee with 5 in S-M and none in L-XL; the only movement so far is the S-M's opening."""
    return make_product(name="Organic Cotton Tee", stock={"S-M": 5, "L-XL": 0})


@pytest.fixture
def small(tee: Product) -> Variant:
    return tee.variants.get(size="S-M")


def _variant_form(variant: Variant, **fields: str) -> dict[str, str]:
    """The variant's change form as the admin renders it, with ``fields`` typed in."""
    return {
        "size": variant.size,
        "sku": variant.sku,
        "barcode": variant.barcode or "",
        "quantity": str(variant.quantity),
        "low_stock_threshold": str(variant.low_stock_threshold),
        **dict.fromkeys(STOCK_FIELDS, ""),
        **fields,
    }


def _post_stock(client: Client, variant: Variant, door: str, **stock: str) -> Any:
    """Type ``stock`` into the variant's stock fields through ``door`` and save."""
    if door == "inline":
        return client.post(
            admin_url("change", variant.product),
            product_form_data(variant.product, rows={variant.size: stock}),
        )
    return client.post(admin_url("change", variant), _variant_form(variant, **stock))


def _variant_form_errors(response: Any, variant: Variant) -> dict[str, list[str]]:
    """The errors of the variant's form on a re-rendered page (``__all__`` for the form's own)."""
    inlines = response.context["inline_admin_formsets"]
    if inlines:
        [form] = [f for f in inlines[0].formset.forms if f.instance.pk == variant.pk]
    else:
        form = response.context["adminform"].form
    return {field: list(errors) for field, errors in form.errors.items()}


def _movements(variant: Variant) -> list[tuple[Any, ...]]:
    """The variant's ledger, oldest first, as (reason, delta, quantity after, actor kind,
    actor, user id, note)."""
    return list(
        StockMovement.objects.filter(variant=variant)
        .order_by("id")
        .values_list("reason", "delta", "quantity_after", "actor_kind", "actor", "user", "note")
    )


def _everything() -> dict[str, list[tuple[Any, ...]]]:
    """All that a save could change, to show that a refused or rolled back one changed none."""
    return {
        "products": list(Product.objects.order_by("id").values_list("id", "name", "is_active")),
        "variants": list(
            Variant.objects.order_by("id").values_list(
                "id", "quantity", "barcode", "low_stock_threshold"
            )
        ),
        "movements": list(StockMovement.objects.order_by("id").values_list("id", "delta")),
        "log": list(LogEntry.objects.values_list("id")),
    }


def _messages(response: Any) -> list[tuple[int, str]]:
    return [(m.level, str(m)) for m in messages.get_messages(response.wsgi_request)]


def _opening(variant: Variant) -> tuple[Any, ...]:
    """The ``initial`` movement ``make_product`` records for a variant created with stock."""
    return ("initial", variant.quantity, variant.quantity, "system", "test", None, "")


# Changing stock


@pytest.mark.parametrize("door", DOORS)
def test_a_change_with_a_reason_is_recorded_with_the_staff_user_as_actor(
    manager_web: Client, manager: User, tee: Product, small: Variant, door
):
    large = tee.variants.get(size="L-XL")
    opening = _opening(small)

    response = _post_stock(
        manager_web,
        small,
        door,
        stock_change="5",
        stock_reason="received",
        stock_note=" Delivery 4411 ",
    )

    assert response.status_code == 302
    small.refresh_from_db()
    assert small.quantity == 10
    assert _movements(small) == [
        opening,
        ("received", 5, 10, "user", "manager", manager.pk, "Delivery 4411"),
    ]
    # The other row was left alone: no movement, no change.
    assert _movements(large) == []
    large.refresh_from_db()
    assert large.quantity == 0


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize(
    ("counted", "delta"),
    [pytest.param(3, -2, id="fewer"), pytest.param(9, 4, id="more"), pytest.param(5, 0, id="same")],
)
def test_a_count_records_the_difference_as_a_count_correction(
    manager_web: Client, manager: User, small: Variant, door, counted, delta
):
    opening = _opening(small)

    response = _post_stock(
        manager_web, small, door, counted_quantity=str(counted), stock_note="Shelf count"
    )

    assert response.status_code == 302
    small.refresh_from_db()
    assert small.quantity == counted
    # A count that finds what the ledger says is recorded too: the shelf was checked.
    assert _movements(small) == [
        opening,
        ("count_correction", delta, counted, "user", "manager", manager.pk, "Shelf count"),
    ]


def test_a_negative_change_with_a_decreasing_reason(
    manager_web: Client, manager: User, small: Variant
):
    response = _post_stock(manager_web, small, "inline", stock_change="-5", stock_reason="damaged")

    assert response.status_code == 302
    small.refresh_from_db()
    assert (small.quantity, small.in_stock) == (0, False)
    assert _movements(small)[-1] == ("damaged", -5, 0, "user", "manager", manager.pk, "")


def test_each_row_of_the_product_page_is_its_own_movement(
    manager_web: Client, manager: User, tee: Product, small: Variant
):
    large = tee.variants.get(size="L-XL")

    response = manager_web.post(
        admin_url("change", tee),
        product_form_data(
            tee,
            rows={
                "S-M": {"stock_change": "-1", "stock_reason": "lost"},
                "L-XL": {"counted_quantity": "2"},
            },
            name="Organic Cotton Tee II",
        ),
    )

    assert response.status_code == 302
    tee.refresh_from_db()
    assert tee.name == "Organic Cotton Tee II"
    assert dict(tee.variants.values_list("size", "quantity")) == {"S-M": 4, "L-XL": 2}
    assert _movements(small)[-1] == ("lost", -1, 4, "user", "manager", manager.pk, "")
    assert _movements(large) == [
        ("count_correction", 2, 2, "user", "manager", manager.pk, ""),
    ]


def test_the_variant_page_has_a_change_the_stock_section_with_the_manual_reasons(
    manager_web: Client, small: Variant
):
    response = manager_web.get(admin_url("change", small))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Change the stock" in html
    for field in STOCK_FIELDS:
        assert f'id="id_{field}"' in html
    reasons = [
        value for value, _ in response.context["adminform"].form.fields["stock_reason"].choices
    ]
    # The reasons a person may claim; initial, count_correction, sale and order_cancelled are
    # recorded by the system only.
    assert reasons == ["", "received", "returned", "damaged", "lost", "correction"]


def test_the_size_and_sku_do_not_claim_to_change_through_stock_movements(
    manager_web: Client, small: Variant
):
    fields = manager_web.get(admin_url("change", small)).context["adminform"].form.fields

    assert fields["quantity"].help_text == "Changed through stock movements."
    assert "stock movements" not in fields["size"].help_text
    assert "stock movements" not in fields["sku"].help_text


# Refusals: the form comes back with the error and nothing changes


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize(
    ("stock", "error_at", "message"),
    [
        pytest.param({"stock_change": "5"}, "stock_reason", "Use one of", id="no reason"),
        pytest.param(
            {"stock_reason": "received"}, "stock_change", "Give the change", id="no change"
        ),
        pytest.param(
            {"stock_change": "2", "stock_reason": "received", "counted_quantity": "7"},
            "__all__",
            "not both",
            id="change and count",
        ),
        pytest.param(
            {"stock_change": "3", "stock_reason": "damaged"},
            "stock_change",
            "must be negative",
            id="damaged adds",
        ),
        pytest.param(
            {"stock_change": "-3", "stock_reason": "received"},
            "stock_change",
            "must be positive",
            id="received takes",
        ),
        pytest.param(
            {"stock_change": "-6", "stock_reason": "lost"},
            "stock_change",
            "Only 5 in stock",
            id="below zero",
        ),
        pytest.param(
            {"stock_change": "0", "stock_reason": "correction"},
            "stock_change",
            "changes nothing",
            id="zero change",
        ),
        pytest.param(
            {"stock_change": "-1", "stock_reason": "sale"},
            "stock_reason",
            "Select a valid choice",
            id="sale",
        ),
        pytest.param(
            {"stock_change": "1", "stock_reason": "initial"},
            "stock_reason",
            "Select a valid choice",
            id="initial",
        ),
        pytest.param(
            {"counted_quantity": "-1"},
            "counted_quantity",
            "greater than or equal to 0",
            id="negative count",
        ),
    ],
)
def test_a_stock_change_is_refused(
    manager_web: Client, small: Variant, door, stock, error_at, message
):
    before = _everything()

    response = _post_stock(manager_web, small, door, **stock)

    assert response.status_code == 200
    errors = _variant_form_errors(response, small)
    assert error_at in errors, errors
    assert message in " ".join(errors[error_at])
    assert "Please correct the error" in response.content.decode()
    assert _everything() == before


@pytest.mark.parametrize("door", DOORS)
def test_a_change_above_the_maximum_quantity_is_refused(make_product, manager_web: Client, door):
    variant = make_product(stock={"S-M": MAX_QUANTITY - 1}).variants.get()
    before = _everything()

    response = _post_stock(manager_web, variant, door, stock_change="5", stock_reason="received")

    assert response.status_code == 200
    assert str(MAX_QUANTITY) in " ".join(_variant_form_errors(response, variant)["stock_change"])
    assert _everything() == before


def test_new_rows_on_the_change_page_have_no_stock_fields_to_change(
    manager_web: Client, manager: User, make_product
):
    """A new row's stock columns are disabled: what is typed there is ignored, and only the
    opening quantity counts."""
    product = make_product(stock={"S-M": 5})

    response = manager_web.post(
        admin_url("change", product),
        product_form_data(
            product,
            new_rows=(
                {
                    "size": "L-XL",
                    "quantity": "3",
                    "stock_change": "50",
                    "stock_reason": "received",
                },
            ),
        ),
    )

    assert response.status_code == 302
    large = product.variants.get(size="L-XL")
    assert large.quantity == 3
    assert _movements(large) == [("initial", 3, 3, "user", "manager", manager.pk, "")]


# New variants: the opening quantity is the first movement, by the staff user


def test_adding_a_product_records_the_opening_quantity_of_each_stocked_variant(
    manager_web: Client, manager: User
):
    data = product_add_data({"size": "S-M", "quantity": "4"}, {"size": "L-XL", "quantity": "0"})

    response = manager_web.post(PRODUCT_ADD, data)

    assert response.status_code == 302
    product = Product.objects.get()
    small, large = product.variants.get(size="S-M"), product.variants.get(size="L-XL")
    assert (small.quantity, large.quantity) == (4, 0)
    assert _movements(small) == [("initial", 4, 4, "user", "manager", manager.pk, "")]
    assert _movements(large) == []


@pytest.mark.parametrize(("quantity", "movements"), [(7, 1), (0, 0)])
def test_an_added_row_on_the_change_page_records_its_opening_quantity(
    manager_web: Client, manager: User, make_product, quantity, movements
):
    product = make_product(stock={"S-M": 0})

    response = manager_web.post(
        admin_url("change", product),
        product_form_data(product, new_rows=({"size": "L-XL", "quantity": str(quantity)},)),
    )

    assert response.status_code == 302
    variant = product.variants.get(size="L-XL")
    assert variant.quantity == quantity
    expected = [("initial", quantity, quantity, "user", "manager", manager.pk, "")]
    assert _movements(variant) == expected[:movements]
    assert _movements(product.variants.get(size="S-M")) == []


def test_two_added_rows_with_generated_skus_record_their_opening_quantities(
    manager_web: Client, manager: User, make_product
):
    product = make_product(stock={"S-M": 0})

    response = manager_web.post(
        admin_url("change", product),
        product_form_data(
            product,
            new_rows=({"size": "L-XL", "quantity": "7"}, {"size": "One Size", "quantity": "0"}),
        ),
    )

    assert response.status_code == 302
    variants = {v.size: v for v in product.variants.all()}
    assert {size: v.quantity for size, v in variants.items()} == {
        "S-M": 0,
        "L-XL": 7,
        "One Size": 0,
    }
    assert _movements(variants["L-XL"]) == [("initial", 7, 7, "user", "manager", manager.pk, "")]
    assert _movements(variants["One Size"]) == []


@pytest.mark.parametrize(("quantity", "movements"), [(6, 1), (0, 0)])
def test_adding_a_variant_on_its_own_page_records_its_opening_quantity(
    manager_web: Client, manager: User, make_product, quantity, movements
):
    product = make_product(stock={"S-M": 0})

    response = manager_web.post(
        VARIANT_ADD,
        {
            "product": str(product.pk),
            "size": "L-XL",
            "sku": "",
            "barcode": "",
            "quantity": str(quantity),
            "low_stock_threshold": "2",
        },
    )

    assert response.status_code == 302
    variant = product.variants.get(size="L-XL")
    assert variant.quantity == quantity
    expected = [("initial", quantity, quantity, "user", "manager", manager.pk, "")]
    assert _movements(variant) == expected[:movements]


# Store staff


def test_store_staff_see_the_stock_and_the_ledger(
    login: Callable[[User], Client], store_staff: User, tee: Product, small: Variant
):
    client = login(store_staff)
    movement = StockMovement.objects.get(variant=small)

    pages = {
        admin_url("change", tee): small.sku,
        VARIANTS: small.sku,
        MOVEMENTS: small.sku,
        admin_url("change", movement): "Opening quantity",
    }

    for url, expected in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert expected in response.content.decode(), url
    # They open products and variants to change stock: every catalog field stays read-only.
    product_form = client.get(admin_url("change", tee)).context["adminform"].form
    assert not set(product_form.fields) & {"name", "price", "category", "collection"}
    # The ledger itself is read-only for them as for everyone.
    assert client.get(admin_url("change", movement)).context["has_change_permission"] is False


def test_store_staff_open_a_variants_page(
    login: Callable[[User], Client], store_staff: User, small: Variant
):
    response = login(store_staff).get(admin_url("change", small))

    assert response.status_code == 200
    assert small.sku in response.content.decode()
    # Only the stock fields are editable; the variant's own fields are read-only.
    editable = set(response.context["adminform"].form.fields)
    assert editable == {
        "stock_change",
        "stock_reason",
        "counted_quantity",
        "stock_note",
        "quantity_seen",
    }


def test_store_staff_cannot_add_or_delete_variants(
    login: Callable[[User], Client], store_staff: User, tee: Product
):
    client = login(store_staff)
    large = tee.variants.get(size="L-XL")  # never had stock: a manager may delete it
    before = _everything()

    add_page = client.get(VARIANT_ADD)
    add = client.post(
        VARIANT_ADD,
        {"product": str(tee.pk), "size": "One Size", "quantity": "3", "low_stock_threshold": "2"},
    )
    delete = client.post(reverse("admin:catalog_variant_delete", args=[large.pk]), {"post": "yes"})

    assert (add_page.status_code, add.status_code, delete.status_code) == (403, 403, 403)
    assert _everything() == before


@pytest.mark.parametrize("door", DOORS)
def test_store_staff_change_stock_in_the_admin(
    login: Callable[[User], Client], store_staff: User, small: Variant, door
):
    response = _post_stock(
        login(store_staff), small, door, stock_change="3", stock_reason="returned"
    )

    assert response.status_code == 302
    small.refresh_from_db()
    assert small.quantity == 8
    assert _movements(small)[-1] == ("returned", 3, 8, "user", "clerk", store_staff.pk, "")


def test_changing_a_variant_without_the_stock_permission_changes_no_stock(
    login: Callable[[User], Client], small: Variant
):
    editor = User.objects.create_user(username="editor", password="pw", is_staff=True)
    editor.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="catalog",
            codename__in=["view_product", "change_product", "view_variant", "change_variant"],
        )
    )
    before = _everything()

    response = _post_stock(
        login(editor), small, "variant page", stock_change="5", stock_reason="received"
    )

    # The page saves (its barcode and threshold), but no stock: the stock fields do not work
    # without the stock permission.
    assert response.status_code == 302
    after = _everything()
    after.pop("log"), before.pop("log")  # the admin logs the (empty) change
    assert after == before


# The ledger in the admin: visible, never writable


@pytest.fixture
def movement(small: Variant, manager: User) -> StockMovement:
    return stock_services.stock_adjust(
        variant_id=small.pk,
        delta=-1,
        reason=MovementReason.DAMAGED,
        actor=user_actor(manager),
        note="Torn seam",
    )


@pytest.mark.parametrize("user", ["admin_user", "manager"])
def test_ledger_pages_render(
    request: pytest.FixtureRequest,
    login: Callable[[User], Client],
    movement: StockMovement,
    small: Variant,
    user,
):
    client = login(request.getfixturevalue(user))

    changelist = client.get(MOVEMENTS)
    page = client.get(admin_url("change", movement))

    assert changelist.status_code == 200
    assert list(changelist.context["cl"].result_list) == [
        movement,
        StockMovement.objects.get(variant=small, reason="initial"),
    ]
    assert "Torn seam" in changelist.content.decode()
    assert page.status_code == 200
    html = page.content.decode()
    assert "Torn seam" in html
    assert small.sku in html
    # Shown, not editable: no input for the note and no save button.
    assert page.context["has_change_permission"] is False
    assert 'name="note"' not in html
    assert 'name="_save"' not in html


@pytest.mark.parametrize("user", ["admin_user", "manager"])
def test_nobody_adds_changes_or_deletes_a_movement(
    request: pytest.FixtureRequest, login: Callable[[User], Client], movement: StockMovement, user
):
    client = login(request.getfixturevalue(user))
    delete_url = reverse("admin:stock_stockmovement_delete", args=[movement.pk])
    row = {
        "variant": str(movement.variant_id),
        "delta": "-4",
        "quantity_after": "0",
        "reason": "lost",
        "actor_kind": "user",
        "actor": "someone else",
        "note": "rewritten",
        "reference": "",
        "created_at_0": "2024-01-01",
        "created_at_1": "00:00:00",
    }
    before = _everything()

    statuses = {
        "add page": client.get(MOVEMENT_ADD).status_code,
        "add": client.post(MOVEMENT_ADD, row).status_code,
        "change": client.post(admin_url("change", movement), row).status_code,
        "delete page": client.get(delete_url).status_code,
        "delete": client.post(delete_url, {"post": "yes"}).status_code,
    }

    assert statuses == dict.fromkeys(statuses, 403)
    assert _everything() == before
    movement.refresh_from_db()
    assert (movement.delta, movement.note, movement.actor) == (-1, "Torn seam", "manager")


@pytest.mark.parametrize("user", ["admin_user", "manager"])
def test_the_ledger_offers_no_delete_action(
    request: pytest.FixtureRequest, login: Callable[[User], Client], movement: StockMovement, user
):
    client = login(request.getfixturevalue(user))
    before = _everything()

    changelist = client.get(MOVEMENTS)
    forced = client.post(
        MOVEMENTS,
        {"action": "delete_selected", "_selected_action": [movement.pk], "post": "yes"},
    )

    assert changelist.status_code == 200
    assert changelist.context["action_form"] is None
    assert "delete_selected" not in changelist.content.decode()
    assert forced.status_code == 200
    assert _everything() == before


def _history_rows(html: str) -> list[tuple[str, ...]]:
    """The rows of the variant page's "Latest movements" table, without the time."""
    table = html.split('class="stock-history"', 1)[1].split("</table>", 1)[0]
    return [
        row[1:]
        for row in re.findall(
            r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>"
            r"<td>([^<]*)</td><td>([^<]*)</td></tr>",
            table,
        )
    ]


@pytest.fixture
def busy(tee: Product, small: Variant) -> Variant:
    """The S-M after ten deliveries of 1 to 10 (quantity 60), and one return to the L-XL."""
    for number in range(1, RECENT_MOVEMENTS + 1):
        stock_services.stock_adjust(
            variant_id=small.pk,
            delta=number,
            reason=MovementReason.RECEIVED,
            actor=ACTOR,
            note=f"Delivery {number}",
        )
    other = tee.variants.get(size="L-XL")
    stock_services.stock_adjust(variant_id=other.pk, delta=1, reason="returned", actor=ACTOR)
    small.refresh_from_db()
    return small


def test_a_variant_without_movements_shows_an_empty_history_and_the_link(
    manager_web: Client, tee: Product
):
    variant = tee.variants.get(size="L-XL")
    assert not variant.movements.exists()

    html = manager_web.get(admin_url("change", variant)).content.decode()

    assert "Latest movements" in html
    assert _history_rows(html) == []
    assert f'href="{MOVEMENTS}?variant__id__exact={variant.pk}"' in html


def test_the_variant_page_shows_the_latest_movements_and_links_to_all(
    manager_web: Client, busy: Variant
):
    response = manager_web.get(admin_url("change", busy))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="stock-history"' in html
    rows = _history_rows(html)
    # The newest ten of its eleven movements, newest first; the opening one is beyond them.
    assert len(rows) == RECENT_MOVEMENTS
    assert rows[0] == ("Received (delivery)", "+10", "60", "test", "Delivery 10")
    assert rows[-1] == ("Received (delivery)", "+1", "6", "test", "Delivery 1")
    assert f'href="{MOVEMENTS}?variant__id__exact={busy.pk}"' in html
    assert f"All movements of {busy.sku}" in html


def test_the_movement_list_filtered_by_variant_lists_all_of_its_movements(
    manager_web: Client, busy: Variant
):
    # The address the variant page links to.
    response = manager_web.get(MOVEMENTS, {"variant__id__exact": busy.pk})

    assert response.status_code == 200
    listed = list(response.context["cl"].result_list)
    assert listed == list(StockMovement.objects.filter(variant=busy).order_by("-id"))
    assert len(listed) == RECENT_MOVEMENTS + 1
    assert StockMovement.objects.exclude(variant=busy).exists()


# Deleting what has stock history


@pytest.fixture
def sold_out_with_history(tee: Product, small: Variant) -> Variant:
    """The S-M, once stocked, now at 0: no stock, but a history that must be kept."""
    stock_services.stock_adjust(variant_id=small.pk, delta=-5, reason="lost", actor=ACTOR)
    small.refresh_from_db()
    assert small.quantity == 0
    return small


@pytest.mark.parametrize("user", ["admin_user", "manager"])
def test_a_variant_with_history_cannot_be_deleted(
    request: pytest.FixtureRequest,
    login: Callable[[User], Client],
    sold_out_with_history: Variant,
    user,
):
    client = login(request.getfixturevalue(user))
    url = reverse("admin:catalog_variant_delete", args=[sold_out_with_history.pk])
    before = _everything()

    page = client.get(url)
    post = client.post(url, {"post": "yes"})
    action = client.post(
        VARIANTS,
        {
            "action": "delete_selected",
            "_selected_action": [sold_out_with_history.pk],
            "post": "yes",
        },
    )

    assert (page.status_code, post.status_code) == (403, 403)
    # The bulk action lists the protected movements instead of deleting.
    assert action.status_code == 200
    assert "Cannot delete variant" in action.content.decode()
    assert _everything() == before


@pytest.mark.parametrize("user", ["admin_user", "manager"])
def test_a_product_with_history_cannot_be_deleted(
    request: pytest.FixtureRequest,
    login: Callable[[User], Client],
    tee: Product,
    sold_out_with_history: Variant,
    user,
):
    client = login(request.getfixturevalue(user))
    url = reverse("admin:catalog_product_delete", args=[tee.pk])
    before = _everything()

    page = client.get(url)
    post = client.post(url, {"post": "yes"})
    action = client.post(
        PRODUCTS, {"action": "delete_selected", "_selected_action": [tee.pk], "post": "yes"}
    )
    inline = client.post(
        admin_url("change", tee), product_form_data(tee, rows={"S-M": {"DELETE": "on"}})
    )

    assert (page.status_code, post.status_code) == (403, 403)
    assert action.status_code == 200
    assert "Cannot delete product" in action.content.decode()
    assert inline.status_code == 200
    [error] = inline.context["inline_admin_formsets"][0].formset.non_form_errors()
    assert f"Deleting variant {sold_out_with_history.sku}" in error
    assert "protected related objects" in error
    assert _everything() == before


# A domain error at save time rolls back the whole save


@pytest.fixture
def sale_took_the_stock(monkeypatch: pytest.MonkeyPatch, small: Variant) -> None:
    """Between the form's check and the save, a sale took the S-M: the stock service refuses."""

    def stock_adjust(**kwargs: Any) -> StockMovement:
        raise InsufficientStock(
            details={
                "lines": [{"variant": small.pk, "sku": small.sku, "requested": 2, "available": 0}]
            }
        )

    monkeypatch.setattr(stock_services, "stock_adjust", stock_adjust)


NOTHING_SAVED = "Nothing was saved: Not enough stock; nothing was changed."


@pytest.mark.usefixtures("sale_took_the_stock")
def test_a_sale_in_between_rolls_back_the_product_page_save(
    manager_web: Client, tee: Product, small: Variant
):
    before = _everything()
    url = admin_url("change", tee)

    response = manager_web.post(
        url,
        product_form_data(
            tee,
            rows={"S-M": {"stock_change": "-2", "stock_reason": "damaged"}},
            name="Renamed Tee",
        ),
    )

    assert response.status_code == 302
    assert response["Location"] == url
    assert _messages(response) == [(messages.ERROR, NOTHING_SAVED)]
    # The rename, saved before the stock change failed, is rolled back with it.
    assert _everything() == before
    tee.refresh_from_db()
    assert tee.name == "Organic Cotton Tee"
    page = manager_web.get(url)
    assert page.status_code == 200
    assert "Renamed Tee" not in page.content.decode()


@pytest.mark.usefixtures("sale_took_the_stock")
def test_a_sale_in_between_rolls_back_the_variant_page_save(manager_web: Client, small: Variant):
    before = _everything()
    url = admin_url("change", small)

    response = manager_web.post(
        url,
        _variant_form(small, low_stock_threshold="4", stock_change="-2", stock_reason="damaged"),
    )

    assert response.status_code == 302
    assert response["Location"] == url
    assert _messages(response) == [(messages.ERROR, NOTHING_SAVED)]
    assert _everything() == before
    small.refresh_from_db()
    assert small.low_stock_threshold == 2
