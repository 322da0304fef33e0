from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from core.api.models import ApiKey
from core.exceptions import ApplicationError


@transaction.atomic
def api_key_create(
    *, name: str, scopes: Iterable[str] = (), expires_at: datetime | None = None
) -> tuple[ApiKey, str]:
    """Create a key and return it with its raw value, which is shown once and never stored."""
    raw_key, prefix, hashed_key = ApiKey.generate()
    api_key = ApiKey(
        name=name.strip(),
        prefix=prefix,
        hashed_key=hashed_key,
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
    )
    api_key.full_clean()
    api_key.save()
    return api_key, raw_key


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


@transaction.atomic
def api_key_update(
    *, api_key: ApiKey, name: str, scopes: Iterable[str], expires_at: datetime | None
) -> ApiKey:
    """Rename a key, change its scopes or its expiry. The key itself never changes."""
    api_key.name = name.strip()
    api_key.scopes = sorted(set(scopes))
    api_key.expires_at = expires_at
    api_key.full_clean()
    api_key.save(update_fields=["name", "scopes", "expires_at"])
    return api_key


class ApiKeyNotUsable(ApplicationError):
    """The key is revoked or expired: there is nothing left to rotate."""

    code = "api_key_not_usable"
    status_code = 409
    default_message = "This API key is revoked or expired; create a new one instead."


# What the row of a replaced secret is called: the key's name and the old secret's prefix.
_REPLACED_SUFFIX = " (replaced {prefix})"


@transaction.atomic
def api_key_rotate(*, api_key: ApiKey) -> tuple[ApiKey, str]:
    """Give a key a new secret, with the same name, scopes and expiry, and revoke the old one;
    return the key and its new raw value, which is shown once and never stored.

    The key's row is the client app: its orders, its stock movements, its idempotency keys and
    its request budgets hang on it, so the row keeps them and takes the new secret. The old
    secret moves to a new row, revoked, named after the key and the old prefix, so that the
    list of keys still shows when it was made and when it stopped working. Both rows are
    written in this one transaction: a failure leaves the old secret working and no new one.
    """
    current = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    now = timezone.now()
    if current.is_revoked or current.is_expired(at=now):
        state = "revoked" if current.is_revoked else "expired"
        raise ApiKeyNotUsable(
            f"The API key {current.name!r} is {state}; create a new one instead.",
            details={"name": current.name, "state": state},
        )
    old_prefix, old_hash, old_created_at = current.prefix, current.hashed_key, current.created_at
    raw_key, current.prefix, current.hashed_key = ApiKey.generate()
    current.created_at = now
    current.save(update_fields=["prefix", "hashed_key", "created_at"])

    suffix = _REPLACED_SUFFIX.format(prefix=old_prefix)
    replaced = ApiKey(
        name=current.name[: _name_max_length() - len(suffix)] + suffix,
        prefix=old_prefix,
        hashed_key=old_hash,
        scopes=current.scopes,
        expires_at=current.expires_at,
        revoked_at=now,
    )
    replaced.full_clean()
    replaced.save()
    # Made when the old secret was made (``auto_now_add`` set it to now on insert).
    replaced.created_at = old_created_at
    replaced.save(update_fields=["created_at"])
    return current, raw_key


def _name_max_length() -> int:
    field = ApiKey._meta.get_field("name")
    return int(getattr(field, "max_length", 0))
