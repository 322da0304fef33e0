"""Every error the API can return comes in the one envelope, with the right status."""

import logging

import pytest
from django.db import IntegrityError, OperationalError

from catalog import services
from catalog.api import representations
from catalog.models import Product
from core.api.schema import ERROR_CODES

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"


def assert_envelope(response, status, code, message=None, details=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"]
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["code"] in ERROR_CODES
    assert ERROR_CODES[code][0] == status
    assert body["error"]["message"]
    if message is not None:
        assert body["error"]["message"] == message
    assert body["error"]["details"] == details
    return body


def test_parse_error(writer):
    response = writer.post(PRODUCTS, data="{not json", content_type="application/json")
    assert_envelope(
        response,
        400,
        "parse_error",
        "JSON parse error - Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
    )


def test_not_authenticated_challenges_with_the_api_key_scheme(api_client):
    response = api_client.get(PRODUCTS)
    assert_envelope(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Api-Key"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Api-Key nope", "Invalid API key."),
        ("Api-Key", "Malformed Authorization header; expected 'Authorization: Api-Key <key>'."),
        ("Api-Key a b", "Malformed Authorization header; expected 'Authorization: Api-Key <key>'."),
        ("abc.def", "Malformed Authorization header; expected 'Authorization: Api-Key <key>'."),
        (
            "Bearer abc.def",
            "The Authorization header uses the Bearer scheme; expected 'Authorization: Api-Key <key>'.",
        ),
        (
            "Basic dXNlcjpwdw==",
            "The Authorization header uses the Basic scheme; expected 'Authorization: Api-Key <key>'.",
        ),
        (
            "Token\u00e9 abc",
            "The Authorization header uses the another scheme; expected 'Authorization: Api-Key <key>'.",
        ),
    ],
)
def test_authentication_failed(api_client, header, message):
    response = api_client.get(PRODUCTS, HTTP_AUTHORIZATION=header)
    assert_envelope(response, 401, "authentication_failed", message)
    assert response["WWW-Authenticate"] == "Api-Key"


def test_permission_denied_names_the_missing_scope(reader):
    response = reader.post(PRODUCTS, {}, format="json")
    assert_envelope(
        response, 403, "permission_denied", "This API key lacks the scope catalog:write."
    )


@pytest.mark.parametrize(
    ("url", "scope"),
    [
        ("/api/v1/variants/1/adjust/", "stock:write"),
        ("/api/v1/stock-movements/", "stock:write"),
        ("/api/v1/orders/", "orders:write"),
        ("/api/v1/reports/sales/", "reports:read"),
    ],
)
def test_every_refusal_of_a_key_names_its_scope(reader, url, scope):
    response = reader.post(url, {}) if "adjust" in url else reader.get(url)
    assert_envelope(response, 403, "permission_denied", f"This API key lacks the scope {scope}.")


def test_a_refusal_of_a_staff_user_names_the_permission(login, store_staff, make_product):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(store_staff)
    response = client.post(PRODUCTS, {"name": "x"})
    assert_envelope(
        response, 403, "permission_denied", "Your user lacks the permission catalog.add_product."
    )


def test_not_found_for_an_object(reader):
    assert_envelope(
        reader.get(f"{PRODUCTS}999999/"), 404, "not_found", "No Product matches the given query."
    )


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize("path", ["/api/v1/nothing-here/", "/api/v2/products/", "/api/v1/x"])
def test_not_found_for_unknown_api_routes(api_client, settings, debug, path):
    settings.DEBUG = debug
    assert_envelope(api_client.get(path), 404, "not_found", "No API endpoint at this address.")


def test_pages_outside_the_api_keep_django_s_404(client):
    response = client.get("/not-the-api/")
    assert response.status_code == 404
    assert "application/json" not in response["Content-Type"]


def test_method_not_allowed(writer):
    response = writer.patch(PRODUCTS, {}, format="json")
    assert_envelope(response, 405, "method_not_allowed", 'Method "PATCH" not allowed.')


def test_not_acceptable(reader):
    response = reader.get(PRODUCTS, HTTP_ACCEPT="application/xml")
    assert_envelope(response, 406, "not_acceptable", "Could not satisfy the request Accept header.")


def test_conflict_when_a_write_hits_a_database_rule(writer, monkeypatch):
    def collide(**kwargs):
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(services, "product_create", collide)
    body = {"category": "Tees", "name": "T", "color": "B", "price": "1", "collection": "FW24"}
    assert_envelope(writer.post(PRODUCTS, body, format="json"), 409, "conflict")


