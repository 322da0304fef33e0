"""Which format an answer comes in: JSON for every client, the browsable API only for staff
signed in to the admin."""

import pytest

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize("accept", ["text/html", BROWSER_ACCEPT])
def test_a_client_with_a_key_asking_for_html_gets_json(reader, make_product, accept):
    make_product()
    response = reader.get(PRODUCTS, HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["count"] == 1


def test_an_error_for_a_client_asking_for_html_is_the_envelope(reader):
    response = reader.get(f"{PRODUCTS}999/", HTTP_ACCEPT="text/html")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"


def test_format_api_without_a_staff_session_is_not_served(reader):
    response = reader.get(PRODUCTS, {"format": "api"})
    assert response.status_code == 406
    assert response.json()["error"] == {
        "code": "not_acceptable",
        "message": 'The format "api" is not served here; use json.',
        "details": None,
    }


def test_staff_signed_in_to_the_admin_keep_the_browsable_api(manager_client):
    response = manager_client.get(PRODUCTS, HTTP_ACCEPT=BROWSER_ACCEPT)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert manager_client.get(PRODUCTS, {"format": "api"})["Content-Type"].startswith("text/html")


def test_staff_asking_for_json_get_json(manager_client):
    response = manager_client.get(PRODUCTS, HTTP_ACCEPT="application/json")
    assert response["Content-Type"] == "application/json"
