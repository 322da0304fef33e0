"""A client generated from the schema with openapi-python-client builds, imports and works end
to end against the real server (gunicorn, production settings), using only the generated code."""

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from catalog.services import VariantSpec, product_create
from core.actors import system_actor
from core.api.models import Scope
from core.api.services import api_key_create
from inventory_project.tests.support import Server, database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

WALKTHROUGH = Path(__file__).parent / "client" / "sdk_walkthrough.py"
BIN = Path(sys.executable).parent


def _run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


def test_a_generated_client_works_end_to_end(tmp_path):
    for number in range(4):
        product_create(
            category="Pants",
            name=f"Chino {number}",
            color="Khaki",
            price=Decimal("74.00"),
            collection="FW24",
            variants=[VariantSpec(size="S-M", quantity=1)],
            actor=system_actor("test"),
        )
    _, raw_key = api_key_create(name="sdk", scopes=Scope.values)
    server = Server(database_url())
    try:
        status, _, schema = server.get("/api/schema/", {"Accept": "application/json"})
        assert status == 200
        (tmp_path / "schema.json").write_bytes(schema)
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        generated = _run(
            [
                str(BIN / "openapi-python-client"),
                "generate",
                "--path",
                "schema.json",
                "--meta",
                "none",
            ],
            cwd=tmp_path,
            env=env,
        )
        # No part of the schema was skipped or misunderstood.
        assert "Warning" not in generated.stdout + generated.stderr, generated.stdout
        run = _run(
            [sys.executable, str(WALKTHROUGH), f"http://127.0.0.1:{server.port}", raw_key],
            cwd=tmp_path,
            env={**env, "PYTHONPATH": str(tmp_path)},
        )
    finally:
        server.stop()
    assert run.stdout.startswith("ok: 5 products on 3 pages"), run.stdout
