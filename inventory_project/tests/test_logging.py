"""The access log: one JSON line per request, naming the caller but never a credential."""

import http.cookiejar
import io
import json
import logging
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from core.api.services import api_key_create
from inventory_project.tests.support import ROOT, Server, database_url, free_port

PRODUCTS = "/api/v1/products/"


@pytest.fixture
def access_log(caplog):
    caplog.set_level(logging.INFO, logger="inventory_project.access")

    def records():
        return [r for r in caplog.records if r.name == "inventory_project.access"]

    return records


@pytest.mark.django_db
def test_one_line_per_request_with_its_caller(access_log, manager):
    _, raw_key = api_key_create(name="web-shop")
    keyed = APIClient(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    staff = APIClient()
    staff.force_login(manager)

    keyed.get(PRODUCTS, HTTP_X_REQUEST_ID="req-1")
    APIClient().get(PRODUCTS)
    staff.get("/admin/")
    APIClient(HTTP_AUTHORIZATION="Api-Key wrong.key").get(PRODUCTS)

    lines = [(r.method, r.path, r.status, r.caller, r.request_id) for r in access_log()]
    assert lines[0] == ("GET", PRODUCTS, 200, "api_key:web-shop", "req-1")
    assert lines[1][1:4] == (PRODUCTS, 401, "-")
    assert lines[2][1:4] == ("/admin/", 200, "user:manager")
    assert lines[3][1:4] == (PRODUCTS, 401, "-")
    assert len(lines) == 4
    assert all(record.duration_ms >= 0 for record in access_log())


def test_the_json_formatter_writes_one_object_per_line():
    from django.conf import settings

    formatter_config = dict(settings.LOGGING["formatters"]["json"])
    formatter_class = formatter_config.pop("()")
    assert formatter_class == "pythonjsonlogger.json.JsonFormatter"
    from pythonjsonlogger.json import JsonFormatter

    formatter = JsonFormatter(**formatter_config)
    record = logging.LogRecord(
        "inventory_project.access", logging.INFO, "", 0, "GET / 200", (), None
    )
    record.request_id, record.actor, record.status = "abc", "-", 200
    line = formatter.format(record)
    assert "\n" not in line
    assert json.loads(line) | {"time": None} == {
        "time": None,
        "level": "INFO",
        "logger": "inventory_project.access",
        "message": "GET / 200",
        "request_id": "abc",
        "actor": "-",
        "status": 200,
    }


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_running_server_logs_json_and_never_a_credential():
    _, raw_key = api_key_create(name="pos-till-3")
    wrong_key = "prefix.ThisIsNotAKeyButLooksLikeOne1234567890"
    password = "S3cret-Password-For-Logs"
    # Hashed as production hashes (the suite's settings use a fast hasher production lacks).
    hashed = PBKDF2PasswordHasher().encode(password, PBKDF2PasswordHasher().salt())
    User.objects.create(username="clerk", password=hashed, is_staff=True)
    # Plain HTTP on loopback: the session and CSRF cookies may travel without TLS here.
    server = Server(database_url(), DJANGO_SECURE_COOKIES="0")
    try:
        statuses = [
            server.get(PRODUCTS, {"Authorization": f"Api-Key {raw_key}"})[0],
            server.get(PRODUCTS, {"Authorization": f"Api-Key {wrong_key}"})[0],
            server.get(f"{PRODUCTS}999999/", {"Authorization": f"Api-Key {raw_key}"})[0],
            server.get("/api/v1/nowhere/")[0],
        ]
        # An admin sign-in with a wrong and then the right password, through the real form.
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        login = f"http://127.0.0.1:{server.port}/admin/login/"
        page = opener.open(login).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        for attempt in ("wrong-" + password, password):
            body = urllib.parse.urlencode(
                {
                    "csrfmiddlewaretoken": token,
                    "username": "clerk",
                    "password": attempt,
                    "next": "/admin/",
                }
            ).encode()
            response = opener.open(urllib.request.Request(login, data=body))
            statuses.append(response.status)
            page = response.read().decode()
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
            token = token.group(1) if token else ""
    finally:
        log = server.stop()

    assert statuses[:4] == [200, 401, 404, 404]
    for secret in (raw_key, raw_key.split(".")[1], wrong_key, password):
        assert secret not in log

    access = []
    for line in log.splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            # (Less the health checks the test made while the server started.)
            if entry["logger"] == "inventory_project.access" and entry["path"] != "/healthz":
                access.append(entry)
    # Four API requests, the login page, two sign-ins and the redirect to the admin's index.
    assert len(access) == 8, [(e["method"], e["path"], e["status"]) for e in access]
    first = access[0]
    assert first["method"] == "GET"
    assert first["path"] == PRODUCTS
    assert first["status"] == 200
    assert first["caller"] == "api_key:pos-till-3"
    assert isinstance(first["duration_ms"], float)
    assert re.fullmatch(r"[0-9a-f]{32}", first["request_id"])
    assert [entry["status"] for entry in access[1:4]] == [401, 404, 404]
    assert [entry["caller"] for entry in access[4:]] == ["-", "-", "-", "user:clerk"]


@pytest.fixture
def console_lines():
    """What the project's console handler writes, in both of its formats."""
    from django.conf import settings

    handler = next(
        handler
        for handler in logging.getLogger("inventory_project.access").handlers
        if getattr(handler, "name", None) == "console" or isinstance(handler, logging.StreamHandler)
    )
    stream = io.StringIO()
    previous = handler.setStream(stream)
    plain = logging.Formatter(settings.LOGGING["formatters"]["plain"]["format"])
    records: list[logging.LogRecord] = []
    capture = logging.Filter()
    capture.filter = lambda record: records.append(record) or True
    handler.addFilter(capture)
    try:
        yield lambda: (stream.getvalue().splitlines(), [plain.format(r) for r in records])
    finally:
        handler.removeFilter(capture)
        handler.setStream(previous)


@pytest.mark.django_db
def test_a_staff_user_in_the_admin_is_the_actor_of_its_log_lines(console_lines, manager):
    staff = APIClient()
    staff.force_login(manager)
    staff.get("/admin/catalog/product/", HTTP_X_REQUEST_ID="admin-1")
    json_lines, plain_lines = console_lines()
    [line] = [json.loads(line) for line in json_lines if "admin-1" in line]
    assert (line["actor"], line["caller"]) == ("user:manager", "user:manager")
    [plain] = [line for line in plain_lines if "admin-1" in line]
    assert "[request_id=admin-1 actor=user:manager]" in plain


def test_runserver_logs_each_request_once(tmp_path):
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "inventory_project.settings.local",
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz?once=1", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=20)
    lines = [line for line in output.splitlines() if "/healthz" in line and "200" in line]
    # The access log's line, not runserver's own beside it.
    assert len(lines) == 1, output
    assert "inventory_project.access" in lines[0]
