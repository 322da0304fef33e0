"""DRF's JSON parser with the body size limit applied.

Django enforces ``DATA_UPLOAD_MAX_MEMORY_SIZE`` only when ``request.body`` is read; DRF's parser
reads the stream directly and would accept a body of any size.
"""

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.utils import json


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


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are all different: ``{"delta": 1, "delta": 100}`` is no body a
    client meant (the json module would keep the last value, silently)."""
    data = dict(pairs)
    if len(data) != len(pairs):
        repeated = next(key for key, _ in pairs if sum(k == key for k, _ in pairs) > 1)
        raise ValueError(f'the key "{repeated}" appears more than once in an object')
    return data


class JSONParser(parsers.JSONParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        _check_size(parser_context)
        # JSON is UTF-8 (RFC 8259): a charset parameter does not change how the body is read,
        # so "charset=latin-1" cannot turn a client's UTF-8 into other characters. NaN and
        # Infinity are refused, as DRF's strict JSON does.
        try:
            return json.loads(
                stream.read().decode("utf-8"),
                parse_constant=json.strict_constant,
                object_pairs_hook=_unique_keys,
            )
        except ValueError as error:  # not JSON, not UTF-8, or a key twice
            raise ParseError(f"JSON parse error - {error}") from error
        except RecursionError as error:
            raise ParseError("JSON parse error - the document is nested too deeply.") from error
