"""The OpenAPI document: every rule the server enforces, every error it answers, and names that
read like an SDK.

A client generator (``openapi-python-client``) and a schema fuzzer (schemathesis) read it, so it
must say exactly what the server does: a request it calls valid is never refused for its shape,
and every status an operation can answer is there, errors with the envelope's schema. Built with
drf-spectacular's extension points: ``AutoSchema.get_operation_id``, a serializer field
extension for lists of objects, and a post-processing hook for what holds for every operation.
One reaches further: ``FilterExtension`` overrides ``resolve_filter_field`` of drf-spectacular's
django-filter extension, a method of its contrib module rather than a documented hook (pinned
in requirements.txt; test_schema.py fails if the filters' rules go missing).
"""

import re
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from drf_spectacular import openapi
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiParameter

from core.api.idempotency import HEADER, MAX_KEY_LENGTH

# Every code of the error envelope, with its status. The README publishes the same table.
ERROR_CODES: dict[str, tuple[int, str]] = {
    "validation_error": (400, "A field or query parameter is not valid; details has the fields."),
    "parse_error": (400, "The body is not valid JSON (or the request itself is malformed)."),
    "not_authenticated": (401, "No credentials were given."),
    "authentication_failed": (401, "The API key is unknown, revoked or expired."),
    "permission_denied": (403, "The credentials do not allow this; the message names what."),
    "not_found": (404, "No such object or endpoint."),
    "method_not_allowed": (405, "The endpoint does not support this method."),
    "not_acceptable": (406, "The Accept header asks for a format the API does not serve."),
    "protected": (
        409,
        "The object still has stock or history: archive it instead of deleting it; a location "
        "that still holds stock, or has units or transfers on the way to or from it, cannot "
        "be archived (details say how many).",
    ),
    "insufficient_stock": (
        409,
        "Not enough stock; details lists each short line. Nothing changed.",
    ),
    "stock_count_mismatch": (409, "The quantity changed since the count started. Nothing changed."),
    "idempotency_in_progress": (409, "A request with this Idempotency-Key is still running."),
    "invalid_transition": (
        409,
        "The status of the order, transfer or count session does not allow this action; "
        "details name it. Nothing changed.",
    ),
    "conflict": (
        409,
        "A unique value (SKU, barcode, a product's size, a location's code) is taken; details "
        "names it. Or a count session is open at the location (details name it).",
    ),
    "length_required": (411, "A chunked body this server cannot read; send a Content-Length."),
    "payload_too_large": (413, "The body is larger than the limit."),
    "uri_too_long": (414, "The request line is longer than the server reads."),
    "idempotency_key_reused": (422, "The Idempotency-Key was used for a different request."),
    "unsupported_media_type": (415, "The body is not JSON."),
    "expectation_failed": (417, "The server cannot meet the request's Expect header."),
    "throttled": (429, "Too many requests; Retry-After says when to retry."),
    "request_header_fields_too_large": (
        431,
        "The request has too many headers, or too large ones.",
    ),
    "server_error": (500, "An unexpected error; it is logged with the request id."),
    "not_implemented": (501, "A transfer coding the server does not support."),
    "service_unavailable": (503, "The database is unreachable; retry later."),
}

# The envelope of every error, as components every error response refers to.
ERROR_COMPONENTS: dict[str, dict[str, Any]] = {
    "ErrorCode": {
        "type": "string",
        "enum": list(ERROR_CODES),
        "description": "\n".join(
            f"* `{code}` ({status}): {text}" for code, (status, text) in ERROR_CODES.items()
        ),
    },
    "Error": {
        "type": "object",
        "properties": {
            "code": {"$ref": "#/components/schemas/ErrorCode"},
            "message": {"type": "string", "description": "Human-readable explanation."},
            "details": {
                "nullable": True,
                "description": (
                    "Field errors in DRF's nested shape for validation_error (an object of "
                    "lists, with one entry per item of a list); data or null otherwise."
                ),
            },
        },
        "required": ["code", "message", "details"],
    },
    "ErrorEnvelope": {
        "type": "object",
        "properties": {"error": {"$ref": "#/components/schemas/Error"}},
        "required": ["error"],
    },
}


IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name=HEADER,
    location=OpenApiParameter.HEADER,
    required=False,
    type={"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": "^[ -~]+$"},
    description=(
        f"1 to {MAX_KEY_LENGTH} printable ASCII characters. A retry with the same key and body "
        "replays the first answer (with `Idempotent-Replayed: true`) and changes nothing; the "
        "same key with another body answers 422. Keys are kept for 24 hours."
    ),
)


class AutoSchema(openapi.AutoSchema):
    def get_operation_id(self) -> str:
        """``variants_adjust``, ``orders_cancel``: an action is named by itself, without the
        ``_create`` drf-spectacular adds to every POST."""
        operation_id: str = super().get_operation_id()
        action = getattr(self.view, "action", None)
        if self.method == "POST" and action not in (None, "create"):
            return operation_id.removesuffix("_create")
        return operation_id


