from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from inventory_project.api.models import ApiKey


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
