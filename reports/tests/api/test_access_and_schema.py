"""Who may read which report, and the reports in the API's schema."""

import pytest

from reports.tests.api.support import SALES, STOCK_VALUE

pytestmark = pytest.mark.django_db


def test_who_may_read_reports(reader, key_client, store_staff, login, api_client):
    from rest_framework.test import APIClient

    assert reader.get(STOCK_VALUE).status_code == 200
    # Sales are not a catalog reader's business.
    refused = reader.get(SALES)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "permission_denied")
    assert key_client("orders:write").get(SALES).status_code == 403
    assert key_client("reports:read").get(SALES).status_code == 200
    assert api_client.get(STOCK_VALUE).status_code == 401
    assert api_client.get(SALES).status_code == 401

    staff = APIClient()
    staff.force_login(store_staff)
    assert staff.get(STOCK_VALUE).status_code == 200
    assert staff.get(SALES).status_code == 200


def test_reports_appear_in_the_schema(reader):
    schema = reader.get("/api/schema/").json()
    assert "/api/v1/reports/stock-value/" in schema["paths"]
    sales = schema["paths"]["/api/v1/reports/sales/"]["get"]
    assert {p["name"] for p in sales["parameters"]} >= {"date_from", "date_to"}
