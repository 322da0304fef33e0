"""Sign-in lockouts in the admin (a manager unlocks them), and the demo login of `make run`."""

import re
from io import StringIO
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from catalog.tests.admin_access_support import (
    API_KEY_ADD,
    API_KEYS,
    LOCKOUTS,
    LOGIN,
    USER_ADD,
    USERS,
    _api_status,
    _messages,
)

pytestmark = pytest.mark.django_db


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
