"""Server-owned fields cannot be set through the API.

Every write endpoint gets a body stuffed with what the server owns: ids (an existing object's,
to try to overwrite it), generated SKUs, quantities and stock flags, prices, totals and line
totals, order status, number and currency, owners (API key, user, actor), timestamps and the
ledger's fields. Each is refused by name (400) and changes nothing; the same body without them
then changes exactly what it is meant to, with the server's values. Each test compares every row
of the project's tables before and after.
"""

import pytest

# The shared checks report their failures in full.
pytest.register_assert_rewrite("core.api.tests.mass_assignment.support")
