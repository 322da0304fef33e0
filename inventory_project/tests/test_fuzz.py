"""Property-based fuzzing of the live API against its own OpenAPI schema.

Schemathesis reads /api/schema/ from gunicorn (production settings, the test database) and sends
generated requests, valid and invalid, to every operation, then chains them (the stateful phase:
what a POST made, the next requests use). Every check runs: no server error; every answer what
the schema says (a documented status, content type, headers and body); a request the schema
calls valid never refused for its shape; an invalid one always refused; undeclared methods 405.
The seed and the number of cases are fixed, so a run is repeatable and fits the CI budget.
"""

import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from catalog.services import VariantSpec, product_create
from core.actors import system_actor
from core.api.authentication import api_key_actor
from core.api.models import Scope
from core.api.services import api_key_create
from inventory_project.tests.support import ROOT, Server, database_url
from orders.services import LineRequest, order_place, order_transition
from stock.counts import count_start
from stock.locations import location_create
from stock.selectors import location_default
from stock.transfers import TransferLineRequest, transfer_create, transfer_ship

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SEED = 20250505
CASES_PER_OPERATION = 25
HOOKS = "inventory_project.tests.fuzz_hooks"
UNLIMITED = "1000000/min"


@pytest.fixture
def server():
    started = Server(
        database_url(),
        THROTTLE_RATE_READ=UNLIMITED,
        THROTTLE_RATE_WRITE=UNLIMITED,
        THROTTLE_RATE_ORDER=UNLIMITED,
        THROTTLE_RATE_ANON=UNLIMITED,
    )
    yield started
    started.stop()


def _seed(api_key):
    """Products, variants and orders in every status, owned by the fuzzer's key; returns the
    ids for the dictionaries that steer about half of the generated ids to existing rows."""
    actor = api_key_actor(api_key)
    products = [
        product_create(
            category="Tees",
            name=f"Fuzz Tee {number}",
            color="Black",
            price=Decimal("29.90"),
            collection=collection,
            variants=[VariantSpec(size="S-M", quantity=500), VariantSpec(size="L-XL", quantity=0)],
            actor=system_actor("fuzz"),
        )
        for number, collection in enumerate(["FW24", "SS25", "FW25"], start=1)
    ]
    variants = [variant.pk for product in products for variant in product.variants.all()]
    orders = []
    for steps in ([], ["pay"], ["pay", "fulfil"], ["cancel"]):
        order = order_place(lines=[LineRequest(variant_id=variants[0], quantity=2)], actor=actor)
        for step in steps:
            order_transition(order_id=order.pk, action=step, actor=actor)
        orders.append(order)
    store = location_create(code="STORE-F", name="Fuzz shop", kind="store")
    transfers = []
    for ship in (False, True):
        transfer = transfer_create(
            from_location=location_default(),
            to_location=store,
            lines=[TransferLineRequest(variant_id=variants[0], quantity=3)],
            actor=actor,
        )
        if ship:
            transfer_ship(transfer_id=transfer.pk, actor=actor)
        transfers.append(transfer)
    count = count_start(location=store, actor=actor)
    return {
        "products": [product.pk for product in products],
        "variants": variants,
        "orders": [order.pk for order in orders],
        "order_lines": [line.pk for order in orders for line in order.lines.all()],
        "locations": ["MAIN", "main", "STORE-F"],
        "transfers": [transfer.pk for transfer in transfers],
        "transfer_lines": [line.pk for transfer in transfers for line in transfer.lines.all()],
        "counts": [count.pk],
    }