# Extensions (registered when this module is imported, by DEFAULT_SCHEMA_CLASS).


class InputListExtension(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    """A list of objects in a body (an order's lines, a product's variants) with its bounds:
    drf-spectacular leaves out ``allow_empty`` and ``max_length``."""

    target_class = "core.api.serializers.InputListSerializer"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        items = auto_schema.resolve_serializer(self.target.child, direction)
        schema: dict[str, Any] = {"type": "array", "items": items.ref}
        if not self.target.allow_empty or self.target.min_length:
            schema["minItems"] = max(1, self.target.min_length or 0)
        if self.target.max_length is not None:
            schema["maxItems"] = self.target.max_length
        return schema


class FilterExtension(DjangoFilterExtension):  # type: ignore[no-untyped-call]
    """django-filter's parameters, each with the rules its form field checks: lengths, ranges,
    whole numbers and booleans (drf-spectacular states the types only)."""

    target_class = "core.api.filters.FilterBackend"
    priority = 1

    def resolve_filter_field(
        self, auto_schema: Any, model: Any, filterset_class: Any, field_name: str, filter_field: Any
    ) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().resolve_filter_field(  # type: ignore[no-untyped-call]
            auto_schema, model, filterset_class, field_name, filter_field
        )
        form_field = filter_field.field
        for parameter in parameters:
            schema = parameter["schema"]
            item = schema.get("items", schema)
            item.update(query_value_schema(form_field, item))
        return parameters


def query_value_schema(form_field: forms.Field, schema: dict[str, Any]) -> dict[str, Any]:
    """What the filter's form field takes, stated in the parameter's schema."""
    if isinstance(form_field, forms.NullBooleanField):
        return {"type": "boolean"}
    if isinstance(form_field, forms.IntegerField):  # DecimalField too
        number = isinstance(form_field, forms.DecimalField)
        rules: dict[str, Any] = {"type": "number" if number else "integer"}
        # The bounds are validators (min_value and max_value, and django-filter's own 1e50):
        # the tightest of each holds.
        lows = [v.limit_value for v in form_field.validators if isinstance(v, MinValueValidator)]
        highs = [v.limit_value for v in form_field.validators if isinstance(v, MaxValueValidator)]
        if lows:
            rules["minimum"] = max(lows)
        if highs:
            rules["maximum"] = min(highs)
        return rules
    if isinstance(form_field, forms.CharField) and form_field.max_length is not None:
        return {"maxLength": form_field.max_length}
    return {}


# What holds for every operation: the post-processing hook (POSTPROCESSING_HOOKS).

_CREATED = {"201"}
_LOCATION = {
    "Location": {
        "description": "The address of what was made (for a return, its order's).",
        "schema": {"type": "string"},
    }
}
# The API refuses strings with NUL characters (PostgreSQL cannot store them), and, where a value
# is required, strings of nothing but spaces (DRF trims them to nothing).
NO_NUL = "^[^\\u0000]*$"
NOT_BLANK = "^[^\\u0000]*[^\\u0000\\s][^\\u0000]*$"


def error_statuses(method: str, path: str, operation: dict[str, Any]) -> set[int]:
    """Every error status an operation can answer (the envelope's codes say why)."""
    statuses = {400, 401, 403, 406, 429, 500, 503}
    if method in ("post", "put", "patch"):
        statuses |= {409, 411, 413, 415}
    if method == "delete":
        statuses.add(409)
    if "{" in path or method == "get":
        statuses.add(404)  # an unknown object, or a page past the last
    if any(parameter.get("name") == HEADER for parameter in operation.get("parameters", [])):
        statuses |= {409, 422}
    return statuses


def _error_response(status: int) -> dict[str, Any]:
    codes = [code for code, (code_status, _) in ERROR_CODES.items() if code_status == status]
    return {
        "description": "; ".join(f"`{code}`: {ERROR_CODES[code][1]}" for code in codes),
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
    }


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[-1]} if "$ref" in node else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node)) if node else set()
    return set()


def _request_components(result: dict[str, Any]) -> set[str]:
    """The components a request body uses, directly or inside one another."""
    components = result["components"]["schemas"]
    pending = set()
    for operations in result["paths"].values():
        for operation in operations.values():
            pending |= _refs(operation.get("requestBody", {}))
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name not in seen and name in components:
            seen.add(name)
            pending |= _refs(components[name]) - seen
    return seen


