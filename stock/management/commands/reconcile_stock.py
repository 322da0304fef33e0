from typing import Any

from django.core.management.base import BaseCommand, CommandError

from catalog.models import Variant
from stock.selectors import stock_drift


class Command(BaseCommand):
    help = (
        "Prove that every variant's quantity equals the sum of its stock movements. Reports "
        "each variant that drifted and exits non-zero if any did."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        drifted = list(stock_drift())
        checked = Variant.objects.count()
        for variant in drifted:
            total = variant.ledger_total  # type: ignore[attr-defined]
            self.stderr.write(
                f"DRIFT {variant.sku}: quantity {variant.quantity}, movements add up to {total} "
                f"({variant.quantity - total:+d})"
            )
        if drifted:
            raise CommandError(f"{len(drifted)} of {checked} variant(s) drifted from the ledger.")
        self.stdout.write(f"OK: {checked} variant(s), every quantity equals its ledger.")
