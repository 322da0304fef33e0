"""A shortcut's worth, side by side in one run: ``run.py --compare NAME [--compare NAME ...]``.

The speed-ups that go through private parts of our libraries (``core/shortcuts.py``, listed in
docs/private-internals.md) stay only where users feel them. For each one named, a second API
starts with ``SHORTCUTS_OFF=NAME`` beside the API as deployed. For each endpoint on the
shortcut's path (``AFFECTS``, or ``--endpoint``), the two are loaded in turn at 16 connections,
round after round, the order swapped every round (on then off, off then on): whatever else the
shared machine does meanwhile falls on both alike. Before loading, each read is asked of both,
which must answer the same JSON: a shortcut that changes the answer is a bug, not a speed-up.

Reported per endpoint: each side's median throughput, p50 and p99, and the medians of the
rounds' paired ratios: throughput on/off and latency off/on, so that 1.15 on either means the
shortcut earns 15%.
"""

import json
import statistics
from collections.abc import Sequence
from pathlib import Path

from bench.checks import comparable
from bench.common import API_COMMAND, JSON, say
from bench.load import Endpoint, Load, Measurement
from bench.servers import Server, http

# The endpoints each shortcut is on the path of, as the API is deployed (the others cannot tell).
AFFECTS: dict[str, tuple[str, ...]] = {
    "catalog-rows": ("list", "filtered", "located"),
    "native-loaders": ("detail", "list", "filtered", "located", "sku"),
    "catalog-sql": ("detail", "list", "filtered", "located", "sku"),
    "sku-lookup": ("sku",),
    "catalog-render": ("detail", "list", "filtered", "located", "sku"),
    "key-cache": ("detail",),
    "filterset": ("list", "filtered", "located"),
}
CONNECTIONS = 16


def same_answers(on: Server, off: Server, key: str, endpoint: Endpoint) -> bool:
    """Whether both answer the endpoint's first read alike (writes are not compared)."""
    if endpoint.expect != 200:
        return True
    _, path, _ = endpoint.requests[0]
    on_status, on_body = http(on.port, "GET", path, key=key)
    off_status, off_body = http(off.port, "GET", path, key=key)
    if on_status != off_status:
        return False
    return bool(json.loads(on_body) == comparable(json.loads(off_body), on.port, off.port))


def compare_row(shortcut: str, endpoint: str, runs: list[Measurement]) -> JSON:
    on = {m.round: m for m in runs if m.target == "api"}
    off = {m.round: m for m in runs if m.target != "api"}
    paired = [(on[r], off[r]) for r in sorted(on) if r in off and off[r].rps and on[r].p50_ms]

    def side(mine: dict[int, Measurement]) -> JSON:
        return {
            "rps": round(statistics.median(m.rps for m in mine.values()), 1),
            "p50_ms": round(statistics.median(m.p50_ms for m in mine.values()), 2),
            "p99_ms": round(statistics.median(m.p99_ms for m in mine.values()), 2),
            "errors": sum(m.errors for m in mine.values()),
        }

    rps = [a.rps / b.rps for a, b in paired]
    p50 = [b.p50_ms / a.p50_ms for a, b in paired]
    p99 = [b.p99_ms / a.p99_ms for a, b in paired if a.p99_ms]
    return {
        "shortcut": shortcut,
        "endpoint": endpoint,
        "connections": CONNECTIONS,
        "rounds": len(paired),
        "on": side(on),
        "off": side(off),
        "rps_on_off": round(statistics.median(rps), 3) if rps else None,
        "p50_off_on": round(statistics.median(p50), 3) if p50 else None,
        "p99_off_on": round(statistics.median(p99), 3) if p99 else None,
        "rps_on_off_rounds": [round(r, 3) for r in rps],
    }


def compare(
    names: Sequence[str],
    *,
    api: Server,
    env: dict[str, str],
    plan: Sequence[Endpoint],
    load: Load,
    key: str,
    rounds: int,
    only: Sequence[str],
    log_dir: Path,
    control_dir: Path,
) -> tuple[list[JSON], list[Measurement]]:
    rows: list[JSON] = []
    measurements: list[Measurement] = []
    for name in names:
        off = Server(
            f"api_off_{name}", API_COMMAND, {**env, "SHORTCUTS_OFF": name}, log_dir, control_dir
        )
        try:
            wanted = only or AFFECTS[name]
            for endpoint in (e for e in plan if e.name in wanted):
                if not same_answers(api, off, key, endpoint):
                    say(f"  WARNING: {name} off answers {endpoint.name} otherwise than on")
                requests = load.requests_file(endpoint.name, endpoint.requests)
                runs = []
                for round_ in range(1, rounds + 1):
                    for target in (api, off) if round_ % 2 else (off, api):
                        runs.append(
                            load.measure(
                                target,
                                phase=f"compare {name}",
                                endpoint=endpoint.name,
                                requests=requests,
                                expect=endpoint.expect,
                                connections=CONNECTIONS,
                                key=key,
                                round_=round_,
                            )
                        )
                measurements.extend(runs)
                row = compare_row(name, endpoint.name, runs)
                rows.append(row)
                say(
                    f"  {name:<16} {endpoint.name:<9} on {row['on']['rps']:.0f}/s, "
                    f"off {row['off']['rps']:.0f}/s: x{row['rps_on_off']} "
                    f"(rounds {row['rps_on_off_rounds']})"
                )
        finally:
            off.stop()
    return rows, measurements


def compare_table(rows: list[JSON]) -> str:
    head = (
        f"{'shortcut':<16} {'endpoint':<9} | {'on rps':>7} {'p50':>6} {'p99':>6} | "
        f"{'off rps':>7} {'p50':>6} {'p99':>6} | {'rps on/off':>10} {'p50 off/on':>10} "
        f"{'p99 off/on':>10} (rounds) | errors on/off"
    )
    lines = [head, "-" * len(head)]
    for row in rows:
        on, off = row["on"], row["off"]
        lines.append(
            f"{row['shortcut']:<16} {row['endpoint']:<9} | {on['rps']:>7.0f} "
            f"{on['p50_ms']:>6.1f} {on['p99_ms']:>6.1f} | {off['rps']:>7.0f} "
            f"{off['p50_ms']:>6.1f} {off['p99_ms']:>6.1f} | {row['rps_on_off']:>10} "
            f"{row['p50_off_on']:>10} {row['p99_off_on']:>10} ({row['rounds']}) | "
            f"{on['errors']}/{off['errors']}"
        )
    return "\n".join(lines)
