from typing import Any

from django.core.management.base import BaseCommand

from catalog import versions


class Command(BaseCommand):
    help = (
        "Mark the catalog as changed, so no cached read outlives a change made outside the "
        "application (SQL by hand). Every change through the application does this itself."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        versions.catalog_changed()
        self.stdout.write(f"Catalog version is now {versions.current()}.")
