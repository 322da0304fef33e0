"""Every door that changes what the catalog shows bumps its version, once it commits."""

import logging
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from catalog import services, versions
from catalog.models import Product, Variant
from catalog.services import VariantSpec
from catalog.tests.support import commit_callbacks
from core.actors import system_actor
from core.api.authentication import api_key_actor
from core.api.models import Scope
from core.api.services import api_key_create
from orders import services as order_services
from orders.models import Order
from orders.services import LineRequest, ReturnRequest
from stock import services as stock_services

pytestmark = pytest.mark.django_db

ACTOR = system_actor("test")
# A file of its own: the sample file is written for the demo catalog.
IMPORT_FILE = (
    "sku,product,category,color,collection,price,size,received\n"
    "NEW-SM,Linen Tee,Tees,Sand,SS25,35.00,S-M,3\n"
)


@pytest.fixture
def tee(make_product) -> Product:
    product: Product = make_product(name="Tee", stock={"S-M": 5, "L-XL": 2})
    return product


@pytest.fixture
def committed(tee):
    """Run a write as if its transaction committed; return how much the version moved."""

    def run(write: Callable[[], Any]) -> int:
        commit_callbacks()  # what the fixtures wrote
        before = versions.current()
        write()
        commit_callbacks()
        return versions.current() - before

    return run


def _variant(product: Product, size: str = "S-M") -> Variant:
    return product.variants.get(size=size)


def _order(product: Product) -> Order:
    shop, _ = api_key_create(name="web-shop", scopes=[Scope.ORDERS_WRITE])
    return order_services.order_place(
        lines=[LineRequest(variant_id=_variant(product).pk, quantity=1)],
        actor=api_key_actor(shop),
    )


def _returned(product: Product) -> None:
    order = _order(product)
    for action in ("pay", "fulfil"):
        order_services.order_transition(order_id=order.pk, action=action, actor=ACTOR)
    line = order.lines.get()
    order_services.order_return(
        order_id=order.pk, lines=[ReturnRequest(line_id=line.pk, quantity=1)], actor=ACTOR
    )


def _expired(product: Product) -> None:
    order = _order(product)
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(hours=2))
    call_command("expire_orders", "--older-than", "1h", stdout=StringIO())


def _imported(product: Product) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "import.csv"
        path.write_text(IMPORT_FILE)
        call_command("import_catalog", str(path), stdout=StringIO())


def _chino(*variants: VariantSpec) -> Product:
    return services.product_create(
        category="Pants",
        name="Chino",
        color="Sand",
        price=Decimal("59.00"),
        collection="SS25",
        actor=ACTOR,
        variants=variants,
    )


