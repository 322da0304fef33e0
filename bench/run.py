"""The benchmark of issue 7: the API as deployed against the raw floor of the machine, in one run.

    .venv/bin/python bench/run.py [--quick] [--runs N] [--duration S] [--output bench/results.json]
    .venv/bin/python bench/run.py --compare NAME [--compare NAME ...] [--endpoint NAME ...]
    .venv/bin/python bench/run.py --check
    .venv/bin/python bench/run.py --events [--quick] [--event-workers N]

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
7. Events and webhooks (bench/events.py): order placement with one webhook endpoint
   subscribed to everything against none, side by side, with the worker running in both; the
   workers' delivery rate to a fast receiver on loopback (1 and 2 workers) and their CPU time
   per event; the lag from an event's commit to its receipt at 200 events a second; a good
   endpoint's lag beside slow, failing and disconnecting ones.
8. Proves the ledger still adds up (``manage.py reconcile_stock``) after every order and
   adjustment of the run, stops the servers, prints the tables and writes everything as JSON.

With ``--compare`` it measures shortcuts instead (bench/compare.py): after step 1, the API as
deployed against the API with each named shortcut off, side by side, and nothing else.

With ``--check`` it loads nothing (and needs no wrk): after step 1, steps 3 (every read of the
plan, the writes' shapes) and 8 (the ledger, after those writes), in a minute or so.

With ``--events`` it runs step 7 alone after step 1, then step 8, and writes bench/events.json
(about 6 minutes; 2 to 3 with ``--quick``).

The parts: bench/servers.py (gunicorn, the environment), bench/load.py (endpoints, wrk),
bench/checks.py (parity, versions), bench/report.py (medians, tables), bench/floor.py (the floor),
bench/events.py and bench/emitter.py (events and webhooks).
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import redis

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import seed
from bench.checks import orjson_available, parity, versions
from bench.common import API_COMMAND, BENCH, FLOOR_COMMAND, JSON, SMALL_CATALOG, say
from bench.compare import AFFECTS, CONNECTIONS, compare, compare_table
from bench.events import Settings, events_table, run_events
from bench.load import CACHED_READS, Endpoint, Load, Measurement, as_dict, endpoints
from bench.report import (
    conditional_summary,
    print_results,
    scaling_summary,
    summarize,
)
from bench.servers import Server, etag, manage, server_env, servers


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s runs: a smoke test")
    # Five: on a shared 2-core machine one round in three can be off by a fifth either way.
    parser.add_argument("--runs", type=int, default=5, help="alternating rounds at 16 connections")
    parser.add_argument("--duration", type=int, default=None, help="seconds per run (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of warm-up before each run")
    parser.add_argument("--large", type=int, default=20_000, help="products for the scaling runs")
    parser.add_argument(
        "--output",
        type=Path,
        help="default bench/results.json (bench/compare.json with --compare, bench/events.json "
        "with --events)",
    )
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="inventory_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7", help="a db of its own")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--compare",
        action="append",
        choices=sorted(AFFECTS),
        help="measure this shortcut on and off, side by side (repeatable); nothing else runs",
    )
    parser.add_argument(
        "--endpoint",
        action="append",
        choices=(*CACHED_READS, "order", "adjust"),
        help="with --compare: these endpoints rather than those on the shortcut's path",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="no load: the floor's answers against the API's, then the ledger (needs no wrk)",
    )
    parser.add_argument(
        "--events",
        action="store_true",
        help="only the events and webhooks stage (step 7), then the ledger",
    )
    parser.add_argument(
        "--event-workers",
        type=int,
        default=1,
        help="workers running while orders are placed, in both phases (default 1)",
    )
    args = parser.parse_args(argv)
    duration = args.duration or (2 if args.quick else 5)
    # A comparison pairs rounds in both orders: two at the least.
    rounds = max(2, args.runs) if args.compare else 1 if args.quick else args.runs

    wrk = shutil.which("wrk")
    if wrk is None and not args.check:
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
    plan = endpoints(variant_ids, stocked)
    floor_env = {
        **env,
        "FLOOR_DATABASE_URL": database_url,
        "FLOOR_API_KEY_ID": str(key.id),
        "FLOOR_API_KEY_NAME": key.name,
    }
    if args.check or wrk is None:  # (without --check, wrk is there: see above)
        try:
            return run_check(
                env=env,
                floor_env={**floor_env, "FLOOR_JSON": "orjson" if with_orjson else "stdlib"},
                plan=plan,
                key=key.raw,
                log_dir=log_dir,
                work_dir=work_dir,
            )
        finally:
            if not args.keep:
                seed.drop_database(args.postgres, args.database)
            shutil.rmtree(work_dir, ignore_errors=True)
    load = Load(wrk, work_dir, duration=duration, warmup=args.warmup)
    event_settings = Settings(
        rounds=rounds,
        workers_with_orders=args.event_workers,
        burst=300 if args.quick else 1000,
        rate=200.0,
        rate_seconds=3.0 if args.quick else 10.0,
    )
    order = next(e for e in plan if e.name == "order")
    if args.events:
        try:
            return run_events_alone(
                args,
                env=env,
                database_url=database_url,
                order=order,
                load=load,
                key=key.raw,
                settings=event_settings,
            )
        finally:
            if not args.keep:
                seed.drop_database(args.postgres, args.database)
            shutil.rmtree(work_dir, ignore_errors=True)
    if args.compare:
        try:
            return run_compare(args, env=env, plan=plan, load=load, key=key.raw, rounds=rounds)
        finally:
            if not args.keep:
                seed.drop_database(args.postgres, args.database)
            shutil.rmtree(work_dir, ignore_errors=True)
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

    say("Events and webhooks: orders with one endpoint (all events) and none; delivery rate; lag")
    events = run_events(
        env=env,
        database_url=database_url,
        order=order,
        load=load,
        key=key.raw,
        settings=event_settings,
        log_dir=log_dir,
    )
    say("Ledger: " + (ledger := manage(env, "reconcile_stock")))
    if not args.keep:
        seed.drop_database(args.postgres, args.database)
    shutil.rmtree(work_dir, ignore_errors=True)

    targets = ["api", "floor", "floor_stdlib"]
    summary = summarize(measurements, targets)

    conditional = conditional_summary(conditional_runs, summary)
    scaling = scaling_summary(scaling_runs, scaling_pages, seed_seconds, args.large)
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
        "events": events,
        "ledger": ledger,
        "api_log_error_lines": api_log_errors,
        "runs": [as_dict(m) for m in measurements],
        "scaling_runs": [as_dict(m) for m in scaling_runs],
        "conditional_runs": [as_dict(m) for m in conditional_runs],
    }
    output = args.output or BENCH / "results.json"
    output.write_text(json.dumps(results, indent=2) + "\n")

    print_results(results, output, log_dir)
    return 0


def run_check(
    *,
    env: dict[str, str],
    floor_env: dict[str, str],
    plan: Sequence[Endpoint],
    key: str,
    log_dir: Path,
    work_dir: Path,
) -> int:
    """No load: the floor answers every read of the plan as the API does (up to three
    addresses of each) and the writes' answers have the API's shape; then the ledger adds up
    after those writes of both. 0 when all holds."""
    reads = [path for e in plan if e.expect == 200 for _, path, _ in e.requests[:3]]
    api = Server("api", API_COMMAND, env, log_dir, work_dir)
    try:
        floor = Server("floor", FLOOR_COMMAND, floor_env, log_dir, work_dir)
        try:
            checks = parity(api, floor, key, reads, [e for e in plan if e.expect == 201])
        finally:
            floor.stop()
    finally:
        api.stop()
    for name, check in checks.items():
        same = check.get("same") or check.get("same_shape")
        say(
            f"  {'same' if same else 'DIFFERENT'}: {name} (api {check['api']}, floor {check['floor']})"
        )
    try:
        ledger = manage(env, "reconcile_stock")
    except RuntimeError as error:
        say(f"Ledger: {error}")
        return 1
    say("Ledger: " + ledger)
    different = [name for name, c in checks.items() if not (c.get("same") or c.get("same_shape"))]
    say(f"Parity: {len(checks) - len(different)}/{len(checks)} same")
    return 1 if different else 0


def run_events_alone(
    args: argparse.Namespace,
    *,
    env: dict[str, str],
    database_url: str,
    order: Endpoint,
    load: Load,
    key: str,
    settings: Settings,
) -> int:
    """Step 7 alone (bench/events.py), then the ledger."""
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    log_dir = BENCH / "logs"
    say("Events and webhooks: orders with one endpoint (all events) and none; delivery rate; lag")
    events = run_events(
        env=env,
        database_url=database_url,
        order=order,
        load=load,
        key=key,
        settings=settings,
        log_dir=log_dir,
    )
    ledger = manage(env, "reconcile_stock")
    say("Ledger: " + ledger)
    meta = {
        "started": started.isoformat(),
        "finished": datetime.now(UTC).isoformat(),
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "duration_s": load.duration,
        "warmup_s": load.warmup,
        "gunicorn_workers": 2,
    }
    output = args.output or BENCH / "events.json"
    output.write_text(
        json.dumps({"meta": meta, "events": events, "ledger": ledger}, indent=2) + "\n"
    )
    say()
    say(events_table(events))
    say(f"Load average {meta['load_average_before']} before, {meta['load_average_after']} after")
    say(f"Results: {output}; server and worker logs: {log_dir}")
    return 0


def run_compare(
    args: argparse.Namespace,
    *,
    env: dict[str, str],
    plan: Sequence[Endpoint],
    load: Load,
    key: str,
    rounds: int,
) -> int:
    """The API as deployed against the API with each named shortcut off (bench/compare.py)."""
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    log_dir = BENCH / "logs"
    api = Server("api", API_COMMAND, env, log_dir, load.work_dir)
    try:
        say(f"Compare: api :{api.port}; each shortcut off in a second API beside it")
        rows, runs = compare(
            args.compare,
            api=api,
            env=env,
            plan=plan,
            load=load,
            key=key,
            rounds=rounds,
            only=args.endpoint or (),
            log_dir=log_dir,
            control_dir=load.work_dir,
        )
    finally:
        api.stop()
    meta = {
        "started": started.isoformat(),
        "finished": datetime.now(UTC).isoformat(),
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "duration_s": load.duration,
        "warmup_s": load.warmup,
        "rounds": rounds,
        "connections": CONNECTIONS,
    }
    output = args.output or BENCH / "compare.json"
    results = {"meta": meta, "compare": rows, "runs": [as_dict(m) for m in runs]}
    output.write_text(json.dumps(results, indent=2) + "\n")
    say()
    say(
        f"Shortcuts on and off ({load.duration} s runs after {load.warmup} s warm-up; "
        f"{CONNECTIONS} connections; {rounds} rounds, order swapped each; medians)"
    )
    say(compare_table(rows))
    say(f"Load average {meta['load_average_before']} before, {meta['load_average_after']} after")
    say(f"Results: {output}; server logs: {log_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
