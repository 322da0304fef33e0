"""The image and the stack, checked without a Docker engine: the files say what they must, and
the image's entry command is the one the gunicorn tests run."""

import http.client
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from events.tasks import DEGRADED_QUEUE
from inventory_project.tests.support import ENTRY_COMMAND, ROOT, Server, database_url, free_port

DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
PROXY_TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
# Where the compose file mounts the template in the nginx image.
IMAGE_TEMPLATES = "/etc/nginx/templates/"


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
        "core",
        "events",
        "catalog",
        "stock",
        "orders",
        "reports",
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
    assert set(services) == {"api", "db", "cache", "migrate", "proxy", "worker", "worker-degraded"}
    assert services["db"]["image"].startswith("postgres:")
    assert services["cache"]["image"].startswith("redis:")
    api_env = services["api"]["environment"]
    assert api_env["REDIS_URL"] == "redis://cache:6379/0"
    assert api_env["DATABASE_URL"].endswith("@db:5432/inventory")
    # Migrations run once, before the API starts.
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--no-input"]
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    # The workers run the same image, with the tasks' command, once migrated: one the default
    # queue, one the deliveries to degraded webhook endpoints.
    queues = {}
    for name in ("worker", "worker-degraded"):
        worker = services[name]
        assert worker["image"] == services["api"]["image"]
        assert worker["command"][:3] == ["python", "manage.py", "db_worker"]
        queues[name] = worker["command"][worker["command"].index("--queue-name") + 1]
        assert worker["environment"] == api_env
        assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert queues == {"worker": "default", "worker-degraded": DEGRADED_QUEUE}


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


def _healthcheck():
    """The image's HEALTHCHECK as Docker reads it: its options, and the command to run (the
    shell form runs with /bin/sh -c, the exec form as given)."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)  # continuation lines
    [instruction] = re.findall(r"^HEALTHCHECK (.+)$", joined, flags=re.MULTILINE)
    options, _, command = instruction.partition(" CMD ")
    command = command.strip()
    argv = json.loads(command) if command.startswith("[") else ["/bin/sh", "-c", command]
    return dict(re.findall(r"--([a-z-]+)=(\S+)", options)), argv


def _image_env():
    """The runtime stage's ENV, as the container sees it."""
    runtime = DOCKERFILE.split("\nFROM ")[-1]
    joined = re.sub(r"\\\n\s*", " ", runtime)
    env = {}
    for instruction in re.findall(r"^ENV (.+)$", joined, flags=re.MULTILINE):
        env.update(pair.split("=", 1) for pair in shlex.split(instruction))
    return env


def _seconds(duration):
    assert duration.endswith("s"), duration
    return float(duration[:-1])


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_images_healthcheck_passes_with_a_real_allowed_hosts():
    """The HEALTHCHECK command itself, run as Docker would run it in the container, against
    gunicorn with the production settings, a real DJANGO_ALLOWED_HOSTS and the HTTPS redirect
    on: it calls 127.0.0.1, a host the settings do not allow, and must pass all the same."""
    options, command = _healthcheck()
    server = Server(
        database_url(),
        DJANGO_ALLOWED_HOSTS="inventory.example.com",
        DJANGO_SECURE_SSL_REDIRECT="1",
    )
    try:
        env = {
            **_image_env(),
            # The image's own PATH puts its virtual environment first; here, the project's.
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "GUNICORN_BIND": f"127.0.0.1:{server.port}",
        }
        assert env["DJANGO_SETTINGS_MODULE"] == "inventory_project.settings.production"
        result = subprocess.run(
            command,
            env=env,
            capture_output=True,
            text=True,
            timeout=_seconds(options["timeout"]),
            check=False,
        )
        assert result.returncode == 0, result.stderr
        # The check reaches the instance: it answered the probe in its access log.
        assert '"path": "/healthz"' in server.log()
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_other_paths_still_refuse_hosts_not_allowed_through_gunicorn():
    server = Server(
        database_url(),
        DJANGO_ALLOWED_HOSTS="inventory.example.com",
        DJANGO_SECURE_SSL_REDIRECT="1",
    )
    try:
        for host in ("127.0.0.1", "evil.example"):
            for path in ("/api/v1/products/", "/admin/login/", "/healthz/", "/api/schema/"):
                assert server.get(path, {"Host": host})[0] == 400, (host, path)
            assert server.get("/readyz", {"Host": host})[0] == 200
        # The allowed host is let in, and sent to HTTPS (not followed: no TLS here).
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("GET", "/api/v1/products/", headers={"Host": "inventory.example.com"})
        response = connection.getresponse()
        assert (response.status, response.getheader("Location")) == (
            301,
            "https://inventory.example.com/api/v1/products/",
        )
        connection.close()
    finally:
        server.stop()


