from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from catalog.models import IssuedSku, Product, Variant
from catalog.services import (
    VariantSpec,
    product_create,
    product_delete,
    product_update,
    variant_create,
    variant_delete,
    variant_update,
)
from core.actors import system_actor
from core.exceptions import Conflict, Protected

pytestmark = pytest.mark.django_db

ACTOR = system_actor("test")


def _create(**overrides):
    values = {
        "category": "Tees",
        "name": "Tee",
        "color": "Black",
        "price": Decimal("10.00"),
        "collection": "fw24",
        "actor": ACTOR,
        **overrides,
    }
    return product_create(**values)


def test_product_create_normalises_and_creates_variants_with_generated_skus():
    product = _create(
        name="  Tee  ",
        variants=[VariantSpec(size="S-M", quantity=3), VariantSpec(size="L-XL", sku="my-sku")],
    )
    assert (product.name, product.collection) == ("Tee", "FW24")
    skus = dict(product.variants.values_list("size", "sku"))
    assert skus == {"S-M": f"TEE-FW24-{product.pk:05d}-SM", "L-XL": "MY-SKU"}
    assert set(IssuedSku.objects.values_list("sku", flat=True)) == set(skus.values())


def test_product_create_is_all_or_nothing():
    with pytest.raises(ValidationError) as error:
        _create(variants=[VariantSpec(size="S-M"), VariantSpec(size="S-M")])
    assert "__all__" in error.value.message_dict
    assert Product.objects.count() == 0
    assert Variant.objects.count() == 0
    assert IssuedSku.objects.count() == 0


def test_product_create_refuses_bad_values_with_field_errors():
    with pytest.raises(ValidationError) as error:
        _create(name=" ", price=Decimal("0"), collection="XX24", category="Hats")
    assert set(error.value.message_dict) == {"name", "price", "collection", "category"}
    assert Product.objects.count() == 0


def test_a_sku_is_never_reused_even_after_its_variant_is_deleted():
    product = _create(variants=[VariantSpec(size="S-M", sku="TEE-1", quantity=0)])
    variant_delete(variant=product.variants.get())
    with pytest.raises(Conflict) as error:
        variant_create(product=product, size="S-M", sku="tee-1", actor=ACTOR)
    assert "never reused" in error.value.details["sku"][0]
    assert not Variant.objects.exists()


def test_generated_skus_step_past_issued_ones():
    product = _create()
    stem = f"TEE-FW24-{product.pk:05d}-SM"
    IssuedSku.objects.create(sku=stem)
    IssuedSku.objects.create(sku=f"{stem}-2")
    variant = variant_create(product=product, size="S-M", actor=ACTOR)
    assert variant.sku == f"{stem}-3"


def test_generated_skus_do_not_collide_when_a_product_id_comes_back():
    first = _create(variants=[VariantSpec(size="S-M")])
    first_sku = first.variants.get().sku
    product_delete(product=first)
    # SQLite hands out the deleted id again; the SKU must still be new.
    second = _create(variants=[VariantSpec(size="S-M")])
    assert second.variants.get().sku != first_sku


def test_product_update_writes_only_the_changed_fields():
    product = _create()
    Product.objects.filter(pk=product.pk).update(color="Changed elsewhere")
    product_update(product=product, data={"price": Decimal("12.50"), "collection": "ss25"})
    product.refresh_from_db()
    # The concurrent change of another field survives: only price and collection were written.
    assert (product.price, product.collection, product.color) == (
        Decimal("12.50"),
        "SS25",
        "Changed elsewhere",
    )


def test_product_update_validates():
    product = _create()
    with pytest.raises(ValidationError) as error:
        product_update(product=product, data={"price": Decimal("-1")})
    assert "price" in error.value.message_dict
    product.refresh_from_db()
    assert product.price == Decimal("10.00")


def test_product_update_refuses_fields_it_does_not_own():
    product = _create()
    with pytest.raises(ValidationError) as error:
        product_update(product=product, data={"id": 99})
    assert "id" in error.value.message_dict


def test_variant_update_cannot_change_the_quantity():
    variant = _create(variants=[VariantSpec(size="S-M", quantity=4)]).variants.get()
    with pytest.raises(ValidationError) as error:
        variant_update(variant=variant, data={"quantity": 10})
    assert "quantity" in error.value.message_dict
    variant.refresh_from_db()
    assert variant.quantity == 4


def test_variant_update_sets_barcode_and_threshold():
    variant = _create(variants=[VariantSpec(size="S-M", quantity=4)]).variants.get()
    variant_update(variant=variant, data={"barcode": "4006381333931", "low_stock_threshold": 5})
    variant.refresh_from_db()
    assert (variant.barcode, variant.low_stock_threshold, variant.low_stock) == (
        "4006381333931",
        5,
        True,
    )


def test_a_barcode_with_a_wrong_check_digit_is_refused():
    product = _create()
    with pytest.raises(ValidationError) as error:
        variant_create(product=product, size="S-M", barcode="4006381333932", actor=ACTOR)
    assert "check digit" in error.value.message_dict["barcode"][0]
    assert not Variant.objects.exists()


def test_products_and_variants_with_stock_are_protected_from_deletion():
    product = _create(
        variants=[VariantSpec(size="S-M", quantity=2), VariantSpec(size="L-XL", quantity=0)]
    )
    with pytest.raises(Protected) as error:
        product_delete(product=product)
    assert error.value.details == {"variants_with_stock": [product.variants.get(size="S-M").sku]}
    with pytest.raises(Protected):
        variant_delete(variant=product.variants.get(size="S-M"))
    assert Variant.objects.count() == 2

    variant_delete(variant=product.variants.get(size="L-XL"))
    assert list(product.variants.values_list("size", flat=True)) == ["S-M"]


def test_a_product_without_stock_is_deleted_with_its_variants():
    product = _create(variants=[VariantSpec(size="S-M", quantity=0)])
    product_delete(product=product)
    assert not Product.objects.exists()
    assert not Variant.objects.exists()
    # The SKU stays issued.
    assert IssuedSku.objects.count() == 1


def test_a_sku_issued_before_is_a_conflict_and_creates_nothing():
    # What a request racing another for the same SKU meets, once past the API's own check.
    product = _create()
    IssuedSku.objects.create(sku="RACED-SM")
    with pytest.raises(Conflict) as error:
        variant_create(product=product, size="L-XL", quantity=2, sku="RACED-SM", actor=ACTOR)
    assert (error.value.status_code, error.value.details) == (
        409,
        {"sku": ["This SKU is taken, or was used by a deleted variant; SKUs are never reused."]},
    )
    assert not product.variants.filter(size="L-XL").exists()


def test_a_sku_of_a_variant_committed_before_is_the_same_conflict():
    # What the loser of a race meets when the winner committed before it even looked.
    product = _create()
    variant_create(product=product, size="S-M", sku="RACED", actor=ACTOR)
    with pytest.raises(Conflict) as error:
        variant_create(product=product, size="L-XL", sku="RACED", actor=ACTOR)
    assert (error.value.status_code, error.value.details) == (
        409,
        {"sku": ["This SKU is taken, or was used by a deleted variant; SKUs are never reused."]},
    )
