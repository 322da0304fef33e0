"""Real servers for tests: gunicorn started with the Docker image's entry command and production
settings."""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
# The Dockerfile's CMD, word for word.
ENTRY_COMMAND = ["gunicorn", "inventory_project.wsgi", "--config", "gunicorn.conf.py"]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url():
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        user, host, port = settings["USER"], settings["HOST"], settings["PORT"]
        return f"postgres://{user}@{host}:{port}/{settings['NAME']}"
    return f"sqlite:///{settings['NAME']}"


class Server:
    """gunicorn on a free port; keyword arguments add or override environment variables."""

    def __init__(self, database_url, **env_overrides):
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
        env.update(
            DJANGO_SETTINGS_MODULE="inventory_project.settings.production",
            DJANGO_SECRET_KEY="gunicorn-test-secret-key-" + "x" * 30,
            DJANGO_ALLOWED_HOSTS="127.0.0.1",
            DATABASE_URL=database_url,
            GUNICORN_BIND=f"127.0.0.1:{self.port}",
            DB_CONNECT_TIMEOUT="2",
            # Plain HTTP on loopback: no TLS proxy in front to redirect to.
            DJANGO_SECURE_SSL_REDIRECT="0",
        )
        env.update(env_overrides)
        bin_dir = Path(sys.executable).parent
        self.log_file = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed by stop)
        self.process = subprocess.Popen(
            [str(bin_dir / ENTRY_COMMAND[0]), *ENTRY_COMMAND[1:]],
            cwd=ROOT,
            env=env,
            # A file, not a pipe: a pipe nobody reads fills up and blocks the server's logging.
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.get("/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not start: {self.log()}")

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def request(self, method, path, body=None, headers=None, timeout=10):
        """One request; returns ``(status, headers, body bytes)``, also for 4xx and 5xx."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=body,
            headers=headers or {},
            method=method,
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def log(self):
        """Everything the server has written so far."""
        self.log_file.flush()
        self.log_file.seek(0)
        return self.log_file.read()

    def stop(self):
        """Stop the server; returns its log."""
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        log = self.log()
        self.log_file.close()
        return log
