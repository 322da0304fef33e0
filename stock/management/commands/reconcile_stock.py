from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from catalog.models import Variant
from stock.models import StockLevel
from stock.selectors import (
    stock_committed_drift,
    stock_drift,
    stock_incoming_drift,
    stock_level_drift,
    stock_transfer_imbalance,
)


class Command(BaseCommand):
    help = (
        "Prove that every stock level's units on hand, committed and incoming equal the sums "
        "of its movements, that every level's committed units are what the open orders hold "
        "there and its incoming units what the transfers in transit still carry there, that "
        "every variant's totals equal its levels', and that transfers conserve units (each "
        "transfer's movements of a variant add up to zero over on hand and incoming). Reports "
        "each drift and exits non-zero if there is any."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        outermost = not connection.in_atomic_block
        with transaction.atomic():
            if outermost:
                self._one_snapshot()
            drifts, mismatches = self._report()
            in_transit, unbalanced = self._report_transfers()
            levels, variants = StockLevel.objects.count(), Variant.objects.count()
        problems = []
        if drifts:
            problems.append(f"{drifts} drift(s) from the ledger")
        if mismatches:
            problems.append(f"{mismatches} level(s) whose committed units are not the open orders'")
        if in_transit:
            problems.append(
                f"{in_transit} level(s) whose incoming units are not what the transfers in "
                "transit carry"
            )
        if unbalanced:
            problems.append(f"{unbalanced} transfer movement(s) that do not conserve units")
        if problems:
            raise CommandError("; ".join(problems) + ".")
        self.stdout.write(
            f"OK: {variants} variant(s) at {levels} stock level(s), every quantity equals "
            "its ledger."
        )

    @staticmethod
    def _one_snapshot() -> None:
        """Every read below sees the same moment, so that a shop selling meanwhile shows no
        false difference between its open orders and its levels (two queries apart). SQLite's
        transaction is one snapshot already; PostgreSQL's default gives each query its own.
        Only the outermost transaction may choose (inside a caller's, the caller's decides)."""
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")

    def _report(self) -> tuple[int, int]:
        drifts = 0
        for level in stock_level_drift():
            drifts += 1
            ledger_on_hand = level.ledger_on_hand  # type: ignore[attr-defined]
            ledger_committed = level.ledger_committed  # type: ignore[attr-defined]
            ledger_incoming = level.ledger_incoming  # type: ignore[attr-defined]
            self.stderr.write(
                f"DRIFT {level.variant.sku} at {level.location.code}: on hand {level.on_hand}, "
                f"movements add up to {ledger_on_hand}; committed {level.committed}, "
                f"movements add up to {ledger_committed}"
                + (
                    f"; incoming {level.incoming}, movements add up to {ledger_incoming}"
                    if level.incoming != ledger_incoming
                    else ""
                )
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
        mismatches = stock_committed_drift()
        for mismatch in mismatches:
            self.stderr.write(
                f"MISMATCH {mismatch.sku} at {mismatch.location}: committed {mismatch.committed}, "
                f"open orders hold {mismatch.expected}"
            )
        return drifts, len(mismatches)

    def _report_transfers(self) -> tuple[int, int]:
        mismatches = stock_incoming_drift()
        for mismatch in mismatches:
            self.stderr.write(
                f"MISMATCH {mismatch.sku} at {mismatch.location}: incoming {mismatch.incoming}, "
                f"transfers in transit carry {mismatch.expected}"
            )
        imbalances = stock_transfer_imbalance()
        for imbalance in imbalances:
            self.stderr.write(
                f"UNBALANCED {imbalance.sku} in {imbalance.reference}: its transfer movements "
                f"add up to {imbalance.units:+d} units on hand and in transit, not 0"
            )
        return len(mismatches), len(imbalances)
