"""The benchmark of issue 7: the API as deployed against the raw floor of the machine, in one run.

    .venv/bin/python bench/run.py [--quick] [--runs N] [--duration S] [--output bench/results.json]

What it does, in order:

1. Creates the PostgreSQL database ``inventory_bench`` afresh (dropping the previous run's),
   migrates it, seeds 200 products with 3 variants each (bench/seed.py) and an API key with
   every scope.
2. Starts gunicorn (see 5 for a fourth) three times with ``gunicorn.conf.py`` (2 sync workers each): the API with the
   Docker image's entry command and the production settings (authentication, throttling on
   Redis with rates raised for the run, the JSON access log, security middleware; plain HTTP on
   loopback), and the floor (bench/floor.py) with orjson and with the stdlib's json. Their logs
   go to bench/logs/.
3. Checks that the floor answers the same JSON as the API.
4. Loads each endpoint with wrk (bench/wrk.lua) from a second process: a warm-up, then a bounded
   run, at 2 and 16 connections; at 16, API and floor alternate for ``--runs`` rounds and the
   median of the rounds' ratios is reported. Every response's status is checked: anything but
   the one expected status (200, or 201 for writes) counts as an error; a 429 means the rates
   were not raised enough.
5. Conditional and cached reads, reported apart from the figures above: a fourth gunicorn serves
   the API with its read cache on (``READ_CACHE_SECONDS``; the API above runs with it off), and
   the read endpoints are loaded once plainly (answers from the cache) and once with each
   address's ``If-None-Match`` (304s).
6. Scaling: list latency at 200 products, then (after bulk-seeding up to 20,000) on the first,
   a deep and the last page.
7. Proves the ledger still adds up (``manage.py reconcile_stock``) after every order and
   adjustment of the run, stops the servers, prints the tables and writes everything as JSON.
"""

import argparse
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, TextIO

import psycopg
import redis

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import seed

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BIN = Path(sys.executable).parent
API_COMMAND = ["gunicorn", "inventory_project.wsgi", "--config", "gunicorn.conf.py"]
FLOOR_COMMAND = ["gunicorn", "bench.floor:application", "--config", "gunicorn.conf.py"]
# High enough that no run comes near them; a 429 in the results means they were not.
RAISED_RATE = "10000000/min"
SMALL_CATALOG = 200

JSON = dict[str, Any]


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


# Endpoints


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    description: str
    expect: int
    # (method, path, body) of each request wrk draws from.
    requests: tuple[tuple[str, str, str], ...]


# Conditional and cached reads are measured on these (the reads of the plan).
CACHED_READS = ("detail", "list", "filtered", "sku")


def endpoints(variant_ids: Sequence[int], stocked_ids: Sequence[int]) -> list[Endpoint]:
    product_ids = range(1, SMALL_CATALOG + 1)
    skus = [seed.sku_of(vid) for vid in variant_ids]
    return [
        Endpoint(
            "detail",
            "GET /api/v1/products/{id}/ (200 ids)",
            200,
            tuple(("GET", f"/api/v1/products/{pid}/", "") for pid in product_ids),
        ),
        Endpoint(
            "list",
            "GET /api/v1/products/?page_size=100 (pages 1 and 2)",
            200,
            (
                ("GET", "/api/v1/products/?page_size=100", ""),
                ("GET", "/api/v1/products/?page=2&page_size=100", ""),
            ),
        ),
        Endpoint(
            "filtered",
            "GET /api/v1/products/?category=<each>&in_stock=true (default page of 20)",
            200,
            tuple(
                ("GET", f"/api/v1/products/?category={category}&in_stock=true", "")
                for category, _ in seed.CATEGORIES
            ),
        ),
        Endpoint(
            "sku",
            "GET /api/v1/variants/?sku={sku} (600 SKUs)",
            200,
            tuple(("GET", f"/api/v1/variants/?sku={sku}", "") for sku in skus),
        ),
        Endpoint(
            "order",
            "POST /api/v1/orders/ one line, quantity 1, random variant with stock",
            201,
            tuple(
                (
                    "POST",
                    "/api/v1/orders/",
                    json.dumps({"lines": [{"variant": vid, "quantity": 1}]}),
                )
                for vid in stocked_ids
            ),
        ),
        Endpoint(
            "adjust",
            "POST /api/v1/variants/{id}/adjust/ delta +1 received, random variant with stock",
            201,
            tuple(
                (
                    "POST",
                    f"/api/v1/variants/{vid}/adjust/",
                    json.dumps({"delta": 1, "reason": "received", "reference": "bench"}),
                )
                for vid in stocked_ids
            ),
        ),
    ]


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


