"""Events and webhooks under load (issue 16): ``run.py --events`` alone, or a stage of the
full run. Four figures, against a receiver on loopback:

1. Order placement with one webhook endpoint subscribed to everything ("*") against none, side
   by side: one API (gunicorn, production settings, as in the other stages) and the worker
   (``manage.py db_worker --queue-name '*' --no-reload``, as deployed) running in both phases,
   since the worker is part of the deployment either way. Events are written to the outbox and
   dispatched in both; only the deliveries differ. The endpoint is turned on and off between
   runs (``PATCH is_active``); after each run the outbox is drained (every event dispatched and
   delivered), so each run starts alike, and what the worker owed at the run's end is reported
   (``behind``) with the time it took to catch up. Rounds alternate which phase goes first; the
   median of the rounds' ratios (with / without) is reported, as the API-vs-floor figures are.
2. Delivery rate: a burst of events is written at once (bench/emitter.py, through
   ``events.services.emit``, in a second or two) while 1, then 2, idle workers wait: events
   delivered a second, from the first event's commit to the last receipt (dispatching
   included: a burst's deliveries start only once its dispatches are done, FIFO), and the
   workers' CPU time per event (from /proc: steadier on a busy machine than the rate).
3. Lag at a rate: events emitted at ``rate`` a second (200: the issue's figure) while the
   workers run; lag = receipt at the receiver - the event's ``occurred_at`` (stamped in the
   emitting transaction just before its commit): p50, p95, p99 and max, and the share over 2 s.
4. Bad endpoints: the good endpoint's lag at 20 events a second, alone and then beside three
   endpoints subscribed to everything that answer after 6 s (past the 5 s timeout), answer
   500, and close the connection unanswered, with the two lanes' workers as deployed (one on
   the default queue, one on the degraded one). Last, since their retries stay queued.

Every event type counts alike: the stage does not depend on which events an order emits
(``events_per_order`` says how many it did).

The receiver is a threaded HTTP/1.1 server in this process, keeping connections open between
requests as receivers' web servers do: it answers 204 at once (but on the bad paths) and
records, per ``webhook-id``, when each copy arrived (a second copy is a duplicate), and checks
one signature in ``VERIFY_EVERY`` with the standardwebhooks verifier. Endpoints on
loopback need ``WEBHOOK_ALLOW_PRIVATE_TARGETS=1``: the production settings read it from the
environment (and ``check --deploy`` warns when it is on); it is set for this stage's API and
workers only.
"""

import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TextIO

import psycopg
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from bench.common import API_COMMAND, JSON, ROOT, say
from bench.load import Endpoint, Load, Measurement, as_dict
from bench.servers import Server, http

CONNECTIONS = 16
VERIFY_EVERY = 50
# The figures.
RATE = 200.0
LAG_LIMIT_S = 2.0
RATIO_FLOOR = 0.8
# The longest the outbox may take to drain before a phase is reported as not done.
DRAIN_TIMEOUT_S = 180.0
# Events left by the stages before this one (a full run), dispatched before the first round.
INHERITED_TIMEOUT_S = 600.0
# Beside a good endpoint: one slower than the delivery timeout (5 s), one answering 500, one
# closing the connection unanswered; a low rate, and a bounded wait for the good one's events.
BAD_MODES = ("slow", "500", "close")
SLOW_S = 6.0
BAD_RATE = 20.0
BAD_SECONDS = 5.0
BAD_TIMEOUT_S = 60.0
# Long enough for a worker to set Django up and start polling.
STARTUP_S = 3.0
WORKER_COMMAND = ["manage.py", "db_worker", "--no-reload", "--queue-name"]
# Beside bad endpoints, the lanes as deployed (``make run``, the compose file): a worker for the
# default queue and one for the degraded endpoints' (events/tasks.py).
LANES = ("default", "webhooks-degraded")


@dataclass(frozen=True, slots=True)
class Receipt:
    path: str
    webhook_id: str
    received_at: float
    occurred_at: float
    type: str
    # The emitter's tag for the phase that wrote the event (none for the API's events).
    tag: str = ""


# Figures (pure: bench/tests/test_events.py)


