"""JSON rendering with orjson: the same bytes as DRF's renderer, several times faster.

The benchmark's profile of a list of 100 products put ``json.dumps`` with DRF's encoder among
the costs of every response. orjson writes the same compact UTF-8 JSON; what it cannot encode
itself (``Decimal``, lazy strings, and datetimes, which it would write as ``+00:00`` where DRF
writes ``Z``) goes to DRF's own encoder, so the output does not change. A client asking for
``application/json; indent=4`` gets DRF's indented rendering.
"""

from collections.abc import Mapping
from typing import Any

import orjson
from django.http import HttpResponse
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

_fallback = JSONEncoder().default
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME


class JSONRenderer(renderers.JSONRenderer):
    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type or "", renderer_context or {}) is not None:
            indented: bytes = super().render(data, accepted_media_type, renderer_context)
            return indented
        return orjson.dumps(data, default=_fallback, option=_OPTIONS)


def json_response(data: Any, *, status: int = 200) -> HttpResponse:
    """A plain Django response written as every DRF answer of the API is: for the answers made
    outside DRF's views (errors of unknown routes, replayed answers, health checks)."""
    return HttpResponse(
        JSONRenderer().render(data), status=status, content_type=JSONRenderer.media_type
    )
