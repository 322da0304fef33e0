import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from catalog import services
from catalog.models import Product
from core.actors import current_actor
from core.api.models import ApiKey
from core.api.services import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"
NEW = {"category": "Tees", "name": "T", "color": "Black", "price": "10", "collection": "FW24"}


def test_a_key_is_stored_only_as_its_sha256_digest():
    _, raw_key = api_key_create(name="web-shop", scopes=["catalog:write"])
    stored = ApiKey.objects.get()
    assert stored.hashed_key == hashlib.sha256(raw_key.encode()).hexdigest()
    assert raw_key.startswith(stored.prefix + ".")
    assert len(raw_key) > 40
    assert raw_key not in str(ApiKey.objects.values().get())


def test_unknown_scopes_are_refused():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        api_key_create(name="x", scopes=["catalog:write", "everything"])
    assert "everything" in error.value.message_dict["scopes"][0]
    assert not ApiKey.objects.exists()


def test_create_api_key_command_prints_the_key_once():
    out, err = StringIO(), StringIO()
    call_command("create_api_key", "pos-1", "--scope", "stock:write", stdout=out, stderr=err)
    raw_key = out.getvalue().strip()
    api_key = ApiKey.objects.get(name="pos-1")
    assert api_key.hashed_key == ApiKey.hash(raw_key)
    assert api_key.scopes == ["stock:write"]
    assert "shown once" in err.getvalue()

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    assert client.get(PRODUCTS).status_code == 200


def test_create_api_key_command_write_grants_every_scope_and_can_expire():
    call_command(
        "create_api_key",
        "ops",
        "--write",
        "--expires-in-days",
        "30",
        stdout=StringIO(),
        stderr=StringIO(),
    )
    api_key = ApiKey.objects.get()
    assert api_key.scopes == [
        "catalog:write",
        "orders:write",
        "reports:read",
        "stock:write",
        "webhooks:manage",
    ]
    assert api_key.expires_at is not None
    assert timedelta(days=29) < api_key.expires_at - timezone.now() <= timedelta(days=30)


def test_create_api_key_command_refuses_a_duplicate_name():
    api_key_create(name="dup")
    with pytest.raises(CommandError, match="name"):
        call_command("create_api_key", "dup", stdout=StringIO(), stderr=StringIO())
    assert ApiKey.objects.count() == 1


def test_create_api_key_command_refuses_an_unknown_scope():
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("create_api_key", "x", "--scope", "root", stdout=StringIO(), stderr=StringIO())
    assert not ApiKey.objects.exists()


def _client_with(raw_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


def test_a_revoked_key_is_refused():
    api_key, raw_key = api_key_create(name="old")
    api_key_revoke(api_key=api_key)
    response = _client_with(raw_key).get(PRODUCTS)
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "authentication_failed",
        "message": "This API key has been revoked.",
        "details": None,
    }


def test_an_expired_key_is_refused_and_a_key_before_expiry_works():
    _, expired = api_key_create(name="expired", expires_at=timezone.now() - timedelta(seconds=1))
    _, valid = api_key_create(name="valid", expires_at=timezone.now() + timedelta(hours=1))
    response = _client_with(expired).get(PRODUCTS)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "This API key has expired."
    assert _client_with(valid).get(PRODUCTS).status_code == 200


def _session_client(user):
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def product(make_product):
    return make_product(stock={"S-M": 0})


@pytest.fixture
def callers(key_client, manager, store_staff):
    plain_staff = User.objects.create_user("plain", password="pw", is_staff=True)
    customer = User.objects.create_user("customer", password="pw")
    return {
        "anonymous": APIClient(),
        "read key": key_client(),
        "stock key": key_client("stock:write"),
        "catalog key": key_client("catalog:write"),
        "manager": _session_client(manager),
        "store staff": _session_client(store_staff),
        "staff without group": _session_client(plain_staff),
        "non-staff user": _session_client(customer),
    }


