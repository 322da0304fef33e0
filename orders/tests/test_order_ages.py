"""The ages that expire_orders takes (45s, 30m, 2h, 1d) and the ones it refuses."""

import pytest

from orders.services import parse_age

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "seconds"), [("45s", 45), ("30m", 1800), ("2h", 7200), ("1d", 86400), ("30M", 1800)]
)
def test_ages_for_expire_orders(text, seconds):
    assert parse_age(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["0m", "m", "30", "30x", "-5m", "1.5h", ""])
def test_bad_ages_are_refused(text):
    with pytest.raises(ValueError, match="not an age"):
        parse_age(text)
