"""The README is true: its walkthrough runs, as written, against the server its own command starts.

``make run`` (the README's first command, with ``PORT`` set as the README documents) serves a
fresh database of this run's engine (SQLite, or PostgreSQL in the PostgreSQL pass). Every block
of the README marked ``sh walkthrough`` then runs, in order, in bash, with the key ``make run``
printed; each ``curl`` is recorded, and its status and answer checked against the story the
README tells. A README change that breaks the story breaks this test.
"""

import json
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from inventory_project.tests.support import ROOT, free_port

README = ROOT / "README.md"
MAKE, BASH = shutil.which("make") or "make", shutil.which("bash") or "bash"
BLOCK = re.compile(r"^```sh walkthrough\n(.*?)^```", re.DOTALL | re.MULTILINE)
# Each curl of the walkthrough writes its status to a log and its answer to a file.
CURL_RECORDER = """
set -euo pipefail
calls=0
curl() {
  calls=$((calls + 1))
  command curl -sS -o "$ANSWERS/$calls" -w '%{http_code}\\n' "$@" >> "$ANSWERS/statuses"
}
"""


def walkthrough(port: int, key: str) -> str:
    blocks = BLOCK.findall(README.read_text())
    script = "\n".join(blocks)
    assert script.count("KEY=...") == 1, "the walkthrough starts from the key make run printed"
    script = script.replace("KEY=...", f"KEY='{key}'")
    return script.replace("127.0.0.1:8000", f"127.0.0.1:{port}")


