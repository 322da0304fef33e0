"""The figures of a run: medians and ratios per endpoint, and the tables printed at the end."""

import statistics
from pathlib import Path

from bench.common import JSON, SMALL_CATALOG, say
from bench.events import events_table
from bench.load import Measurement


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


def scaling_summary(
    runs: list[Measurement], pages: list[tuple[str, str]], seed_seconds: float, large: int
) -> JSON:
    """The list's latency at the small catalog's first page, then at ``large`` products on each
    of ``pages``, and how they compare."""

    def point(products: int, label: str) -> JSON:
        mine = [m for m in runs if m.phase == f"scaling {products}" and m.endpoint == label]
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
                for m in mine
            },
        }

    points = [point(SMALL_CATALOG, "first page")] + [point(large, label) for label, _ in pages]
    first = points[1]["api"]
    return {
        "connections": 2,
        "seed_seconds": seed_seconds,
        "points": points,
        "ratios": {
            f"API {label} / first page at {large}, p50 and p99": [
                round(p["api"]["p50_ms"] / first["p50_ms"], 2),
                round(p["api"]["p99_ms"] / first["p99_ms"], 2),
            ]
            for p, (label, _) in zip(points[2:], pages[1:], strict=True)
        }
        | {
            f"API first page, {large} / {SMALL_CATALOG} products, p50 and p99": [
                round(first["p50_ms"] / points[0]["api"]["p50_ms"], 2),
                round(first["p99_ms"] / points[0]["api"]["p99_ms"], 2),
            ]
        },
    }


def print_results(results: JSON, output: Path, log_dir: Path) -> None:
    meta, scaling = results["meta"], results["scaling"]
    say()
    say(
        f"Endpoints ({meta['duration_s']} s runs after {meta['warmup_s']} s warm-up; "
        "2 sync workers each; medians)"
    )
    say(table(results["summary"]))
    say()
    say("Conditional and cached reads (16 connections; x = times the uncached API, or the floor)")
    say(conditional_table(results["conditional"]))
    say()
    say(f"Scaling (list, page_size=100, {scaling['connections']} connections)")
    say(scaling_table(scaling))
    if "events" in results:
        say()
        say("Events and webhooks")
        say(events_table(results["events"]))
    say()
    say(
        f"Load average {meta['load_average_before']} before, {meta['load_average_after']} "
        f"after; API log error lines: {results['api_log_error_lines']}"
    )
    say(f"Results: {output}; server logs: {log_dir}")
