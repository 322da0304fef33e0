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


def test_delivery_rate_counts_intervals_between_the_first_and_last_receipt() -> None:
    # 11 receipts over 2 seconds: 10 intervals, 5 a second.
    assert delivery_rate([100.0 + 0.2 * n for n in range(11)]) == 5.0
    assert delivery_rate([3.0, 1.0, 2.0]) == 1.0  # order does not matter
    assert delivery_rate([1.0]) is None
    assert delivery_rate([1.0, 1.0]) is None


def test_paired_ratio_is_the_median_of_each_rounds_ratio() -> None:
    with_ = {1: 90.0, 2: 40.0, 3: 100.0}
    without = {1: 100.0, 2: 100.0, 3: 100.0, 4: 50.0}
    result = paired_ratio(with_, without)
    assert result["rounds"] == [0.9, 0.4, 1.0]
    # The median of the rounds' ratios, not the ratio of the medians (90 / 100).
    assert result["ratio"] == 0.9
    assert paired_ratio({1: 5.0}, {2: 5.0}) == {"ratio": None, "rounds": []}


def test_first_copies_keeps_each_events_first_receipt_and_counts_the_rest() -> None:
    def receipt(webhook_id: str, at: float) -> Receipt:
        return Receipt("/hook", webhook_id, at, 0.0, "product.updated")

    receipts = [receipt("a", 1.0), receipt("b", 2.0), receipt("a", 3.0), receipt("a", 4.0)]
    firsts, duplicates = first_copies(receipts)
    assert [(r.webhook_id, r.received_at) for r in firsts] == [("a", 1.0), ("b", 2.0)]
    assert duplicates == 2


def test_the_emitter_catches_up_to_its_rate() -> None:
    assert due(200.0, 0.02, 0) == 4
    assert due(200.0, 1.0, 150) == 50  # behind: emits what is due at once
    assert due(200.0, 1.0, 250) == 0  # never negative
