"""Access in the admin, run by a manager: API keys (view, add, change, revoke, rotate), staff
users (add them, put them into the staff groups) and sign-in lockouts (unlock them), without
ever giving anyone more than the manager holds."""

import re
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib import messages
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from catalog.groups import MANAGER_GROUP, STORE_STAFF_GROUP
from core.api.models import ApiKey

pytestmark = pytest.mark.django_db

API_KEYS = reverse("admin:api_apikey_changelist")
API_KEY_ADD = reverse("admin:api_apikey_add")
USERS = reverse("admin:auth_user_changelist")
USER_ADD = reverse("admin:auth_user_add")
LOCKOUTS = reverse("admin:axes_accessattempt_changelist")
LOGIN = reverse("admin:login")
PRODUCTS = "/api/v1/products/"


def _messages(response: Any) -> list[str]:
    return [str(message) for message in messages.get_messages(response.wsgi_request)]


def _api_status(raw_key: str) -> int:
    return Client().get(PRODUCTS, HTTP_AUTHORIZATION=f"Api-Key {raw_key}").status_code


def _user_change(user: User) -> str:
    return reverse("admin:auth_user_change", args=[user.pk])


def _group(name: str) -> Group:
    return Group.objects.get(name=name)


# API keys


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


# Staff users


def _add_form(username: str, *groups: Group, **extra: Any) -> dict[str, Any]:
    return {
        "username": username,
        "usable_password": "true",
        "password1": "a-Long-pass-4471",
        "password2": "a-Long-pass-4471",
        "groups": [group.pk for group in groups],
        **extra,
    }


def _change_form(user: User, **extra: Any) -> dict[str, Any]:
    return {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        **({"is_active": "on"} if user.is_active else {}),
        "groups": [group.pk for group in user.groups.all()],
        **extra,
    }


def test_a_manager_adds_a_staff_user_into_a_staff_group(manager_web: Client):
    response = manager_web.post(USER_ADD, _add_form("new-clerk", _group(STORE_STAFF_GROUP)))

    assert response.status_code == 302
    clerk = User.objects.get(username="new-clerk")
    assert (clerk.is_staff, clerk.is_superuser, clerk.is_active) == (True, False, True)
    assert [group.name for group in clerk.groups.all()] == [STORE_STAFF_GROUP]
    assert not clerk.user_permissions.exists()
    # The new clerk signs in and works with the catalog.
    client = Client()
    signed_in = client.post(
        LOGIN, {"username": "new-clerk", "password": "a-Long-pass-4471", "next": "/admin/"}
    )
    assert signed_in.status_code == 302
    assert client.get(reverse("admin:catalog_product_changelist")).status_code == 200


def test_the_add_form_offers_a_manager_the_staff_groups_and_nothing_else(manager_web: Client):
    Group.objects.create(name="Owners").permissions.add(
        Permission.objects.get(codename="delete_user")
    )

    form = manager_web.get(USER_ADD).context["adminform"].form

    assert set(form.fields) == {"username", "usable_password", "password1", "password2", "groups"}
    assert [group.name for group in form.fields["groups"].queryset] == [
        MANAGER_GROUP,
        STORE_STAFF_GROUP,
    ]


def test_a_manager_cannot_add_a_superuser_or_grant_permissions(manager_web: Client):
    delete_users = Permission.objects.get(codename="delete_user")

    response = manager_web.post(
        USER_ADD,
        _add_form(
            "sneaky",
            _group(MANAGER_GROUP),
            is_superuser="on",
            is_staff="on",
            user_permissions=[delete_users.pk],
        ),
    )

    assert response.status_code == 302
    sneaky = User.objects.get(username="sneaky")
    assert sneaky.is_superuser is False
    assert not sneaky.user_permissions.exists()
    assert not sneaky.has_perm("auth.delete_user")


def test_a_manager_cannot_put_anyone_into_a_group_with_more_rights(
    manager_web: Client, store_staff: User
):
    owners = Group.objects.create(name="Owners")
    owners.permissions.add(Permission.objects.get(codename="delete_user"))

    added = manager_web.post(USER_ADD, _add_form("owner-2", owners))
    changed = manager_web.post(
        _user_change(store_staff), _change_form(store_staff, groups=[owners.pk])
    )

    assert added.status_code == 200
    assert "groups" in added.context["adminform"].form.errors
    assert not User.objects.filter(username="owner-2").exists()
    assert changed.status_code == 200
    assert "groups" in changed.context["adminform"].form.errors
    assert [group.name for group in store_staff.groups.all()] == [STORE_STAFF_GROUP]


