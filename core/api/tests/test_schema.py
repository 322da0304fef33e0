"""The OpenAPI document: served in the format each tool asks for, valid, and stating every rule
the server enforces, with names that read like an SDK."""

import json
import re

import pytest
import yaml

SCHEMA = "/api/schema/"


def _parsed(response):
    if "yaml" in response["Content-Type"] or "vnd.oai.openapi;" in response["Content-Type"]:
        return yaml.safe_load(response.content)
    return json.loads(response.content)


@pytest.mark.parametrize(
    ("query", "accept", "content_type"),
    [
        ({}, "application/json", "application/json"),
        ({}, "application/vnd.oai.openapi+json", "application/vnd.oai.openapi+json"),
        ({}, "*/*", "application/vnd.oai.openapi+json"),
        ({"format": "json"}, "*/*", "application/vnd.oai.openapi+json"),
        ({"format": "json"}, "application/json", "application/json"),
        # The format in the address wins over Accept: it is what the client wrote down.
        ({"format": "json"}, "application/yaml", "application/vnd.oai.openapi+json"),
        ({"format": "yaml"}, "application/json", "application/vnd.oai.openapi; charset=utf-8"),
        ({"format": "yaml"}, "*/*", "application/vnd.oai.openapi; charset=utf-8"),
        ({}, "application/yaml", "application/yaml; charset=utf-8"),
        ({}, "application/x-yaml", "application/x-yaml; charset=utf-8"),
        ({}, "text/yaml", "text/yaml; charset=utf-8"),
        ({}, "application/vnd.oai.openapi", "application/vnd.oai.openapi; charset=utf-8"),
    ],
)
def test_the_schema_in_the_format_asked_for(client, query, accept, content_type):
    response = client.get(SCHEMA, query, HTTP_ACCEPT=accept)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == content_type
    assert _parsed(response)["openapi"].startswith("3.")


@pytest.mark.parametrize(
    ("query", "accept"),
    [({"format": "xml"}, "*/*"), ({"format": "xml"}, "application/yaml"), ({}, "application/xml")],
)
def test_a_format_the_schema_is_not_served_in_is_406_in_the_envelope(client, query, accept):
    response = client.get(SCHEMA, query, HTTP_ACCEPT=accept)
    assert response.status_code == 406
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_acceptable"
    # One JSON style for every answer: compact, like the API's.
    assert response.content.startswith(b'{"error":{"code":"not_acceptable"')