def test_payload_too_large(writer, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    body = {"category": "Tees", "name": "x" * 200, "color": "B", "price": "1", "collection": "FW24"}
    response = writer.post(PRODUCTS, body, format="json")
    assert_envelope(response, 413, "payload_too_large")
    assert not Product.objects.exists()


def test_unsupported_media_type(writer):
    response = writer.post(PRODUCTS, data="name=x", content_type="text/plain")
    assert_envelope(
        response,
        415,
        "unsupported_media_type",
        'Unsupported media type "text/plain" in request. The API reads JSON: send '
        "Content-Type: application/json.",
    )


def test_throttled_with_retry_after(key_client, monkeypatch):
    from core.api.throttling import ActorRateThrottle

    monkeypatch.setattr(ActorRateThrottle, "THROTTLE_RATES", {"read": "2/min"})
    client = key_client()
    other = key_client()
    assert client.get(PRODUCTS).status_code == 200
    assert client.get(PRODUCTS).status_code == 200
    response = client.get(PRODUCTS)
    assert_envelope(response, 429, "throttled")
    assert 0 < int(response["Retry-After"]) <= 60
    # The budget is per key: another client is not throttled.
    assert other.get(PRODUCTS).status_code == 200


def test_server_error_is_enveloped_rolled_back_and_logged(writer, monkeypatch, caplog):
    def explode(**kwargs):
        services.product_create(**kwargs, variants=[])  # writes, then fails after the write
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "product_create", lambda **kw: explode(**kw))
    body = {"category": "Tees", "name": "T", "color": "B", "price": "1", "collection": "FW24"}
    with caplog.at_level(logging.ERROR, logger="core.api"):
        response = writer.post(PRODUCTS, body, format="json", HTTP_X_REQUEST_ID="req-500")
    assert_envelope(
        response, 500, "server_error", "An unexpected error occurred; it has been logged."
    )
    assert response["X-Request-ID"] == "req-500"
    assert not Product.objects.exists()
    record = next(r for r in caplog.records if r.name == "core.api")
    assert record.exc_info is not None
    assert record.request_id == "req-500"


