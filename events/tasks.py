"""The background tasks of the events (run by ``manage.py db_worker``). Each is idempotent: it
may run twice, or after its work was done another way, and then does nothing."""

from django_tasks import task


@task()
def dispatch_event(event_id: int) -> None:
    """Write the deliveries of an event to the endpoints subscribed to it, and enqueue them;
    then those of events whose dispatch died with its worker."""
    from events import delivery

    delivery.event_dispatch(event_id=event_id)
    delivery.events_dispatch_stale()


@task()
def dispatch_events(event_ids: list[int]) -> None:
    """``dispatch_event`` for each of the events (those emitted together), one by one."""
    from events import delivery

    for event_id in event_ids:
        delivery.event_dispatch(event_id=event_id)
    delivery.events_dispatch_stale()


@task()
def deliver(delivery_id: int) -> None:
    """Try a delivery, if it is due and no other worker is trying it."""
    from events import delivery

    delivery.delivery_attempt(delivery_id=delivery_id)
