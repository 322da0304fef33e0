from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from core.actors import system_actor
from orders.services import orders_expire, parse_age


class Command(BaseCommand):
    help = (
        "Cancel orders still unpaid after the given age, restocking them (meant for cron), "
        "e.g. expire_orders --older-than 30m"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", required=True, help="An age: 45s, 30m, 2h or 1d.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            age = parse_age(options["older_than"])
        except ValueError as error:
            raise CommandError(str(error)) from error
        expired = orders_expire(
            placed_before=timezone.now() - age, actor=system_actor("expire_orders")
        )
        self.stdout.write(
            f"Cancelled {len(expired)} unpaid order(s) older than {options['older_than']}"
            + (f": {', '.join(expired)}" if expired else ".")
        )
