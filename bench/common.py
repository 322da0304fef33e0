"""What every part of the benchmark shares: where things are, how a line is printed."""

import sys
from pathlib import Path
from typing import Any

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
