import csv
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from stock.exports import export_csv


class Command(BaseCommand):
    help = (
        "Write the catalog and its stock as CSV, one row per variant and location, in the columns "
        "import_catalog reads (on_hand is the quantity now; received and counted are empty)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output", type=Path, metavar="FILE", help="Write to FILE (default: standard output)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        output: Path | None = options["output"]
        if output is None:
            count = export_csv(csv.writer(self.stdout, lineterminator="\n"))
        else:
            with output.open("w", encoding="utf-8", newline="") as file:
                count = export_csv(csv.writer(file))
            self.stderr.write(f"{count} row(s) written to {output}.")
