"""The OpenAPI schema documents every status an operation can answer, errors included."""

from typing import Any, Literal

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

# Every code of the error envelope, with its status. The README publishes the same table.
ERROR_CODES: dict[str, tuple[int, str]] = {
    "validation_error": (400, "A field or query parameter is not valid; details has the fields."),
    "parse_error": (400, "The body is not valid JSON."),
    "not_authenticated": (401, "No credentials were given."),
    "authentication_failed": (401, "The API key is unknown, revoked or expired."),
    "permission_denied": (403, "The credentials do not allow this."),
    "not_found": (404, "No such object or endpoint."),
    "method_not_allowed": (405, "The endpoint does not support this method."),
    "not_acceptable": (406, "The Accept header asks for a format the API does not serve."),
    "protected": (409, "The object still has stock or history; archive it instead."),
    "insufficient_stock": (
        409,
        "Not enough stock; details lists each short line. Nothing changed.",
    ),
    "stock_count_mismatch": (409, "The quantity changed since the count started. Nothing changed."),
    "idempotency_in_progress": (409, "A request with this Idempotency-Key is still running."),
    "invalid_transition": (409, "The order's status does not allow this. Nothing changed."),
    "conflict": (409, "A concurrent write took the same unique value; retry."),
    "length_required": (411, "A chunked body this server cannot read; send a Content-Length."),
    "payload_too_large": (413, "The body is larger than the limit."),
    "uri_too_long": (414, "The request line is longer than the server reads."),
    "idempotency_key_reused": (422, "The Idempotency-Key was used for a different request."),
    "unsupported_media_type": (415, "The body is not JSON (or a form)."),
    "expectation_failed": (417, "The server cannot meet the request's Expect header."),
    "throttled": (429, "Too many requests; Retry-After says when to retry."),
    "request_header_fields_too_large": (431, "The request's headers are too many or too large."),
    "server_error": (500, "An unexpected error; it is logged with the request id."),
    "not_implemented": (501, "A transfer coding the server does not support."),
    "service_unavailable": (503, "The database is unreachable; retry later."),
}


class ErrorSerializer(serializers.Serializer[Any]):
    code = serializers.ChoiceField(
        choices=list(ERROR_CODES), help_text="Stable machine-readable code."
    )
    message = serializers.CharField(help_text="Human-readable explanation.")
    details = serializers.JSONField(
        allow_null=True,
        help_text="Field errors in DRF's nested shape for validation_error; data or null otherwise.",
    )


class ErrorEnvelopeSerializer(serializers.Serializer[Any]):
    error = ErrorSerializer()


def error_response_doc(status: int) -> OpenApiResponse:
    codes = [code for code, (code_status, _) in ERROR_CODES.items() if code_status == status]
    description = "; ".join(f"`{code}`: {ERROR_CODES[code][1]}" for code in codes)
    return OpenApiResponse(response=ErrorEnvelopeSerializer, description=description)


class AutoSchema(openapi.AutoSchema):
    def _error_statuses(self) -> list[int]:
        statuses = [401, 403, 406, 429, 500, 503]
        if self.method in ("POST", "PUT", "PATCH"):
            statuses += [400, 409, 413, 415]
        if self.method == "DELETE":
            statuses.append(409)
        if self._is_list_view():
            statuses += [400, 404]
        if "{" in self.path:
            statuses.append(404)
        return sorted(set(statuses))

    def _get_response_bodies(
        self, direction: Literal["request", "response"] = "response"
    ) -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for status in self._error_statuses():
            responses.setdefault(
                str(status),
                self._get_response_for_code(error_response_doc(status), str(status)),  # type: ignore[no-untyped-call]
            )
        return responses


IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name="Idempotency-Key",
    location=OpenApiParameter.HEADER,
    required=False,
    type=str,
    description=(
        "Up to 255 characters. A retry with the same key and body replays the first answer "
        "(with `Idempotent-Replayed: true`) and changes nothing; the same key with another "
        "body answers 422. Keys are kept for 24 hours."
    ),
)
