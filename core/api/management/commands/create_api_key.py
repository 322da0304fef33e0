from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from core.api import key_options
from core.api.models import Scope
from core.api.services import api_key_create

MAX_DAYS = 3650


class Command(BaseCommand):
    help = (
        "Create an API key for a client app and print it once. Every key may read the catalog; "
        "scopes grant more."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Who uses the key, e.g. web-shop or pos-store-12.")
        parser.add_argument(
            "--scope",
            action="append",
            default=[],
            choices=Scope.values,
            dest="scopes",
            help="A scope to grant; repeat for several.",
        )
        parser.add_argument(
            "--all-scopes",
            "--write",
            dest="write",
            action="store_true",
            help=f"Grant every scope: {', '.join(Scope.values)}.",
        )
        parser.add_argument(
            "--expires-in-days", type=int, default=None, help="Expire the key after this many days."
        )
        for option in key_options.registered():
            option.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        scopes = list(Scope.values) if options["write"] else options["scopes"]
        days = options["expires_in_days"]
        if days is not None and not 0 < days <= MAX_DAYS:
            raise CommandError(f"--expires-in-days must be from 1 to {MAX_DAYS} days.")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        notes = []
        try:
            with transaction.atomic():
                api_key, raw_key = api_key_create(
                    name=options["name"], scopes=scopes, expires_at=expires_at
                )
                for option in key_options.registered():
                    note = option.apply(api_key, options)
                    if note:
                        notes.append(note)
        except ValidationError as error:
            messages = "; ".join(
                f"{field}: {' '.join(errors)}" for field, errors in error.message_dict.items()
            )
            raise CommandError(messages) from error
        self.stderr.write(
            f"Created API key {api_key.name!r} with scopes: {', '.join(api_key.scopes) or 'read only'}"
            + (f", expiring {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else "")
            + "".join(f", {note}" for note in notes)
            + ". It is shown once; store it now:"
        )
        self.stdout.write(raw_key)