# Operations with a rule across fields, items or the data that the schema states in prose only
# (JSON Schema could say some of it only as a union of types, which client generators render
# badly): a schema-valid request may be refused there with 400 naming the rule. Every other
# operation must take every request the schema calls valid.
RULES_IN_PROSE = {
    "products_create": "one variant per size within the body",
    "variants_create": "the product named must exist",
    "orders_create": "each line's variant exists, is for sale and appears once; location "
    "names an active location",
    "orders_returns": "each line is a line of this order, given once, not returned beyond sold; "
    "location names an active location",
    "variants_adjust": "the sign of delta follows the reason; location names an active location",
    "variants_count": "location names an active location",
    "reports_stock_value": "location names a location",
    "locations_create": "an archived location is not the default",
    "locations_partial_update": "the default stays active, and stays the default until another "
    "location takes it",
    "transfers_create": "from_location and to_location are two different active locations; "
    "each line's variant exists and appears once",
    "transfers_receive": "each line is a line of this transfer, given once, at most the units "
    "still in transit",
    "reports_sales": "date_from is not after date_to, and the range is 366 days at most",
    "counts_create": "location names an active location with no count open; product, when "
    "given, an active product",
    "counts_lines": "exactly one of barcode, sku and variant, naming a variant the session counts",
    "replenishment_retrieve": "to and from name two different active locations",
    "webhooks_create": "url is an https address of a public host",
    "replenishment_create": "to and from name two different active locations, and there is "
    "something to suggest",
    **dict.fromkeys(
        ("products_list", "products_retrieve", "variants_list", "variants_retrieve"),
        "location names an active location",
    ),
}
# What the data may refuse a valid request with: 404 (no such object), 409 (a conflict with
# the data), 422 (an Idempotency-Key the fuzzer drew twice for two bodies).
VALID_REFUSALS = ["2xx", "401", "403", "404", "409", "422", "429"]
# Existing ids, used for half of the generated ids in paths and most of those in bodies.
DICTIONARY_PARAMETERS = {
    "products_list": {"query.location": "locations"},
    "products_retrieve": {"path.id": "products", "query.location": "locations"},
    "products_update": {"path.id": "products"},
    "products_partial_update": {"path.id": "products"},
    "products_destroy": {"path.id": "products"},
    "variants_create": {"body.product": "products"},
    "orders_create": {"body.lines[*].variant": "variants"},
    "orders_returns": {"path.id": "orders", "body.lines[*].line": "order_lines"},
    "variants_list": {"query.location": "locations"},
    "reports_stock_value": {"query.location": "locations"},
    **{
        f"variants_{name}": {"path.id": "variants"}
        for name in (
            "update", "partial_update", "destroy", "adjust", "count", "movements_list",
        )
    },
    "variants_retrieve": {"path.id": "variants", "query.location": "locations"},
    "transfers_create": {
        "body.from_location": "locations",
        "body.to_location": "locations",
        "body.lines[*].variant": "variants",
    },
    "transfers_receive": {"path.id": "transfers", "body.lines[*].line": "transfer_lines"},
    **{
        f"transfers_{name}": {"path.id": "transfers"}
        for name in ("retrieve", "ship", "close", "cancel")
    },
    **{f"orders_{name}": {"path.id": "orders"} for name in ("retrieve", "pay", "fulfil", "cancel")},
    "counts_create": {"body.location": "locations"},
    "counts_lines": {"path.id": "counts", "body.variant": "variants"},
    **{f"counts_{name}": {"path.id": "counts"} for name in ("retrieve", "preview", "apply", "cancel")},
    "replenishment_retrieve": {"query.to": "locations", "query.from": "locations"},
    "replenishment_create": {"body.to": "locations", "body.from": "locations"},
}  # fmt: skip


def _config(ids):
    """schemathesis.toml: the dictionaries of existing ids, and per operation where they are
    used and what a valid request may be refused with."""
    lines = [
        f"[dictionaries.{name}]\nvalues = {json.dumps(values)}\n" for name, values in ids.items()
    ]
    lines.append(
        f"[checks.positive_data_acceptance]\nexpected-statuses = {json.dumps(VALID_REFUSALS)}\n"
    )
    for operation_id in sorted(DICTIONARY_PARAMETERS.keys() | RULES_IN_PROSE.keys()):
        block = f"[[operations]]\ninclude-operation-id = {json.dumps(operation_id)}\n"
        parameters = DICTIONARY_PARAMETERS.get(operation_id, {})
        if parameters:
            # Ids in bodies mostly existing ones, so that the business rules are reached.
            table = ", ".join(
                f'"{key}" = {{ dictionary = "{name}", '
                f"probability = {0.5 if key.startswith('path.') else 0.9} }}"
                for key, name in parameters.items()
            )
            block += f"parameters = {{ {table} }}\n"
        if operation_id in RULES_IN_PROSE:
            statuses = json.dumps([*VALID_REFUSALS, "400"])
            block += f"checks.positive_data_acceptance.expected-statuses = {statuses}\n"
        lines.append(block)
    return "\n".join(lines)


def test_the_live_api_honours_its_schema(server, tmp_path: Path):
    api_key, raw_key = api_key_create(name="fuzzer", scopes=Scope.values)
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config(_seed(api_key)))

    started = time.monotonic()
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "st"),
            f"--config-file={config}",
            "run",
            f"http://127.0.0.1:{server.port}/api/schema/",
            f"--header=Authorization: Api-Key {raw_key}",
            "--checks=all",
            f"--seed={SEED}",
            f"--max-examples={CASES_PER_OPERATION}",
            "--generation-database=none",
            "--phases=examples,coverage,fuzzing,stateful",
            # One worker: Hypothesis parses lambdas' source, and CPython 3.11's parser is not
            # safe across threads ("AST constructor recursion depth mismatch").
            "--workers=1",
            "--no-color",
            "--request-timeout=10",
        ],
        cwd=tmp_path,
        env={**os.environ, "SCHEMATHESIS_HOOKS": HOOKS, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    elapsed = time.monotonic() - started
    log = server.log()
    report = f"{run.stdout[-20_000:]}\n{run.stderr[-5_000:]}\n--- server log ---\n{log[-20_000:]}"
    assert run.returncode == 0, report
    # Every phase ran, the stateful one included, and found nothing.
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert f"✅ {phase}" in run.stdout, report
    print(f"schemathesis took {elapsed:.0f}s\n{run.stdout[-3000:]}")  # noqa: T201
