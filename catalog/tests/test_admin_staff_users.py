"""Staff users in the admin, run by a manager: add them, put them into the staff groups, set their
passwords, without ever giving anyone more than the manager holds."""

import re
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.urls import reverse

from catalog.groups import MANAGER_GROUP, STORE_STAFF_GROUP
from catalog.tests.admin_access_support import LOGIN, USER_ADD, USERS

pytestmark = pytest.mark.django_db


def _user_change(user: User) -> str:
    return reverse("admin:auth_user_change", args=[user.pk])


def _group(name: str) -> Group:
    return Group.objects.get(name=name)


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
