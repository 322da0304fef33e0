"""The project as operators and client developers meet it: settings, health checks, API docs."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError, connection

ROOT = Path(__file__).resolve().parents[2]


def _run_python(code, **env):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_secret_key_is_required_when_debug_is_off():
    code = "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='inventory_project.settings.base'; django.setup()"
    missing = _run_python(code, DJANGO_DEBUG="0")
    assert missing.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in missing.stderr

    assert _run_python(code, DJANGO_DEBUG="0", DJANGO_SECRET_KEY="x" * 50).returncode == 0
    assert _run_python(code, DJANGO_DEBUG="1").returncode == 0


def test_settings_come_from_the_environment():
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='inventory_project.settings.base';"
        "django.setup(); from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'],"
        " s.ALLOWED_HOSTS, s.DEBUG, s.STORE_CURRENCY,"
        " s.DATABASES['default'].get('DISABLE_SERVER_SIDE_CURSORS'), s.CACHES['default']['BACKEND'])"
    )
    result = _run_python(
        code,
        DJANGO_SECRET_KEY="k",
        DATABASE_URL="postgres://u:p@db.internal:5432/inventory",
        DJANGO_ALLOWED_HOSTS="api.example.com,admin.example.com",
        STORE_CURRENCY="GBP",
        DB_PGBOUNCER="1",
        REDIS_URL="redis://cache:6379/0",
    )
    assert result.stdout.split(" ", 2)[:2] == ["django.db.backends.postgresql", "inventory"]
    assert (
        "['api.example.com', 'admin.example.com'] False GBP True "
        "django.core.cache.backends.redis.RedisCache" in result.stdout
    )

    default = _run_python(code, DJANGO_DEBUG="1")
    assert default.stdout.startswith(f"django.db.backends.sqlite3 {ROOT / 'db.sqlite3'} ")


_WRITER = """
import os, sys, time, django
os.environ["DJANGO_SETTINGS_MODULE"] = "inventory_project.settings.base"
django.setup()
from django.db import transaction
from catalog.models import Product
with transaction.atomic():
    Product.objects.count()  # read first: a deferred transaction would hold a read lock here
    time.sleep(0.5)
    Product.objects.create(category="Tees", name=sys.argv[1], color="Black", price="1", collection="FW24")
