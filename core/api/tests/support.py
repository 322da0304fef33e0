"""What the API's tests share: addresses, a valid product, and the error envelope's checks."""

import json

from core.api.schema import ERROR_CODES

PRODUCTS = "/api/v1/products/"
VARIANTS = "/api/v1/variants/"
MOVEMENTS = "/api/v1/stock-movements/"
LEVELS = "/api/v1/stock-levels/"
LOCATIONS = "/api/v1/locations/"
ORDERS = "/api/v1/orders/"
PRODUCT = {
    "category": "Tees",
    "name": "Tee",
    "color": "Black",
    "price": "9.90",
    "collection": "FW24",
}


def assert_error(response, status, code):
    """The envelope, with a documented code of that status, as JSON; returns the error."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert list(body) == ["error"]
    assert list(body["error"]) == ["code", "message", "details"]
    assert body["error"]["code"] == code
    assert ERROR_CODES[code][0] == status
    assert body["error"]["message"]
    return body["error"]


def assert_invalid(response, *fields):
    """A validation error whose details name exactly these fields (or query parameters)."""
    error = assert_error(response, 400, "validation_error")
    assert sorted(error["details"]) == sorted(fields), error["details"]
    return error
