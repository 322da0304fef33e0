"""Reading orders through the API: the list's filters and order, its queries, and the answer's
keys, which must be those the schema documents in every state."""

import pytest

from catalog.tests.support import answer_shape, documented_shape
from orders.api.serializers import OrderLineOutputSerializer, OrderOutputSerializer
from orders.models import Order, OrderLine
from orders.tests.api.support import ORDERS, _place, _variant, order_url

pytestmark = pytest.mark.django_db


def test_list_filters_and_order(shop, tee):
    small = _variant(tee, "S-M")
    ids = [
        _place(shop, {"variant": small.pk, "quantity": 1}, customer_reference=ref).json()["id"]
        for ref in ("A", "B", "A")
    ]
    shop.post(order_url(ids[0], "cancel"))
    results = lambda **params: [o["id"] for o in shop.get(ORDERS, params).json()["results"]]  # noqa: E731
    assert results() == ids[::-1]
    assert results(status="cancelled") == [ids[0]]
    assert results(status=["placed", "cancelled"]) == ids[::-1]
    assert results(customer_reference="A") == [ids[2], ids[0]]
    newest = Order.objects.get(pk=ids[2]).created_at.isoformat()
    assert results(created_after=newest) == [ids[2]]
    assert results(created_before=newest) == [ids[1], ids[0]]
    assert shop.get(ORDERS, {"status": "lost"}).status_code == 400


def test_order_list_queries_do_not_grow_with_the_page_size(shop, tee, django_assert_num_queries):
    small, large = _variant(tee, "S-M"), _variant(tee, "L-XL")
    for lines in ([small, large], [small, large], [small], [small], [small]):
        _place(shop, *[{"variant": variant.pk, "quantity": 1} for variant in lines])
    assert Order.objects.count() == 5
    with django_assert_num_queries(3):  # key, a page of orders, their lines
        shop.get(ORDERS, {"page_size": 2})
    with django_assert_num_queries(3):
        assert len(shop.get(ORDERS, {"page_size": 5}).json()["results"]) == 5


def test_the_answer_has_the_documented_keys_in_every_state(shop, make_product):
    product = make_product(name="Tee", stock={"S-M": 9, "L-XL": 9})
    small, large = _variant(product, "S-M"), _variant(product, "L-XL")
    placing = [
        _place(
            shop,
            {"variant": small.pk, "quantity": 2},
            {"variant": large.pk, "quantity": 1},
            customer_reference="R-1",
            note="Gift wrap",
        ).json()
        for _ in range(4)
    ]
    placed = [answer["id"] for answer in placing]
    shop.post(order_url(placed[1], "pay"))
    for step in ("pay", "fulfil"):
        shop.post(order_url(placed[2], step))
    line = OrderLine.objects.filter(order_id=placed[2]).order_by("id").first()
    returned = shop.post(
        order_url(placed[2], "returns"),
        {"lines": [{"line": line.pk, "quantity": 1}]},
        format="json",
    )
    assert returned.status_code == 201
    shop.post(order_url(placed[3], "cancel"))

    read = [shop.get(order_url(pk)).json() for pk in placed]
    assert {answer["status"] for answer in read} == {"placed", "paid", "fulfilled", "cancelled"}
    documented = documented_shape(OrderOutputSerializer())
    assert all(answer_shape(answer) == documented for answer in placing + read)
    assert answer_shape(OrderLineOutputSerializer(line).data) == documented_shape(
        OrderLineOutputSerializer()
    )
