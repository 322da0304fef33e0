"""Property-based fuzzing of the live API against its own OpenAPI schema.

Schemathesis reads /api/schema/ from gunicorn (production settings, the test database) and sends
generated requests, valid and invalid, to every operation. No answer may be a server error, and
every answer must be what the schema says: a documented status, content type, headers and body.
The seed and the number of cases are fixed, so a run is repeatable and fits the CI budget.
"""

import json
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from catalog.services import VariantSpec, product_create
from inventory_project.actors import system_actor
from inventory_project.api.authentication import api_key_actor
from inventory_project.api.models import Scope
from inventory_project.api.services import api_key_create
from inventory_project.tests.support import Server, database_url
from orders.services import LineRequest, order_place, order_transition

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SEED = 20250505
CASES_PER_OPERATION = 25
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
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
    return {
        "products": [product.pk for product in products],
        "variants": variants,
        "orders": [order.pk for order in orders],
        "order_lines": [line.pk for order in orders for line in order.lines.all()],
    }


def _config(ids):
    """schemathesis.toml: the dictionaries of existing ids and where they are used."""
    bindings = {
        r"^/api/v1/products/\{id\}/$": {"path.id": "products"},
        r"^/api/v1/variants/\{id\}/": {"path.id": "variants"},
        r"^/api/v1/variants/$": {"body.product": "products"},
        r"^/api/v1/orders/\{id\}/": {"path.id": "orders", "body.lines[*].line": "order_lines"},
        r"^/api/v1/orders/$": {"body.lines[*].variant": "variants"},
    }
    lines = [
        # As text: path ids are strings in the schema; integers are read from text too.
        f"[dictionaries.{name}]\nvalues = {json.dumps([str(value) for value in values])}\n"
        for name, values in ids.items()
    ]
    for path, parameters in bindings.items():
        table = ", ".join(
            f'"{key}" = {{ dictionary = "{name}", probability = 0.5 }}'
            for key, name in parameters.items()
        )
        lines.append(
            f"[[operations]]\ninclude-path-regex = {json.dumps(path)}\nparameters = {{ {table} }}\n"
        )
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
            f"--checks={','.join(CHECKS)}",
            f"--seed={SEED}",
            f"--max-examples={CASES_PER_OPERATION}",
            "--generation-database=none",
            "--phases=examples,coverage,fuzzing",
            # One worker: Hypothesis parses lambdas' source, and CPython 3.11's parser is not
            # safe across threads ("AST constructor recursion depth mismatch").
            "--workers=1",
            "--no-color",
            "--request-timeout=10",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    elapsed = time.monotonic() - started
    log = server.log()
    report = f"{run.stdout[-20_000:]}\n{run.stderr[-5_000:]}\n--- server log ---\n{log[-20_000:]}"
    assert run.returncode == 0, report
    print(f"schemathesis took {elapsed:.0f}s\n{run.stdout[-3000:]}")  # noqa: T201
