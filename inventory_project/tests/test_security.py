"""Production settings, security headers, CORS and the admin's protection against brute force."""

import os
import subprocess
import sys

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import reverse

from inventory_project.tests.support import ROOT

PRODUCTS = "/api/v1/products/"
LOGIN = reverse("admin:login")


def _manage(*args, **env):
    """``manage.py`` in a fresh process with production settings and the given environment."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environment.update(
        DJANGO_SETTINGS_MODULE="inventory_project.settings.production",
        DJANGO_SECRET_KEY="deploy-check-" + "k3y-" * 12,
        DJANGO_ALLOWED_HOSTS="inventory.example.com",
        DATABASE_URL="sqlite:///:memory:",
        REDIS_URL="redis://cache:6379/0",
    )
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_deploy_check_reports_nothing_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "DEBUG")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_the_deploy_check_catches_a_weakened_production_setting():
    """The check above can fail: turning HSTS off is reported."""
    result = _manage("check", "--deploy", "--fail-level", "WARNING", DJANGO_HSTS_SECONDS="0")
    assert result.returncode != 0
    assert "security.W004" in result.stderr


def test_the_deploy_check_wants_the_shared_cache():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", REDIS_URL="")
    assert result.returncode != 0
    assert "inventory.W001" in result.stderr


@pytest.mark.parametrize(
    ("setting", "check_id"),
    [("READ_CACHE_SECONDS", "inventory.E002"), ("API_KEY_CACHE_SECONDS", "inventory.E003")],
)
def test_the_deploy_check_refuses_per_process_caches_without_the_shared_cache(setting, check_id):
    result = _manage("check", "--deploy", REDIS_URL="", **{setting: "60"})
    assert result.returncode != 0
    assert check_id in result.stderr
    # Without Redis, neither is on unless asked: only the warning about budgets.
    result = _manage("check", "--deploy", REDIS_URL="")
    assert result.returncode == 0, result.stderr
    assert check_id not in result.stderr


def test_production_trusts_one_proxy_for_the_clients_address():
    script = "from django.conf import settings; print(settings.REST_FRAMEWORK['NUM_PROXIES'])"
    assert _manage("shell", "--no-imports", "-c", script).stdout.strip() == "1"
    alone = _manage("shell", "--no-imports", "-c", script, DJANGO_NUM_PROXIES="0")
    assert alone.stdout.strip() == "0"


def test_the_admin_url_comes_from_the_environment():
    script = "from django.urls import reverse; print(reverse('admin:index'))"
    result = _manage("shell", "--no-imports", "-c", script, DJANGO_ADMIN_URL="/back-office/")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "/back-office/"


@override_settings(
    SECURE_SSL_REDIRECT=True,
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    SECURE_REDIRECT_EXEMPT=[r"^healthz$", r"^readyz$"],
    SECURE_HSTS_SECONDS=31536000,
    SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
    SECURE_HSTS_PRELOAD=True,
)
def test_behind_the_tls_proxy_http_is_redirected_and_https_gets_hsts(db, client):
    plain = client.get(PRODUCTS)
    assert plain.status_code == 301
    assert plain["Location"] == f"https://testserver{PRODUCTS}"
    # The load balancer's health checks come over plain HTTP.
    assert client.get("/healthz").status_code == 200

    secure = client.get(LOGIN, HTTP_X_FORWARDED_PROTO="https")
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


@pytest.mark.parametrize("path", [LOGIN, "/api/docs/", "/api/redoc/", PRODUCTS])
def test_pages_carry_the_security_headers(db, client, path):
    response = client.get(path)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response["Content-Security-Policy"].split(";")
    )
    assert policy["script-src"] == "'self'"
    assert policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/", LOGIN])
def test_browser_pages_have_no_inline_scripts(db, client, path):
    """The policy forbids inline scripts; the pages must not need them."""
    html = client.get(path).content.decode()
    scripts = html.split("<script")[1:]
    assert scripts, "the page loads its scripts"
    for script in scripts:
        opening, _, rest = script.partition(">")
        assert "src=" in opening, f"inline script on {path}: <script{script[:120]}"
        assert rest.startswith("</script>")


def test_swagger_ui_start_up_script_is_served_as_javascript(db, client):
    response = client.get("/api/docs/?script=")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in response.content.decode()


class TestCors:
    @pytest.fixture(autouse=True)
    def _shop_origin(self, settings):
        settings.CORS_ALLOWED_ORIGINS = ["https://shop.example.com"]

    def test_an_allowed_origin_may_read_answers_but_not_send_credentials(self, reader):
        response = reader.get(PRODUCTS, HTTP_ORIGIN="https://shop.example.com")
        assert response.status_code == 200
        assert response["Access-Control-Allow-Origin"] == "https://shop.example.com"
        assert "Access-Control-Allow-Credentials" not in response
        exposed = response["Access-Control-Expose-Headers"].lower()
        assert {"retry-after", "x-request-id"} <= set(exposed.replace(" ", "").split(","))

    def test_another_origin_gets_no_cors_headers(self, reader):
        response = reader.get(PRODUCTS, HTTP_ORIGIN="https://evil.example.com")
        assert "Access-Control-Allow-Origin" not in response

    def test_a_preflight_allows_the_api_key_and_idempotency_headers(self, db, client):
        response = client.options(
            PRODUCTS,
            HTTP_ORIGIN="https://shop.example.com",
            HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
            HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, idempotency-key",
        )
        assert response.status_code == 200
        assert response["Access-Control-Allow-Origin"] == "https://shop.example.com"
        allowed = response["Access-Control-Allow-Headers"].lower()
        assert {"authorization", "content-type", "idempotency-key"} <= set(allowed.split(", "))
        assert "Access-Control-Allow-Credentials" not in response

    def test_the_admin_is_never_cross_origin(self, db, client):
        response = client.get(LOGIN, HTTP_ORIGIN="https://shop.example.com")
        assert "Access-Control-Allow-Origin" not in response


def test_no_origin_is_allowed_by_default(reader):
    response = reader.get(PRODUCTS, HTTP_ORIGIN="https://shop.example.com")
    assert "Access-Control-Allow-Origin" not in response


class TestAdminLoginLockout:
    @pytest.fixture
    def staff(self, db):
        return User.objects.create_user("clerk", password="correct-horse-9", is_staff=True)

    @staticmethod
    def attempt(password, address="10.0.0.1", username="clerk", forwarded=None):
        client = Client(REMOTE_ADDR=address)
        if forwarded:
            client.defaults["HTTP_X_FORWARDED_FOR"] = forwarded
        return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})

    def test_five_failures_lock_the_username_at_that_address(self, staff, settings):
        assert settings.AXES_FAILURE_LIMIT == 5
        for _ in range(4):
            assert self.attempt("wrong").status_code == 200  # the form again, with its error
        locked = self.attempt("wrong")
        assert locked.status_code == 429
        assert b"Sign-in locked" in locked.content
        # Locked out: even the right password is refused now.
        assert self.attempt("correct-horse-9").status_code == 429
        # The same user from elsewhere, and another user from here, can still sign in.
        assert self.attempt("correct-horse-9", address="10.0.0.2").status_code == 302
        User.objects.create_user("manager", password="pw-manager-9", is_staff=True)
        assert self.attempt("pw-manager-9", username="manager").status_code == 302

    def test_behind_a_proxy_the_forwarded_address_counts(self, staff, settings):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
        for _ in range(5):
            self.attempt("wrong", address="10.9.9.9", forwarded="203.0.113.7")
        assert (
            self.attempt("correct-horse-9", address="10.9.9.9", forwarded="203.0.113.7").status_code
            == 429
        )
        # Another client behind the same proxy is not locked out.
        assert (
            self.attempt(
                "correct-horse-9", address="10.9.9.9", forwarded="198.51.100.2"
            ).status_code
            == 302
        )

    def test_without_trusted_proxies_a_forged_forwarded_for_changes_nothing(self, staff):
        for index in range(5):
            self.attempt("wrong", forwarded=f"203.0.113.{index}")
        assert self.attempt("correct-horse-9", forwarded="198.51.100.2").status_code == 429

    def test_a_success_resets_the_count(self, staff):
        for _ in range(4):
            self.attempt("wrong")
        assert self.attempt("correct-horse-9").status_code == 302
        for _ in range(4):
            assert self.attempt("wrong").status_code == 200
        assert self.attempt("correct-horse-9").status_code == 302

    def test_the_password_never_reaches_the_failure_records(self, staff):
        from axes.models import AccessAttempt

        for _ in range(2):
            self.attempt("hunter2-secret")
        record = AccessAttempt.objects.get()
        assert record.failures_since_start == 2
        assert "hunter2-secret" not in str(record.post_data) + str(record.get_data)
