from core.exceptions import ApplicationError


class InvalidTransition(ApplicationError):
    """The order is not in a state that allows this; nothing changed."""

    code = "invalid_transition"
    status_code = 409
    default_message = "The order's status does not allow this; nothing was changed."
