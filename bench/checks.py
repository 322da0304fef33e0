"""Checks of a run: that the floor answers what the API answers, and what software ran."""

import json
import subprocess
import sys
from contextlib import suppress
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from bench.common import JSON
from bench.load import Endpoint
from bench.servers import Server, http


def comparable(data: Any, api_port: int, floor_port: int) -> Any:
    """``data`` with the floor's address in page links written as the API's."""
    if isinstance(data, dict):
        return {key: comparable(value, api_port, floor_port) for key, value in data.items()}
    if isinstance(data, list):
        return [comparable(value, api_port, floor_port) for value in data]
    if isinstance(data, str):
        return data.replace(f"127.0.0.1:{floor_port}/", f"127.0.0.1:{api_port}/")
    return data


def shape(data: Any) -> Any:
    """The keys and value types of ``data``, for comparing answers of writes."""
    if isinstance(data, dict):
        return {key: shape(value) for key, value in data.items()}
    if isinstance(data, list):
        return [shape(value) for value in data[:1]]
    return type(data).__name__


def parity(api: Server, floor: Server, key: str, reads: list[str], writes: list[Endpoint]) -> JSON:
    """Whether the floor answers what the API answers: equal JSON for reads (no write runs in
    between), the same keys and types for writes."""
    checks: JSON = {}
    for path in reads:
        api_status, api_body = http(api.port, "GET", path, key=key)
        floor_status, floor_body = http(floor.port, "GET", path)
        # Error answers differ on purpose (the floor has no error envelope): the status must.
        same = api_status == floor_status and (
            api_status != 200
            or json.loads(api_body) == comparable(json.loads(floor_body), api.port, floor.port)
        )
        checks[f"GET {path}"] = {"api": api_status, "floor": floor_status, "same": same}
    for endpoint in writes:
        method, path, body = endpoint.requests[0]
        api_status, api_body = http(api.port, method, path, body, key=key)
        floor_status, floor_body = http(floor.port, method, path, body)
        same = api_status == floor_status and shape(json.loads(api_body)) == shape(
            json.loads(floor_body)
        )
        checks[f"{method} {path}"] = {"api": api_status, "floor": floor_status, "same_shape": same}
    return checks


def versions(wrk: str) -> dict[str, str]:
    found: dict[str, str] = {"python": sys.version.split()[0]}
    for package in ("django", "djangorestframework", "gunicorn", "psycopg", "orjson"):
        with suppress(PackageNotFoundError):
            found[package] = version(package)
    wrk_version = subprocess.run(  # noqa: S603  # our own command line
        [wrk, "-v"], capture_output=True, text=True, check=False
    )
    found["wrk"] = (wrk_version.stdout or wrk_version.stderr).split(" [")[0]
    return found


def orjson_available() -> bool:
    try:
        __import__("orjson")
    except ImportError:
        return False
    return True
