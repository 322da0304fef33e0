"""Test-only hooks that let a test stop a real server at a precise point of a request.

A test names a point (``order_place``: inside the order's transaction, everything written and
nothing committed; ``idempotency_stored``: committed, the answer not yet sent); the gunicorn
worker that reaches it writes its pid to a file and sleeps, and the test SIGKILLs it there, to
prove that a worker dying mid-request leaves nothing half done.

Safe in production: the points are named only through ``INVENTORY_TEST_PAUSE_AT`` and
``INVENTORY_TEST_PAUSE_PID_FILE``, read once when this module is imported, and no deployment
sets them. Unset, a pause point is a single comparison of two strings; it never touches the
database, the request or the result. Both variables must be set for any point to pause.
"""

import os
import time
from pathlib import Path

PAUSE_AT_VARIABLE = "INVENTORY_TEST_PAUSE_AT"
PID_FILE_VARIABLE = "INVENTORY_TEST_PAUSE_PID_FILE"
# Long enough for any test to act; gunicorn's worker timeout ends a forgotten pause anyway.
PAUSE_SECONDS = 60

_PAUSE_AT = os.environ.get(PAUSE_AT_VARIABLE, "")
_PID_FILE = os.environ.get(PID_FILE_VARIABLE, "")


def pause_point(name: str) -> None:
    """Pause here if a test asked for this point by name; otherwise do nothing."""
    if not _PAUSE_AT or name != _PAUSE_AT or not _PID_FILE:
        return
    pid_file = Path(_PID_FILE)
    # Written whole, then renamed: a test polling for the file never reads half a pid.
    partial = pid_file.with_name(f"{pid_file.name}.{os.getpid()}.tmp")
    partial.write_text(str(os.getpid()))
    partial.replace(pid_file)
    time.sleep(PAUSE_SECONDS)
