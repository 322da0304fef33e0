import hashlib
import secrets
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone


class Scope(models.TextChoices):
    """What a key may do beyond reading the catalog, which every key may."""

    CATALOG_WRITE = "catalog:write", "Change products and variants"
    STOCK_WRITE = "stock:write", "Adjust and count stock"
    ORDERS_WRITE = "orders:write", "Place and move its own orders"
    REPORTS_READ = "reports:read", "Read sales reports"
    WEBHOOKS_MANAGE = "webhooks:manage", "Manage webhook endpoints and read the events"


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def by_digest(self, hashed_key: str) -> "ApiKey | None":
        """The key with this digest (a unique column: one row or none)."""
        return self.filter(hashed_key=hashed_key).order_by().first()

    def usable(self, *, at: datetime | None = None) -> "ApiKeyQuerySet":
        at = at or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=at)
        )


class ApiKey(models.Model):
    """A client app's credential. Only a SHA-256 digest of the key is stored.

    Keys are 256-bit random strings, so a fast hash is as safe as a slow password hasher for
    them, and costs microseconds instead of hundreds of milliseconds on every request.
    """

    name = models.CharField(max_length=100, unique=True)
    prefix = models.CharField(
        max_length=8, editable=False, help_text="The key's first characters, to tell keys apart."
    )
    hashed_key = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(name__regex=r"\S"), name="api_apikey_name_not_blank"
            ),
            models.CheckConstraint(
                condition=Q(hashed_key__regex=r"^[0-9a-f]{64}$"), name="api_apikey_hash_is_sha256"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def clean(self) -> None:
        if not isinstance(self.scopes, list) or not all(isinstance(s, str) for s in self.scopes):
            raise ValidationError({"scopes": "Scopes must be a list of scope names."})
        unknown = sorted(set(self.scopes) - set(Scope.values))
        if unknown:
            raise ValidationError(
                {
                    "scopes": f"Unknown scopes: {', '.join(unknown)}. Known: {', '.join(Scope.values)}."
                }
            )

    @staticmethod
    def generate() -> tuple[str, str, str]:
        """A new raw key with its prefix and digest: ``(raw_key, prefix, hashed_key)``."""
        prefix = secrets.token_hex(4)
        raw_key = f"{prefix}.{secrets.token_urlsafe(32)}"
        return raw_key, prefix, ApiKey.hash(raw_key)

    @staticmethod
    def hash(raw_key: str) -> str:
        return hashlib.sha256(raw_key.encode()).hexdigest()

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_expired(self, *, at: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (at or timezone.now())

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class IdempotencyKey(models.Model):
    """A client's ``Idempotency-Key`` and the answer it got.

    The row is written in the same transaction as the request's effect, so the two commit or
    vanish together: a retry either replays the stored answer or runs as if for the first time.
    """

    caller = models.CharField(max_length=64, help_text="api_key:<id> or user:<id>")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=512)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request's body.")
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.TextField(null=True, help_text="The JSON answer, as it was written.")
    response_headers = models.JSONField(
        default=dict, help_text="Headers of the answer replayed with it (Location)."
    )
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["caller", "key", "method", "path"], name="api_idempotency_key_unique"
            )
        ]
        indexes = [models.Index(fields=["created_at"], name="api_idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"
