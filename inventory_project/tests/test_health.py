"""Health checks answer whatever the Host header, and open nothing else to other hosts."""

import pytest
from django.db import OperationalError, connection
from django.test import Client

pytestmark = pytest.mark.django_db

ALLOWED = "inventory.example.com"
# How probes and strangers call: Docker's HEALTHCHECK, a proxy by a container's address, IPv6,
# a name nobody configured, and no Host header at all (HTTP/1.0).
OTHER_HOSTS = ["127.0.0.1:8000", "172.18.0.5:8000", "[::1]:8000", "evil.example", None]


@pytest.fixture
def production_hosts(settings):
    settings.ALLOWED_HOSTS = [ALLOWED]


def _get(path, host, **headers):
    client = Client(**({"HTTP_HOST": host} if host else {"SERVER_NAME": "10.0.0.9"}))
    return client.get(path, **headers)


@pytest.mark.parametrize("host", OTHER_HOSTS)
def test_health_checks_answer_whatever_the_host(production_hosts, host):
    healthz = _get("/healthz", host)
    assert (healthz.status_code, healthz.json()) == (200, {"status": "ok"})
    readyz = _get("/readyz", host)
    assert (readyz.status_code, readyz.json()) == (200, {"status": "ok", "database": "ok"})
    # Still a request like any other: it has its id, and is never cached.
    assert healthz["X-Request-ID"]
    assert "no-cache" in healthz["Cache-Control"]


@pytest.mark.parametrize("host", OTHER_HOSTS)
@pytest.mark.parametrize(
    "path",
    ["/api/v1/products/", "/admin/login/", "/api/schema/", "/healthz/", "/readyz/x", "/nowhere"],
)
def test_every_other_path_still_refuses_a_host_not_allowed(production_hosts, host, path):
    assert _get(path, host).status_code == 400


def test_the_allowed_host_gets_everything_as_before(production_hosts):
    assert _get("/healthz", ALLOWED).status_code == 200
    assert _get("/api/v1/products/", ALLOWED).status_code == 401  # no key, but let in
    assert _get("/admin/login/", ALLOWED).status_code == 200


def test_readyz_says_503_whatever_the_host_when_the_database_is_down(production_hosts, monkeypatch):
    def unreachable():
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(connection, "cursor", unreachable)
    response = _get("/readyz", "127.0.0.1:8000")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "service_unavailable"
    assert _get("/healthz", "127.0.0.1:8000").status_code == 200


def test_with_the_https_redirect_probes_over_plain_http_are_answered(production_hosts, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert _get("/healthz", "127.0.0.1:8000").status_code == 200
    assert _get("/readyz", "evil.example").status_code == 200
    # Anything else over plain HTTP: redirected for the real host, refused for any other.
    redirected = _get("/api/v1/products/", ALLOWED)
    assert (redirected.status_code, redirected["Location"]) == (
        301,
        f"https://{ALLOWED}/api/v1/products/",
    )
    assert _get("/api/v1/products/", "evil.example").status_code == 400
