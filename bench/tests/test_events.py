"""The figures of the events stage (bench/events.py) and the emitter's pacing: pure functions,
no database."""

import pytest

from bench.emitter import due
from bench.events import (
    Receipt,
    delivery_rate,
    first_copies,
    lag_summary,
    paired_ratio,
    percentile,
)


def test_percentile_interpolates_between_the_closest_ranks() -> None:
    values = [5.0, 1.0, 3.0, 2.0, 4.0]  # unordered on purpose
    assert percentile(values, 0.0) == 1.0
    assert percentile(values, 0.5) == 3.0
    assert percentile(values, 1.0) == 5.0
    assert percentile(values, 0.95) == pytest.approx(4.8)
    assert percentile([7.0], 0.95) == 7.0


def test_percentile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="No values"):
        percentile([], 0.5)


def test_lag_summary_gives_percentiles_and_the_share_over_the_limit() -> None:
    lags = [0.1 * n for n in range(1, 101)]  # 0.1 s to 10 s
    summary = lag_summary(lags, limit=2.0)
    assert summary["events"] == 100
    assert summary["p50_s"] == pytest.approx(5.05)
    assert summary["p95_s"] == pytest.approx(9.505)
    assert summary["max_s"] == pytest.approx(10.0)
    # 2.0 itself is not over the limit; 2.1 to 10.0 are: 80 of 100.
    assert summary["over_limit"] == pytest.approx(0.8)
    assert lag_summary([]) == {"events": 0}


def receipt(webhook_id: str, *, occurred: float = 0.0, received: float = 0.0) -> Receipt:
    return Receipt("/hook", webhook_id, received, occurred, "product.updated")


def test_delivery_rate_runs_from_the_first_commit_to_the_last_receipt() -> None:
    # 10 events committed from t=0 to t=1, the first received at 3 s, the last at 5 s:
    # 10 in 5 seconds, though the receipts alone span 2.
    receipts = [receipt(str(n), occurred=0.1 * n, received=3.0 + 0.2 * n) for n in range(10)]
    receipts[-1] = receipt("9", occurred=0.9, received=5.0)
    assert delivery_rate(receipts) == 2.0
    assert delivery_rate(list(reversed(receipts))) == 2.0  # order does not matter
    assert delivery_rate([]) is None
    assert delivery_rate([receipt("a", occurred=1.0, received=1.0)]) is None


def test_paired_ratio_is_the_median_of_each_rounds_ratio() -> None:
    with_ = {1: 90.0, 2: 40.0, 3: 100.0}
    without = {1: 100.0, 2: 100.0, 3: 100.0, 4: 50.0}
    result = paired_ratio(with_, without)
    assert result["rounds"] == [0.9, 0.4, 1.0]
    # The median of the rounds' ratios, not the ratio of the medians (90 / 100).
    assert result["ratio"] == 0.9
    assert paired_ratio({1: 5.0}, {2: 5.0}) == {"ratio": None, "rounds": []}


def test_first_copies_keeps_each_events_first_receipt_and_counts_the_rest() -> None:
    receipts = [
        receipt("a", received=1.0),
        receipt("b", received=2.0),
        receipt("a", received=3.0),
        receipt("a", received=4.0),
    ]
    firsts, duplicates = first_copies(receipts)
    assert [(r.webhook_id, r.received_at) for r in firsts] == [("a", 1.0), ("b", 2.0)]
    assert duplicates == 2


def test_the_emitter_catches_up_to_its_rate() -> None:
    assert due(200.0, 0.02, 0) == 4
    assert due(200.0, 1.0, 150) == 50  # behind: emits what is due at once
    assert due(200.0, 1.0, 250) == 0  # never negative
