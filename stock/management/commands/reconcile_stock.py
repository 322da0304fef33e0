from typing import Any

from django.core.management.base import BaseCommand, CommandError

from catalog.models import Variant
from stock.models import StockLevel
from stock.selectors import stock_drift, stock_level_drift


class Command(BaseCommand):
    help = (
        "Prove that every stock level's units on hand and committed equal the sums of its "
        "movements, and that every variant's totals equal its levels'. Reports each drift and "
        "exits non-zero if there is any."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        drifts = 0
        for level in stock_level_drift():
            drifts += 1
            on_hand = level.ledger_on_hand  # type: ignore[attr-defined]
            committed = level.ledger_committed  # type: ignore[attr-defined]
            self.stderr.write(
                f"DRIFT {level.variant.sku} at {level.location.code}: on hand {level.on_hand}, "
                f"movements add up to {on_hand}; committed {level.committed}, movements add "
                f"up to {committed}"
            )
        for variant in stock_drift():
            drifts += 1
            on_hand = variant.ledger_on_hand  # type: ignore[attr-defined]
            committed = variant.ledger_committed  # type: ignore[attr-defined]
            self.stderr.write(
                f"DRIFT {variant.sku}: available {variant.quantity}, committed "
                f"{variant.committed}; its movements add up to {on_hand - committed} available, "
                f"{committed} committed"
            )
        levels, variants = StockLevel.objects.count(), Variant.objects.count()
        if drifts:
            raise CommandError(f"{drifts} drift(s) from the ledger.")
        self.stdout.write(
            f"OK: {variants} variant(s) at {levels} stock level(s), every quantity equals "
            "its ledger."
        )
