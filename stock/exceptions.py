from core.exceptions import ApplicationError, Conflict


class InsufficientStock(ApplicationError):
    """A change would take a quantity below zero. ``details["lines"]`` lists every short
    variant with what was requested and what is available; nothing was changed."""

    code = "insufficient_stock"
    status_code = 409
    default_message = "Not enough stock; nothing was changed."


class StockCountMismatch(ApplicationError):
    """The quantity changed since the count started (compare-and-set on the expected quantity)."""

    code = "stock_count_mismatch"
    status_code = 409
    default_message = (
        "The quantity changed since the count started; nothing was changed. Count again."
    )


class InvalidSaleLines(ApplicationError):
    """Field errors of a sale's lines, one entry per line (DRF's nested shape): a line that
    names no variant, or one not for sale."""

    code = "validation_error"
    status_code = 400
    default_message = "The request is not valid; see details for the fields at fault."


class LocationNotAllowed(ApplicationError):
    """An API key bound to locations acted at another one. ``details`` name the location and
    the key's own."""

    code = "permission_denied"
    status_code = 403
    default_message = "This API key may not act at this location."


class InvalidTransition(ApplicationError):
    """The action does not apply in the object's present state (shipping a transfer that is
    already in transit, cancelling one that has received units, applying a count session that
    was cancelled). ``details`` name the state."""

    code = "invalid_transition"
    status_code = 409
    default_message = "This action does not apply in the present state; nothing was changed."


class TransferChanged(Conflict):
    """Units of the transfer arrived since the caller read it (compare-and-set, as a count's
    expected quantity): the same receipt submitted twice books it once."""

    default_message = (
        "Units of this transfer were received since you read it; nothing was received. "
        "Look at the transfer again."
    )


class InvalidTransferLines(InvalidSaleLines):
    """Field errors of a transfer's lines, or of the lines of a receipt, one entry per line
    (DRF's nested shape)."""


class CountSessionOpen(Conflict):
    """A count session is open at the location: a second one, a single-variant count there, or
    archiving it would count the same units twice or leave the session stranded."""

    def __init__(self, *, location: str, session_id: int, doing: str = "") -> None:
        super().__init__(
            f"A count session (COUNT-{session_id}) is open at {location}: "
            f"{doing or 'count in it'}, or apply or cancel it first. Nothing was changed.",
            details={"location": location, "count": session_id},
        )
