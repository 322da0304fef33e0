from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from core.api.idempotency import KEY_TTL
from core.api.models import IdempotencyKey


class Command(BaseCommand):
    help = "Delete Idempotency-Keys older than their 24 hours (meant for cron)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than-hours",
            type=int,
            default=int(KEY_TTL.total_seconds() // 3600),
            help="Age in hours past which keys are deleted (default: 24).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        hours = options["older_than_hours"]
        if hours < 1:
            raise CommandError("--older-than-hours must be at least 1.")
        cutoff = timezone.now() - timedelta(hours=hours)
        deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
        self.stdout.write(f"Deleted {deleted} idempotency key(s) older than {hours} hour(s).")
