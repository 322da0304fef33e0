"""The root of every domain error.

Services raise subclasses of ``ApplicationError``; they know nothing of HTTP beyond the status a
client should see. The API's exception handler turns them into the one error envelope, and the
admin and management commands show their message.
"""

from typing import Any, ClassVar


class ApplicationError(Exception):
    code: ClassVar[str] = "application_error"
    status_code: ClassVar[int] = 400
    default_message: ClassVar[str] = "The request could not be completed."
    # Seconds after which a retry may succeed, sent as Retry-After; None when it would not.
    retry_after: ClassVar[int | None] = None

    def __init__(self, message: str | None = None, *, details: Any = None) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)


class Protected(ApplicationError):
    """Deleting this would lose stock or history; archive it instead."""

    code = "protected"
    status_code = 409
    default_message = "This object is still in use and cannot be deleted; archive it instead."


class Conflict(ApplicationError):
    """A write collided with a database rule, most often a concurrent write of the same value."""

    code = "conflict"
    status_code = 409
    default_message = "The request conflicts with the current state of the data; retry it."
