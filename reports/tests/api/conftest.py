"""A catalog of tees, sweaters and pants, in two collections, some out of stock."""

import pytest


@pytest.fixture
def catalog(make_product):
    tee = make_product(name="Tee", price="20.00", collection="FW24", stock={"S-M": 3, "L-XL": 1})
    sweater = make_product(
        name="Sweater", category="Sweaters", price="80.00", collection="SS25", stock={"S-M": 2}
    )
    make_product(name="Pants", category="Pants", price="50.00", collection="FW24", stock={"S-M": 0})
    return tee, sweater
