"""Helpers shared by the orders' API tests: the addresses, and placing an order as a client
does. The names keep their leading underscore from the module they were moved out of, so
the tests read as before."""

ORDERS = "/api/v1/orders/"


def order_url(order_id, action=""):
    return f"{ORDERS}{order_id}/{action + '/' if action else ''}"


def _variant(product, size):
    return product.variants.get(size=size)


def _quantity(variant):
    variant.refresh_from_db()
    return variant.quantity


def _place(client, *lines, **fields):
    return client.post(ORDERS, {"lines": list(lines), **fields}, format="json")
