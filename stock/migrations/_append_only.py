"""The ledger's append-only triggers, as the migration that made them defines them (one
definition): migrations that rebuild the ledger's table drop them first and make them again."""

import importlib

_ledger = importlib.import_module("catalog.migrations.0003_stock_ledger")

make_append_only = _ledger.make_append_only
drop_append_only = _ledger.drop_append_only
