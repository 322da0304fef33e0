import csv
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from stock.models import Location
from stock.selectors import (
    location_default,
    location_for_stock,
    low_stock_levels,
    unstocked_variants,
)

COLUMNS = [
    "sku",
    "product",
    "color",
    "size",
    "location",
    "on_hand",
    "committed",
    "available",
    "low_stock_threshold",
]


class Command(BaseCommand):
    help = (
        "List what is low on stock where: each variant of an active product whose units "
        "available at a location (on hand, less those committed to open orders) are at or "
        "below its low-stock threshold. A variant never stocked anywhere shows at the default "
        "location."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--csv", action="store_true", help="Write CSV (with a header row).")
        parser.add_argument(
            "--location",
            metavar="CODE",
            help="Only this (active) location; every active location by default.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rows = self._rows(self._location(options["location"]))
        if options["csv"]:
            writer = csv.writer(self.stdout)
            writer.writerow(COLUMNS)
            writer.writerows(rows)
            return
        if not rows:
            self.stdout.write("Nothing is low on stock.")
            return
        self.stdout.write(
            f"{'SKU':<24} {'Product':<32} {'Size':<9} {'Location':<16} {'Avail':>5} {'Min':>5}"
        )
        for sku, name, color, size, code, _, _, available, threshold in rows:
            product = f"{name} ({color})"[:32]
            self.stdout.write(
                f"{sku:<24} {product:<32} {size:<9} {code:<16} {available:>5} {threshold:>5}"
            )
        self.stdout.write(f"{len(rows)} variant(s) and location(s) low on stock.")

    def _location(self, code: str | None) -> Location | None:
        if code is None:
            return None
        try:
            return location_for_stock(code)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error

    def _rows(self, location: Location | None) -> list[list[Any]]:
        rows = [
            [
                level.variant.sku,
                level.variant.product.name,
                level.variant.product.color,
                level.variant.size,
                level.location.code,
                level.on_hand,
                level.committed,
                level.available,
                level.variant.low_stock_threshold,
            ]
            for level in low_stock_levels(location=location).iterator()
        ]
        default = location_default()
        if location is None or location.pk == default.pk:
            # Never stocked: nothing available anywhere, so at the default as much as anywhere.
            rows += [
                [
                    variant.sku,
                    variant.product.name,
                    variant.product.color,
                    variant.size,
                    default.code,
                    0,
                    0,
                    0,
                    variant.low_stock_threshold,
                ]
                for variant in unstocked_variants().iterator()
            ]
        # Emptiest first, then by product, SKU and location.
        return sorted(rows, key=lambda row: (row[7], row[1], row[0], row[4]))
