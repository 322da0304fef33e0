"""A database outage under load: PostgreSQL really stopped and started again under gunicorn.

The test runs a PostgreSQL cluster of its own, on a spare port, so the rest of the suite keeps
its database: it creates the cluster, migrates and seeds it with the project's own commands,
serves it with gunicorn (the Docker image's command and production settings), loads the API
from several threads, stops PostgreSQL twice (``fast``, then ``immediate``: a crash) and
starts it again each time. It proves that:

- every answer is the normal one or a 503 ``service_unavailable`` in the error envelope with
  ``Retry-After``: never a 500, never HTML, never a dropped connection (the admin, which reads
  its session from the database, answers a plain 503 with ``Retry-After`` too);
- while the database is up, before and after, every answer is the normal one: the first
  request after a restart already gets a fresh connection;
- ``/readyz`` answers 503 while the database is down and 200 again within seconds after it is
  back, by itself (reused connections are checked and replaced);
- every order acknowledged with 201 exists afterwards, with its line; an order whose first
  attempt got a 503, retried with the same ``Idempotency-Key``, is placed exactly once; every
  quantity still equals its ledger (``reconcile_stock``).
"""

import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from inventory_project.tests.support import ROOT, Server, free_port

pytestmark = pytest.mark.slow

UNITS_PER_VARIANT = 10_000
PLACERS = 3
READERS = 2
# Seconds each load thread rests between requests: enough to leave the workers to the others.
PACE = 0.02
BACK_OFF = 0.1
# Acknowledged orders sent again with their key: each must replay, not place another.
RESENT = 10
OUTAGE_SECONDS = 3
# How soon /readyz must answer 200 again once PostgreSQL accepts connections.
RECOVERY_LIMIT = 5.0
UNLIMITED = "1000000/min"
INITDB_OPTIONS = ["-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"]
THROTTLES = {
    f"THROTTLE_RATE_{kind}": UNLIMITED
    for kind in ("READ", "WRITE", "ORDER", "ANON", "API_KEY", "USER")
}


