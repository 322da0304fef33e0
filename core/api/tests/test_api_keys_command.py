"""`manage.py api_keys list|revoke|rotate`: keys by name, never their secret; a rotation gives the
key a new secret with the same name, scopes and expiry, and revokes the old one, all at once."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import Product
from core.api.authentication import api_key_actor
from core.api.models import ApiKey
from core.api.services import api_key_create, api_key_revoke, api_key_rotate
from orders.services import LineRequest, order_place

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("api_keys", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def status_with(raw_key: str, path: str = PRODUCTS) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client.get(path).status_code


@pytest.fixture
def keys() -> dict[str, str]:
    """An active key that expires, one that expired, one revoked; their raw values by name."""
    soon = timezone.now() + timedelta(days=30)
    _, shop = api_key_create(name="web-shop", scopes=["orders:write"], expires_at=soon)
    _, till = api_key_create(name="till-1", scopes=["stock:write", "orders:write"])
    old, lost = api_key_create(name="lost-tablet")
    api_key_revoke(api_key=old)
    gone, stale = api_key_create(name="last-season")
    ApiKey.objects.filter(pk=gone.pk).update(expires_at=timezone.now() - timedelta(days=1))
    return {"web-shop": shop, "till-1": till, "lost-tablet": lost, "last-season": stale}


def _rows(out: str) -> dict[str, list[str]]:
    """The listing's rows by name (the first column), header included, cut into columns where
    the header's columns start."""
    header, *lines = out.splitlines()
    starts = [header.index(column) for column in header.split()]
    cells = [
        [line[start:end].strip() for start, end in zip(starts, [*starts[1:], None], strict=True)]
        for line in [header, *lines]
    ]
    return {row[0]: row for row in cells}


def test_list_shows_each_key_with_its_state_but_not_revoked_keys(keys):
    out, _ = run("list")

    rows = _rows(out)
    assert list(rows) == ["name", "last-season", "till-1", "web-shop"]
    assert rows["name"] == ["name", "prefix", "scopes", "created", "expires", "state"]
    shop = ApiKey.objects.get(name="web-shop")
    assert rows["web-shop"][1:3] == [shop.prefix, "orders:write"]
    assert rows["web-shop"][3].startswith(f"{timezone.localtime(shop.created_at):%Y-%m-%d %H:%M}")
    assert rows["web-shop"][4].startswith(f"{timezone.localtime(shop.expires_at):%Y-%m-%d %H:%M}")
    assert rows["web-shop"][-1] == "active"
    assert rows["till-1"][2] == "orders:write,stock:write"
    assert rows["till-1"][4:] == ["never", "active"]
    assert rows["last-season"][-1] == "expired"


def test_list_all_includes_revoked_keys(keys):
    out, _ = run("list", "--all")

    rows = _rows(out)
    assert list(rows) == ["name", "last-season", "lost-tablet", "till-1", "web-shop"]
    assert rows["lost-tablet"][2] == "read only"
    assert rows["lost-tablet"][-1] == "revoked"


def test_list_never_shows_a_key_or_its_digest(keys):
    out, err = run("list", "--all")

    for api_key in ApiKey.objects.all():
        assert api_key.hashed_key not in out + err
    for raw_key in keys.values():
        assert raw_key not in out + err
        # Not even the secret part after the prefix.
        assert raw_key.split(".", 1)[1] not in out + err


def test_list_without_keys_says_so():
    out, err = run("list")

    assert out == ""
    assert "No API keys" in err


def test_revoke_stops_the_key_at_once(keys):
    assert status_with(keys["web-shop"]) == 200

    out, err = run("revoke", "web-shop")

    assert out == ""
    assert "Revoked the API key 'web-shop'" in err
    assert ApiKey.objects.get(name="web-shop").revoked_at is not None
    assert status_with(keys["web-shop"]) == 401
    assert status_with(keys["till-1"]) == 200


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("no-such-key", "No API key is named 'no-such-key'"),
        ("lost-tablet", "'lost-tablet' was revoked already"),
    ],
)
def test_revoke_refuses_an_unknown_or_revoked_key(keys, name, message):
    before = dict(ApiKey.objects.values_list("name", "revoked_at"))

    with pytest.raises(CommandError, match=message):
        run("revoke", name)

    assert dict(ApiKey.objects.values_list("name", "revoked_at")) == before


