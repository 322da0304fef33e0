"""Addresses and reads shared by the stock API's tests."""

MOVEMENTS = "/api/v1/stock-movements/"


def adjust_url(variant):
    return f"/api/v1/variants/{variant.pk}/adjust/"


def count_url(variant):
    return f"/api/v1/variants/{variant.pk}/count/"


def _quantity(variant):
    variant.refresh_from_db()
    return variant.quantity
