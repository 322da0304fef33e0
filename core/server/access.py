"""Request ids and the access line of the requests answered before Django sees them.

Kept free of Django, so that gunicorn's worker class can import it: the middleware
(``core.api.middleware``) uses the same rules for every other request.
"""

import logging
import re
import uuid

REQUEST_ID_HEADER = "X-Request-ID"
# A client's id is kept only when it is short and plain, so it cannot forge log lines.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

access_logger = logging.getLogger("inventory_project.access")


def request_id(given: str | None) -> str:
    """The client's ``X-Request-ID`` when it is short and plain, else a new one."""
    return given if given and _VALID_REQUEST_ID.match(given) else uuid.uuid4().hex


def log_access(
    *, method: str, path: str, status: int, duration_ms: float, caller: str, request_id: str
) -> None:
    """The one line of a request, as the access log writes every request's."""
    access_logger.info(
        "%s %s %s",
        method,
        path,
        status,
        extra={
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
            "caller": caller,
            "request_id": request_id,
        },
    )
