"""Products' and variants' JSON, defined once in ``representations``: read from rows or from
instances it is the same answer, and it has the keys the output serializers document."""

import datetime
import json
import zoneinfo
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.fields import DateTimeField
from rest_framework.renderers import JSONRenderer

from catalog.api import representations
from catalog.api.serializers import (
    ProductOutputSerializer,
    VariantDetailOutputSerializer,
    VariantOutputSerializer,
    VariantSummarySerializer,
)
from catalog.models import Product, Variant
from catalog.selectors import product_list, variant_list
from catalog.tests.support import answer_shape, documented_shape

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
    """The reads' rows (on PostgreSQL: numerics as text, timestamps by psycopg's loader) and
    the instances that the writes' answers are rendered from give the same answer."""
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
    rows = list(representations.variant_rows(Variant.objects.with_stock().order_by("id")))
    lean = representations.variants(rows)
    full = VariantOutputSerializer(variant_list().order_by("id"), many=True).data
    assert _json(lean) == _json(full)
    assert {v["barcode"] for v in lean} == {None, "4006381333931"}


def test_the_schema_documents_every_key(catalog):
    """The answers have the keys (and nested keys), in order, that the schema documents."""
    # The first two products have variants, so their answers show their summaries' keys.
    product_rows = list(representations.product_rows(Product.objects.order_by("id")))
    variant_rows = list(representations.variant_rows(Variant.objects.with_stock().order_by("id")))
    instances = product_list().order_by("id")
    shapes = {
        ProductOutputSerializer: [
            *map(answer_shape, representations.products(product_rows)[:2]),
            *map(answer_shape, ProductOutputSerializer(instances[:2], many=True).data),
        ],
        VariantOutputSerializer: [
            *map(answer_shape, representations.variants(variant_rows)),
            *map(answer_shape, VariantOutputSerializer(variant_list(), many=True).data),
        ],
        VariantSummarySerializer: [
            answer_shape(VariantSummarySerializer(variant).data) for variant in variant_list()
        ],
        VariantDetailOutputSerializer: [
            answer_shape(VariantDetailOutputSerializer(variant).data) for variant in variant_list()
        ],
    }
    for serializer, answers in shapes.items():
        documented = documented_shape(serializer())
        assert answers, serializer
        for answer in answers:
            assert answer == documented, serializer


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


STAMPS = [
    datetime.datetime(2024, 3, 31, 0, 30, 0, tzinfo=datetime.UTC),  # Berlin moves its clocks
    datetime.datetime(2024, 3, 31, 1, 30, 0, 5, tzinfo=datetime.UTC),
    datetime.datetime(2024, 12, 31, 23, 59, 59, 999999, tzinfo=datetime.UTC),
    datetime.datetime(99, 1, 1, 12, 0, tzinfo=datetime.UTC),
    datetime.datetime(2024, 6, 1, 12, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Kolkata")),
    datetime.datetime(2024, 6, 1, 12, 0, tzinfo=zoneinfo.ZoneInfo("UTC")),
]


@pytest.mark.parametrize(
    "zone",
    [
        "UTC",
        "Etc/UTC",
        datetime.UTC,
        "Europe/Berlin",
        "America/New_York",
        "Asia/Kolkata",
        datetime.timezone(datetime.timedelta(hours=-3)),
    ],
    ids=str,
)
def test_timestamps_are_what_drf_writes(zone):
    """The writer looks the time zone up once, and takes a short cut in UTC: the same text."""
    timezone.activate(zone)
    try:
        write = representations.timestamp_writer()
        field = DateTimeField()
        for value in STAMPS:
            assert write(value) == field.to_representation(value), value
            assert representations.timestamp(value) == field.to_representation(value), value
    finally:
        timezone.deactivate()


def test_a_naive_timestamp_is_refused():
    with pytest.raises(ValueError, match="naive"):
        representations.timestamp_writer()(datetime.datetime(2024, 1, 1))  # noqa: DTZ001


def _priced(rows):
    """Rows with their price as the answer writes it (on PostgreSQL, rows read through the
    plain path carry it as PostgreSQL's text; the ORM's as a Decimal)."""
    return [{**row, "price": representations.money(row["price"])} for row in rows]


def test_rows_are_the_orm_values(catalog):
    """On PostgreSQL the rows are read through a cursor of their own: the ORM's values."""
    queryset = Product.objects.order_by("id")
    rows = list(representations.product_rows(queryset))
    assert _priced(rows) == _priced(queryset.values(*representations.PRODUCT_COLUMNS))
    assert {type(row["price"]) for row in rows} == {
        str if connection.vendor == "postgresql" else Decimal
    }
    assert all(row["created_at"].utcoffset() == datetime.timedelta(0) for row in rows)
    page = list(representations.product_rows(queryset)[1:2])
    assert page == rows[1:2]
    variants = Variant.objects.with_stock().filter(product__is_active=True).order_by("-id")
    assert list(representations.variant_rows(variants)) == list(
        variants.values(*representations.VARIANT_COLUMNS)
    )


def test_rows_of_a_filter_that_matches_nothing(catalog, django_assert_num_queries):
    with django_assert_num_queries(0):  # Django knows without asking
        assert list(representations.product_rows(Product.objects.filter(id__in=[]))) == []
    assert list(representations.product_rows(Product.objects.filter(name="None such"))) == []
    assert representations.variants_by_product([]) == {}


def test_one_on_each_path(catalog):
    product = Product.objects.get(name="Tee")
    rows = representations.product_rows(Product.objects.all())
    row = representations.one(rows, str(product.pk))
    assert _priced([row]) == _priced(
        [Product.objects.values(*representations.PRODUCT_COLUMNS).get(pk=product.pk)]
    )
    variant = product.variants.order_by("id").first()
    variant_row = representations.one(
        representations.variant_rows(Variant.objects.with_stock()), str(variant.pk)
    )
    assert variant_row["sku"] == variant.sku