WRITES: dict[str, Callable[[Product], Any]] = {
    "product created": lambda tee: _chino(VariantSpec(size="One Size", quantity=1)),
    "product changed": lambda tee: services.product_update(
        product=tee, data={"price": Decimal("9.90")}
    ),
    "product archived": lambda tee: services.product_update(product=tee, data={"is_active": False}),
    "product deleted": lambda tee: services.product_delete(product=_chino()),
    "variant created": lambda tee: services.variant_create(
        product=tee, size="One Size", quantity=0, actor=ACTOR
    ),
    "variant changed": lambda tee: services.variant_update(
        variant=_variant(tee), data={"low_stock_threshold": 9}
    ),
    "variant deleted": lambda tee: services.variant_delete(
        variant=services.variant_create(product=tee, size="One Size", quantity=0, actor=ACTOR)
    ),
    "stock adjusted": lambda tee: stock_services.stock_adjust(
        variant_id=_variant(tee).pk, delta=3, reason="received", actor=ACTOR
    ),
    "stock counted": lambda tee: stock_services.stock_count(
        variant_id=_variant(tee).pk, quantity=1, actor=ACTOR
    ),
    "order placed": _order,
    "order cancelled": lambda tee: order_services.order_transition(
        order_id=_order(tee).pk, action="cancel", actor=ACTOR
    ),
    "order returned": _returned,
    "orders expired by the command": _expired,
    "catalog imported by the command": _imported,
    "catalog_changed command": lambda tee: call_command("catalog_changed", stdout=StringIO()),
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_every_write_bumps_the_version_on_commit(tee, committed, write):
    assert committed(lambda: write(tee)) >= 1


def test_the_version_moves_once_per_transaction(tee, committed):
    variant = _variant(tee)

    def three_changes() -> None:
        for _ in range(3):
            stock_services.stock_adjust(
                variant_id=variant.pk, delta=1, reason="received", actor=ACTOR
            )

    # The test's own transaction holds all three: one commit, one bump.
    assert committed(three_changes) == 1


def test_a_write_that_fails_does_not_bump(tee, committed):
    def oversell() -> None:
        with pytest.raises(Exception, match="stock"):
            stock_services.stock_adjust(
                variant_id=_variant(tee, "L-XL").pk, delta=-3, reason="damaged", actor=ACTOR
            )

    assert committed(oversell) == 0


def test_nothing_is_bumped_before_the_commit(tee):
    commit_callbacks()
    before = versions.current()
    stock_services.stock_adjust(
        variant_id=_variant(tee).pk, delta=1, reason="received", actor=ACTOR
    )
    assert versions.current() == before
    commit_callbacks()
    assert versions.current() == before + 1


def test_admin_changes_bump_the_version(tee, committed, login, manager, store_staff):
    web = login(manager)
    archived = committed(
        lambda: web.post(
            reverse("admin:catalog_product_changelist"),
            {"action": "archive", "_selected_action": [tee.pk]},
        )
    )
    assert archived == 1
    assert Product.objects.get(pk=tee.pk).is_active is False

    clerk = login(store_staff)
    variant = _variant(tee)
    received = committed(
        lambda: clerk.post(
            reverse("admin:catalog_variant_changelist"),
            {
                "action": "receive_stock",
                "_selected_action": [variant.pk],
                "apply": "Receive stock",
                "receive-TOTAL_FORMS": "1",
                "receive-INITIAL_FORMS": "1",
                "receive-MIN_NUM_FORMS": "0",
                "receive-MAX_NUM_FORMS": "1000",
                "receive-0-variant": str(variant.pk),
                "receive-0-quantity": "4",
                "receive-0-reason": "received",
            },
        )
    )
    assert received == 1
    assert Variant.objects.get(pk=variant.pk).quantity == 9


def test_migrate_bumps_the_version(committed):
    # A data migration can change the catalog behind every service.
    assert committed(lambda: call_command("migrate", verbosity=0)) >= 1


def test_a_lost_version_starts_again_above_every_version_issued(tee, committed):
    issued = versions.current()
    cache.delete(versions.VERSION_KEY)  # Redis restarted, or evicted the key
    assert versions.current() > issued
    assert committed(lambda: services.product_update(product=tee, data={"name": "Tee 2"})) == 1


def test_a_bump_that_fails_is_logged_and_the_write_stands(tee, committed, monkeypatch, caplog):
    def broken(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "incr", broken)
    with caplog.at_level(logging.ERROR, logger="catalog.versions"):
        committed(lambda: services.product_update(product=tee, data={"name": "Still saved"}))
    assert Product.objects.get(pk=tee.pk).name == "Still saved"
    assert "catalog version not bumped" in caplog.text


@pytest.fixture
def redis_cache(settings) -> Any:
    """The default cache on the machine's Redis, under a prefix of this test's own."""
    import uuid

    prefix = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/0",
            "KEY_PREFIX": prefix,
        }
    }
    yield cache
    cache.delete(versions.VERSION_KEY)


def test_with_redis_a_lost_version_starts_above_the_clock_and_counts_up(redis_cache):
    before = time.time_ns()
    versions._bump()  # no version yet
    started = versions.current()
    assert started > before
    versions._bump()
    versions._bump()
    assert versions.current() == started + 2


def test_with_redis_reading_the_version_is_one_command(redis_cache, monkeypatch):
    from redis import Redis

    versions.current()  # started
    sent: list[str] = []
    execute_command = Redis.execute_command

    def counted(client: Redis, *args: Any, **kwargs: Any) -> Any:
        sent.append(args[0])
        return execute_command(client, *args, **kwargs)

    monkeypatch.setattr(Redis, "execute_command", counted)
    before = versions.current()
    assert sent == ["GET"]
    redis_cache.delete(versions.VERSION_KEY)  # Redis restarted, or evicted the key
    assert versions.current() > before


def test_a_new_or_changed_location_bumps_the_version_its_levels_are_read_at(committed):
    # A variant's detail lists its levels at every active location (cached by this version).
    from stock.locations import location_create, location_update

    created: list[Any] = []
    assert (
        committed(lambda: created.append(location_create(code="S1", name="Shop", kind="store")))
        == 1
    )
    assert committed(lambda: location_update(location=created[0], data={"name": "High St"})) == 1
