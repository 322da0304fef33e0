from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from rest_framework.test import APIClient

from catalog.models import Category, IssuedSku, Product, Size, Variant
from catalog.validators import validate_gtin
from core.api.models import ApiKey, Scope

pytestmark = pytest.mark.django_db


def _snapshot():
    return (
        list(Product.objects.order_by("pk").values()),
        list(Variant.objects.order_by("pk").values()),
        IssuedSku.objects.count(),
    )


def test_seed_demo_covers_the_catalog_and_running_it_twice_changes_nothing():
    call_command("seed_demo", stdout=StringIO())
    first = _snapshot()
    out = StringIO()
    call_command("seed_demo", stdout=out)

    assert _snapshot() == first
    assert "0 product(s) created" in out.getvalue()
    assert set(Product.objects.values_list("category", flat=True)) == set(Category.values)
    assert set(Variant.objects.values_list("size", flat=True)) == set(Size.values)
    assert {"FW24", "SS25", "FW25"} <= set(Product.objects.values_list("collection", flat=True))
    assert Variant.objects.filter(quantity=0).exists()
    assert Variant.objects.filter(low_stock=True, in_stock=True).exists()
    for barcode in Variant.objects.values_list("barcode", flat=True):
        validate_gtin(barcode)


def test_demo_access_prints_a_working_key_and_a_manager_login():
    out = StringIO()
    call_command("demo_access", stdout=out)
    call_command("demo_access", stdout=out)  # again: a new key replaces the old one

    keys = [
        line.split(": ", 1)[1]
        for line in out.getvalue().splitlines()
        if line.startswith("Demo API key")
    ]
    assert len(keys) == 2
    live = ApiKey.objects.usable().get()
    assert live.scopes == sorted(Scope.values)
    assert ApiKey.objects.count() == 2
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {keys[1]}")
    assert client.get("/api/v1/products/").status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {keys[0]}")
    assert client.get("/api/v1/products/").status_code == 401

    user = User.objects.get(username="demo")
    assert user.is_staff
    assert user.check_password("demo")
    assert user.has_perm("catalog.add_product")
