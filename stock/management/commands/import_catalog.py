from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.actors import Actor, system_actor, user_actor
from stock.imports import (
    ImportRefused,
    applied_before,
    format_errors,
    import_apply,
    import_batch_create,
    import_batches_applied,
    import_preview,
)


class Command(BaseCommand):
    help = (
        "Import products, variants and stock from a CSV file (the columns are in the README). "
        "Prints what the file will do and every error, each with its row and column; applies it, "
        "all or nothing, unless --dry-run. Exits non-zero on errors, and for a file applied "
        "before unless --allow-reimport, changing nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="The CSV file (UTF-8).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and preview only; change nothing."
        )
        parser.add_argument(
            "--allow-reimport",
            action="store_true",
            help="Apply the file although the same content was applied before (its deliveries "
            "are then received again).",
        )
        parser.add_argument(
            "--actor",
            metavar="USERNAME",
            help="The staff user recorded on the stock movements (default: the system actor "
            '"import_catalog").',
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        actor = self._actor(options["actor"])
        allow_reimport: bool = options["allow_reimport"]
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}.") from error
        preview = import_preview(data=data)
        summary = preview.summary
        self.stdout.write(
            f"{summary['rows']} row(s): {summary['products_created']} product(s) and "
            f"{summary['variants_created']} variant(s) to create, {summary['products_changed']} "
            f"product(s) and {summary['variants_changed']} variant(s) to change, "
            f"{summary['units_received']} unit(s) received on {summary['rows_received']} row(s), "
            f"{summary['rows_counted']} count(s)."
        )
        if not preview.ok:
            for line in format_errors(preview.errors):
                self.stderr.write(line)
            raise CommandError(f"{len(preview.errors)} error(s); nothing was imported.")
        # Checked again, under the database's rule, when applying; asked here too, so that a dry
        # run says what the real run would.
        earlier = list(import_batches_applied(content_hash=preview.content_hash))
        if earlier and not allow_reimport:
            raise CommandError(
                f"This file was applied already: {applied_before(earlier)}. Nothing was "
                "imported. Give --allow-reimport to apply it again (its deliveries are then "
                "received twice)."
            )
        if earlier:
            self.stdout.write(f"Applied before ({applied_before(earlier)}); applying it again.")
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing was changed.")
            return
        batch = import_batch_create(
            preview=preview, filename=path.name, created_by_id=actor.user_id
        )
        try:
            import_apply(batch=batch, actor=actor, allow_reimport=allow_reimport)
        except ImportRefused as error:
            for line in (error.details or {}).get("rows", []):
                self.stderr.write(line)
            raise CommandError(error.message) from error
        self.stdout.write(f"Imported (import #{batch.pk}).")

    def _actor(self, username: str | None) -> Actor:
        if username is None:
            return system_actor("import_catalog")
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {username!r}.")
        return user_actor(user)
