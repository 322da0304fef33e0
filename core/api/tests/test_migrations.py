"""The idempotency keys kept across the migration that stores answers as written."""

import json

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("api", "0003_manager_permissions")]
AFTER = [("api", "0004_idempotency_answers_as_written")]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_stored_answer_survives_the_migration_and_replays():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        body = {"id": 7, "number": "A-1", "lines": [{"sku": "X", "quantity": 2}]}
        old.get_model("api", "IdempotencyKey").objects.create(
            caller="api_key:1",
            key="k",
            method="POST",
            path="/api/v1/orders/",
            fingerprint="f" * 64,
            status_code=201,
            response_body=body,
        )

        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)

        new = executor.loader.project_state(AFTER).apps
        row = new.get_model("api", "IdempotencyKey").objects.get()
        # Whatever spacing the database wrote, the same JSON, and no headers to replay.
        assert json.loads(row.response_body) == body
        assert row.response_headers == {}
    finally:
        new_model = MigrationExecutor(connection).loader.project_state(AFTER).apps
        new_model.get_model("api", "IdempotencyKey").objects.all().delete()
        MigrationExecutor(connection).migrate(latest)
