"""Events for the delivery figures of bench/events.py, written through the outbox as the
services write them (``events.services.emit``, inside a transaction).

    python -m bench.emitter --count N [--tag T]              # at once (100 a transaction)
    python -m bench.emitter --rate R --seconds S [--tag T]   # R a second, for S seconds

Run from the project's root with the API's environment (settings, DATABASE_URL). Prints one
line of JSON: ``{"events": N, "seconds": S}``, the time taken from the first commit's start to
the last commit. The tag (in each event's data, as ``bench``) tells the receiver which phase
an event belongs to.

At a rate, it commits every ``TICK`` seconds the events due by then (four at 200 a second), as
many small transactions of the API would: each event's ``occurred_at`` is stamped just before
its commit, so the receiver's clock minus it is the lag from commit to receipt.
"""

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TICK = 0.02
BATCH = 100
# A type whose events are neither coalesced nor ordered: each one is a delivery of its own.
EVENT_TYPE = "product.updated"


def due(rate: float, elapsed: float, emitted: int) -> int:
    """How many events to emit now so that ``rate`` a second holds after ``elapsed`` seconds."""
    return max(0, int(rate * elapsed) - emitted)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--count", type=int, help="emit this many, as fast as possible")
    group.add_argument("--rate", type=float, help="events a second (with --seconds)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--tag", default="", help="in each event's data, as bench: TAG")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inventory_project.settings.production")
    import django

    django.setup()
    from django.db import transaction

    from events.services import emit

    def emit_batch(first: int, count: int) -> None:
        with transaction.atomic():
            for number in range(first, first + count):
                data = {"id": number, "name": f"Bench {number}", "changed": ["name"]}
                emit(EVENT_TYPE, {**data, "bench": args.tag})

    emitted = 0
    started = time.monotonic()
    if args.count is not None:
        while emitted < args.count:
            size = min(BATCH, args.count - emitted)
            emit_batch(emitted + 1, size)
            emitted += size
    else:
        while (elapsed := time.monotonic() - started) < args.seconds:
            size = due(args.rate, elapsed, emitted)
            if size:
                emit_batch(emitted + 1, size)
                emitted += size
            time.sleep(max(0.0, TICK - (time.monotonic() - started - elapsed)))
    seconds = time.monotonic() - started
    sys.stdout.write(json.dumps({"events": emitted, "seconds": round(seconds, 3)}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