EXPECTED = {
    #                     list  create  update  delete
    "anonymous":           (401, 401,    401,    401),
    "read key":            (200, 403,    403,    403),
    "stock key":           (200, 403,    403,    403),
    "catalog key":         (200, 201,    200,    204),
    "manager":             (200, 201,    200,    204),
    "store staff":         (200, 403,    403,    403),
    "staff without group": (403, 403,    403,    403),
    "non-staff user":      (403, 403,    403,    403),
}  # fmt: skip


@pytest.mark.parametrize("caller", list(EXPECTED))
def test_who_may_do_what_with_products(callers, product, caller):
    client = callers[caller]
    url = f"{PRODUCTS}{product.pk}/"
    statuses = (
        client.get(PRODUCTS).status_code,
        client.post(PRODUCTS, NEW, format="json").status_code,
        client.patch(url, {"price": "11"}, format="json").status_code,
        client.delete(url).status_code,
    )
    assert statuses == EXPECTED[caller]


@pytest.mark.parametrize("caller", ["read key", "catalog key", "manager", "store staff"])
def test_who_may_create_variants(callers, product, caller):
    response = callers[caller].post(
        "/api/v1/variants/", {"product": product.pk, "size": "L-XL"}, format="json"
    )
    assert response.status_code == (201 if caller in ("catalog key", "manager") else 403)


def test_session_writes_need_the_csrf_token(manager):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(manager)
    response = client.post(PRODUCTS, NEW, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert "CSRF" in response.json()["error"]["message"]
    assert not Product.objects.exists()


def test_authentication_records_the_actor_for_what_follows(key_client, manager, monkeypatch):
    seen = []
    real_create = services.product_create

    def spy(**kwargs):
        seen.append(current_actor.get())
        return real_create(**kwargs)

    monkeypatch.setattr(services, "product_create", spy)
    api_key, raw_key = api_key_create(name="web-shop", scopes=["catalog:write"])
    _client_with(raw_key).post(PRODUCTS, NEW, format="json")
    _session_client(manager).post(PRODUCTS, {**NEW, "name": "Second"}, format="json")

    assert [str(actor) for actor in seen] == ["api_key:web-shop", "user:manager"]
    assert (seen[0].api_key_id, seen[1].user_id) == (api_key.pk, manager.pk)
    # Nothing leaks into the next request.
    assert current_actor.get() is None


ORDER_PERMISSIONS = {"view_order", "add_order", "change_order", "return_order"}
# Transfers in the admin: see, draft, and ship, receive, close or cancel them.
TRANSFER_PERMISSIONS = {"view_transfer", "add_transfer", "change_transfer"}


def test_the_staff_groups_exist_with_their_permissions():
    def codenames(name):
        return set(Group.objects.get(name=name).permissions.values_list("codename", flat=True))

    assert codenames("Store staff") == {
        "view_product",
        "view_variant",
        "change_stock",
        "view_stockmovement",
        *ORDER_PERMISSIONS,
        *TRANSFER_PERMISSIONS,
    }
    assert codenames("Manager") == {
        "view_product",
        "add_product",
        "change_product",
        "delete_product",
        "view_variant",
        "add_variant",
        "change_variant",
        "delete_variant",
        "change_stock",
        "view_stockmovement",
        *ORDER_PERMISSIONS,
        *TRANSFER_PERMISSIONS,
        # API keys (never deleted: revoked), staff users, sign-in lockouts.
        "view_apikey",
        "add_apikey",
        "change_apikey",
        "view_user",
        "add_user",
        "change_user",
        "view_accessattempt",
        "delete_accessattempt",
        # Webhook endpoints, their deliveries (redelivered from the admin), the events.
        "view_webhookendpoint",
        "add_webhookendpoint",
        "change_webhookendpoint",
        "delete_webhookendpoint",
        "view_event",
        "view_delivery",
        "change_delivery",
        "view_deliveryattempt",
    }


@pytest.mark.parametrize("resource", ["products", "variants"])
def test_staff_browse_the_api_in_their_browser(manager_client, make_product, resource):
    product = make_product()
    object_id = product.pk if resource == "products" else product.variants.first().pk
    for url in (f"/api/v1/{resource}/", f"/api/v1/{resource}/{object_id}/"):
        response = manager_client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == 200, url
        assert response["Content-Type"].startswith("text/html")
        assert str(object_id) in response.content.decode()
