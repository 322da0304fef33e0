"""The background tasks of the events (run by ``manage.py db_worker``). Each is idempotent: it
may run twice, or after its work was done another way, and then does nothing.

Deliveries run in two lanes: those to healthy endpoints on the default queue, those to degraded
ones (slow or failing, ``WebhookEndpoint.degraded_since``) on ``DEGRADED_QUEUE``, each lane with
workers of its own. A worker makes one attempt at a time, and an endpoint that does not answer
holds it for the whole timeout; in their own lane such endpoints hold up only each other.
"""

from django_tasks import TaskContext, task

# Listed in settings.TASKS, whose backend refuses a task on a queue it does not know.
DEGRADED_QUEUE = "webhooks-degraded"


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


@task(takes_context=True)
def deliver(context: TaskContext, delivery_id: int) -> None:
    """Try a delivery, if it is due and no other worker is trying it; on the default queue, hand
    it over to the degraded one instead if its endpoint is degraded."""
    from events import delivery

    degraded_lane = context.task_result.task.queue_name == DEGRADED_QUEUE
    delivery.delivery_attempt(delivery_id=delivery_id, degraded_lane=degraded_lane)
