"""What every API view checks before it acts, whatever the endpoint."""

from typing import Any, ClassVar

from django.urls import reverse
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.filters import format_parameters, query_parameter_errors
from core.api.idempotency import HEADER, honours_idempotency_key


class StrictRequestMixin:
    """Refuses, naming it, what a request carries that the endpoint would otherwise ignore:

    - a query parameter it does not take. The lists' (``filtered_actions``) are checked by the
      filter backend together with their filters, so a client learns of every mistake at once;
      every other action takes only ``format``.
    - an ``Idempotency-Key`` on an action that does not honour one: the client would believe a
      retry is safe when nothing makes it so.
    """

    filtered_actions: ClassVar[tuple[str, ...]] = ("list",)
    # What the other actions take besides ``format``.
    query_parameters: ClassVar[frozenset[str]] = frozenset()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        handler = self._handler(request)
        if handler is None:
            return  # a method the endpoint does not have: DRF answers 405 first
        errors: dict[str, list[str]] = {}
        if getattr(self, "action", None) not in self.filtered_actions:
            known = format_parameters() | self.query_parameters
            errors.update(query_parameter_errors(request, known))
        if HEADER in request.headers and not honours_idempotency_key(handler):
            errors[HEADER] = [_idempotency_key_refusal(request.method or "")]
        if errors:
            raise ValidationError(errors)

    def _handler(self, request: Request) -> Any:
        method = (request.method or "").lower()
        if method not in getattr(self, "http_method_names", ()):
            return None
        name = getattr(self, "action", None) or method
        return getattr(self, name, None)


def _idempotency_key_refusal(method: str) -> str:
    if method in ("GET", "HEAD", "OPTIONS"):
        return f"A {method} changes nothing; it takes no {HEADER}."
    if method in ("PUT", "PATCH", "DELETE"):
        return f"A {method} is idempotent by itself: repeat it as it is, without an {HEADER}."
    return f"This action does not take an {HEADER}."


def created(data: Any, *, at: str, **kwargs: Any) -> Response:
    """201 with the new resource and its address in ``Location`` (the route name ``at``)."""
    location = reverse(at, kwargs=kwargs)
    return Response(data, status=status.HTTP_201_CREATED, headers={"Location": location})