@pytest.fixture
def database_url(tmp_path):
    """A database of its own for the walkthrough, on this run's engine."""
    settings = connection.settings_dict
    if connection.vendor != "postgresql":
        yield f"sqlite:///{tmp_path / 'readme.sqlite3'}"
        return
    name = f"{settings['NAME']}_readme"
    admin = (
        f"host={settings['HOST']} port={settings['PORT']} user={settings['USER']} dbname=postgres"
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class MakeRun:
    """``make run`` as the README gives it, on a free port, its output kept."""

    def __init__(self, port: int, env: dict[str, str]) -> None:
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [MAKE, "run", "HOST=127.0.0.1", f"PORT={port}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # runserver's reloader starts a child: stop them together
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                return
            except OSError:
                assert self.process.poll() is None, self.text()
                time.sleep(0.5)
        self.stop()
        raise AssertionError(f"make run did not serve:\n{self.text()}")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def text(self) -> str:
        return "".join(self.output)

    def stop(self) -> None:
        os.killpg(self.process.pid, 15)
        self.process.wait(timeout=30)


def _answer(path: Path) -> tuple[dict[str, str], object]:
    """The headers (with ``curl -i``) and the JSON of one recorded answer."""
    text = path.read_bytes().decode()
    headers: dict[str, str] = {}
    if text.startswith("HTTP/"):
        head, _, text = text.partition("\r\n\r\n")
        headers = {
            name.lower(): value
            for name, _, value in (line.partition(": ") for line in head.splitlines()[1:])
        }
    return headers, json.loads(text)


def test_the_readme_walkthrough_runs_as_written(tmp_path, database_url):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(DATABASE_URL=database_url)
    server = MakeRun(port, env)
    try:
        printed = server.text()
        key = re.search(r"^Demo API key: (\S+)$", printed, re.MULTILINE)
        assert key, printed
        # The addresses make run prints follow PORT.
        assert f"http://127.0.0.1:{port}/admin/" in printed
        assert "127.0.0.1:8000" not in printed

        answers = tmp_path / "answers"
        answers.mkdir()
        run = subprocess.run(
            [BASH, "-c", CURL_RECORDER + walkthrough(port, key.group(1))],
            cwd=ROOT,
            env={**env, "ANSWERS": str(answers)},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        report = f"{run.stdout}\n{run.stderr}\n--- make run ---\n{server.text()[-5000:]}"
        assert run.returncode == 0, report
    finally:
        server.stop()

    statuses = (answers / "statuses").read_text().split()
    assert statuses == [
        "200", "200", "200", "200", "201", "200",  # Try the API
        "201", "201", "201", "200",  # Stock
        "201", "200", "200", "409",  # Orders
        "201", "201", "201", "201", "200",  # Stores and stock
        "201", "200", "200", "200", "200",  # Transfers...
        "201", "200", "200", "200",  # ...counts...
        "200", "200", "201",  # ...and replenishment
    ], report  # fmt: skip
    got = {n: _answer(answers / str(n)) for n in range(1, len(statuses) + 1)}

    assert got[1][1]["count"] == 13
    # Tees whose L-XL is in stock, cheapest first (the Black tee before the White at one price).
    tees = [(p["name"], p["color"], p["price"]) for p in got[2][1]["results"]]
    assert tees == [
        ("Organic Cotton Tee", "Black", "29.90"),
        ("Organic Cotton Tee", "White", "29.90"),
        ("Boxy Pocket Tee", "Sage", "34.00"),
        ("Striped Breton Tee", "Navy", "39.00"),
    ]
    assert [v["sku"] for v in got[3][1]["results"]] == ["DEMO-001-LXL"]
    assert [v["sku"] for v in got[4][1]["results"]] == ["DEMO-001-LXL"]
    headers, linen = got[5]
    assert (linen["name"], linen["collection"], len(linen["variants"])) == ("Linen Tee", "SS25", 2)
    assert headers["location"] == f"/api/v1/products/{linen['id']}/"
    assert (got[6][1]["name"], got[6][1]["is_active"]) == ("Drawstring Linen Pant", False)

    assert got[7][1]["variant"]["quantity"] == 26
    headers, replayed = got[8]
    assert headers["idempotent-replayed"] == "true"
    assert replayed == got[7][1]
    assert got[9][1]["variant"]["quantity"] == 17
    reasons = [movement["reason"] for movement in got[10][1]["results"]]
    assert reasons == ["count_correction", "received", "initial"]

    order = got[11][1]
    assert (order["id"], order["status"], order["total"]) == (1, "placed", "29.90")
    assert (got[12][1]["status"], got[13][1]["status"]) == ("paid", "cancelled")
    error = got[14][1]["error"]
    assert (error["code"], error["details"]["lines"][0]["sku"]) == (
        "insufficient_stock",
        "DEMO-001-LXL",
    )

    store = got[15][1]
    assert (store["code"], store["kind"], store["is_default"]) == ("STORE-01", "store", False)
    delivered = got[16][1]
    assert delivered["variant"]["sku"] == "DEMO-001-LXL"
    assert (delivered["movement"]["location"], delivered["movement"]["on_hand_after"]) == (
        "STORE-01",
        6,
    )
    till_sale, web_order = got[17][1], got[18][1]
    assert (till_sale["status"], till_sale["location"]) == ("fulfilled", "STORE-01")
    assert (web_order["status"], web_order["location"]) == ("placed", "MAIN")
    levels = {row["location"]: row for row in got[19][1]["results"]}
    assert (levels["STORE-01"]["on_hand"], levels["STORE-01"]["committed"]) == (5, 0)
    assert levels["MAIN"]["committed"] == 1

    draft, shipped, in_transit = got[20][1], got[21][1], got[22][1]["results"]
    assert (draft["id"], draft["status"], draft["number"][:3]) == (1, "draft", "TR-")
    assert shipped["status"] == "in_transit"
    assert [(row["on_hand"], row["incoming"]) for row in in_transit] == [(0, 4)]
    partly, closed = got[23][1], got[24][1]
    assert (partly["status"], partly["lines"][0]["quantity_received"]) == ("in_transit", 3)
    assert (closed["status"], closed["shortfall"], closed["lines"][0]["quantity_lost"]) == (
        "received",
        1,
        1,
    )
    count, entry, preview, applied = (got[n][1] for n in (25, 26, 27, 28))
    assert (count["reference"], count["status"], count["lines_total"]) == ("COUNT-1", "open", 2)
    assert (entry["counted"], entry["expected_at_entry"]) == (4, 5)
    assert [(c["sku"], c["units"]) for c in preview["corrections"]] == [("DEMO-001-LXL", -1)]
    assert (applied["status"], applied["units"]) == ("applied", -1)
    level, suggestion, replenishing = got[29][1], got[30][1], got[31][1]
    assert (level["on_hand"], level["low_stock_threshold"], level["target"]) == (4, 4, 6)
    assert [(line["sku"], line["needed"], line["suggested"]) for line in suggestion["lines"]] == [
        ("DEMO-001-LXL", 2, 2)
    ]
    assert (replenishing["status"], replenishing["lines"][0]["quantity"]) == ("draft", 2)

    # The commands of the walkthrough said what the README says they say.
    assert "refused: applied already" in run.stdout
    for name in ("web-shop", "back-office", "ops"):
        assert name in run.stdout


def _slug(heading: str) -> str:
    """The anchor a Markdown renderer gives a heading: lower case, punctuation dropped, spaces
    as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_the_readmes_links_to_its_own_sections_lead_somewhere():
    text = README.read_text()
    prose = re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)
    anchors = {_slug(h) for h in re.findall(r"^#+ (.+)$", prose, flags=re.MULTILINE)}
    links = set(re.findall(r"\]\(#([^)]+)\)", prose))
    assert links, "the README links to none of its sections: is the pattern still right?"
    assert links - anchors == set()
