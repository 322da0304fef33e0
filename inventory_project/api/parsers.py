"""DRF's parsers with the body size limit applied.

Django enforces ``DATA_UPLOAD_MAX_MEMORY_SIZE`` only when ``request.body`` is read; DRF's parsers
read the stream directly and would accept a body of any size.
"""

import io
from collections.abc import Mapping
from typing import IO, Any
from urllib.parse import parse_qsl

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


def not_utf8_names(urlencoded: bytes) -> list[str]:
    """The names of the fields of a query string or form body whose name or value, once
    percent-decoded, is not UTF-8. Django would quietly replace those bytes with U+FFFD."""
    # Read as latin-1, each character stands for one byte.
    text = urlencoded.decode("latin-1")
    names = []
    for key, value in parse_qsl(text, keep_blank_values=True, encoding="latin-1"):
        name, data = key.encode("latin-1"), value.encode("latin-1")
        try:
            name.decode("utf-8")
            data.decode("utf-8")
        except UnicodeDecodeError:
            names.append(name.decode("utf-8", errors="replace"))
    return names


class _SizeLimitedParser(parsers.BaseParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        _check_size(parser_context)
        return super().parse(stream, media_type, parser_context)


class JSONParser(_SizeLimitedParser, parsers.JSONParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        # JSON is UTF-8 (RFC 8259): a charset parameter does not change how the body is read,
        # so "charset=latin-1" cannot turn a client's UTF-8 into other characters.
        context = {**(parser_context or {}), "encoding": "utf-8"}
        try:
            return super().parse(stream, media_type, context)
        except RecursionError as error:
            raise ParseError("JSON parse error - the document is nested too deeply.") from error


class FormParser(parsers.FormParser):
    # Checks the size itself, before it reads the body to check its encoding.
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        _check_size(parser_context)  # before the body is read
        body = stream.read()
        broken = not_utf8_names(body)
        if broken:
            raise ParseError(f"Form parse error - not valid UTF-8: {', '.join(broken)}.")
        context = {**(parser_context or {}), "encoding": "utf-8"}
        return super().parse(io.BytesIO(body), media_type, context)


class MultiPartParser(_SizeLimitedParser, parsers.MultiPartParser):
    pass
