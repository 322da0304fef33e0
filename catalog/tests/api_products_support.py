"""What the products API's tests share: the list's address and a product's."""

URL = "/api/v1/products/"


def detail(product_id):
    return f"{URL}{product_id}/"
