"""The benchmark of the API against the raw floor of the machine (see bench/run.py)."""
