"""The first page counts itself when it holds every row."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Product
from core.api.pagination import FirstPageCountingPaginator

pytestmark = pytest.mark.django_db


@pytest.fixture
def products(make_product):
    for number in range(5):
        make_product(name=f"Tee {number}", stock={})
    return Product.objects.order_by("id")


@pytest.mark.parametrize(
    ("per_page", "number", "queries", "rows", "has_next"),
    [
        (10, 1, 1, 5, False),  # all on the first page: no COUNT
        (5, 1, 1, 5, False),  # exactly one page: the extra row is missing, no COUNT
        (2, 1, 2, 2, True),  # more than a page: the page, then COUNT for the links
        (2, 2, 2, 2, True),  # later pages: COUNT, then the page, as Django does
        (2, 3, 2, 1, False),
    ],
)
def test_queries_and_pages(products, per_page, number, queries, rows, has_next):
    paginator = FirstPageCountingPaginator(products, per_page)
    with CaptureQueriesContext(connection) as captured:
        page = paginator.page(number)
        assert len(page) == rows
        assert page.has_next() is has_next
        assert paginator.count == 5
    assert len(captured) == queries


def test_an_empty_list_is_one_empty_first_page(db):
    paginator = FirstPageCountingPaginator(Product.objects.order_by("id"), 10)
    page = paginator.page(1)
    assert (len(page), paginator.count, page.has_next()) == (0, 0, False)
