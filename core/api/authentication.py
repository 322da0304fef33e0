import re
from typing import Any

from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from core.actors import Actor, current_actor, user_actor
from core.api.key_cache import api_key_find
from core.api.models import ApiKey
from core.api.throttling import ActorRateThrottle

KEYWORD = "Api-Key"


def api_key_actor(api_key: ApiKey) -> Actor:
    return Actor(kind="api_key", name=api_key.name, api_key_id=api_key.pk)


def request_actor(request: Request) -> Actor:
    """Who makes this (authenticated) request: its API key, or its staff user."""
    if isinstance(request.auth, ApiKey):
        return api_key_actor(request.auth)
    return user_actor(request.user)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Api-Key <key>``. The key is found by its SHA-256 digest: one query, or
    none when this process remembers it (``key_cache``)."""

    def authenticate(self, request: Request) -> tuple[AnonymousUser, ApiKey] | None:
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            # No key here. A staff session may still authenticate (behind a proxy that asks
            # for Basic credentials, the browser sends them on); if none does, the answer names
            # the scheme this API takes (``wrong_scheme_message``).
            return None
        if len(parts) != 2:
            ActorRateThrottle().refuse_failed_authentication(request)
            raise exceptions.AuthenticationFailed(
                f"Malformed Authorization header; expected '{EXPECTED}'."
            )
        try:
            raw_key = parts[1].decode("ascii")
        except UnicodeDecodeError as error:
            raise exceptions.AuthenticationFailed("Invalid API key.") from error

        api_key = api_key_find(request, ApiKey.hash(raw_key))
        if api_key is None or api_key.is_revoked or api_key.is_expired():
            ActorRateThrottle().refuse_failed_authentication(request)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        if api_key.is_revoked:
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        if api_key.is_expired():
            raise exceptions.AuthenticationFailed("This API key has expired.")

        current_actor.set(api_key_actor(api_key))
        return AnonymousUser(), api_key

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


EXPECTED = f"Authorization: {KEYWORD} <key>"
_SCHEME = re.compile(rb"[A-Za-z][A-Za-z0-9._~+/-]{0,31}")


def wrong_scheme_message(request: Request) -> str | None:
    """Why an ``Authorization`` header that is no API key authenticated nothing, or None when
    there is none: "credentials were not provided" to a client that sent a Bearer token would
    send it looking in the wrong place."""
    parts = authentication.get_authorization_header(request).split()
    if not parts or parts[0].lower() == KEYWORD.lower().encode():
        return None
    if len(parts) == 1:
        return f"Malformed Authorization header; expected '{EXPECTED}'."
    scheme = parts[0].decode("ascii") if _SCHEME.fullmatch(parts[0]) else "another"
    return f"The Authorization header uses the {scheme} scheme; expected '{EXPECTED}'."


class SessionAuthentication(authentication.SessionAuthentication):
    """Django's session login (the admin, the browsable API), recording the user as the actor."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        result = super().authenticate(request)
        if result is not None:
            current_actor.set(user_actor(result[0]))
        return result