# The document itself


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        response = Client().get(SCHEMA, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def _operations(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def test_the_schema_is_a_valid_openapi_document(schema):
    from openapi_spec_validator import validate

    validate(schema)


def test_operation_ids_read_like_an_sdk(schema):
    assert {operation["operationId"] for _, _, operation in _operations(schema)} == {
        "products_list", "products_create", "products_retrieve", "products_update",
        "products_partial_update", "products_destroy",
        "variants_list", "variants_create", "variants_retrieve", "variants_update",
        "variants_partial_update", "variants_destroy", "variants_adjust", "variants_count",
        "variants_movements_list", "variants_levels_update",
        "stock_movements_list", "stock_movements_retrieve", "stock_levels_list",
        "locations_list", "locations_create", "locations_retrieve", "locations_partial_update",
        "transfers_list", "transfers_create", "transfers_retrieve", "transfers_ship",
        "transfers_receive", "transfers_close", "transfers_cancel",
        "orders_list", "orders_create", "orders_retrieve", "orders_pay", "orders_fulfil",
        "orders_cancel", "orders_returns",
        "counts_list", "counts_create", "counts_retrieve", "counts_lines", "counts_preview",
        "counts_apply", "counts_cancel",
        "reports_stock_value", "reports_sales", "replenishment_retrieve", "replenishment_create",
        "webhooks_list", "webhooks_create", "webhooks_retrieve", "webhooks_partial_update",
        "webhooks_destroy", "webhooks_rotate_secret", "webhooks_deliveries_list",
        "webhooks_deliveries_redeliver", "events_list", "events_retrieve",
    }  # fmt: skip


def test_components_read_like_an_sdk(schema):
    names = set(schema["components"]["schemas"])
    assert names >= {
        "Product", "ProductCreate", "ProductUpdate", "PatchedProductUpdate", "ProductVariant",
        "ProductVariantCreate", "Variant", "VariantCreate", "VariantUpdate", "StockAdjust",
        "StockCount", "StockMovement", "StockResult", "Order", "OrderCreate", "OrderLine",
        "OrderLineCreate", "OrderReturn", "OrderReturnCreate", "OrderReturnLine",
        "OrderReturnLineCreate", "Category", "Size", "OrderStatus", "MovementReason",
        "AdjustReason", "ErrorCode", "Error", "ErrorEnvelope", "PaginatedProductList",
        "Location", "LocationCreate", "PatchedLocationUpdate", "LocationKind", "StockLevel",
        "PaginatedStockLevelList", "Transfer", "TransferCreate", "TransferLine",
        "TransferLineCreate", "TransferReceive", "TransferReceiptLine", "TransferStatus",
        "PaginatedTransferList",
        "Count", "CountDetail", "CountCreate", "CountEntry",
        "CountLine", "CountResult", "CountCorrection", "CountStatus", "PaginatedCountList",
        "StockLevelSettings", "LevelSettings",
        "Replenishment", "ReplenishmentLine", "ReplenishmentCreate",
        "WebhookEndpoint", "WebhookEndpointWithSecret",
        "WebhookEndpointCreate", "PatchedWebhookEndpointUpdate", "Event", "OrderPlacedEvent",
        "OrderPlacedEventType", "OrderPlacedData", "StockLevelUpdatedEvent",
        "StockLevelUpdatedData", "VariantStockCrossingData", "TransferEventData",
        "Delivery", "DeliveryAttempt", "DeliveryStatus", "PaginatedEventList",
    }  # fmt: skip
    assert not [n for n in names if n.endswith(("Request", "Output", "Enum", "Serializer"))]


def test_bodies_are_json_only(schema):
    for path, method, operation in _operations(schema):
        if "requestBody" in operation:
            assert list(operation["requestBody"]["content"]) == ["application/json"], (method, path)


def test_every_error_status_carries_the_envelope(schema):
    for path, method, operation in _operations(schema):
        responses = operation["responses"]
        assert {"400", "401", "403", "406", "429", "500", "503"} <= set(responses), (method, path)
        if method in ("post", "put", "patch"):
            assert {"409", "411", "413", "415"} <= set(responses), (method, path)
        for status, response in responses.items():
            if int(status) >= 400:
                content = response["content"]["application/json"]["schema"]
                assert content == {"$ref": "#/components/schemas/ErrorEnvelope"}, (method, path)
                assert response["description"], (method, path, status)
    envelope = schema["components"]["schemas"]["Error"]
    assert envelope["required"] == ["code", "message", "details"]


def test_an_operation_taking_an_idempotency_key_documents_422(schema):
    for path, method, operation in _operations(schema):
        names = {parameter["name"] for parameter in operation.get("parameters", [])}
        if "Idempotency-Key" in names:
            assert {"409", "422"} <= set(operation["responses"]), (method, path)
    posts = [(path, op) for path, method, op in _operations(schema) if method == "post"]
    assert all(
        "Idempotency-Key" in {p["name"] for p in op.get("parameters", [])} for _, op in posts
    )


def test_every_201_documents_its_location(schema):
    created = [
        op["responses"]["201"] for _, _, op in _operations(schema) if "201" in op["responses"]
    ]
    # Transfers, count sessions, replenishment drafts and webhook endpoints among them.
    assert len(created) == 11
    assert all("Location" in response["headers"] for response in created)


def _enums(node):
    if isinstance(node, dict):
        if "enum" in node:
            yield node
        for value in node.values():
            yield from _enums(value)
    elif isinstance(node, list):
        for item in node:
            yield from _enums(item)


def test_enum_values_are_named(schema):
    enums = list(_enums(schema))
    assert len(enums) > 10
    for enum in enums:
        names = enum["x-enum-varnames"]
        assert len(names) == len(set(names)) == len(enum["enum"]), enum
        assert all(name.isidentifier() and name.isupper() for name in names), enum
    size = schema["components"]["schemas"]["Size"]
    assert dict(zip(size["enum"], size["x-enum-varnames"], strict=True)) == {
        "S-M": "S_M", "L-XL": "L_XL", "One Size": "ONE_SIZE",
    }  # fmt: skip


def _parameter(schema, path, method, name):
    return next(p for p in schema["paths"][path][method].get("parameters", []) if p["name"] == name)


def test_the_schema_states_the_rules_the_server_enforces(schema):
    components = schema["components"]["schemas"]
    lines = components["OrderCreate"]["properties"]["lines"]
    assert (lines["minItems"], lines["maxItems"]) == (1, 50)
    assert components["OrderReturnCreate"]["properties"]["lines"]["minItems"] == 1
    assert components["ProductCreate"]["properties"]["variants"]["maxItems"] == 3
    price = components["ProductCreate"]["properties"]["price"]
    for good in ("0.01", "0.5", "29.90", "35", "99999999.99"):
        assert re.fullmatch(price["pattern"].strip("^$"), good), good
    for bad in ("0", "0.00", "-1", "1.999", "100000000", "", "1e3"):
        assert not re.fullmatch(price["pattern"].strip("^$"), bad), bad
    collection = components["ProductCreate"]["properties"]["collection"]["pattern"]
    assert [bool(re.match(collection, code)) for code in ("FW24", "ss25", "XX24", "FW2")] == [
        True, True, False, False,
    ]  # fmt: skip
    for name in ("OrderLineCreate", "OrderReturnLineCreate"):
        for key in ("variant", "line"):
            if key in components[name]["properties"]:
                assert components[name]["properties"][key]["minimum"] == 1
    assert components["VariantCreate"]["properties"]["product"]["minimum"] == 1
    assert _parameter(schema, "/api/v1/products/{id}/", "get", "id")["schema"]["minimum"] == 1
    # An event's id is its UUID, not a number.
    assert _parameter(schema, "/api/v1/events/{id}/", "get", "id")["schema"] == {
        "type": "string",
        "format": "uuid",
    }
    page_size = _parameter(schema, "/api/v1/products/", "get", "page_size")["schema"]
    assert (page_size["minimum"], page_size["maximum"]) == (1, 100)
    key = _parameter(schema, "/api/v1/orders/", "post", "Idempotency-Key")["schema"]
    assert (key["minLength"], key["maxLength"]) == (1, 255)
    search = _parameter(schema, "/api/v1/products/", "get", "search")["schema"]
    assert (search["minLength"], search["maxLength"]) == (1, 200)
    assert _parameter(schema, "/api/v1/variants/", "get", "product")["schema"]["type"] == "integer"
    assert _parameter(schema, "/api/v1/products/", "get", "in_stock")["schema"] == {
        "type": "boolean"
    }


def test_every_body_refuses_what_it_does_not_list(schema):
    bodies = {
        op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        for _, _, op in _operations(schema)
        if "requestBody" in op
    }
    components = schema["components"]["schemas"]
    for name in bodies | {"OrderLineCreate", "OrderReturnLineCreate", "ProductVariantCreate"}:
        assert components[name]["additionalProperties"] is False, name
