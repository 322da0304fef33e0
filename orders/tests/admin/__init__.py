"""Orders in the admin: every staff role sees orders with their lines; nothing about an order is
editable (money, status, lines), nothing is added or deleted; status changes only through the
actions, which call the order services, so a cancel here restocks through the ledger in the staff
user's name; returns are listed read-only."""

import pytest

# The shared helpers assert; their failures are reported in full.
pytest.register_assert_rewrite("orders.tests.admin.support")