def test_rotate_prints_a_new_key_with_the_same_name_scopes_and_expiry(keys):
    before = ApiKey.objects.get(name="web-shop")

    out, err = run("rotate", "web-shop")

    raw_key = out.strip()
    assert len(out.splitlines()) == 1
    assert "shown once" in err
    assert raw_key not in err
    rotated = ApiKey.objects.get(name="web-shop")
    assert rotated.hashed_key == ApiKey.hash(raw_key)
    assert raw_key.startswith(rotated.prefix + ".")
    assert (rotated.pk, rotated.scopes, rotated.expires_at, rotated.revoked_at) == (
        before.pk,
        before.scopes,
        before.expires_at,
        None,
    )
    assert status_with(raw_key) == 200
    assert status_with(keys["web-shop"]) == 401


def test_rotate_keeps_the_old_secret_on_record_revoked(keys):
    before = ApiKey.objects.get(name="web-shop")

    run("rotate", "web-shop")

    old = ApiKey.objects.get(hashed_key=before.hashed_key)
    assert old.pk != before.pk
    assert old.name == f"web-shop (replaced {before.prefix})"
    assert (old.prefix, old.scopes, old.expires_at, old.created_at) == (
        before.prefix,
        before.scopes,
        before.expires_at,
        before.created_at,
    )
    assert old.revoked_at is not None
    listed = _rows(run("list", "--all")[0])
    assert listed["web-shop"][-1] == "active"
    assert listed["web-shop"][1] != before.prefix
    assert listed[old.name][1:3] == [before.prefix, "orders:write"]
    assert listed[old.name][-1] == "revoked"


def test_a_rotated_key_still_sees_the_orders_its_client_placed(make_product, keys):
    product: Product = make_product(stock={"S-M": 5})
    shop = ApiKey.objects.get(name="web-shop")
    order = order_place(
        lines=[LineRequest(variant_id=product.variants.get().pk, quantity=1)],
        actor=api_key_actor(shop),
    )

    raw_key = run("rotate", "web-shop")[0].strip()

    assert status_with(raw_key, f"/api/v1/orders/{order.pk}/") == 200


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("no-such-key", "No API key is named 'no-such-key'"),
        ("lost-tablet", "'lost-tablet' is revoked"),
        ("last-season", "'last-season' is expired"),
    ],
)
def test_rotate_refuses_an_unknown_revoked_or_expired_key(keys, name, message):
    before = list(ApiKey.objects.order_by("id").values())

    with pytest.raises(CommandError, match=message):
        run("rotate", name)

    assert list(ApiKey.objects.order_by("id").values()) == before


def test_a_rotation_that_fails_halfway_changes_nothing(keys):
    # The old secret's record cannot be written (its name is taken): the new secret, already
    # written to the key's row, must go too.
    shop = ApiKey.objects.get(name="web-shop")
    api_key_create(name=f"web-shop (replaced {shop.prefix})")
    before = list(ApiKey.objects.order_by("id").values())

    with pytest.raises(CommandError, match="Name already exists"):
        run("rotate", "web-shop")

    assert list(ApiKey.objects.order_by("id").values()) == before
    assert status_with(keys["web-shop"]) == 200


def test_rotating_a_key_with_the_longest_name_keeps_the_record_within_the_limit():
    name = "k" * 100
    api_key, _ = api_key_create(name=name)

    api_key_rotate(api_key=api_key)

    old = ApiKey.objects.exclude(pk=api_key.pk).get()
    assert len(old.name) == 100
    assert old.name.endswith(f" (replaced {api_key.prefix})")
    assert ApiKey.objects.get(pk=api_key.pk).name == name


def test_an_action_is_required():
    with pytest.raises(CommandError, match=re.escape("list|revoke|rotate")):
        call_command("api_keys", stdout=StringIO(), stderr=StringIO())
