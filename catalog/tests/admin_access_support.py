"""What the tests of access in the admin (API keys, staff users, lockouts) share: the pages' URLs,
a response's messages, and what an API key gets from the API."""

from typing import Any

from django.contrib import messages
from django.test import Client
from django.urls import reverse

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