def test_service_unavailable_when_the_database_is_unreachable(reader, monkeypatch):
    def unreachable(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(representations, "variants_by_product", unreachable)
    response = reader.get(PRODUCTS)
    assert_envelope(response, 503, "service_unavailable")
    assert response["Retry-After"] == "5"


def test_every_error_code_is_documented_in_the_readme():
    from django.conf import settings

    readme = (settings.BASE_DIR / "README.md").read_text()
    for code, (status, _) in ERROR_CODES.items():
        assert f"| `{code}` | {status} |" in readme, code


def test_request_ids_are_echoed_or_generated(api_client):
    given = api_client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    generated = api_client.get("/healthz")
    forged = api_client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nlog line")
    assert given["X-Request-ID"] == "abc-123"
    assert len(generated["X-Request-ID"]) == 32
    assert forged["X-Request-ID"] != "bad id\nlog line"


def test_errors_carry_the_request_id_header_too(api_client):
    response = api_client.get(PRODUCTS, HTTP_X_REQUEST_ID="trace-1")
    assert response.status_code == 401
    assert response["X-Request-ID"] == "trace-1"


def test_validation_errors_of_list_items_keep_one_entry_per_item(writer):
    body = {
        "category": "Tees",
        "name": "T",
        "color": "B",
        "price": "1",
        "collection": "FW24",
        "variants": [{"size": "S-M"}, {"size": "L-XL", "quantity": "x"}, {"size": "One Size"}],
    }
    details = writer.post(PRODUCTS, body, format="json").json()["error"]["details"]
    assert details == {
        "variants": [{}, {"quantity": ["Expected a whole number; got a string."]}, {}]
    }


def test_a_client_error_is_not_logged_as_an_error(reader, caplog):
    with caplog.at_level(logging.ERROR):
        reader.get(f"{PRODUCTS}999999/")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_the_api_answers_in_json_for_browsers_without_a_session(api_client):
    # A browser asking for HTML without logging in still gets the envelope's data.
    response = api_client.get(PRODUCTS, HTTP_ACCEPT="text/html")
    assert response.status_code == 401
    assert b"not_authenticated" in response.content


def test_deeply_nested_json_is_a_parse_error(writer):
    response = writer.post(PRODUCTS, data="[" * 100_000, content_type="application/json")
    assert_envelope(
        response, 400, "parse_error", "JSON parse error - the document is nested too deeply."
    )


def test_too_many_query_parameters_is_a_client_error(reader):
    query = "&".join(f"x{n}=1" for n in range(1100))
    response = reader.get(f"{PRODUCTS}?{query}")
    assert_envelope(response, 400, "parse_error")


@pytest.mark.parametrize("product", ["99999999999999999999999", "1.5", "-1", "abc"])
def test_an_id_filter_must_be_a_whole_number_in_range(reader, product):
    response = reader.get("/api/v1/variants/", {"product": product})
    body = assert_envelope(
        response, 400, "validation_error", details=response.json()["error"]["details"]
    )
    assert list(body["error"]["details"]) == ["product"]


@pytest.mark.parametrize("product_id", [1.5, "1.5", True, "99999999999999999999999", [1]])
def test_a_variant_s_product_must_be_a_whole_number(writer, make_product, product_id):
    make_product(stock={})
    response = writer.post(
        "/api/v1/variants/", {"product": product_id, "size": "S-M"}, format="json"
    )
    body = assert_envelope(
        response, 400, "validation_error", details=response.json()["error"]["details"]
    )
    assert list(body["error"]["details"]) == ["product"]


@pytest.mark.parametrize("path", ["99999999999999999999999/", "1.5/", "abc/"])
def test_an_id_in_the_address_that_is_not_an_id_is_not_found(reader, path):
    assert_envelope(reader.get(f"{PRODUCTS}{path}"), 404, "not_found")


def test_a_row_deleted_by_a_concurrent_request_answers_404_not_500(writer, make_product):
    product = make_product(stock={"S-M": 0})
    stale = product.variants.get()
    services.variant_delete(variant=stale)
    with pytest.raises(stale.DoesNotExist):
        services.variant_delete(variant=stale)
    with pytest.raises(Product.DoesNotExist):
        services.product_update(
            product=Product(pk=product.pk + 1000), data={"name": "Gone meanwhile"}
        )

    from core.api.exceptions import exception_handler

    response = exception_handler(stale.DoesNotExist("Variant matching query does not exist."), {})
    assert (response.status_code, response.data["error"]["code"]) == (404, "not_found")


def test_a_bad_host_header_under_the_api_answers_in_the_envelope(client):
    response = client.get(PRODUCTS, HTTP_HOST="bad host!")
    assert_envelope(response, 400, "parse_error", "The request is malformed.")


def test_a_server_error_is_logged_once_with_its_request_id(writer, monkeypatch, caplog):
    monkeypatch.setattr(services, "product_create", lambda **kwargs: 1 / 0)
    body = {"category": "Tees", "name": "T", "color": "B", "price": "1", "collection": "FW24"}
    with caplog.at_level(logging.WARNING):
        writer.post(PRODUCTS, body, format="json", HTTP_X_REQUEST_ID="once-1")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "ZeroDivisionError" in caplog.text


def test_a_concurrent_unique_clash_is_a_conflict_naming_the_rule(writer, make_product, monkeypatch):
    def clash(**kwargs):
        raise IntegrityError("UNIQUE constraint failed: catalog_variant.sku")

    monkeypatch.setattr(services, "variant_create", clash)
    product = make_product(stock={})
    response = writer.post(
        "/api/v1/variants/", {"product": product.pk, "size": "S-M"}, format="json"
    )
    assert_envelope(response, 409, "conflict")


def test_a_check_rule_the_validation_missed_is_still_a_client_error(writer, monkeypatch):
    def refused(**kwargs):
        raise IntegrityError("CHECK constraint failed: catalog_product_price_positive")

    monkeypatch.setattr(services, "product_create", refused)
    body = {"category": "Tees", "name": "T", "color": "B", "price": "1", "collection": "FW24"}
    response = writer.post(PRODUCTS, body, format="json")
    assert_envelope(
        response,
        400,
        "validation_error",
        details={"non_field_errors": ["The data breaks the rule catalog_product_price_positive."]},
    )


@pytest.mark.parametrize(
    "path",
    ["/api/v1/orders/1/payment", "/api/v1/order", "/api/v1/orders/0/cancel/", "/api/v1/nothing/"],
)
def test_a_post_to_an_unknown_api_address_is_a_404_envelope_even_with_csrf_checks(path, make_key):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post(path, {}, HTTP_AUTHORIZATION=f"Api-Key {make_key('orders:write')}")
    assert_envelope(response, 404, "not_found", "No API endpoint at this address.")


def test_a_failed_csrf_check_under_the_api_is_an_envelope(rf):
    import json

    from core.api.views import csrf_failure

    response = csrf_failure(rf.post("/api/v1/products/"), reason="CSRF token missing.")
    assert response.status_code == 403
    assert json.loads(response.content) == {
        "error": {
            "code": "permission_denied",
            "message": "CSRF check failed: CSRF token missing.",
            "details": None,
        }
    }
    assert csrf_failure(rf.post("/admin/login/"), reason="x")["Content-Type"].startswith(
        "text/html"
    )


def test_a_staff_session_behind_a_basic_auth_proxy_still_works(manager_client, make_product):
    # A staging proxy asking for Basic credentials makes the browser send them on every request.
    make_product()
    response = manager_client.get(PRODUCTS, HTTP_AUTHORIZATION="Basic dXNlcjpwdw==")
    assert response.status_code == 200
    assert response.json()["count"] == 1
