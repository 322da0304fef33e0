from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.imports import (
    ImportRefused,
    format_errors,
    import_apply,
    import_batch_create,
    import_preview,
)
from inventory_project.actors import Actor, system_actor, user_actor

# Errors printed before "and N more": enough to fix a file, not a screenful of one mistake.
ERRORS_SHOWN = 200


class Command(BaseCommand):
    help = (
        "Import products, variants and stock from a CSV file (the columns are in the README). "
        "Prints what the file will do and every row's error; applies it, all or nothing, "
        "unless --dry-run. Exits non-zero on errors, changing nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="The CSV file (UTF-8).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and preview only; change nothing."
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
            lines = format_errors(preview.errors)
            for line in lines[:ERRORS_SHOWN]:
                self.stderr.write(line)
            if len(lines) > ERRORS_SHOWN:
                self.stderr.write(f"... and {len(lines) - ERRORS_SHOWN} more.")
            raise CommandError(f"{len(lines)} error(s); nothing was imported.")
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing was changed.")
            return
        batch = import_batch_create(
            preview=preview, filename=path.name, created_by_id=actor.user_id
        )
        try:
            import_apply(batch=batch, actor=actor)
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
