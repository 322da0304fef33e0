"""The SKU finder in the admin's header."""

import pytest
from django.urls import reverse

from catalog.models import Variant

pytestmark = pytest.mark.django_db

FIND = reverse("admin-find")


def test_the_finder_opens_a_variant_by_exact_sku_or_barcode(manager_web, make_product):
    product = make_product(stock={"S-M": 1, "L-XL": 1})
    variant = product.variants.get(size="L-XL")
    Variant.objects.filter(pk=variant.pk).update(barcode="4006381333931")
    change = reverse("admin:catalog_variant_change", args=[variant.pk])

    assert manager_web.get(FIND, {"q": variant.sku})["Location"] == change
    assert manager_web.get(FIND, {"q": f"  {variant.sku.lower()} "})["Location"] == change
    assert manager_web.get(FIND, {"q": "4006381333931"})["Location"] == change
    # Anything else: the variants' list, searched.
    changelist = reverse("admin:catalog_variant_changelist")
    assert manager_web.get(FIND, {"q": "Organic"})["Location"] == f"{changelist}?q=Organic"
    assert manager_web.get(FIND)["Location"] == changelist
