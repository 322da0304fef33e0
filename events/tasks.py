"""The background tasks of the events (run by ``manage.py db_worker``). Each is idempotent: it
may run twice, or after its work was done another way, and then does nothing.

A dispatch task writes the deliveries of the events emitted together and sends those to healthy
endpoints itself, right away (``events.delivery``). The other tasks are for what that did not
finish: ``deliver_batch`` tries deliveries whose worker died (at the end of its lease), or that
were handed on; ``deliver`` makes one delivery's retry.

Deliveries run in two lanes: those to healthy endpoints on the default queue, those to degraded
ones (slow or failing, ``WebhookEndpoint.degraded_since``) on ``DEGRADED_QUEUE``, one delivery
a task, each lane with workers of its own. An endpoint that does not answer holds its worker for
the whole timeout; in their own lane such endpoints hold up only each other.
"""

from django_tasks import TaskContext, task

# Listed in settings.TASKS, whose backend refuses a task on a queue it does not know.
DEGRADED_QUEUE = "webhooks-degraded"


def _dispatch(event_ids: list[int]) -> None:
    from events import delivery

    # The sweep takes on the events due beside these, those whose dispatch died with its
    # worker among them.
    dispatched = delivery.events_dispatch(event_ids=event_ids, send=True, sweep=True)
    delivery.batches_send(dispatched.batches)


@task()
def dispatch_event(event_id: int) -> None:
    """Write the deliveries of an event, and of the other events due, to the endpoints
    subscribed to them and send them."""
    _dispatch([event_id])


@task()
def dispatch_events(event_ids: list[int]) -> None:
    """``dispatch_event`` for events emitted together, all at once."""
    _dispatch(event_ids)


def _in_degraded_lane(context: TaskContext) -> bool:
    return context.task_result.task.queue_name == DEGRADED_QUEUE


@task(takes_context=True)
def deliver_batch(context: TaskContext, delivery_ids: list[int]) -> None:
    """Try the deliveries that are due and that no other worker is trying; on the default queue,
    hand those of a degraded endpoint over to the degraded one instead."""
    from events import delivery

    batches = delivery.deliveries_claim(
        delivery_ids=delivery_ids, degraded_lane=_in_degraded_lane(context)
    )
    delivery.batches_send(batches)


@task(takes_context=True)
def deliver(context: TaskContext, delivery_id: int) -> None:
    """``deliver_batch`` of one delivery."""
    from events import delivery

    delivery.delivery_attempt(delivery_id=delivery_id, degraded_lane=_in_degraded_lane(context))
