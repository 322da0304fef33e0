"""Locations changed at once from many requests (PostgreSQL, threads released together by a
barrier): one default whatever the order, and a code taken by one of them only."""

import functools

import pytest

from catalog.tests.support import race
from core.exceptions import Conflict
from stock.locations import location_create, location_update
from stock.models import Location

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

THREADS = 6


def _make_default(code: str) -> Location:
    return location_update(location=Location.objects.get(code=code), data={"is_default": True})


def test_locations_made_the_default_at_once_leave_exactly_one_default():
    # Given six shops, none the default
    codes = [f"SHOP-{n}" for n in range(THREADS)]
    for code in codes:
        location_create(code=code, name=code, kind="store")

    # When each is made the default at the same moment
    outcomes = race([functools.partial(_make_default, code) for code in codes])

    # Then every request succeeded (each waited for the one before), and one default remains
    assert all(isinstance(outcome, Location) for outcome in outcomes), outcomes
    defaults = list(Location.objects.filter(is_default=True).values_list("code", flat=True))
    assert len(defaults) == 1
    assert defaults[0] in codes


def test_one_code_claimed_at_once_goes_to_one_request_the_others_hear_of_a_conflict():
    outcomes = race(
        [
            functools.partial(location_create, code="web", name=f"Web {n}", kind="online")
            for n in range(THREADS)
        ]
    )

    created = [outcome for outcome in outcomes if isinstance(outcome, Location)]
    conflicts = [outcome for outcome in outcomes if isinstance(outcome, Conflict)]
    assert (len(created), len(conflicts)) == (1, THREADS - 1), outcomes
    assert all(c.details == {"code": ["Another location has this code; codes are unique."]}
               for c in conflicts)  # fmt: skip
    assert Location.objects.filter(code="WEB").count() == 1