def _enum_names(node: Any) -> None:
    """Name each enum value (``x-enum-varnames``) as its Django choice is named: ``S-M`` is
    ``S_M``, ``catalog:write`` is ``CATALOG_WRITE``; generated clients name their members so."""
    if isinstance(node, dict):
        values = node.get("enum")
        if values and all(isinstance(value, str) for value in values):
            node["x-enum-varnames"] = [_enum_name(value) for value in values]
        for value in node.values():
            _enum_names(value)
    elif isinstance(node, list):
        for item in node:
            _enum_names(item)


def _string_rule(schema: dict[str, Any]) -> None:
    """The pattern of a free-text string: no NUL characters, and not blank where required."""
    if schema.get("type") == "string" and not {"pattern", "enum", "format"} & schema.keys():
        schema["pattern"] = NOT_BLANK if schema.get("minLength", 0) >= 1 else NO_NUL


def _enum_name(value: str) -> str:
    name = re.sub(r"[^0-9A-Za-z]+", "_", value).strip("_").upper() or "EMPTY"
    # An ordering key with a minus is the same key, descending: -price is PRICE_DESC.
    return f"{name}_DESC" if value.startswith("-") else name


def _strict_body(schema: dict[str, Any]) -> None:
    """A request's objects take no unknown fields; its strings follow ``_string_rule``."""
    if schema.get("type") == "object" and "properties" in schema:
        schema["additionalProperties"] = False
    for value in schema.get("properties", {}).values():
        _string_rule(value)


# The suffixes drf-spectacular gives the components it names itself.
_SUFFIXES = ("Request", "Enum")


def _drop_suffixes(result: dict[str, Any]) -> None:
    """``OrderCreateRequest`` is ``OrderCreate``: bodies have serializers of their own, so the
    suffix drf-spectacular gives every body's component only makes a generated SDK wordier.
    Likewise ``OrderPlacedEventTypeEnum`` (an enum of one component's field, here the one
    value of an event's type) is ``OrderPlacedEventType``; the enums shared by several
    components are named in ENUM_NAME_OVERRIDES."""
    components = result["components"]["schemas"]
    renames = {
        name: name.removesuffix(suffix)
        for name in components
        for suffix in _SUFFIXES
        if name.endswith(suffix) and name.removesuffix(suffix) not in components
    }
    result["components"]["schemas"] = {
        renames.get(name, name): schema for name, schema in components.items()
    }
    prefix = "#/components/schemas/"

    def rename(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith(prefix) and ref.removeprefix(prefix) in renames:
                node["$ref"] = prefix + renames[ref.removeprefix(prefix)]
            for value in node.values():
                rename(value)
        elif isinstance(node, list):
            for item in node:
                rename(item)

    rename(result)


def _links(result: dict[str, Any]) -> None:
    """OpenAPI links from each creation to what can be done with what it made: the order a
    POST /orders/ answers can be paid, fulfilled, cancelled and returned by its id. Clients
    and the fuzzer's stateful phase follow them."""
    paths = result["paths"]
    for path, operations in paths.items():
        created = operations.get("post", {}).get("responses", {}).get("201")
        if created is None or "{" in path:
            continue
        links = {
            operation["operationId"]: {
                "operationId": operation["operationId"],
                "parameters": {"id": "$response.body#/id"},
            }
            for other, other_operations in paths.items()
            if other.startswith(f"{path}{{id}}/")
            for operation in other_operations.values()
        }
        if links:
            created["links"] = links


def postprocess(result: dict[str, Any], generator: Any, request: Any, public: bool) -> Any:
    _drop_suffixes(result)
    components = result["components"]["schemas"]
    components.update(ERROR_COMPONENTS)
    # An order line names its variant by id or by SKU, never both: with its quantity, exactly
    # two fields (stated without oneOf, which client generators turn into a union of types).
    components["OrderLineCreate"].update(minProperties=2, maxProperties=2)
    for name in _request_components(result):
        _strict_body(components[name])
    for path, operations in result["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for status in error_statuses(method, path, operation):
                responses[str(status)] = _error_response(status)
            for status, response in responses.items():
                if status in _CREATED:
                    response.setdefault("headers", {}).update(_LOCATION)
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                if (
                    parameter["in"] == "path"
                    and parameter["name"] == "id"
                    and schema.get("format") != "uuid"  # an event's id
                ):
                    # Ids are positive whole numbers without leading zeros (18 digits at most).
                    parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": 10**18 - 1}
                    continue
                if schema.get("type") == "array" and parameter["in"] == "query":
                    # An empty list would be an empty value, which is refused.
                    schema["minItems"] = 1
                item = schema.get("items", schema)
                if "enum" in item:
                    item.setdefault("type", "string")
                elif parameter["in"] == "query" and item.get("type") == "string":
                    # A query value is never empty or blank: the API refuses those by name.
                    item.setdefault("minLength", 1)
                _string_rule(item)
            operation["responses"] = dict(sorted(responses.items()))
    _links(result)
    _enum_names(result)
    return result