def percentile(values: Sequence[float], share: float) -> float:
    """The ``share`` (0 to 1) percentile, linearly interpolated between the closest ranks."""
    if not values:
        raise ValueError("No values.")
    ordered = sorted(values)
    position = share * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def lag_summary(lags: Sequence[float], *, limit: float = LAG_LIMIT_S) -> JSON:
    """Lag percentiles in seconds and the share of events over ``limit``."""
    if not lags:
        return {"events": 0}
    return {
        "events": len(lags),
        "p50_s": round(percentile(lags, 0.50), 3),
        "p95_s": round(percentile(lags, 0.95), 3),
        "p99_s": round(percentile(lags, 0.99), 3),
        "max_s": round(max(lags), 3),
        "over_limit": round(sum(lag > limit for lag in lags) / len(lags), 4),
        "limit_s": limit,
    }


def delivery_rate(receipts: Sequence[Receipt]) -> float | None:
    """Events a second from the first event's commit to the last receipt: the whole time the
    workers took, dispatching included (a burst's deliveries only start once its dispatches
    are done, so the first receipt to the last would flatter them). None for no events."""
    if not receipts:
        return None
    span = max(r.received_at for r in receipts) - min(r.occurred_at for r in receipts)
    return round(len(receipts) / span, 1) if span > 0 else None


def paired_ratio(with_: Mapping[int, float], without: Mapping[int, float]) -> JSON:
    """The median of each round's ratio of ``with_`` to ``without`` (rounds in both only)."""
    ratios = [with_[r] / without[r] for r in sorted(with_) if without.get(r)]
    return {
        "ratio": round(statistics.median(ratios), 3) if ratios else None,
        "rounds": [round(r, 3) for r in ratios],
    }


# The receiver


@dataclass
class Receiver:
    """Receipts in arrival order; ``secrets`` by path, for the sampled signature checks."""

    port: int = 0
    receipts: list[Receipt] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)
    # How a path misbehaves (BAD_MODES); others answer 204 at once.
    modes: dict[str, str] = field(default_factory=dict)
    verified: int = 0
    unverified: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def mark(self) -> int:
        with self.lock:
            return len(self.receipts)

    def since(self, mark: int, path: str, tag: str | None = None) -> list[Receipt]:
        """The receipts at ``path`` since ``mark`` (of events with ``tag`` only, if given)."""
        with self.lock:
            return [
                r for r in self.receipts[mark:] if r.path == path and (tag is None or r.tag == tag)
            ]

    def record(self, path: str, headers: Mapping[str, str], body: bytes, at: float) -> None:
        payload = json.loads(body)
        receipt = Receipt(
            path=path,
            webhook_id=headers.get("webhook-id", ""),
            received_at=at,
            occurred_at=datetime.fromisoformat(payload["occurred_at"]).timestamp(),
            type=str(payload["type"]),
            tag=str(payload["data"].get("bench", "")) if isinstance(payload["data"], dict) else "",
        )
        with self.lock:
            self.receipts.append(receipt)
            check = len(self.receipts) % VERIFY_EVERY == 1
        secret = self.secrets.get(path)
        if check and secret:
            try:
                Webhook(secret).verify(body, dict(headers))
            except WebhookVerificationError:
                verified = False
            else:
                verified = True
            with self.lock:
                if verified:
                    self.verified += 1
                else:
                    self.unverified += 1


