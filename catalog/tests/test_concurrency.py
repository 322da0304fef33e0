"""Races that only a real server can show: PostgreSQL, threads behind a barrier."""

import threading
from decimal import Decimal

import pytest

from catalog.models import IssuedSku, Variant
from catalog.services import product_create, variant_create
from catalog.tests.support import race
from core.actors import system_actor
from core.exceptions import Conflict

ACTOR = system_actor("test")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _product(name):
    return product_create(
        category="Tees",
        name=name,
        color="Black",
        price=Decimal("10"),
        collection="FW24",
        actor=ACTOR,
    )


def test_two_writers_claiming_one_sku_one_wins_and_the_other_gets_a_clear_error():
    products = [_product(f"Tee {n}") for n in range(4)]

    outcomes = race(
        [
            lambda p=p: variant_create(product=p, size="S-M", sku="SAME-SKU", actor=ACTOR)
            for p in products
        ]
    )

    winners = [o for o in outcomes if isinstance(o, Variant)]
    losers = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(winners) == 1, outcomes
    assert len(losers) == 3, outcomes
    assert all("sku" in error.details for error in losers)
    assert Variant.objects.filter(sku="SAME-SKU").count() == 1
    assert IssuedSku.objects.filter(sku="SAME-SKU").count() == 1


def test_concurrent_generated_skus_never_collide():
    products = [_product(f"Tee {n}") for n in range(4)]

    outcomes = race(
        [
            lambda p=p, s=s: variant_create(product=p, size=s, actor=ACTOR)
            for p in products
            for s in ("S-M", "L-XL")
        ]
    )

    assert all(isinstance(o, Variant) for o in outcomes), outcomes
    skus = [variant.sku for variant in outcomes]
    assert len(set(skus)) == len(skus) == 8


def test_a_product_cannot_be_deleted_while_a_variant_with_stock_is_being_added():
    from django.db import transaction

    from catalog.models import Product
    from catalog.services import VariantSpec, product_delete
    from core.exceptions import Protected

    product = product_create(
        category="Tees",
        name="Tee",
        color="Black",
        price=Decimal("10"),
        collection="FW24",
        variants=[VariantSpec(size="S-M", quantity=0)],
        actor=ACTOR,
    )
    added = threading.Event()

    def add_variant_with_stock():
        with transaction.atomic():
            variant = variant_create(product=product, size="L-XL", quantity=7, actor=ACTOR)
            added.set()
            # Hold the transaction open while the delete starts.
            threading.Event().wait(0.5)
        return variant

    def delete_product():
        added.wait(5)
        product_delete(product=product)

    outcomes = race([add_variant_with_stock, delete_product])

    assert isinstance(outcomes[0], Variant), outcomes
    assert isinstance(outcomes[1], Protected), outcomes
    assert Product.objects.filter(pk=product.pk).exists()
    assert Variant.objects.get(product=product, size="L-XL").quantity == 7
