"""The image and the stack, checked without a Docker engine: the files say what they must, and
the image's entry command is the one the gunicorn tests run."""

import re
import subprocess
import sys

import yaml

from inventory_project.tests.support import ENTRY_COMMAND, ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _instructions(name):
    return re.findall(rf"^{name} (.+)$", DOCKERFILE, flags=re.MULTILINE)


def test_the_image_runs_the_entry_command_the_tests_run():
    assert _instructions("CMD") == [str(ENTRY_COMMAND).replace("'", '"')]


def test_the_image_is_multi_stage_slim_and_runs_as_a_user():
    stages = _instructions("FROM")
    assert len(stages) == 2
    assert all("slim" in stage for stage in stages)
    assert _instructions("USER") == ["app"]
    assert "--from=build" in DOCKERFILE
    assert "collectstatic" in DOCKERFILE
    assert _instructions("HEALTHCHECK")
    assert "DJANGO_SETTINGS_MODULE=inventory_project.settings.production" in DOCKERFILE


def test_dockerignore_lets_in_exactly_what_the_image_needs():
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed == {
        "manage.py",
        "gunicorn.conf.py",
        "requirements.txt",
        "inventory_project",
        "catalog",
        "orders",
        "templates",
    }
    # Every app the settings install is let in.
    from django.conf import settings

    local_apps = {
        app.split(".")[0] for app in settings.INSTALLED_APPS if (ROOT / app.split(".")[0]).is_dir()
    }
    assert local_apps <= allowed
    # Nor the tests inside them.
    assert "**/tests/" in lines


def test_the_stack_names_its_services_for_what_they_do():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"api", "db", "cache", "migrate"}
    assert services["db"]["image"].startswith("postgres:")
    assert services["cache"]["image"].startswith("redis:")
    api_env = services["api"]["environment"]
    assert api_env["REDIS_URL"] == "redis://cache:6379/0"
    assert api_env["DATABASE_URL"].endswith("@db:5432/inventory")
    # Migrations run once, before the API starts.
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--no-input"]
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_gunicorn_takes_its_workers_from_the_cpus():
    script = (
        "import runpy; c = runpy.run_path('gunicorn.conf.py');"
        " print(c['workers'], c['timeout'], c['control_socket_disable'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    import os

    assert result.stdout.split() == [str(len(os.sched_getaffinity(0))), "30", "True"]
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "GUNICORN_WORKERS": "5"},
    )
    assert result.stdout.split()[0] == "5"