def _proxy_config(max_body_bytes):
    """The template as the nginx image renders it (envsubst of the filtered variables)."""
    return PROXY_TEMPLATE.read_text().replace("${DJANGO_MAX_BODY_BYTES}", str(max_body_bytes))


def test_the_api_scales_behind_one_proxy_that_owns_the_port():
    services = COMPOSE["services"]
    api, proxy = services["api"], services["proxy"]
    # Instances publish no port and have no fixed name, so `--scale api=N` can start N of them.
    assert "ports" not in api
    assert "container_name" not in api
    assert [name for name, service in services.items() if "ports" in service] == ["proxy"]
    [published] = proxy["ports"]
    host_port, _, container_port = published.rpartition(":")
    assert host_port == "8000"
    config = _proxy_config(api["environment"]["DJANGO_MAX_BODY_BYTES"])
    assert re.search(rf"^\s*listen {container_port};", config, flags=re.MULTILINE)
    # The template is the one mounted where the image renders templates from.
    [mount] = proxy["volumes"]
    source, target, mode = mount.split(":")
    assert (ROOT / source).resolve() == PROXY_TEMPLATE
    assert target == IMAGE_TEMPLATES + "default.conf.template"
    assert mode == "ro"

    # It forwards to every instance of api on gunicorn's port, resolving the name while it
    # serves (an upstream in a variable, Docker's DNS) rather than once at start.
    gunicorn_port = _image_env()["GUNICORN_BIND"].rpartition(":")[2]
    assert re.search(rf"set \$(\w+) http://api:{gunicorn_port};", config)
    upstream = re.search(r"set \$(\w+) http://api:", config).group(1)
    proxied = re.findall(r"proxy_pass (\S+);", config)
    assert proxied
    assert set(proxied) == {f"${upstream}"}
    assert re.search(r"resolver 127\.0\.0\.11 valid=\d+s", config)

    # One proxy, which appends the client's address: the API counts it (DJANGO_NUM_PROXIES).
    assert api["environment"]["DJANGO_NUM_PROXIES"] == "1"
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in config
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in config
    assert "proxy_set_header Host $http_host;" in config

    # Only the body limit is rendered into the template, and it is the API's.
    assert (
        proxy["environment"]["DJANGO_MAX_BODY_BYTES"] == api["environment"]["DJANGO_MAX_BODY_BYTES"]
    )
    assert proxy["environment"]["NGINX_ENVSUBST_FILTER"] == "DJANGO_MAX_BODY_BYTES"
    assert set(re.findall(r"\$\{(\w+)\}", PROXY_TEMPLATE.read_text())) == {"DJANGO_MAX_BODY_BYTES"}


def test_the_proxy_limits_api_bodies_as_the_api_does_and_answers_in_its_envelope():
    limit = COMPOSE["services"]["api"]["environment"]["DJANGO_MAX_BODY_BYTES"]
    config = _proxy_config(limit)
    api_location = config.split("location /api/ {")[1].split("}")[0]
    assert f"client_max_body_size {limit};" in api_location
    assert "error_page 413 = @payload_too_large;" in api_location
    too_large = config.split("location @payload_too_large {")[1]
    body = json.loads(re.search(r"return 413 '(.+)';", too_large).group(1))
    assert body == {
        "error": {
            "code": "payload_too_large",
            "message": f"The request body is larger than the limit of {limit} bytes.",
            "details": None,
        }
    }
    # Elsewhere (the admin), room for the CSV import's largest file and its form around it.
    from stock.imports import MAX_BYTES

    server_wide = re.search(r"^    client_max_body_size (\d+)m;", config, flags=re.MULTILINE)
    assert MAX_BYTES < int(server_wide.group(1)) * 1024 * 1024 <= MAX_BYTES + 1024 * 1024


