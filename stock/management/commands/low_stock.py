import csv
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from stock.selectors import low_stock_variants

COLUMNS = ["sku", "product", "color", "size", "quantity", "low_stock_threshold"]


class Command(BaseCommand):
    help = "List the variants of active products at or below their low-stock threshold."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--csv", action="store_true", help="Write CSV (with a header row).")

    def handle(self, *args: Any, **options: Any) -> None:
        rows = [
            [v.sku, v.product.name, v.product.color, v.size, v.quantity, v.low_stock_threshold]
            for v in low_stock_variants().iterator()
        ]
        if options["csv"]:
            writer = csv.writer(self.stdout)
            writer.writerow(COLUMNS)
            writer.writerows(rows)
            return
        if not rows:
            self.stdout.write("No variant is low on stock.")
            return
        self.stdout.write(f"{'SKU':<24} {'Product':<32} {'Size':<9} {'Qty':>5} {'Min':>5}")
        for sku, name, color, size, quantity, threshold in rows:
            product = f"{name} ({color})"[:32]
            self.stdout.write(f"{sku:<24} {product:<32} {size:<9} {quantity:>5} {threshold:>5}")
        self.stdout.write(f"{len(rows)} variant(s) low on stock.")