def test_a_manager_sets_a_clerk_s_password_then_makes_them_a_manager(
    manager_web: Client, store_staff: User
):
    password = manager_web.post(
        reverse("admin:auth_user_password_change", args=[store_staff.pk]),
        {
            "usable_password": "true",
            "password1": "b-Long-pass-5582",
            "password2": "b-Long-pass-5582",
        },
    )
    response = manager_web.post(
        _user_change(store_staff),
        _change_form(store_staff, first_name="Ada", groups=[_group(MANAGER_GROUP).pk]),
    )
    # Now a peer: no longer the manager's to change.
    again = manager_web.post(_user_change(store_staff), _change_form(store_staff, first_name="X"))

    assert password.status_code == 302
    assert response.status_code == 302
    assert again.status_code == 403
    store_staff.refresh_from_db()
    assert store_staff.first_name == "Ada"
    assert [group.name for group in store_staff.groups.all()] == [MANAGER_GROUP]
    assert store_staff.check_password("b-Long-pass-5582")


def test_posted_superuser_staff_and_permission_fields_are_ignored_on_change(
    manager_web: Client, store_staff: User
):
    response = manager_web.post(
        _user_change(store_staff),
        _change_form(
            store_staff,
            is_superuser="on",
            user_permissions=[Permission.objects.get(codename="delete_user").pk],
        ),
    )

    assert response.status_code == 302
    store_staff.refresh_from_db()
    assert store_staff.is_superuser is False
    assert store_staff.is_staff is True
    assert not store_staff.user_permissions.exists()


def test_a_manager_cannot_change_a_superuser_or_their_password(
    manager_web: Client, admin_user: User
):
    before = User.objects.values().get(pk=admin_user.pk)

    page = manager_web.get(_user_change(admin_user))
    post = manager_web.post(
        _user_change(admin_user), _change_form(admin_user, is_active="", first_name="Mallory")
    )
    password_page = manager_web.get(
        reverse("admin:auth_user_password_change", args=[admin_user.pk])
    )
    password = manager_web.post(
        reverse("admin:auth_user_password_change", args=[admin_user.pk]),
        {
            "usable_password": "true",
            "password1": "c-Long-pass-6693",
            "password2": "c-Long-pass-6693",
        },
    )

    # The page opens to be read, with nothing to save.
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert post.status_code == 403
    assert password_page.status_code == 403
    assert password.status_code == 403
    assert User.objects.values().get(pk=admin_user.pk) == before


@pytest.mark.parametrize("active", [True, False])
def test_a_manager_cannot_change_a_user_with_a_right_they_lack(manager_web: Client, active: bool):
    # Inactive too: reactivating a powerful account and setting its password would hand its
    # rights to whoever knows the new password.
    owner = User.objects.create_user("owner", password="pw", is_staff=True, is_active=active)
    owner.user_permissions.add(Permission.objects.get(codename="delete_user"))
    before = User.objects.values().get(pk=owner.pk)

    post = manager_web.post(_user_change(owner), _change_form(owner, is_active="on"))
    password = manager_web.post(
        reverse("admin:auth_user_password_change", args=[owner.pk]),
        {
            "usable_password": "true",
            "password1": "d-Long-pass-7704",
            "password2": "d-Long-pass-7704",
        },
    )

    assert post.status_code == 403
    assert password.status_code == 403
    assert User.objects.values().get(pk=owner.pk) == before


def test_a_manager_cannot_change_another_manager_or_set_their_password(manager_web: Client):
    # A peer holds what the manager holds: setting their password would take over their account.
    peer = User.objects.create_user("peer", password="pw", is_staff=True)
    peer.groups.add(Group.objects.get(name=MANAGER_GROUP))
    before = User.objects.values().get(pk=peer.pk)

    post = manager_web.post(_user_change(peer), _change_form(peer, first_name="Mallory"))
    password = manager_web.post(
        reverse("admin:auth_user_password_change", args=[peer.pk]),
        {
            "usable_password": "true",
            "password1": "e-Long-pass-8815",
            "password2": "e-Long-pass-8815",
        },
    )

    assert post.status_code == 403
    assert password.status_code == 403
    assert User.objects.values().get(pk=peer.pk) == before


