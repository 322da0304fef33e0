"""Pages of every list. A page that is not a whole number from 1, or a page size that is not one
from 1 to the maximum, is a validation error (DRF would silently answer the first page, the
default size, or the maximum); a page past the end is 404, as in DRF."""

import base64
import binascii
import re
from typing import Any

from django.core.paginator import Paginator
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request

_WHOLE_NUMBER = re.compile(r"[0-9]+")


def _whole_number(
    request: Request, name: str, message: str, *, maximum: int | None = None
) -> int | None:
    """The parameter as an int from 1 (to ``maximum``), None when absent, or a validation error
    naming it. (An empty one is refused with the other parameters, by the filter backend.)"""
    value = request.query_params.get(name, "").strip()
    if not value:
        return None
    try:
        # int() also refuses more digits than Python converts (4300 by default).
        number = int(value) if _WHOLE_NUMBER.fullmatch(value) else 0
    except ValueError:
        number = 0
    if number < 1 or (maximum is not None and number > maximum):
        raise ValidationError({name: [message]}, code="invalid")
    return number


def _page_size(paginator: Any, request: Request) -> int:
    size = _whole_number(
        request,
        paginator.page_size_query_param,
        f"A page size is a whole number from 1 to {paginator.max_page_size}.",
        maximum=paginator.max_page_size,
    )
    return int(paginator.page_size if size is None else size)


def _page_size_parameter(paginator: Any) -> dict[str, Any]:
    return {
        "name": paginator.page_size_query_param,
        "required": False,
        "in": "query",
        "description": f"Results per page, 1 to {paginator.max_page_size}; default {paginator.page_size}.",
        "schema": {"type": "integer", "minimum": 1, "maximum": paginator.max_page_size},
    }


class PageNumberPagination(pagination.PageNumberPagination):
    """``{"count", "next", "previous", "results"}`` pages of at most 100 rows."""

    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int:
        return _page_size(self, request)

    def get_page_number(self, request: Request, paginator: Paginator) -> Any:  # type: ignore[type-arg]
        if request.query_params.get(self.page_query_param, "").strip() in self.last_page_strings:
            return paginator.num_pages
        number = _whole_number(
            request, self.page_query_param, 'A page is a whole number from 1, or "last".'
        )
        return number or 1

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "The page, from 1; a page past the last answers 404.",
                "schema": {"type": "integer", "minimum": 1},
            },
            _page_size_parameter(self),
        ]


class CursorPagination(pagination.CursorPagination):
    """``{"next", "previous", "results"}`` pages for large, append-heavy tables, newest first.

    A cursor seeks by id (an index scan), so page 10,000 costs what page 1 does, and rows
    appended meanwhile never shift a page.
    """

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int:
        return _page_size(self, request)

    def decode_cursor(self, request: Request) -> pagination.Cursor | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is not None:
            # DRF drops what is not base64, so that "%00" would quietly mean the first page.
            try:
                base64.b64decode(encoded.encode("ascii"), validate=True)
            except (binascii.Error, UnicodeEncodeError) as error:
                raise NotFound(self.invalid_cursor_message) from error
        cursor = super().decode_cursor(request)
        # DRF checks the cursor's shape, not that its position is an id ("²" is a digit to
        # str.isdigit(), not to the database).
        position = cursor.position if cursor is not None else None
        if position is not None and not _WHOLE_NUMBER.fullmatch(str(position)):
            raise NotFound(self.invalid_cursor_message)
        return cursor

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": (
                    "The position, as given in `next` or `previous`; a cursor the API did not "
                    "give answers 404."
                ),
                "schema": {"type": "string"},
            },
            _page_size_parameter(self),
        ]
