"""What the mass-assignment tests share: the addresses, the world every test starts from,
and comparing every row of the project's tables before and after."""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.contrib.auth.models import User
from django.utils import timezone

from catalog.models import Product, Variant
from core.api.models import ApiKey
from orders.models import Order

VARIANTS = "/api/v1/variants/"
LONG_AGO = "2001-01-01T00:00:00Z"


@dataclass
class TableChanges:
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: dict[int, dict[str, tuple[Any, Any]]] = field(default_factory=dict)


Rows = dict[str, dict[int, dict[str, Any]]]


def rows() -> Rows:
    """Every row of the project's own tables, by table and primary key."""
    models = [
        model
        for label in ("catalog", "stock", "orders", "api")
        for model in apps.get_app_config(label).get_models()
    ]
    return {
        model._meta.label: {row["id"]: row for row in model._default_manager.values()}
        for model in models
    }


def changes(before: Rows, after: Rows) -> dict[str, TableChanges]:
    """What changed, table by table; tables that did not change are left out."""
    result = {}
    for table in before:
        old, new = before[table], after[table]
        table_changes = TableChanges(
            added=[new[pk] for pk in sorted(new.keys() - old.keys())],
            removed=[old[pk] for pk in sorted(old.keys() - new.keys())],
            changed={
                pk: {
                    name: (old[pk][name], new[pk][name])
                    for name in old[pk]
                    if old[pk][name] != new[pk][name]
                }
                for pk in sorted(old.keys() & new.keys())
                if old[pk] != new[pk]
            },
        )
        if table_changes != TableChanges():
            result[table] = table_changes
    return result


def assert_recent(moment: Any) -> None:
    """A timestamp the server set just now, not one the client sent."""
    assert timezone.now() - timedelta(minutes=5) < moment <= timezone.now()


@dataclass
class World:
    product: Product
    other_product: Product
    small: Variant  # 10 units, minus the orders below
    other_small: Variant
    shop: ApiKey
    shop_raw: str
    other: ApiKey
    staff: User
    placed: Order  # the shop's
    fulfilled: Order  # the shop's
    others_order: Order


def server_owned_timestamps() -> dict[str, str]:
    return {"created_at": LONG_AGO, "updated_at": LONG_AGO}


def assert_refused(response: Any, before: Rows, details: dict[str, Any]) -> None:
    """A validation error naming exactly these fields, and not a row changed."""
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert _shape(error["details"]) == _shape(details), error["details"]
    assert changes(before, rows()) == {}


def _shape(details: Any) -> Any:
    """The field names of an error's details (or of a stuffed body), nested as they are."""
    if isinstance(details, dict):
        return {name: _shape(value) for name, value in details.items()}
    if isinstance(details, list) and details and isinstance(details[0], dict):
        return [_shape(item) for item in details]
    return None