def _postgres_bin() -> Path | None:
    """The newest PostgreSQL server's programs installed here (Debian's layout), if any."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class Cluster:
    """A throwaway PostgreSQL cluster in a temporary folder, listening on loopback only."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="outage-pg-"))
        # PostgreSQL refuses to run as root: run it as the postgres user when we are root.
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_owner:
            shutil.chown(self.root, user="postgres")
        self.data = self.root / "data"

    def create(self) -> None:
        # Trust: it listens on loopback only and holds nothing; no sync: nothing to keep.
        self._run("initdb", "-D", str(self.data), *INITDB_OPTIONS)
        self.start()
        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute("CREATE DATABASE inventory")

    def url(self, database: str = "inventory") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._pg_ctl("start", "-w", "-o", options, "-l", str(self.root / "postgres.log"))

    def stop(self, mode: str) -> None:
        self._pg_ctl("stop", "-w", "-m", mode)

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("stop", "-w", "-m", "immediate", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def _pg_ctl(self, *args: str, check: bool = True) -> None:
        self._run("pg_ctl", "-D", str(self.data), *args, check=check)

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        done = subprocess.run(
            [*self.as_owner, str(self.bin_dir / program), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"{program} {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    bin_dir = _postgres_bin()
    if bin_dir is None:
        # Not a skip: in the PostgreSQL pass nothing is skipped, and an outage test that quietly
        # did not run would prove nothing.
        pytest.fail("needs PostgreSQL's server programs (initdb, pg_ctl) on this machine")
    started = Cluster(bin_dir)
    try:
        started.create()
        yield started
    finally:
        started.destroy()


def _manage(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A management command against the cluster, in a process of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="inventory_project.settings.local")
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


SEED = f"""
import json
from decimal import Decimal
from catalog.services import VariantSpec, product_create
from core.actors import system_actor
from core.api.models import Scope
from core.api.services import api_key_create

actor = system_actor("outage-test")
variants = []
for n in range(3):
    product = product_create(
        category="Tees", name=f"Outage Tee {{n}}", color="Black", price=Decimal("20.00"),
        collection="FW24", actor=actor,
        variants=[VariantSpec(size=size, quantity={UNITS_PER_VARIANT}) for size in ("S-M", "L-XL")],
    )
    variants += list(product.variants.order_by("pk").values_list("pk", flat=True))
_, key = api_key_create(name="outage-shop", scopes=[Scope.ORDERS_WRITE])
print("SEED " + json.dumps({{"key": key, "variants": variants}}))
"""


@dataclass
class Answer:
    """One request of the load: what was asked, when, and what came back."""

    kind: str
    path: str
    started: float
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None
    finished: float = 0.0

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Placement:
    """An order placement: its own Idempotency-Key (also the order's customer reference)."""

    key: str
    variant: int
    first: Answer = field(init=False)
    retry: Answer | None = None

    def request(self) -> tuple[str, bytes, dict[str, str]]:
        """Path, body and headers: the same for the first attempt and its retry."""
        body = {"lines": [{"variant": self.variant, "quantity": 1}], "customer_reference": self.key}
        headers = {"Content-Type": "application/json", "Idempotency-Key": self.key}
        return "/api/v1/orders/", json.dumps(body).encode(), headers


# The answer each kind of request gets while the database is up.
NORMAL_STATUS = {"read": 200, "session": 401, "order": 201, "readyz": 200, "admin": 200}
# A session cookie the database has never seen: the session is looked up, and found empty.
NO_KEY_BUT_A_SESSION = {"Authorization": "", "Cookie": f"sessionid={'x' * 32}"}


class Load:
    """Threads that keep the API busy until told to stop, recording every answer."""

    def __init__(self, server: Server, api_key: str, variants: list[int]) -> None:
        self.server = server
        self.auth = {"Authorization": f"Api-Key {api_key}"}
        self.variants = variants
        self.answers: list[Answer] = []
        self.placements: list[Placement] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, args=(work,), daemon=True)
            for work in [
                *[self._place] * PLACERS,
                *[self._read] * READERS,
                self._session_read,
                self._admin,
                self._readyz,
            ]
        ]

    def __enter__(self) -> "Load":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def call(
        self,
        kind: str,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        answer = Answer(kind=kind, path=path, started=time.monotonic())
        try:
            answer.status, answer.headers, answer.body = self.server.request(
                method, path, body, headers={**self.auth, **(headers or {})}
            )
        except (OSError, urllib.error.URLError) as error:  # the server dropped or never answered
            answer.error = repr(error)
        answer.finished = time.monotonic()
        with self._lock:
            self.answers.append(answer)
        return answer

    def _loop(self, work: Callable[[int], None]) -> None:
        turn = 0
        while not self._stop.is_set():
            work(turn)
            turn += 1

    def _place(self, turn: int) -> None:
        key = f"outage-{threading.get_ident()}-{turn}"
        placement = Placement(key, self.variants[turn % len(self.variants)])
        placement.first = self.call("order", "POST", *placement.request())
        with self._lock:
            self.placements.append(placement)
        # Back off a little after a refusal, as a client would, yet keep knocking.
        time.sleep(PACE if placement.first.status == 201 else BACK_OFF)

    def _read(self, turn: int) -> None:
        paths = [
            "/api/v1/products/",
            f"/api/v1/variants/?product={turn % 3 + 1}",
            "/api/v1/variants/?size=S-M&in_stock=true",
            "/api/v1/orders/",
        ]
        self.call("read", "GET", paths[turn % len(paths)])
        time.sleep(PACE)

    def _session_read(self, turn: int) -> None:
        # No key, but a session cookie: the session is looked up in the database.
        self.call("session", "GET", "/api/v1/products/", headers=NO_KEY_BUT_A_SESSION)
        time.sleep(PACE)

    def _admin(self, turn: int) -> None:
        # The admin reads the session too; it redirects to its login page (followed).
        self.call("admin", "GET", "/admin/", headers=NO_KEY_BUT_A_SESSION)
        time.sleep(PACE)

    def _readyz(self, turn: int) -> None:
        self.call("readyz", "GET", "/readyz")
        time.sleep(PACE)

    def readyz_since(self, moment: float) -> list[Answer]:
        with self._lock:
            return [a for a in self.answers if a.kind == "readyz" and a.started >= moment]

    def wait_until_ready(self, since: float, limit: float) -> float:
        """Seconds from ``since`` to the first 200 of a /readyz asked after it."""
        deadline = since + limit
        while time.monotonic() < deadline:
            ready = [a for a in self.readyz_since(since) if a.status == 200]
            if ready:
                return ready[0].finished - since
            time.sleep(0.02)
        pytest.fail(f"/readyz did not answer 200 within {limit} s of PostgreSQL's restart")


def _wrong(answer: Answer) -> str | None:
    """Why an answer is neither the normal one nor a proper 503, or None when it is fine."""
    if answer.error is not None:
        return f"no answer: {answer.error}"
    content_type = answer.headers.get("Content-Type", "")
    json_expected = answer.kind != "admin"  # the admin's pages are HTML, its 503 plain text
    if json_expected and not content_type.startswith("application/json"):
        return f"{answer.status} not JSON ({content_type}): {answer.body[:200]!r}"
    if answer.status == NORMAL_STATUS[answer.kind]:
        return None
    if answer.status != 503:
        return f"{answer.status}: {answer.body[:300]!r}"
    if json_expected and answer.json()["error"]["code"] != "service_unavailable":
        return f"503 with another code: {answer.body[:300]!r}"
    if not answer.headers.get("Retry-After", "").isdigit():
        return "503 without Retry-After"
    return None


@dataclass
class Outage:
    mode: str
    stopping: float  # pg_ctl stop called
    stopped: float  # pg_ctl stop returned: PostgreSQL is down
    restarting: float  # pg_ctl start called
    accepting: float  # pg_ctl start returned: PostgreSQL accepts connections
    recovery: float  # seconds from then to the first /readyz answered 200


def _outage(load: Load, cluster: Cluster, mode: str) -> Outage:
    """Stop PostgreSQL under load, keep loading, start it again; time how /readyz saw it."""
    stopping = time.monotonic()
    cluster.stop(mode)
    stopped = time.monotonic()
    time.sleep(OUTAGE_SECONDS)
    restarting = time.monotonic()
    cluster.start()
    accepting = time.monotonic()
    recovery = load.wait_until_ready(accepting, RECOVERY_LIMIT)
    time.sleep(1)  # load with the database back
    return Outage(mode, stopping, stopped, restarting, accepting, round(recovery, 3))


def _query(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as connection:
        return connection.execute(sql).fetchall()


def test_a_database_outage_under_load_answers_503_and_loses_nothing(cluster: Cluster) -> None:
    timings: dict[str, float] = {}
    begin = time.monotonic()
    # Given a migrated, seeded cluster served by gunicorn, reusing its database connections
    migrate = _manage(cluster.url(), "migrate", "--no-input")
    assert migrate.returncode == 0, migrate.stderr
    seed = _manage(cluster.url(), "shell", "-c", SEED)
    assert seed.returncode == 0, seed.stderr
    seeded = json.loads(seed.stdout.split("SEED ", 1)[1])
    timings["setup"] = time.monotonic() - begin
    server = Server(cluster.url(), DB_CONN_MAX_AGE="60", **THROTTLES)
    try:
        # When PostgreSQL stops (cleanly, then as in a crash) and starts again under load
        load_began = time.monotonic()
        with Load(server, seeded["key"], seeded["variants"]) as load:
            time.sleep(1.5)
            outages = [_outage(load, cluster, "fast"), _outage(load, cluster, "immediate")]
        load_ended = time.monotonic()
        timings["load"] = load_ended - load_began
        # and every placement that got no 201 is retried with its key once the database is back
        retried = [p for p in load.placements if p.first.status != 201]
        with ThreadPoolExecutor(max_workers=PLACERS) as pool:
            retries = list(pool.map(lambda p: load.call("retry", "POST", *p.request()), retried))
        # (and a few that did get theirs, as if the 201 had been lost on the way)
        resent = [p for p in load.placements if p.first.status == 201][:RESENT]
        replays = [load.call("retry", "POST", *p.request()) for p in resent]
        for placement, answer in zip(retried, retries, strict=True):
            placement.retry = answer
        timings["retries"] = time.monotonic() - load_ended
    finally:
        log = server.stop()
    load_answers = [a for a in load.answers if a.kind != "retry"]

    # Then every answer was the normal one or a 503 (in the envelope under /api/) with
    # Retry-After: no 500, no HTML error page, no dropped connection
    wrong = [(a.kind, a.path, why) for a in load_answers if (why := _wrong(a))]
    assert not wrong, f"{len(wrong)} wrong answers, e.g. {wrong[:5]}\n{log[-5000:]}"
    # and whenever the database was up, the normal one: the first request after a restart
    # already gets a working connection (stale reused ones are checked and replaced)
    up = [(load_began, outages[0].stopping)]
    up += [(o.accepting, after.stopping) for o, after in itertools.pairwise(outages)]
    up += [(outages[-1].accepting, load_ended)]
    while_up = [a for a in load_answers if any(s <= a.started and a.finished < e for s, e in up)]
    assert [(a.kind, a.path, a.status) for a in while_up if a.status == 503] == []
    # and the outage was real: /readyz said so, and the API answered 503 while it lasted
    by_outcome = Counter((a.kind, a.status) for a in load_answers)
    for outage in outages:
        down = [
            a
            for a in load_answers
            if a.kind == "readyz" and outage.stopped <= a.started and a.finished < outage.restarting
        ]
        assert down, outage
        assert {a.status for a in down} == {503}, outage
        assert outage.recovery < RECOVERY_LIMIT, outage
    for kind in NORMAL_STATUS:
        assert by_outcome[kind, 503] > 0, by_outcome

    # and every retry placed its order or replayed the one its first attempt had placed
    assert [(a.status, a.body[:200]) for a in retries if a.status != 201] == []
    replayed = [a for a in retries if a.headers.get("Idempotent-Replayed") == "true"]
    acknowledged = {p.key: (p.retry or p.first).json()["number"] for p in load.placements}
    assert len(resent) == RESENT
    assert [
        (a.status, a.headers.get("Idempotent-Replayed"), a.json()["number"]) for a in replays
    ] == [(201, "true", acknowledged[p.key]) for p in resent]

    # and each acknowledged order exists exactly once, with its line; nothing else was placed
    rows = _query(
        cluster.url(),
        "SELECT o.customer_reference, o.number, l.variant_id, l.quantity"
        " FROM orders_order o LEFT JOIN orders_orderline l ON l.order_id = o.id",
    )
    placed = Counter(reference for reference, *_ in rows)
    assert [reference for reference, count in placed.items() if count > 1] == []
    variants = {p.key: p.variant for p in load.placements}
    assert {
        reference: (number, variant, quantity) for reference, number, variant, quantity in rows
    } == {key: (number, variants[key], 1) for key, number in acknowledged.items()}
    # and the stock taken is exactly what was sold, every quantity equal to its ledger
    [(sold,)] = _query(
        cluster.url(), f"SELECT sum({UNITS_PER_VARIANT} - quantity) FROM catalog_variant"
    )
    assert sold == len(acknowledged)
    # and each order's key is stored once, with no key left over from an order undone
    [(keys,)] = _query(cluster.url(), "SELECT count(*) FROM api_idempotencykey")
    assert keys == len(acknowledged)
    reconcile = _manage(cluster.url(), "reconcile_stock")
    assert reconcile.returncode == 0, reconcile.stderr

    timings["total"] = time.monotonic() - begin
    print(  # noqa: T201 (the run's figures, shown with -s)
        json.dumps(
            {
                "answers": {f"{k} {s}": n for (k, s), n in sorted(by_outcome.items(), key=str)},
                "orders": len(acknowledged),
                "retried": len(retried),
                "replayed": len(replayed),
                "outages": [
                    {
                        "mode": o.mode,
                        "down_seconds": round(o.accepting - o.stopping, 2),
                        "readyz_recovery_seconds": o.recovery,
                    }
                    for o in outages
                ],
                "seconds": {name: round(value, 1) for name, value in timings.items()},
            },
            indent=1,
        )
    )
