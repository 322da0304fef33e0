"""List, revoke and rotate API keys by name. Keys are made with ``create_api_key``.

A key's secret is shown once, when it is made or rotated; neither it nor its digest is ever
listed. Every error (an unknown name, a key already revoked) ends the command with a message on
stderr and a non-zero exit, so a script that calls it notices.
"""

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from core.api.models import ApiKey
from core.api.services import api_key_revoke, api_key_rotate
from core.exceptions import ApplicationError

COLUMNS = ("name", "prefix", "scopes", "created", "expires", "state")


def key_state(api_key: ApiKey, *, at: datetime) -> str:
    if api_key.is_revoked:
        return "revoked"
    return "expired" if api_key.is_expired(at=at) else "active"


def _when(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z") if moment else "never"


class Command(BaseCommand):
    help = (
        "API keys by name: `list` them (without revoked keys unless --all), `revoke NAME`, or "
        "`rotate NAME` (a new secret with the same name, scopes and expiry, printed once; the "
        "old secret is revoked)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="list|revoke|rotate")
        listing = actions.add_parser("list", help="The keys: name, prefix, scopes, dates, state.")
        listing.add_argument("--all", action="store_true", help="Include revoked keys.")
        revoke = actions.add_parser("revoke", help="Revoke a key: it stops working at once.")
        revoke.add_argument("name", help="The key's name, as `list` shows it.")
        rotate = actions.add_parser(
            "rotate", help="Replace a key's secret; the new one is printed once on stdout."
        )
        rotate.add_argument("name", help="The key's name, as `list` shows it.")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "list":
            self.list_keys(include_revoked=options["all"])
        elif action == "revoke":
            self.revoke(options["name"])
        else:
            self.rotate(options["name"])

    def list_keys(self, *, include_revoked: bool) -> None:
        keys = ApiKey.objects.order_by("name", "id")
        if not include_revoked:
            keys = keys.filter(revoked_at__isnull=True)
        now = timezone.now()
        rows = [
            (
                api_key.name,
                api_key.prefix,
                ",".join(api_key.scopes) or "read only",
                _when(api_key.created_at),
                _when(api_key.expires_at),
                key_state(api_key, at=now),
            )
            for api_key in keys.only(
                "name", "prefix", "scopes", "created_at", "expires_at", "revoked_at"
            )
        ]
        if not rows:
            self.stderr.write(
                "No API keys." if include_revoked else "No API keys (--all for revoked)."
            )
            return
        widths = [max(len(row[i]) for row in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
        for row in [COLUMNS, *rows]:
            self.stdout.write(
                "  ".join(
                    cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                ).rstrip()
            )

    def revoke(self, name: str) -> None:
        api_key = self._find(name)
        if api_key.is_revoked:
            raise CommandError(
                f"The API key {api_key.name!r} was revoked already, on {_when(api_key.revoked_at)}."
            )
        api_key_revoke(api_key=api_key)
        self.stderr.write(
            f"Revoked the API key {api_key.name!r} ({api_key.prefix}…): it no longer works."
        )

    def rotate(self, name: str) -> None:
        try:
            api_key, raw_key = api_key_rotate(api_key=self._find(name))
        except ApplicationError as error:
            raise CommandError(error.message) from error
        except ValidationError as error:  # the old secret's row would clash with another key
            raise CommandError(f"Nothing was changed: {' '.join(error.messages)}") from error
        self.stderr.write(
            f"Rotated the API key {api_key.name!r}: the old secret is revoked; the new one keeps "
            f"the scopes ({', '.join(api_key.scopes) or 'read only'}) and the expiry "
            f"({_when(api_key.expires_at)}). It is shown once; store it now:"
        )
        self.stdout.write(raw_key)

    def _find(self, name: str) -> ApiKey:
        api_key = ApiKey.objects.filter(name=name.strip()).first()
        if api_key is None:
            raise CommandError(
                f"No API key is named {name!r}; `api_keys list --all` shows them all."
            )
        return api_key
