"""The admin as store staff use it: who may open which catalog and API key pages, and the API
keys' own pages (a new key shown once, revoking)."""

import hashlib
import re
from collections.abc import Callable

import pytest
from django.contrib import messages
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from catalog.models import Product
from catalog.services import PRODUCT_FIELDS
from catalog.tests.admin_support import PRODUCT_ADD, PRODUCTS, VARIANTS, _messages
from catalog.tests.support import admin_url, product_add_data
from core.api.models import ApiKey

pytestmark = pytest.mark.django_db

API_KEYS = reverse("admin:api_apikey_changelist")
API_KEY_ADD = reverse("admin:api_apikey_add")


# Who may open what


@pytest.mark.parametrize("user", ["admin_user", "manager"])
def test_catalog_pages_render_for_superusers_and_managers(
    request: pytest.FixtureRequest, login: Callable[[User], Client], make_product, user
):
    product = make_product(name="Organic Cotton Tee")
    variant = product.variants.get(size="S-M")
    client = login(request.getfixturevalue(user))

    pages = {
        PRODUCTS: product.name,
        PRODUCT_ADD: 'name="variants-TOTAL_FORMS"',
        admin_url("change", product): variant.sku,
        VARIANTS: variant.sku,
        admin_url("change", variant): variant.sku,
    }

    for url, expected in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert expected in response.content.decode(), url


def test_api_key_pages_render_for_superusers(superuser_web: Client, make_key):
    make_key(name="Shop front")

    changelist = superuser_web.get(API_KEYS)
    add_page = superuser_web.get(API_KEY_ADD)

    assert changelist.status_code == 200
    assert "Shop front" in changelist.content.decode()
    assert add_page.status_code == 200
    assert 'name="scopes"' in add_page.content.decode()


@pytest.mark.parametrize("url", [API_KEYS, API_KEY_ADD])
def test_managers_manage_api_keys(manager_web: Client, url):
    # The store's manager issues and revokes the keys of its apps (see test_admin_access.py).
    assert manager_web.get(url).status_code == 200


def test_store_staff_see_the_catalog_read_only(
    login: Callable[[User], Client], store_staff: User, make_product
):
    product = make_product(name="Organic Cotton Tee")
    client = login(store_staff)

    changelist = client.get(PRODUCTS)
    change_page = client.get(admin_url("change", product))
    add_page = client.get(PRODUCT_ADD)
    post = client.post(PRODUCT_ADD, product_add_data({"size": "S-M"}))

    assert changelist.status_code == 200
    assert "Organic Cotton Tee" in changelist.content.decode()
    assert change_page.status_code == 200
    # They may open it to change stock, but none of the product's own fields.
    assert not set(change_page.context["adminform"].form.fields) & set(PRODUCT_FIELDS)
    assert add_page.status_code == 403
    assert post.status_code == 403
    assert Product.objects.count() == 1


@pytest.mark.parametrize("url", [API_KEYS, API_KEY_ADD])
def test_store_staff_cannot_open_the_api_keys(
    login: Callable[[User], Client], store_staff: User, url
):
    assert login(store_staff).get(url).status_code == 403


# API keys


def test_adding_an_api_key_shows_its_raw_value_once(superuser_web: Client):
    response = superuser_web.post(
        API_KEY_ADD,
        {"name": "Till 3", "scopes": ["stock:write"], "expires_at_0": "", "expires_at_1": ""},
    )

    assert response.status_code == 302
    api_key = ApiKey.objects.get()
    assert (api_key.name, api_key.scopes, api_key.revoked_at) == ("Till 3", ["stock:write"], None)
    warnings = [m for m in _messages(response) if m.level == messages.WARNING]
    assert len(warnings) == 1
    shown = re.search(r"The key for Till 3 is (\S+) — copy it now", str(warnings[0]))
    assert shown is not None
    raw_key = shown.group(1)
    assert hashlib.sha256(raw_key.encode()).hexdigest() == api_key.hashed_key
    assert raw_key.startswith(api_key.prefix)
    products = Client().get("/api/v1/products/", HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    assert products.status_code == 200
    # Not stored: neither the key's row nor the admin's history holds it.
    assert not LogEntry.objects.filter(change_message__contains=raw_key).exists()
    assert not LogEntry.objects.filter(object_repr__contains=raw_key).exists()
    # Shown once, on the page the admin redirects to, and on no page after that.
    assert raw_key in superuser_web.get(response["Location"]).content.decode()
    for url in (API_KEYS, reverse("admin:api_apikey_change", args=[api_key.pk])):
        assert raw_key not in superuser_web.get(url).content.decode()


def test_revoke_action_revokes_the_selected_keys(superuser_web: Client, make_key):
    revoked_raw = make_key(name="Lost tablet")
    kept_raw = make_key(name="Web shop")
    lost = ApiKey.objects.get(name="Lost tablet")

    response = superuser_web.post(API_KEYS, {"action": "revoke", "_selected_action": [lost.pk]})

    assert response.status_code == 302
    assert [str(m) for m in _messages(response)] == ["1 key(s) revoked."]
    revoked_at = dict(ApiKey.objects.values_list("name", "revoked_at"))
    assert revoked_at["Lost tablet"] is not None
    assert revoked_at["Web shop"] is None
    api = Client()
    assert (
        api.get("/api/v1/products/", HTTP_AUTHORIZATION=f"Api-Key {revoked_raw}").status_code == 401
    )
    assert api.get("/api/v1/products/", HTTP_AUTHORIZATION=f"Api-Key {kept_raw}").status_code == 200
