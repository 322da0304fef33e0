"""The servers of a run: gunicorn with the project's config, the API's environment, and
``manage.py`` commands against the run's database."""

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from bench.common import API_COMMAND, BIN, FLOOR_COMMAND, RAISED_RATE, ROOT

# Servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http(port: int, method: str, path: str, body: str = "", key: str = "") -> tuple[int, bytes]:
    headers = {"Authorization": f"Api-Key {key}"} if key else {}
    if body:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(  # always http://127.0.0.1
        f"http://127.0.0.1:{port}{path}",
        data=body.encode() or None,
        headers=headers,
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def etag(port: int, path: str, key: str) -> str:
    """The ETag of a read, as a client keeps it to send back in If-None-Match."""
    request = urllib.request.Request(  # always http://127.0.0.1
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Api-Key {key}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return str(response.headers["ETag"])


class Server:
    """gunicorn with the project's config file, its output in a log file."""

    def __init__(
        self, name: str, command: list[str], env: dict[str, str], log_dir: Path, control_dir: Path
    ) -> None:
        self.name = name
        self.port = free_port()
        self.log_path = log_dir / f"{name}.log"
        self.log: TextIO = self.log_path.open("w")
        env = {
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            # gunicorn's control socket defaults to one path per user: each server of the run
            # gets its own, so that none takes it from another gunicorn on this machine.
            "GUNICORN_CMD_ARGS": f"--control-socket {control_dir / (name + '.ctl')}",
        }
        self.process = subprocess.Popen(  # noqa: S603  # our own command line
            [str(BIN / command[0]), *command[1:]],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if http(self.port, "GET", "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
            if self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"{name} did not start; see {self.log_path}")

    def log_size(self) -> int:
        self.log.flush()
        return self.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        self.log.flush()
        with self.log_path.open(errors="replace") as log:
            log.seek(offset)
            return log.read()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def server_env(*, database_url: str, redis_url: str) -> dict[str, str]:
    """The deployed configuration: production settings, Redis, raised rates, 2 sync workers."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "GUNICORN_", "THROTTLE_", "FLOOR_", "BENCH_"))
        and key not in ("DATABASE_URL", "REDIS_URL", "CACHE_KEY_PREFIX")
    }
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "inventory_project.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        # Plain HTTP on loopback: no TLS proxy in front to redirect to.
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "THROTTLE_RATE_READ": RAISED_RATE,
        "THROTTLE_RATE_WRITE": RAISED_RATE,
        "THROTTLE_RATE_ORDER": RAISED_RATE,
        "THROTTLE_RATE_ANON": RAISED_RATE,
        "GUNICORN_WORKERS": "2",
        # The figures compare the work of answering: no cached answers (measured apart).
        "READ_CACHE_SECONDS": "0",
    }


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(  # noqa: S603  # our own command line
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout.strip()


@contextmanager
def servers(
    env: dict[str, str],
    floor_env: dict[str, str],
    log_dir: Path,
    control_dir: Path,
    with_orjson: bool,
) -> Iterator[dict[str, Server]]:
    started: dict[str, Server] = {}
    try:
        started["api"] = Server("api", API_COMMAND, env, log_dir, control_dir)
        started["api_cached"] = Server(
            "api_cached", API_COMMAND, {**env, "READ_CACHE_SECONDS": "300"}, log_dir, control_dir
        )
        if with_orjson:
            started["floor"] = Server(
                "floor", FLOOR_COMMAND, {**floor_env, "FLOOR_JSON": "orjson"}, log_dir, control_dir
            )
        started["floor_stdlib"] = Server(
            "floor_stdlib",
            FLOOR_COMMAND,
            {**floor_env, "FLOOR_JSON": "stdlib"},
            log_dir,
            control_dir,
        )
        if not with_orjson:  # the stdlib floor is then the floor
            started["floor"] = started.pop("floor_stdlib")
        yield started
    finally:
        for server in started.values():
            server.stop()
