"""``db_worker`` (django-tasks' database worker) with this project's polling interval: it
overrides the library's command of that name (``events`` comes before ``django_tasks_db`` in
``INSTALLED_APPS``), so every way of starting a worker gets it."""

from argparse import ArgumentParser

from django_tasks_db.management.commands.db_worker import Command as DBWorkerCommand

# An idle worker looks for due tasks this often (the library's default is every second). An
# event's dispatch task is due ``WEBHOOK_BATCH_WINDOW_SECONDS`` after it: a worker that has
# just found it not yet due comes back this much later, not a second later. An idle look is
# a few round trips (the connection's health check, then a locking SELECT in a transaction)
# on the tasks' table's index of ready tasks.
POLL_INTERVAL_SECONDS = 0.1


class Command(DBWorkerCommand):
    help = (
        "Run a background worker (the events' dispatch and the webhook deliveries); "
        f"looks for due tasks every {POLL_INTERVAL_SECONDS:g} s when idle."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(interval=POLL_INTERVAL_SECONDS)