# Load


@dataclass(slots=True)
class Measurement:
    phase: str
    endpoint: str
    target: str
    connections: int
    round: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    statuses: dict[str, int]
    socket_errors: dict[str, int]
    errors: int
    worker_restarts: int


class Load:
    def __init__(self, wrk: str, work_dir: Path, *, duration: int, warmup: int) -> None:
        self.wrk = wrk
        self.work_dir = work_dir
        self.duration = duration
        self.warmup = warmup

    def requests_file(
        self, name: str, requests: Sequence[tuple[str, str, str]], etags: Sequence[str] = ()
    ) -> Path:
        """One request a line: method, path, body and the If-None-Match to send (or none)."""
        path = self.work_dir / f"{name}.requests"
        tags = list(etags) or [""] * len(requests)
        path.write_text(
            "".join(f"{m}\t{p}\t{b}\t{e}\n" for (m, p, b), e in zip(requests, tags, strict=True))
        )
        return path

    def wrk_run(self, port: int, requests: Path, connections: int, seconds: int, key: str) -> JSON:
        out = self.work_dir / "wrk.json"
        out.unlink(missing_ok=True)
        env = {
            **os.environ,
            "BENCH_REQUESTS": str(requests),
            "BENCH_OUT": str(out),
            "BENCH_KEY": key,
        }
        subprocess.run(  # noqa: S603  # our own command line
            [
                self.wrk,
                "-t1",
                f"-c{connections}",
                f"-d{seconds}s",
                "--timeout",
                "10s",
                "-s",
                str(BENCH / "wrk.lua"),
                f"http://127.0.0.1:{port}",
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        result: JSON = json.loads(out.read_text())
        return result

    def measure(
        self,
        server: Server,
        *,
        phase: str,
        endpoint: str,
        requests: Path,
        expect: int,
        connections: int,
        key: str,
        round_: int = 1,
    ) -> Measurement:
        if self.warmup:
            self.wrk_run(server.port, requests, connections, self.warmup, key)
        offset = server.log_size()
        raw = self.wrk_run(server.port, requests, connections, self.duration, key)
        statuses = {str(k): int(v) for k, v in raw["statuses"].items()}
        unexpected = sum(count for status, count in statuses.items() if status != str(expect))
        socket_errors = {str(k): int(v) for k, v in raw["socket_errors"].items()}
        latency = raw["latency_us"]
        seconds = raw["duration_us"] / 1e6
        return Measurement(
            phase=phase,
            endpoint=endpoint,
            target=server.name,
            connections=connections,
            round=round_,
            rps=round(raw["requests"] / seconds, 1),
            p50_ms=latency["p50"] / 1000,
            p90_ms=latency["p90"] / 1000,
            p99_ms=latency["p99"] / 1000,
            max_ms=latency["max"] / 1000,
            requests=int(raw["requests"]),
            statuses=statuses,
            socket_errors=socket_errors,
            errors=unexpected + sum(socket_errors.values()),
            worker_restarts=server.log_since(offset).count("Booting worker"),
        )


# Checks


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


# Reporting


def ms(value: float) -> str:
    return f"{value:.1f}"


def summarize(measurements: list[Measurement], targets: list[str]) -> list[JSON]:
    """Per endpoint and connection count: each target's medians, and the median of the
    rounds' API/floor ratios (each round's API run is paired with the floor run after it)."""
    rows = []
    keys = sorted(
        {(m.endpoint, m.connections) for m in measurements},
        key=lambda k: ([m.endpoint for m in measurements].index(k[0]), k[1]),
    )
    for endpoint, connections in keys:
        runs = [m for m in measurements if (m.endpoint, m.connections) == (endpoint, connections)]
        row: JSON = {"endpoint": endpoint, "connections": connections}
        for target in targets:
            mine = [m for m in runs if m.target == target]
            if not mine:
                continue
            row[target] = {
                "runs": len(mine),
                "rps": round(statistics.median(m.rps for m in mine), 1),
                "p50_ms": round(statistics.median(m.p50_ms for m in mine), 2),
                "p99_ms": round(statistics.median(m.p99_ms for m in mine), 2),
                "errors": sum(m.errors for m in mine),
                "requests": sum(m.requests for m in mine),
                "worker_restarts": sum(m.worker_restarts for m in mine),
            }
        api_runs = {m.round: m for m in runs if m.target == "api"}
        ratios = [
            api_runs[m.round].rps / m.rps
            for m in runs
            if m.target == "floor" and m.round in api_runs and m.rps
        ]
        if ratios:
            row["ratio_floor"] = round(statistics.median(ratios), 3)
            row["ratios_floor"] = [round(r, 3) for r in ratios]
        # The stdlib floor runs once per endpoint: against the API's median.
        if "api" in row and row.get("floor_stdlib", {}).get("rps"):
            row["ratio_floor_stdlib"] = round(row["api"]["rps"] / row["floor_stdlib"]["rps"], 3)
        rows.append(row)
    return rows


def table(rows: list[JSON]) -> str:
    head = (
        f"{'endpoint':<9} {'conn':>4} | {'API rps':>8} {'p50':>7} {'p99':>7} | "
        f"{'floor rps':>9} {'p50':>6} {'p99':>6} | {'ratio':>6} {'(runs)':>7} | "
        f"{'stdlib rps':>10} {'ratio':>6} | errors api/floor  restarts api/floor"
    )
    lines = [head, "-" * len(head)]
    for row in rows:
        api, floor, stdlib = row.get("api"), row.get("floor"), row.get("floor_stdlib")
        if api is None or floor is None:
            continue
        stdlib_text = (
            f"{stdlib['rps']:>10.0f} {row.get('ratio_floor_stdlib', 0):>6.2f}"
            if stdlib
            else f"{'':>10} {'':>6}"
        )
        lines.append(
            f"{row['endpoint']:<9} {row['connections']:>4} | {api['rps']:>8.0f} "
            f"{ms(api['p50_ms']):>7} {ms(api['p99_ms']):>7} | {floor['rps']:>9.0f} "
            f"{ms(floor['p50_ms']):>6} {ms(floor['p99_ms']):>6} | "
            f"{row.get('ratio_floor', 0):>6.3f} {'(' + str(api['runs']) + ')':>7} | {stdlib_text} | "
            f"{api['errors']:>6}/{floor['errors']:<6}     {api['worker_restarts']:>4}/"
            f"{floor['worker_restarts']}"
        )
    return "\n".join(lines)


def conditional_summary(runs: list[Measurement], summary: list[JSON]) -> list[JSON]:
    """Each read's cached and 304 figures beside the uncached API's and the floor's medians."""
    uncached = {row["endpoint"]: row for row in summary if row["connections"] == 16}
    rows = []
    for endpoint in dict.fromkeys(m.endpoint for m in runs):
        row: JSON = {"endpoint": endpoint, "connections": 16}
        base = uncached[endpoint]
        for m in runs:
            if m.endpoint != endpoint:
                continue
            label = m.phase.split()[1]
            row[label] = {
                "rps": m.rps,
                "p50_ms": m.p50_ms,
                "p99_ms": m.p99_ms,
                "errors": m.errors,
                "requests": m.requests,
                "x_api": round(m.rps / base["api"]["rps"], 2),
                "x_floor": round(m.rps / base["floor"]["rps"], 2),
            }
        rows.append(row)
    return rows


def conditional_table(rows: list[JSON]) -> str:
    lines = [
        f"{'endpoint':<9} | {'cached rps':>10} {'p99':>7} {'x API':>6} {'x floor':>7} | "
        f"{'304 rps':>8} {'p99':>7} {'x API':>6} {'x floor':>7} | errors"
    ]
    for row in rows:
        cached, fresh = row["cached"], row["304"]
        lines.append(
            f"{row['endpoint']:<9} | {cached['rps']:>10.0f} {ms(cached['p99_ms']):>7} "
            f"{cached['x_api']:>6.2f} {cached['x_floor']:>7.2f} | {fresh['rps']:>8.0f} "
            f"{ms(fresh['p99_ms']):>7} {fresh['x_api']:>6.2f} {fresh['x_floor']:>7.2f} | "
            f"{cached['errors']}/{fresh['errors']}"
        )
    return "\n".join(lines)


def scaling_table(scaling: JSON) -> str:
    lines = [
        f"{'catalog':>8} {'page':<24} | {'API rps':>8} {'p50':>7} {'p99':>7} | "
        f"{'floor rps':>9} {'p50':>6} {'p99':>6} | errors"
    ]
    for point in scaling["points"]:
        api, floor = point["api"], point["floor"]
        lines.append(
            f"{point['products']:>8} {point['page']:<24} | {api['rps']:>8.0f} "
            f"{ms(api['p50_ms']):>7} {ms(api['p99_ms']):>7} | {floor['rps']:>9.0f} "
            f"{ms(floor['p50_ms']):>6} {ms(floor['p99_ms']):>6} | "
            f"{api['errors']}/{floor['errors']}"
        )
    for name, ratio in scaling["ratios"].items():
        lines.append(f"{name}: {ratio}")
    return "\n".join(lines)


# The run


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s runs: a smoke test")
    # Five: on a shared 2-core machine one round in three can be off by a fifth either way.
    parser.add_argument("--runs", type=int, default=5, help="alternating rounds at 16 connections")
    parser.add_argument("--duration", type=int, default=None, help="seconds per run (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of warm-up before each run")
    parser.add_argument("--large", type=int, default=20_000, help="products for the scaling runs")
    parser.add_argument("--output", type=Path, default=BENCH / "results.json")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="inventory_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7", help="a db of its own")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    duration = args.duration or (2 if args.quick else 5)
    rounds = 1 if args.quick else args.runs

    wrk = shutil.which("wrk")
    if wrk is None:
        say("wrk is not installed. On Debian or Ubuntu: sudo apt-get install -y wrk")
        return 2
    with_orjson = orjson_available()
    if not with_orjson:
        say("orjson is not installed: the floor runs with the stdlib's json only.")
    if redis.Redis.from_url(args.redis).connection_pool.connection_kwargs.get("db", 0) == 0:
        say("Give Redis a database of its own (e.g. redis://127.0.0.1:6379/7): it is flushed.")
        return 2

    started = datetime.now(UTC)
    load_before = os.getloadavg()
    database_url = f"{args.postgres}/{args.database}"
    log_dir = BENCH / "logs"
    log_dir.mkdir(exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix="bench-"))
    say(f"Database {args.database}: created afresh, migrated, seeded ({SMALL_CATALOG} products)")
    seed.recreate_database(args.postgres, args.database)
    env = server_env(database_url=database_url, redis_url=args.redis)
    manage(env, "migrate", "--no-input")
    with psycopg.connect(database_url, autocommit=True) as conn:
        seed.seed_catalog(conn, first=1, count=SMALL_CATALOG)
        key = seed.create_api_key(conn)
        variant_ids = [row[0] for row in conn.execute("SELECT id FROM catalog_variant ORDER BY id")]
        stocked = seed.stocked_variant_ids(conn, limit=10_000)
    redis.Redis.from_url(args.redis).flushdb()
    floor_env = {
        **env,
        "FLOOR_DATABASE_URL": database_url,
        "FLOOR_API_KEY_ID": str(key.id),
        "FLOOR_API_KEY_NAME": key.name,
    }
    load = Load(wrk, work_dir, duration=duration, warmup=args.warmup)
    plan = endpoints(variant_ids, stocked)
    measurements: list[Measurement] = []
    scaling_runs: list[Measurement] = []
    conditional_runs: list[Measurement] = []
    with servers(env, floor_env, log_dir, work_dir, with_orjson) as running:
        api, floor = running["api"], running["floor"]
        stdlib = running.get("floor_stdlib")
        say(
            f"Servers: api :{api.port}, floor :{floor.port}"
            + (f", stdlib :{stdlib.port}" if stdlib else "")
        )
        reads = [e.requests[0][1] for e in plan if e.expect == 200]
        checks = parity(api, floor, key.raw, reads, [e for e in plan if e.expect == 201])
        for name, check in checks.items():
            if not (check.get("same") or check.get("same_shape")):
                say(f"  WARNING: the floor does not answer like the API: {name} {check}")
        say(
            f"Parity: {sum(bool(c.get('same') or c.get('same_shape')) for c in checks.values())}/{len(checks)} same"
        )

        for endpoint in plan:
            requests = load.requests_file(endpoint.name, endpoint.requests)

            def run(target: Server, connections: int, round_: int = 1) -> None:
                # The floors get the same requests, API key included (they ignore it).
                measurements.append(
                    load.measure(
                        target,
                        phase="endpoints",
                        endpoint=endpoint.name,  # noqa: B023  # called within this iteration
                        requests=requests,  # noqa: B023
                        expect=endpoint.expect,  # noqa: B023
                        connections=connections,
                        key=key.raw,
                        round_=round_,
                    )
                )

            run(api, 2)
            run(floor, 2)
            for round_ in range(1, rounds + 1):
                run(api, 16, round_)
                run(floor, 16, round_)
            if stdlib is not None:
                run(stdlib, 16)
            last = [m for m in measurements if m.endpoint == endpoint.name and m.connections == 16]
            say(
                f"  {endpoint.name:<9} 16 conn: "
                + ", ".join(f"{m.target} {m.rps:.0f}/s" for m in last)
                + f"; errors {sum(m.errors for m in last)}"
            )

        say("Conditional and cached reads (the API with its read cache on)")
        cached_api = running["api_cached"]
        for endpoint in (e for e in plan if e.name in CACHED_READS):
            tags = [etag(cached_api.port, path, key.raw) for _, path, _ in endpoint.requests]
            for label, expect, requests in (
                ("cached", 200, load.requests_file(f"{endpoint.name}-cached", endpoint.requests)),
                ("304", 304, load.requests_file(f"{endpoint.name}-304", endpoint.requests, tags)),
            ):
                conditional_runs.append(
                    load.measure(
                        cached_api,
                        phase=f"conditional {label}",
                        endpoint=endpoint.name,
                        requests=requests,
                        expect=expect,
                        connections=16,
                        key=key.raw,
                    )
                )
            say(
                f"  {endpoint.name:<9} 16 conn: "
                + ", ".join(
                    f"{m.phase.split()[1]} {m.rps:.0f}/s"
                    for m in conditional_runs
                    if m.endpoint == endpoint.name
                )
            )

        scaling_pages = [
            ("first page", "/api/v1/products/?page_size=100"),
            ("page 150 of 100", "/api/v1/products/?page=150&page_size=100"),
            ("last page", "/api/v1/products/?page=last&page_size=100"),
        ]

        def scale(products: int, pages: list[tuple[str, str]]) -> None:
            for label, path in pages:
                requests = load.requests_file("scaling", [("GET", path, "")])
                for target in (api, floor):
                    measurement = load.measure(
                        target,
                        phase=f"scaling {products}",
                        endpoint=label,
                        requests=requests,
                        expect=200,
                        connections=2,
                        key=key.raw,
                    )
                    scaling_runs.append(measurement)

        say("Scaling: list at 200 products")
        scale(SMALL_CATALOG, scaling_pages[:1])
        say(f"Scaling: seeding up to {args.large} products (COPY)")
        seed_started = time.monotonic()
        with psycopg.connect(database_url, autocommit=True) as conn:
            seed.seed_catalog(conn, first=SMALL_CATALOG + 1, count=args.large - SMALL_CATALOG)
        seed_seconds = round(time.monotonic() - seed_started, 1)
        deep_checks = parity(api, floor, key.raw, [p for _, p in scaling_pages], [])
        for name, check in deep_checks.items():
            if not check["same"]:
                say(f"  WARNING: the floor does not answer like the API: {name} {check}")
        say(f"Scaling: list at {args.large} products")
        scale(args.large, scaling_pages)
        api_log_errors = api.log_since(0).count('"level": "ERROR"')

    say("Ledger: " + (ledger := manage(env, "reconcile_stock")))
    if not args.keep:
        seed.drop_database(args.postgres, args.database)
    shutil.rmtree(work_dir, ignore_errors=True)

    targets = ["api", "floor", "floor_stdlib"]
    summary = summarize(measurements, targets)

    def point(products: int, label: str) -> JSON:
        runs = [m for m in scaling_runs if m.phase == f"scaling {products}" and m.endpoint == label]
        return {
            "products": products,
            "page": label,
            **{
                m.target: {
                    "rps": m.rps,
                    "p50_ms": m.p50_ms,
                    "p99_ms": m.p99_ms,
                    "errors": m.errors,
                }
                for m in runs
            },
        }

    conditional = conditional_summary(conditional_runs, summary)
    points = [point(SMALL_CATALOG, "first page")] + [
        point(args.large, label) for label, _ in scaling_pages
    ]
    first = points[1]["api"]
    scaling = {
        "connections": 2,
        "seed_seconds": seed_seconds,
        "points": points,
        "ratios": {
            f"API {label} / first page at {args.large}, p50 and p99": [
                round(p["api"]["p50_ms"] / first["p50_ms"], 2),
                round(p["api"]["p99_ms"] / first["p99_ms"], 2),
            ]
            for p, (label, _) in zip(points[2:], scaling_pages[1:], strict=True)
        }
        | {
            f"API first page, {args.large} / {SMALL_CATALOG} products, p50 and p99": [
                round(first["p50_ms"] / points[0]["api"]["p50_ms"], 2),
                round(first["p99_ms"] / points[0]["api"]["p99_ms"], 2),
            ]
        },
    }
    results: JSON = {
        "meta": {
            "started": started.isoformat(),
            "finished": datetime.now(UTC).isoformat(),
            "cpus": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "duration_s": duration,
            "warmup_s": args.warmup,
            "rounds_at_16": rounds,
            "workers": 2,
            "catalog": {
                "products": SMALL_CATALOG,
                "variants": len(variant_ids),
                "large_products": args.large,
            },
            "versions": versions(wrk),
            "endpoints": {e.name: e.description for e in plan},
            "notes": [
                "The floor does no authentication, throttling, logging or idempotency.",
                "API runs alternate with floor runs; ratios are medians of paired rounds.",
                "API worker restarts come from gunicorn.conf.py's max_requests.",
            ],
        },
        "parity": checks | deep_checks,
        "summary": summary,
        "conditional": conditional,
        "scaling": scaling,
        "ledger": ledger,
        "api_log_error_lines": api_log_errors,
        "runs": [_as_dict(m) for m in measurements],
        "scaling_runs": [_as_dict(m) for m in scaling_runs],
        "conditional_runs": [_as_dict(m) for m in conditional_runs],
    }
    args.output.write_text(json.dumps(results, indent=2) + "\n")

    say()
    say(
        f"Endpoints ({duration} s runs after {args.warmup} s warm-up; 2 sync workers each; medians)"
    )
    say(table(summary))
    say()
    say("Conditional and cached reads (16 connections; x = times the uncached API, or the floor)")
    say(conditional_table(conditional))
    say()
    say(f"Scaling (list, page_size=100, {scaling['connections']} connections)")
    say(scaling_table(scaling))
    say()
    say(
        f"Load average {results['meta']['load_average_before']} before, "
        f"{results['meta']['load_average_after']} after; API log error lines: {api_log_errors}"
    )
    say(f"Results: {args.output}; server logs: {log_dir}")
    return 0


def _as_dict(measurement: Measurement) -> JSON:
    return {name: getattr(measurement, name) for name in Measurement.__slots__}


if __name__ == "__main__":
    sys.exit(main())