def test_a_manager_cannot_change_their_own_groups_or_active_flag(
    manager_web: Client, manager: User
):
    Group.objects.create(name="Empty")
    response = manager_web.post(
        _user_change(manager),
        _change_form(manager, first_name="Grace", groups=[_group("Empty").pk], is_active=""),
    )

    assert response.status_code == 302
    manager.refresh_from_db()
    assert manager.first_name == "Grace"
    assert manager.is_active is True
    assert [group.name for group in manager.groups.all()] == [MANAGER_GROUP]


def test_the_user_list_shows_each_users_groups(manager_web: Client, store_staff: User, admin_user):
    page = manager_web.get(USERS).content.decode()

    rows = dict(
        re.findall(
            r'<a href="[^"]+/change/">([^<]+)</a>.*?<td class="field-group_names">([^<]*)</td>',
            page,
            re.DOTALL,
        )
    )
    assert rows == {
        "admin": "superuser",
        "clerk": STORE_STAFF_GROUP,
        "manager": MANAGER_GROUP,
    }


# Sign-in lockouts


def _fail_until_locked(username: str, address: str = "10.0.0.1") -> Any:
    client = Client(REMOTE_ADDR=address)
    for _ in range(5):
        response = client.post(
            LOGIN, {"username": username, "password": "wrong", "next": "/admin/"}
        )
    return response


def test_the_lockout_page_says_the_wait_in_minutes_and_where_a_manager_unlocks(
    store_staff: User, settings
):
    locked = _fail_until_locked(store_staff.username)

    page = locked.content.decode()
    assert locked.status_code == 429
    assert "Try again in 15 minutes" in page
    assert "PT15M" not in page
    assert f'href="{LOCKOUTS}?q={store_staff.username}"' in page
    assert "Unlock the selected sign-ins" in page


def test_the_lockout_page_follows_the_configured_cool_off(store_staff: User, settings):
    from datetime import timedelta

    settings.AXES_COOLOFF_TIME = timedelta(minutes=1)

    page = _fail_until_locked(store_staff.username).content.decode()

    assert "Try again in 1 minute," in page


def test_a_manager_opens_the_lockouts_and_unlocks_a_sign_in(manager_web: Client, store_staff: User):
    _fail_until_locked(store_staff.username)
    _fail_until_locked("someone-else", address="10.0.0.9")
    attempt = AccessAttempt.objects.get(username=store_staff.username)
    clerk = Client(REMOTE_ADDR="10.0.0.1")
    sign_in = {"username": store_staff.username, "password": "pw", "next": "/admin/"}
    assert clerk.post(LOGIN, sign_in).status_code == 429

    listed = manager_web.get(f"{LOCKOUTS}?q={store_staff.username}")
    unlocked = manager_web.post(LOCKOUTS, {"action": "unlock", "_selected_action": [attempt.pk]})

    assert listed.status_code == 200
    assert store_staff.username in listed.content.decode()
    assert 'value="unlock"' in listed.content.decode()
    assert unlocked.status_code == 302
    assert _messages(unlocked) == [
        f"Unlocked: {store_staff.username} from 10.0.0.1. They may sign in again."
    ]
    assert clerk.post(LOGIN, sign_in).status_code == 302
    # Only that sign-in: the other lockout stands.
    assert AccessAttempt.objects.filter(username="someone-else").exists()


# The demo login (make run)


def test_the_demo_login_manages_keys_staff_and_lockouts():
    call_command("demo_access", stdout=StringIO())
    client = Client()
    signed_in = client.post(LOGIN, {"username": "demo", "password": "demo", "next": "/admin/"})

    assert signed_in.status_code == 302
    for url in (API_KEYS, API_KEY_ADD, USERS, USER_ADD, LOCKOUTS):
        assert client.get(url).status_code == 200, url


def test_demo_access_revokes_only_its_own_earlier_keys(make_key):
    kiosk = make_key(name="demo-kiosk")
    out = StringIO()
    call_command("demo_access", stdout=out)
    call_command("demo_access", stdout=out)

    first, second = re.findall(r"Demo API key: (\S+)", out.getvalue())
    assert _api_status(first) == 401
    assert _api_status(second) == 200
    assert _api_status(kiosk) == 200
