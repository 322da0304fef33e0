"""The lean read path answers exactly what the output serializers (which the schema documents)
would."""

import json

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from catalog.api import representations
from catalog.api.serializers import ProductOutputSerializer, VariantOutputSerializer
from catalog.models import Product, Variant
from catalog.selectors import product_list, variant_list

pytestmark = pytest.mark.django_db


def _json(data):
    return json.loads(JSONRenderer().render(data))


@pytest.fixture
def catalog(make_product):
    # Sizes created largest first, so the order in the answer is the sort's, not the ids'.
    make_product(name="Tee", stock={"One Size": 0, "L-XL": 3, "S-M": 1})
    make_product(name="Pants", category="Pants", price="79.00", is_active=False, stock={"S-M": 9})
    make_product(name="Bare", stock={})
    Variant.objects.filter(sku__endswith="LXL").update(barcode="4006381333931")


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York"])
def test_products_match_the_serializer(catalog, settings, zone):
    settings.TIME_ZONE = zone
    timezone.activate(zone)
    try:
        rows = list(representations.product_rows(Product.objects.order_by("id")))
        lean = representations.products(rows)
        full = ProductOutputSerializer(product_list().order_by("id"), many=True).data
        assert _json(lean) == _json(full)
        assert [v["size"] for v in lean[0]["variants"]] == ["S-M", "L-XL", "One Size"]
        assert lean[2]["variants"] == []
    finally:
        timezone.deactivate()


def test_variants_match_the_serializer(catalog):
    rows = list(representations.variant_rows(Variant.objects.order_by("id")))
    lean = representations.variants(rows)
    full = VariantOutputSerializer(variant_list().order_by("id"), many=True).data
    assert _json(lean) == _json(full)
    assert {v["barcode"] for v in lean} == {None, "4006381333931"}


def test_one_or_404(catalog):
    from django.http import Http404

    product = Product.objects.first()
    rows = representations.product_rows(Product.objects.all())
    assert representations.one(rows, str(product.pk))["id"] == product.pk
    with pytest.raises(Http404, match=r"No Product matches the given query\."):
        representations.one(rows, "999999")


def test_one_honours_a_narrowed_queryset(catalog):
    from django.http import Http404

    archived = Product.objects.get(is_active=False)
    active_only = representations.product_rows(Product.objects.filter(is_active=True))
    with pytest.raises(Http404):
        representations.one(active_only, str(archived.pk))
