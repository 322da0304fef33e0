"""Chunked request bodies through the WSGI application, as a server hands them over."""

import io
import json
import logging
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from core.api.services import api_key_create
from inventory_project.wsgi import application

pytestmark = pytest.mark.django_db


def _call(body: bytes, *, terminated: bool, **extra):
    _, raw_key = api_key_create(name="web-shop", scopes=["catalog:write"])
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/v1/products/",
        "HTTP_HOST": "testserver",
        "SERVER_NAME": "testserver",
        "CONTENT_TYPE": "application/json",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "HTTP_AUTHORIZATION": f"Api-Key {raw_key}",
        "wsgi.input": io.BytesIO(body),
        **extra,
    }
    setup_testing_defaults(environ)
    environ.pop("CONTENT_LENGTH", None)
    if terminated:
        environ["wsgi.input_terminated"] = True
    answer: dict[str, Any] = {}

    def start_response(status, headers, exc_info=None):
        answer.update(status=status, headers=dict(headers))

    # As Django's test client does: the request's start and end must not close the test's
    # connection (and its transaction).
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        content = b"".join(application(environ, start_response))
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)
    return int(answer["status"].split()[0]), answer["headers"], json.loads(content)


PRODUCT = (
    b'{"category": "Tees", "name": "Tee", "color": "Black", "price": "9.90", "collection": "FW24"}'
)


def test_a_decoded_chunked_body_is_read(settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    status, _, body = _call(PRODUCT, terminated=True)
    assert (status, body["name"]) == (201, "Tee")


def test_a_chunked_body_the_server_did_not_decode_is_411_never_an_empty_body(settings, caplog):
    # Django's runserver hands the raw chunks over without saying the input ends.
    settings.ALLOWED_HOSTS = ["testserver"]
    caplog.set_level(logging.INFO, logger="inventory_project.access")
    status, headers, body = _call(
        b"5a\r\n" + PRODUCT + b"\r\n0\r\n\r\n",
        terminated=False,
        HTTP_X_REQUEST_ID="client-id-7",
    )
    assert (status, body["error"]["code"]) == (411, "length_required")
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Request-ID"] == "client-id-7"
    [line] = [r for r in caplog.records if r.name == "inventory_project.access"]
    assert (line.status, line.request_id, line.path) == (411, "client-id-7", "/api/v1/products/")


def test_a_chunked_body_over_the_limit_is_413(settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 50
    status, _, body = _call(PRODUCT, terminated=True)
    assert (status, body["error"]["code"]) == (413, "payload_too_large")


def test_a_chunked_body_outside_the_api_is_411(settings):
    # No browser chunks a form: the admin's upload is not held to the API's body limit.
    settings.ALLOWED_HOSTS = ["testserver"]
    status, _, body = _call(PRODUCT, terminated=True, PATH_INFO="/admin/catalog/product/import/")
    assert (status, body["error"]["code"]) == (411, "length_required")
