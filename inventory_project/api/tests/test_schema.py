"""The OpenAPI document: served in the format each tool asks for, valid, and stating every rule
the server enforces, with names that read like an SDK."""

import json

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