print("ok")
"""


def test_concurrent_sqlite_writers_wait_instead_of_failing(tmp_path):
    env = {"DJANGO_DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    migrate = _run_python(
        "import os, django; os.environ['DJANGO_SETTINGS_MODULE']='inventory_project.settings.base';"
        "django.setup(); from django.core.management import call_command;"
        "call_command('migrate', verbosity=0)",
        **env,
    )
    assert migrate.returncode == 0, migrate.stderr

    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, f"writer {n}"],
            cwd=ROOT,
            env={**base, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    results = [writer.communicate(timeout=60) for writer in writers]
    assert [writer.returncode for writer in writers] == [0, 0, 0, 0], results
    assert all("database is locked" not in err for _, err in results)


@pytest.mark.django_db
def test_healthz_and_readyz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok", "database": "ok"}


@pytest.mark.django_db
def test_readyz_answers_503_when_the_database_is_unreachable(client, monkeypatch):
    def unreachable():
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(connection, "cursor", unreachable)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "service_unavailable"
    # Liveness does not depend on the database.
    assert client.get("/healthz").status_code == 200


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_the_schema_documents_every_operation_and_its_errors(schema):
    paths = schema["paths"]
    assert set(paths) == {
        "/api/v1/products/",
        "/api/v1/products/{id}/",
        "/api/v1/variants/",
        "/api/v1/variants/{id}/",
        "/api/v1/variants/{id}/adjust/",
        "/api/v1/variants/{id}/count/",
        "/api/v1/variants/{id}/movements/",
        "/api/v1/counts/",
        "/api/v1/counts/{id}/",
        "/api/v1/counts/{id}/lines/",
        "/api/v1/counts/{id}/preview/",
        "/api/v1/counts/{id}/apply/",
        "/api/v1/counts/{id}/cancel/",
        "/api/v1/variants/{id}/levels/{location_code}/",
        "/api/v1/stock-movements/",
        "/api/v1/stock-movements/{id}/",
        "/api/v1/stock-levels/",
        "/api/v1/locations/",
        "/api/v1/locations/{id}/",
        "/api/v1/transfers/",
        "/api/v1/transfers/{id}/",
        "/api/v1/transfers/{id}/ship/",
        "/api/v1/transfers/{id}/receive/",
        "/api/v1/transfers/{id}/close/",
        "/api/v1/transfers/{id}/cancel/",
        "/api/v1/replenishment/",
        "/api/v1/orders/",
        "/api/v1/orders/{id}/",
        "/api/v1/orders/{id}/pay/",
        "/api/v1/orders/{id}/fulfil/",
        "/api/v1/orders/{id}/cancel/",
        "/api/v1/orders/{id}/returns/",
        "/api/v1/reports/stock-value/",
        "/api/v1/reports/sales/",
        "/api/v1/webhooks/",
        "/api/v1/webhooks/{id}/",
        "/api/v1/webhooks/{id}/rotate-secret/",
        "/api/v1/webhooks/{id}/deliveries/",
        "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver/",
        "/api/v1/events/",
        "/api/v1/events/{id}/",
    }
    for path, operations in paths.items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert {"401", "403", "406", "429", "500", "503"} <= statuses, (method, path)
            if method in ("post", "put", "patch"):
                assert {"400", "409", "413", "415"} <= statuses, (method, path)
            if "{id}" in path:
                assert "404" in statuses, (method, path)
            if method == "delete":
                assert {"204", "409"} <= statuses, (method, path)
            error = operation["responses"]["401"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/ErrorEnvelope"}

    assert set(paths["/api/v1/products/"]["post"]["responses"]) >= {"201"}
    operations = {
        operation["operationId"]
        for path, methods in paths.items()
        if path.startswith("/api/v1/transfers/")
        for operation in methods.values()
    }
    assert operations == {
        "transfers_list",
        "transfers_create",
        "transfers_retrieve",
        "transfers_ship",
        "transfers_receive",
        "transfers_close",
        "transfers_cancel",
    }
    for action in ("ship", "receive", "close", "cancel"):
        operation = paths[f"/api/v1/transfers/{{id}}/{action}/"]["post"]
        assert {"200", "400", "403", "404", "409", "422"} <= set(operation["responses"]), action
        assert "Idempotency-Key" in {parameter["name"] for parameter in operation["parameters"]}
    assert "invalid_transition" in components_of(schema)["ErrorCode"]["enum"]
    components = schema["components"]["schemas"]
    assert components["Category"]["enum"] == ["Tees", "Sweaters", "Pants"]
    assert components["Size"]["enum"] == ["S-M", "L-XL", "One Size"]
    assert components["LocationKind"]["enum"] == ["warehouse", "store", "online"]
    assert "validation_error" in components["ErrorCode"]["enum"]
    assert components["OrderPlacedEventType"]["enum"] == ["order.placed"]
    assert components["DeliveryStatus"]["enum"] == ["pending", "succeeded", "failed"]
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"]["name"] == "Authorization"


def components_of(schema):
    return schema["components"]["schemas"]


def test_the_schema_documents_the_filters(schema):
    parameters = {p["name"] for p in schema["paths"]["/api/v1/products/"]["get"]["parameters"]}
    assert parameters >= {
        "category",
        "collection",
        "color",
        "size",
        "in_stock",
        "price_min",
        "price_max",
        "active",
        "search",
        "ordering",
        "page",
        "page_size",
    }


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_the_docs_are_served_from_the_package_not_a_cdn(client, path):
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/" in html
    assert "cdn." not in html
    assert "https://" not in html.replace("https://github.com", "")


def test_the_test_command_names_every_skip_and_the_install_shows_progress():
    import tomllib

    from inventory_project.tests.support import ROOT

    addopts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "-rs" in addopts["addopts"].split()
    install = (ROOT / "Makefile").read_text().split("$(VENV)/.installed:")[1].split("\n\n")[0]
    assert "pip install" in install
    assert "--quiet" not in install


def test_the_readme_states_gunicorn_s_worker_default_as_gunicorn_conf_computes_it(monkeypatch):
    import os
    import runpy

    from inventory_project.tests.support import ROOT

    monkeypatch.delenv("GUNICORN_WORKERS", raising=False)
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["workers"] == len(os.sched_getaffinity(0))
    readme = (ROOT / "README.md").read_text()
    assert "`127.0.0.1:8000`, one per CPU, `30`" in readme
    assert readme.count("GUNICORN_WORKERS") == 2  # the table, and where to change it