def test_every_service_is_checked_and_started_in_order():
    services = COMPOSE["services"]
    for name in ("db", "cache", "proxy"):
        assert services[name]["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
    # api keeps the image's own check (fixed above), only asked more often while it starts.
    assert "test" not in services["api"]["healthcheck"]
    assert _healthcheck()[1]
    # The proxy checks /healthz through itself, and starts once an instance is healthy.
    assert services["proxy"]["healthcheck"]["test"][-1] == "http://127.0.0.1/healthz"
    assert services["proxy"]["depends_on"]["api"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"


NGINX = shutil.which("nginx") or next(
    (path for path in ("/usr/sbin/nginx",) if os.access(path, os.X_OK)), None
)


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx)")
def test_nginx_accepts_the_proxy_config(tmp_path):
    """``nginx -t`` on the template as the image renders it, included in the http block as the
    image's nginx.conf includes conf.d/*.conf; nothing else changed."""
    limit = COMPOSE["services"]["api"]["environment"]["DJANGO_MAX_BODY_BYTES"]
    (tmp_path / "default.conf").write_text(_proxy_config(limit))
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nevents {{}}\nhttp {{ include {tmp_path}/default.conf; }}\n"
    )
    result = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", "stderr"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def _raw_exchange(port, request: bytes):
    """Bytes sent as they are; the status, headers and JSON of the answer."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.lower(): value for name, _, value in (line.partition(": ") for line in lines[1:])
    }
    return int(lines[0].split(" ")[1]), headers, body


@pytest.mark.slow
@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx)")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_behind_the_proxy_every_refusal_is_in_the_envelope(tmp_path):
    """The compose file's nginx, as the image renders it, in front of gunicorn: what nginx
    refuses by itself, and an instance that is gone, answer in the API's envelope."""
    server = Server(database_url(), DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost")
    proxy_port = free_port()
    config = _proxy_config(1000).replace("listen 80;", f"listen 127.0.0.1:{proxy_port};")
    # The instance by its address: no Docker DNS here (an address needs no resolver).
    config = config.replace("http://api:8000", f"http://127.0.0.1:{server.port}")
    (tmp_path / "default.conf").write_text(config)
    (tmp_path / "nginx.conf").write_text(
        f"user root;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        f"events {{}}\nhttp {{ access_log off; include {tmp_path}/default.conf; }}\n"
    )
    nginx = subprocess.Popen(
        [NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
        stderr=subprocess.PIPE,
    )
    try:
        host = b"Host: 127.0.0.1\r\n"
        status, _, _ = _wait_for(
            lambda: _raw_exchange(
                proxy_port, b"GET /healthz HTTP/1.1\r\n" + host + b"Connection: close\r\n\r\n"
            )
        )
        assert status == 200
        cases = [
            (b"GET /api/v1/products/?q=" + b"x" * 9000 + b" HTTP/1.1\r\n" + host + b"\r\n", 414, "uri_too_long"),
            (b"GET /api/v1/products/ HTTP/1.1\r\n" + host + b"X-Big: " + b"y" * 9000 + b"\r\n\r\n", 431, "request_header_fields_too_large"),
            (b"POST /api/v1/products/ HTTP/1.1\r\n" + host + b"Content-Length: 5000\r\nConnection: close\r\n\r\n" + b"{" * 5000, 413, "payload_too_large"),
            (b"GET / HTTP/1.1\r\nHost: \x01\r\n\r\n", 400, "parse_error"),
        ]  # fmt: skip
        for request, expected, code in cases:
            status, headers, body = _raw_exchange(proxy_port, request)
            assert status == expected, body
            assert headers["content-type"] == "application/json"
            assert headers["x-request-id"]
            assert json.loads(body)["error"]["code"] == code
        server.stop()
        status, headers, body = _raw_exchange(
            proxy_port, b"GET /api/v1/products/ HTTP/1.1\r\n" + host + b"Connection: close\r\n\r\n"
        )
        assert (status, headers["retry-after"]) == (503, "5")
        assert json.loads(body)["error"]["code"] == "service_unavailable"
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        if server.process.poll() is None:
            server.stop()


def _wait_for(attempt, seconds=10):
    import time

    deadline = time.monotonic() + seconds
    while True:
        try:
            return attempt()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
