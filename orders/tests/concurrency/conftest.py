"""After every concurrency test, each variant's quantity is the sum of its movements."""

from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.management import call_command


@pytest.fixture(autouse=True)
def _ledger_reconciles_after_each_test(transactional_db: None) -> Iterator[None]:
    yield
    # Raises CommandError, failing the test, if any quantity drifted from its movements.
    call_command("reconcile_stock", stdout=StringIO(), stderr=StringIO())
