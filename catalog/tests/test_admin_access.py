"""Access in the admin, run by a manager: API keys (view, add, change, revoke, rotate), without
ever giving anyone more than the manager holds."""

import re
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from catalog.tests.admin_access_support import (
    API_KEY_ADD,
    API_KEYS,
    LOCKOUTS,
    USER_ADD,
    USERS,
    _api_status,
    _messages,
)
from core.api.models import ApiKey

pytestmark = pytest.mark.django_db


def test_a_manager_sees_adds_and_changes_api_keys(manager_web: Client, make_key):
    make_key("orders:write", name="web-shop")

    listed = manager_web.get(API_KEYS)
    added = manager_web.post(
        API_KEY_ADD,
        {"name": "till-3", "scopes": ["stock:write"], "expires_at_0": "", "expires_at_1": ""},
    )

    assert listed.status_code == 200
    assert "web-shop" in listed.content.decode()
    assert added.status_code == 302
    till = ApiKey.objects.get(name="till-3")
    shown = re.search(r"The key for till-3 is (\S+) — copy it now", " ".join(_messages(added)))
    assert shown is not None
    assert ApiKey.hash(shown.group(1)) == till.hashed_key
    changed = manager_web.post(
        reverse("admin:api_apikey_change", args=[till.pk]),
        {
            "name": "till-3",
            "scopes": ["stock:write", "orders:write"],
            "expires_at_0": "",
            "expires_at_1": "",
        },
    )
    assert changed.status_code == 302
    till.refresh_from_db()
    assert till.scopes == ["orders:write", "stock:write"]


def test_a_manager_revokes_a_key_in_the_admin(manager_web: Client, make_key):
    raw_key = make_key(name="lost-tablet")
    kept = make_key(name="web-shop")
    lost = ApiKey.objects.get(name="lost-tablet")

    response = manager_web.post(API_KEYS, {"action": "revoke", "_selected_action": [lost.pk]})

    assert response.status_code == 302
    assert _messages(response) == ["1 key(s) revoked."]
    assert _api_status(raw_key) == 401
    assert _api_status(kept) == 200


def test_a_manager_rotates_a_key_in_the_admin(manager_web: Client, make_key):
    old_raw = make_key("orders:write", name="web-shop")
    shop = ApiKey.objects.get(name="web-shop")

    response = manager_web.post(API_KEYS, {"action": "rotate", "_selected_action": [shop.pk]})

    shown = re.search(
        r"The new key for web-shop is (\S+) — copy it now", " ".join(_messages(response))
    )
    assert shown is not None
    new_raw = shown.group(1)
    assert _api_status(new_raw) == 200
    assert _api_status(old_raw) == 401
    shop.refresh_from_db()
    assert (shop.name, shop.scopes, shop.hashed_key) == (
        "web-shop",
        ["orders:write"],
        ApiKey.hash(new_raw),
    )
    # Shown once: on the list the admin goes back to, and on no page after that.
    assert new_raw in manager_web.get(API_KEYS).content.decode()
    assert new_raw not in manager_web.get(API_KEYS).content.decode()


def test_rotating_several_keys_at_once_is_refused(manager_web: Client, make_key):
    make_key(name="a")
    make_key(name="b")
    before = list(ApiKey.objects.values_list("name", "hashed_key"))

    response = manager_web.post(
        API_KEYS,
        {"action": "rotate", "_selected_action": list(ApiKey.objects.values_list("pk", flat=True))},
    )

    assert _messages(response) == ["Select exactly one key to rotate."]
    assert list(ApiKey.objects.values_list("name", "hashed_key")) == before


def test_a_revoked_key_cannot_be_rotated_in_the_admin(manager_web: Client, make_key):
    make_key(name="lost-tablet")
    lost = ApiKey.objects.get()
    manager_web.post(API_KEYS, {"action": "revoke", "_selected_action": [lost.pk]})
    manager_web.get(API_KEYS)  # shows the revocation's message

    response = manager_web.post(API_KEYS, {"action": "rotate", "_selected_action": [lost.pk]})

    assert _messages(response) == [
        "The API key 'lost-tablet' is revoked; create a new one instead."
    ]
    assert ApiKey.objects.count() == 1


def test_a_manager_cannot_delete_api_keys(manager_web: Client, make_key):
    make_key(name="web-shop")
    shop = ApiKey.objects.get()

    assert manager_web.get(reverse("admin:api_apikey_delete", args=[shop.pk])).status_code == 403
    assert ApiKey.objects.filter(pk=shop.pk).exists()


def test_seeing_keys_is_not_revoking_them(login: Callable[[User], Client], make_key):
    # Revoking is a change: a staff user who may only look at keys is not offered the action,
    # and posting it anyway changes nothing.
    viewer = User.objects.create_user("auditor", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_apikey"))
    raw_key = make_key(name="web-shop")
    shop = ApiKey.objects.get()
    client = login(viewer)

    page = client.get(API_KEYS)
    client.post(API_KEYS, {"action": "revoke", "_selected_action": [shop.pk]})

    assert page.status_code == 200
    assert 'value="revoke"' not in page.content.decode()
    assert _api_status(raw_key) == 200


def test_store_staff_cannot_open_api_keys_users_or_lockouts(login, store_staff: User):
    client = login(store_staff)
    for url in (API_KEYS, API_KEY_ADD, USERS, USER_ADD, LOCKOUTS):
        assert client.get(url).status_code == 403, url
