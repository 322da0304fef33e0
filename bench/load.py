"""What a run loads (the endpoints and their requests) and how: wrk with bench/wrk.lua, from a
second process, every response's status checked."""

import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from bench import seed
from bench.common import BENCH, JSON, SMALL_CATALOG
from bench.servers import Server

# Endpoints


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    description: str
    expect: int
    # (method, path, body) of each request wrk draws from.
    requests: tuple[tuple[str, str, str], ...]


# Conditional and cached reads are measured on these (the reads of the plan).
CACHED_READS = ("detail", "list", "filtered", "located", "sku")


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
            "located",
            f"GET /api/v1/products/?size=<each>&in_stock=true&location={seed.STORE} "
            "(where to pick one up: stock at the shop; default page of 20)",
            200,
            tuple(
                (
                    "GET",
                    f"/api/v1/products/?size={quote(size)}&in_stock=true&location={seed.STORE}",
                    "",
                )
                for size, _ in seed.SIZES
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


def as_dict(measurement: Measurement) -> JSON:
    return {name: getattr(measurement, name) for name in Measurement.__slots__}
