"""DRF's JSON parser with the body size limit applied.

Django enforces ``DATA_UPLOAD_MAX_MEMORY_SIZE`` only when ``request.body`` is read; DRF's parser
reads the stream directly and would accept a body of any size.
"""

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError


# Defined here, not in ``exceptions``: DRF imports the parser classes named in its settings while
# ``rest_framework.views`` loads, and ``exceptions`` imports that module, so importing it from
# here would be a cycle whose outcome depends on which module Django happens to import first.
class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def _check_size(parser_context: Mapping[str, Any] | None) -> None:
    request = (parser_context or {}).get("request")
    if request is None:
        return
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and length > limit:
        raise PayloadTooLarge(f"The request body is {length} bytes; the limit is {limit} bytes.")


class JSONParser(parsers.JSONParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        _check_size(parser_context)
        # JSON is UTF-8 (RFC 8259): a charset parameter does not change how the body is read,
        # so "charset=latin-1" cannot turn a client's UTF-8 into other characters.
        context = {**(parser_context or {}), "encoding": "utf-8"}
        try:
            return super().parse(stream, media_type, context)
        except RecursionError as error:
            raise ParseError("JSON parse error - the document is nested too deeply.") from error
