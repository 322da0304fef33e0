"""Real HTTP through gunicorn, started with the Docker image's entry command and production
settings, against the test database."""

import http.client
import json
import socket

import pytest

from catalog.services import VariantSpec, product_create
from core.actors import system_actor
from core.api.schema import ERROR_CODES
from core.api.services import api_key_create
from inventory_project.tests.support import Server, database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def server():
    started = Server(database_url())
    yield started
    started.stop()


def test_the_api_over_real_http(server):
    product_create(
        category="Tees",
        name="Tee",
        color="Black",
        price="29.90",
        collection="FW24",
        variants=[VariantSpec(size="L-XL", quantity=3)],
        actor=system_actor("test"),
    )
    _, raw_key = api_key_create(name="web-shop")

    status, headers, body = server.get(
        "/api/v1/products/?size=L-XL&in_stock=true",
        {"Authorization": f"Api-Key {raw_key}", "X-Request-ID": "http-test-1"},
    )
    assert status == 200
    assert headers["X-Request-ID"] == "http-test-1"
    products = json.loads(body)["results"]
    assert [(p["name"], p["variants"][0]["in_stock"]) for p in products] == [("Tee", True)]

    status, headers, body = server.get("/api/v1/products/")
    assert status == 401
    assert headers["WWW-Authenticate"] == "Api-Key"
    assert json.loads(body)["error"]["code"] == "not_authenticated"

    status, _, body = server.get("/api/v1/unknown/", {"Authorization": f"Api-Key {raw_key}"})
    assert (status, json.loads(body)["error"]["code"]) == (404, "not_found")
    assert server.get("/readyz")[0] == 200


def test_a_database_outage_answers_503_in_the_envelope():
    # Nothing listens on port 1: every connection attempt fails at once.
    server = Server("postgres://postgres@127.0.0.1:1/inventory")
    try:
        status, headers, body = server.get("/readyz")
        assert (status, headers["Retry-After"]) == (503, "5")
        assert json.loads(body)["error"]["code"] == "service_unavailable"

        status, headers, body = server.get(
            "/api/v1/products/", {"Authorization": "Api-Key some.key"}
        )
        assert status == 503
        assert headers["Content-Type"] == "application/json"
        assert json.loads(body)["error"]["code"] == "service_unavailable"
        # The process itself stays alive.
        assert server.get("/healthz")[0] == 200
    finally:
        log = server.stop()
    # The 503s were logged as JSON lines, each with its request id.
    unavailable = [
        entry
        for entry in (json.loads(line) for line in log.splitlines() if line.startswith("{"))
        if entry.get("status") == 503
    ]
    assert len(unavailable) == 2
    assert all(entry["request_id"] not in ("", "-") for entry in unavailable)


def _raw(server, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are, read the whole answer (gunicorn closes after an error)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split(" ")[1]), headers, body


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"GET /api/v1/products/?q=" + b"x" * 9000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 414, "uri_too_long"),
        (b"GET /api/v1/products/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"y" * 9000 + b"\r\n\r\n", 431, "request_header_fields_too_large"),
        (b"GET /api/v1/products/ HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"".join(b"X-H%d: 1\r\n" % n for n in range(120)) + b"\r\n", 431, "request_header_fields_too_large"),
        (b"GET /\x00 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 400, "parse_error"),
        (b"GET / HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n", 400, "parse_error"),
        (b"POST /api/v1/products/ HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: br\r\n\r\n", 501, "not_implemented"),
        (b"GET /api/v1/products/ HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 200-ok\r\n\r\n", 417, "expectation_failed"),
    ],
)  # fmt: skip
def test_what_gunicorn_refuses_by_itself_is_in_the_envelope(server, request_bytes, status, code):
    got_status, headers, body = _raw(server, request_bytes)
    assert got_status == status, body
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"]["code"] == code
    assert ERROR_CODES[code][0] == status
    # And its access line, like every request's, under the id the client was given.
    lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("logger") == "inventory_project.access"]
    assert (access[-1]["status"], access[-1]["request_id"]) == (status, headers["X-Request-ID"])


def test_a_refusal_after_the_headers_keeps_the_client_s_request_id(server):
    request = (
        b"POST /api/v1/products/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: client-id-123\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nZZ\r\n"
    )
    status, headers, body = _raw(server, request)
    assert (status, json.loads(body)["error"]["code"]) == (400, "parse_error")
    assert headers["X-Request-ID"] == "client-id-123"


def _chunked(server, method, path, body: bytes, headers):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        # An iterable body is sent with Transfer-Encoding: chunked and no Content-Length.
        connection.request(
            method, path, body=iter([body[:7], body[7:]]), headers=headers, encode_chunked=True
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_a_chunked_body_is_read_like_any_other(server):
    product = product_create(
        category="Tees", name="Tee", color="Black", price="29.90", collection="FW24",
        variants=[VariantSpec(size="L-XL", quantity=3)], actor=system_actor("test"),
    )  # fmt: skip
    _, raw_key = api_key_create(name="web-shop", scopes=["catalog:write"])
    headers = {"Authorization": f"Api-Key {raw_key}", "Content-Type": "application/json"}

    status, body = _chunked(
        server, "PATCH", f"/api/v1/products/{product.pk}/", b'{"color": "Navy"}', headers
    )
    assert (status, body["color"]) == (200, "Navy")
    product.refresh_from_db()
    assert product.color == "Navy"

    created = b'{"category": "Tees", "name": "Chunked Tee", "color": "Sand", "price": "9.90", "collection": "SS25"}'
    status, body = _chunked(server, "POST", "/api/v1/products/", created, headers)
    assert (status, body["name"]) == (201, "Chunked Tee")


def test_a_chunked_body_over_the_limit_is_413():
    server = Server(database_url(), DJANGO_MAX_BODY_BYTES="1000")
    try:
        _, raw_key = api_key_create(name="web-shop", scopes=["catalog:write"])
        headers = {"Authorization": f"Api-Key {raw_key}", "Content-Type": "application/json"}
        body = b'{"name": "' + b"x" * 5000 + b'"}'
        status, answer = _chunked(server, "POST", "/api/v1/products/", body, headers)
        assert (status, answer["error"]["code"]) == (413, "payload_too_large")
    finally:
        server.stop()
