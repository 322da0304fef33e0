from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from events.delivery import events_dispatch_stale
from events.services import events_purge


class Command(BaseCommand):
    help = (
        "Delete events older than EVENTS_KEEP_DAYS (7) with their deliveries, and the worker's "
        "finished tasks as old (meant for cron). Events with a delivery still pending are kept. "
        "Events whose dispatch died with its worker are dispatched first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than-days",
            type=int,
            default=settings.EVENTS_KEEP_DAYS,
            help="Age in days past which events are deleted (default: %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["older_than_days"]
        if days < 1:
            raise CommandError("--older-than-days must be at least 1.")
        before = timezone.now() - timedelta(days=days)
        stale = 0
        while dispatched := events_dispatch_stale():
            stale += dispatched
        if stale:
            self.stdout.write(f"Dispatched {stale} event(s) whose worker died dispatching them.")
        events = events_purge(before=before)
        tasks, _ = DBTaskResult.objects.filter(
            status__in=["SUCCESSFUL", "FAILED"], finished_at__lt=before
        ).delete()
        self.stdout.write(
            f"Deleted {events} event(s) and {tasks} finished task(s) older than {days} day(s)."
        )