@contextmanager
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        # Keeps connections open between requests, as receivers' web servers do.
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            at = time.time()
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            mode = state.modes.get(self.path)
            if mode == "slow":
                time.sleep(SLOW_S)
            if mode == "close":
                self.close_connection = True
            else:
                self.send_response(500 if mode == "500" else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()
            state.record(self.path, {k.lower(): v for k, v in self.headers.items()}, body, at)

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128

    server = Server(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def first_copies(receipts: Sequence[Receipt]) -> tuple[list[Receipt], int]:
    """Each event's first receipt, and how many copies came beyond those."""
    seen: dict[str, Receipt] = {}
    for receipt in receipts:
        seen.setdefault(receipt.webhook_id, receipt)
    return list(seen.values()), len(receipts) - len(seen)


# Workers and the outbox


class Workers:
    """``count`` worker processes, as deployed, their output in bench/logs/: each on every
    queue, or on the one of ``queues`` in its place."""

    def __init__(
        self,
        count: int,
        env: dict[str, str],
        log_dir: Path,
        label: str,
        queues: Sequence[str] | None = None,
    ) -> None:
        self.logs: list[TextIO] = []
        self.processes: list[subprocess.Popen[bytes]] = []
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
        for number in range(1, count + 1):
            log = (log_dir / f"worker-{slug}-{count}-{number}.log").open("w")
            self.logs.append(log)
            self.processes.append(
                subprocess.Popen(  # noqa: S603  # our own command line
                    [sys.executable, *WORKER_COMMAND, queues[number - 1] if queues else "*"],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )

    def cpu_seconds(self) -> float:
        """User and system CPU time the workers have used so far (Linux's /proc)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for process in self.processes:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        return total / ticks

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self.logs:
            log.close()


@contextmanager
def workers(
    count: int,
    env: dict[str, str],
    log_dir: Path,
    label: str,
    queues: Sequence[str] | None = None,
) -> Iterator[Workers]:
    running = Workers(count, env, log_dir, label, queues)
    try:
        yield running
    finally:
        running.stop()


def backlog(conn: psycopg.Connection) -> int:
    """What the worker still owes: events not yet dispatched and deliveries not yet made."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM events_event WHERE dispatched_at IS NULL)"
        " + (SELECT count(*) FROM events_delivery WHERE status = 'pending')"
    ).fetchone()
    return int(row[0]) if row else 0


def drain(conn: psycopg.Connection, timeout: float = DRAIN_TIMEOUT_S) -> float | None:
    """Wait until the outbox is empty; the seconds it took, or None if it was not by then."""
    started = time.monotonic()
    while backlog(conn):
        if time.monotonic() - started > timeout:
            return None
        time.sleep(0.1)
    return round(time.monotonic() - started, 2)


def settle(conn: psycopg.Connection) -> bool:
    """Let the running workers empty the outbox before the next phase; whether they did (a
    phase that follows one they did not is loaded by its leftovers, and says so)."""
    if drain(conn) is not None:
        return True
    say(
        f"  WARNING: the outbox was not empty {DRAIN_TIMEOUT_S:.0f} s on: the next phase inherits it"
    )
    return False


def wait_for(
    hook: Receiver, mark: int, path: str, tag: str, count: int, timeout: float
) -> list[Receipt]:
    """The receipts at ``path`` of the events tagged ``tag`` once ``count`` of them have
    arrived (or all that have after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        firsts, _ = first_copies(hook.since(mark, path, tag))
        if len(firsts) >= count:
            break
        time.sleep(0.1)
    return hook.since(mark, path, tag)


def emit(env: dict[str, str], *args: str) -> JSON:
    result = subprocess.run(  # noqa: S603  # our own command line
        [sys.executable, "-m", "bench.emitter", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise RuntimeError(f"bench.emitter {' '.join(args)} failed:\n{result.stderr}")
    emitted: JSON = json.loads(result.stdout.strip().splitlines()[-1])
    return emitted


def count(conn: psycopg.Connection, table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608  # our names
    return int(row[0]) if row else 0


# The stage


@dataclass(frozen=True, slots=True)
class Settings:
    rounds: int
    workers_with_orders: int
    burst: int
    rate: float
    rate_seconds: float
    worker_counts: tuple[int, ...] = (1, 2)


def events_env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1"}


def create_endpoint(api: Server, key: str, hook: Receiver, path: str, *, active: bool) -> int:
    """A webhook endpoint for ``path`` of the receiver, subscribed to all events; its id."""
    status, body = http(
        api.port,
        "POST",
        "/api/v1/webhooks/",
        json.dumps(
            {"url": hook.url(path), "events": ["*"], "is_active": active, "description": path}
        ),
        key=key,
    )
    if status != 201:
        raise RuntimeError(f"Creating the webhook endpoint answered {status}: {body!r}")
    endpoint = json.loads(body)
    hook.secrets[path] = endpoint["secret"]
    return int(endpoint["id"])


def switch(api: Server, key: str, endpoint_id: int, *, active: bool) -> None:
    status, body = http(
        api.port,
        "PATCH",
        f"/api/v1/webhooks/{endpoint_id}/",
        json.dumps({"is_active": active}),
        key=key,
    )
    if status != 200:
        raise RuntimeError(f"Switching the endpoint answered {status}: {body!r}")


def run_events(
    *,
    env: dict[str, str],
    database_url: str,
    order: Endpoint,
    load: Load,
    key: str,
    settings: Settings,
    log_dir: Path,
) -> JSON:
    """The figures (see the module's docstring), as one JSON object."""
    env = events_env(env)
    path = "/hook/all"
    with receiver() as hook, psycopg.connect(database_url, autocommit=True) as conn:
        # The API stays up (idle after the orders) to switch endpoints on and off.
        api = Server("api_events", API_COMMAND, env, log_dir, load.work_dir)
        try:
            good = create_endpoint(api, key, hook, path, active=True)
            bad = {
                mode: create_endpoint(api, key, hook, f"/hook/{mode}", active=False)
                for mode in BAD_MODES
            }
            for mode in BAD_MODES:
                hook.modes[f"/hook/{mode}"] = mode
            orders = order_rounds(
                api=api,
                env=env,
                conn=conn,
                hook=hook,
                path=path,
                endpoint_id=good,
                order=order,
                load=load,
                key=key,
                settings=settings,
                log_dir=log_dir,
            )
            api_log_errors = api.log_since(0).count('"level": "ERROR"')
            bursts = [
                burst(
                    env=env,
                    conn=conn,
                    hook=hook,
                    path=path,
                    n=n,
                    settings=settings,
                    log_dir=log_dir,
                )
                for n in settings.worker_counts
            ]
            paced = [
                at_rate(
                    env=env,
                    conn=conn,
                    hook=hook,
                    path=path,
                    n=n,
                    rate=settings.rate,
                    seconds=settings.rate_seconds,
                    label="at rate",
                    log_dir=log_dir,
                )
                for n in settings.worker_counts
            ]
            beside_bad = bad_endpoints(
                api=api,
                env=env,
                conn=conn,
                hook=hook,
                path=path,
                bad=bad,
                key=key,
                log_dir=log_dir,
            )
        finally:
            api.stop()
        failed_tasks = count(conn, "django_tasks_database_dbtaskresult WHERE status = 'FAILED'")
    return {
        "orders": orders,
        "delivery_rate": bursts,
        "lag_at_rate": paced,
        "bad_endpoints": beside_bad,
        "signatures": {"verified": hook.verified, "failed": hook.unverified},
        "failed_tasks": failed_tasks,
        "api_log_error_lines": api_log_errors,
        "worker_log_error_lines": sum(
            log.read_text(errors="replace").count('"level": "ERROR"')
            for log in log_dir.glob("worker-*.log")
        ),
    }


def bad_endpoints(
    *,
    api: Server,
    env: dict[str, str],
    conn: psycopg.Connection,
    hook: Receiver,
    path: str,
    bad: Mapping[str, int],
    key: str,
    log_dir: Path,
) -> JSON:
    """The good endpoint's lag at ``BAD_RATE`` alone, then beside endpoints that answer slower
    than the timeout, answer 500 and close the connection unanswered (the last phase: their
    retries stay queued)."""

    def good(label: str, *, timeout: float = DRAIN_TIMEOUT_S, then_drain: bool = True) -> JSON:
        return at_rate(
            env=env,
            conn=conn,
            hook=hook,
            path=path,
            n=len(LANES),
            queues=LANES,
            rate=BAD_RATE,
            seconds=BAD_SECONDS,
            label=label,
            log_dir=log_dir,
            timeout=timeout,
            then_drain=then_drain,
        )

    alone = good("good alone")
    for endpoint_id in bad.values():
        switch(api, key, endpoint_id, active=True)
    marks = {mode: hook.mark() for mode in bad}
    beside = good("good beside bad", timeout=BAD_TIMEOUT_S, then_drain=False)
    for endpoint_id in bad.values():
        switch(api, key, endpoint_id, active=False)
    return {
        "alone": alone,
        "beside_bad": beside,
        "bad_receipts": {mode: len(hook.since(marks[mode], f"/hook/{mode}")) for mode in bad},
        "slow_s": SLOW_S,
        "timeout_s": BAD_TIMEOUT_S,
    }


def order_rounds(
    *,
    api: Server,
    env: dict[str, str],
    conn: psycopg.Connection,
    hook: Receiver,
    path: str,
    endpoint_id: int,
    order: Endpoint,
    load: Load,
    key: str,
    settings: Settings,
    log_dir: Path,
) -> JSON:
    requests = load.requests_file("order-events", order.requests)
    runs: list[Measurement] = []
    extras: list[JSON] = []
    lags: list[float] = []
    duplicates = 0
    events_before, orders_before = count(conn, "events_event"), count(conn, "orders_order")
    with workers(settings.workers_with_orders, env, log_dir, "orders"):
        # In a full run the stages before placed orders with no worker running: their events
        # are dispatched (to no endpoint) before the first round, which would inherit them.
        inherited = backlog(conn)
        if inherited:
            say(f"  the worker first dispatches the {inherited} events the stages before wrote")
            if drain(conn, timeout=INHERITED_TIMEOUT_S) is None:
                say(f"  WARNING: it had not after {INHERITED_TIMEOUT_S:.0f} s")
        for round_ in range(1, settings.rounds + 1):
            for phase in ("none", "all") if round_ % 2 else ("all", "none"):
                status, body = http(
                    api.port,
                    "PATCH",
                    f"/api/v1/webhooks/{endpoint_id}/",
                    json.dumps({"is_active": phase == "all"}),
                    key=key,
                )
                if status != 200:
                    raise RuntimeError(f"Switching the endpoint answered {status}: {body!r}")
                mark = hook.mark()
                measurement = load.measure(
                    api,
                    phase=f"webhooks {phase}",
                    endpoint=order.name,
                    requests=requests,
                    expect=order.expect,
                    connections=CONNECTIONS,
                    key=key,
                    round_=round_,
                )
                behind = backlog(conn)
                caught_up = drain(conn)
                firsts, copies = first_copies(hook.since(mark, path))
                duplicates += copies
                if phase == "all":
                    lags.extend(r.received_at - r.occurred_at for r in firsts)
                runs.append(measurement)
                extras.append(
                    {
                        "round": round_,
                        "phase": phase,
                        "rps": measurement.rps,
                        "behind": behind,
                        "caught_up_s": caught_up,
                        "delivered": len(firsts),
                    }
                )
                say(
                    f"  orders, webhooks {phase:<4} round {round_}: {measurement.rps:.0f}/s, "
                    f"errors {measurement.errors}; worker behind by {behind} at the end, "
                    f"caught up in {caught_up} s; {len(firsts)} delivered"
                )
    events = count(conn, "events_event") - events_before
    placed = count(conn, "orders_order") - orders_before

    def side(phase: str) -> JSON:
        mine = [m for m in runs if m.phase == f"webhooks {phase}"]
        extra = [e for e in extras if e["phase"] == phase]
        return {
            "rps": round(statistics.median(m.rps for m in mine), 1),
            "p50_ms": round(statistics.median(m.p50_ms for m in mine), 2),
            "p99_ms": round(statistics.median(m.p99_ms for m in mine), 2),
            "errors": sum(m.errors for m in mine),
            "behind_max": max(e["behind"] for e in extra),
            # None: the worker had not caught up DRAIN_TIMEOUT_S after a run.
            "caught_up_s_max": None
            if any(e["caught_up_s"] is None for e in extra)
            else max(e["caught_up_s"] for e in extra),
        }

    ratio = paired_ratio(
        {m.round: m.rps for m in runs if m.phase == "webhooks all"},
        {m.round: m.rps for m in runs if m.phase == "webhooks none"},
    )
    return {
        "endpoint": order.description,
        "connections": CONNECTIONS,
        "workers": settings.workers_with_orders,
        "rounds": settings.rounds,
        "none": side("none"),
        "all": side("all"),
        "ratio_all_none": ratio["ratio"],
        "ratios": ratio["rounds"],
        "target": RATIO_FLOOR,
        "events_per_order": round(events / placed, 3) if placed else None,
        "inherited_events": inherited,
        "lag_all": lag_summary(lags),
        "duplicates": duplicates,
        "per_run": extras,
        "runs": [as_dict(m) for m in runs],
    }


def burst(
    *,
    env: dict[str, str],
    conn: psycopg.Connection,
    hook: Receiver,
    path: str,
    n: int,
    settings: Settings,
    log_dir: Path,
) -> JSON:
    """``settings.burst`` events written at once (in about a second or two) while ``n`` idle
    workers wait: the rate they deliver them at, and the workers' CPU time per event."""
    with workers(n, env, log_dir, "burst") as running:
        time.sleep(STARTUP_S)
        cpu_before = running.cpu_seconds()
        mark = hook.mark()
        tag = f"burst-{n}"
        emitted = emit(env, "--count", str(settings.burst), "--tag", tag)
        received = wait_for(hook, mark, path, tag, emitted["events"], DRAIN_TIMEOUT_S)
        cpu = running.cpu_seconds() - cpu_before
        drained = settle(conn)
    firsts, duplicates = first_copies(received)
    row = {
        "workers": n,
        "events": emitted["events"],
        "delivered": len(firsts),
        "duplicates": duplicates,
        "per_second": delivery_rate(firsts),
        "worker_cpu_ms_per_event": round(cpu * 1000 / len(firsts), 1) if firsts else None,
        "target": RATE,
        "drained": drained,
    }
    say(
        f"  delivery rate, {n} worker(s): {row['delivered']}/{row['events']} events, "
        f"{row['per_second']}/s (first commit to last receipt); workers' CPU "
        f"{row['worker_cpu_ms_per_event']} ms per event"
    )
    return row


def at_rate(
    *,
    env: dict[str, str],
    conn: psycopg.Connection,
    hook: Receiver,
    path: str,
    n: int,
    rate: float,
    seconds: float,
    label: str,
    log_dir: Path,
    timeout: float = DRAIN_TIMEOUT_S,
    then_drain: bool = True,
    queues: Sequence[str] | None = None,
) -> JSON:
    """Events emitted at ``rate`` a second for ``seconds`` while ``n`` workers run (on
    ``queues``, one each, if given): their lag at ``path`` (those that arrived within
    ``timeout`` after the emitting ended)."""
    with workers(n, env, log_dir, label, queues) as running:
        time.sleep(STARTUP_S)
        cpu_before = running.cpu_seconds()
        mark = hook.mark()
        tag = f"{label}-{n}"
        emitted = emit(env, "--rate", str(rate), "--seconds", str(seconds), "--tag", tag)
        behind = backlog(conn)
        received = wait_for(hook, mark, path, tag, emitted["events"], timeout)
        cpu = running.cpu_seconds() - cpu_before
        drained = settle(conn) if then_drain else None
    firsts, duplicates = first_copies(received)
    lags = [r.received_at - r.occurred_at for r in firsts]
    row = {
        "workers": n,
        "rate": rate,
        "seconds": seconds,
        "events": emitted["events"],
        "emitted_per_second": round(emitted["events"] / emitted["seconds"], 1),
        "delivered": len(firsts),
        "duplicates": duplicates,
        "behind_at_end": behind,
        "per_second": delivery_rate(firsts),
        "worker_cpu_ms_per_event": round(cpu * 1000 / len(firsts), 1) if firsts else None,
        "lag": lag_summary(lags),
        "drained": drained,
    }
    lag = row["lag"]
    say(
        f"  {label}: {n} worker(s), {row['emitted_per_second']:.0f} events/s for {seconds:.0f} s: "
        f"lag p50 {lag.get('p50_s')} s, p95 {lag.get('p95_s')} s, max {lag.get('max_s')} s; "
        f"{row['delivered']}/{row['events']} delivered, {behind} behind when emitting stopped"
    )
    return row


# Report


def events_table(results: JSON) -> str:
    orders = results["orders"]
    none, all_ = orders["none"], orders["all"]
    lag_all = orders["lag_all"]
    lines = [
        f"Order placement ({orders['connections']} connections, {orders['workers']} worker(s) "
        f"running; {orders['rounds']} rounds, order swapped each; medians)",
        f"{'webhooks':<22} | {'rps':>7} {'p50':>6} {'p99':>6} | {'behind':>6} "
        f"{'caught up':>9} | errors",
        f"{'none':<22} | {none['rps']:>7.0f} {none['p50_ms']:>6.1f} {none['p99_ms']:>6.1f} | "
        f"{none['behind_max']:>6} {none['caught_up_s_max']:>8}s | {none['errors']}",
        f"{'one endpoint, all':<22} | {all_['rps']:>7.0f} {all_['p50_ms']:>6.1f} "
        f"{all_['p99_ms']:>6.1f} | {all_['behind_max']:>6} {all_['caught_up_s_max']:>8}s | "
        f"{all_['errors']}",
        f"ratio all/none {orders['ratio_all_none']} (rounds {orders['ratios']}; target >= "
        f"{orders['target']}); {orders['events_per_order']} events per order; lag with orders "
        f"p50 {lag_all.get('p50_s')} s, p95 {lag_all.get('p95_s')} s (incl. catching up)",
        "",
        "Delivery rate (a burst of events written at once, idle workers waiting)",
        f"{'workers':>7} | {'events':>6} {'delivered':>9} {'dups':>4} | {'per s':>7} "
        f"{'CPU ms/event':>12} | target",
    ]
    for row in results["delivery_rate"]:
        lines.append(
            f"{row['workers']:>7} | {row['events']:>6} {row['delivered']:>9} "
            f"{row['duplicates']:>4} | {row['per_second']!s:>7} "
            f"{row['worker_cpu_ms_per_event']!s:>12} | {row['target']:.0f}/s"
        )
    lines += [
        "",
        "Lag at a rate (emitted while the workers run; receipt - occurred_at)",
        f"{'workers':>7} {'rate':>5} | {'events':>6} {'delivered':>9} {'behind':>6} | "
        f"{'p50 s':>6} {'p95 s':>6} {'p99 s':>6} {'max s':>6} {'>2 s':>6} | CPU ms/event",
    ]
    for row in results["lag_at_rate"]:
        lag = row["lag"]
        lines.append(
            f"{row['workers']:>7} {row['emitted_per_second']:>5.0f} | {row['events']:>6} "
            f"{row['delivered']:>9} {row['behind_at_end']:>6} | {lag.get('p50_s')!s:>6} "
            f"{lag.get('p95_s')!s:>6} {lag.get('p99_s')!s:>6} {lag.get('max_s')!s:>6} "
            f"{lag.get('over_limit')!s:>6} | {row['worker_cpu_ms_per_event']}"
        )
    bad = results["bad_endpoints"]
    lines += [
        "",
        f"Bad endpoints: the good endpoint's lag at {bad['alone']['rate']:.0f} events/s, alone and "
        f"beside endpoints that answer after {bad['slow_s']:.0f} s (past the 5 s timeout), answer "
        f"500, and close the connection (waiting at most {bad['timeout_s']:.0f} s after emitting)",
        f"{'good endpoint':<16} | {'events':>6} {'delivered':>9} | {'p50 s':>6} {'p95 s':>6} "
        f"{'max s':>6}",
    ]
    for label, row in (("alone", bad["alone"]), ("beside bad ones", bad["beside_bad"])):
        lag = row["lag"]
        lines.append(
            f"{label:<16} | {row['events']:>6} {row['delivered']:>9} | {lag.get('p50_s')!s:>6} "
            f"{lag.get('p95_s')!s:>6} {lag.get('max_s')!s:>6}"
        )
    lines.append(
        "Attempts the bad ones received meanwhile: "
        + ", ".join(f"{mode} {n}" for mode, n in bad["bad_receipts"].items())
    )
    lines.append("")
    signatures = results["signatures"]
    lines.append(
        f"Signatures checked: {signatures['verified']} verified, {signatures['failed']} failed; "
        f"failed tasks: {results['failed_tasks']}; error lines: api "
        f"{results['api_log_error_lines']}, workers {results['worker_log_error_lines']}"
    )
    return "\n".join(lines)
