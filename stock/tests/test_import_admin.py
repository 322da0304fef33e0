"""The admin's Import CSV and Export CSV pages: who may use them, upload, preview, apply."""

import codecs

import pytest
from django.contrib import messages
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog.groups import STORE_STAFF_GROUP
from catalog.models import ImportBatch, ImportBatchStatus, Product, Variant
from stock import imports
from stock.models import StockMovement
from stock.tests.import_support import SAMPLE, walkthrough_catalog

pytestmark = pytest.mark.django_db
PRODUCTS = reverse("admin:catalog_product_changelist")
IMPORT = reverse("admin:catalog_product_import")
EXPORT = reverse("admin:catalog_product_export")


def preview_url(batch: ImportBatch) -> str:
    return reverse("admin:catalog_product_import_preview", args=[batch.pk])


def upload(client, data: bytes, name: str = "delivery.csv"):
    return client.post(IMPORT, {"file": SimpleUploadedFile(name, data, "text/csv")})


def _messages(response) -> list[str]:
    return [str(m) for m in messages.get_messages(response.wsgi_request)]


def test_the_product_list_links_to_import_and_export(manager_web):
    page = manager_web.get(PRODUCTS).content.decode()
    assert f'href="{IMPORT}"' in page
    assert f'href="{EXPORT}"' in page


def test_staff_without_the_stock_permission_cannot_import(login):
    viewer = User.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.set(
        Group.objects.get(name=STORE_STAFF_GROUP).permissions.exclude(codename="change_stock")
    )
    client = login(viewer)
    assert f'href="{IMPORT}"' not in client.get(PRODUCTS).content.decode()
    assert client.get(IMPORT).status_code == 403
    assert upload(client, SAMPLE.read_bytes()).status_code == 403
    assert not ImportBatch.objects.exists()


def test_upload_preview_apply(manager_web, manager):
    walkthrough_catalog()
    variants = Variant.objects.count()
    response = upload(manager_web, SAMPLE.read_bytes(), "catalog_import.csv")
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == preview_url(batch)
    assert (batch.created_by, batch.status, batch.row_count) == (manager, "previewed", 10)
    assert Variant.objects.count() == variants  # nothing yet

    page = manager_web.get(preview_url(batch))
    html = page.content.decode()
    assert page.status_code == 200
    assert page.templates[0].name == "admin/catalog/import_preview.html"
    assert "Apply import" in html
    assert "applied already" not in html
    assert "RIB-FW25-SWT-SM" in html
    assert (
        "product created: Ribbed Wool Sweater (Camel, FW25); variant created (S-M); opening "
        "stock 8" in html
    )
    assert "<strong>3</strong> products created" in html

    response = manager_web.post(preview_url(batch))

    assert response.status_code == 302
    assert response["Location"] == PRODUCTS
    assert _messages(response)[0].startswith("Import applied: 3 product(s) and 5 variant(s)")
    assert Variant.objects.count() == variants + 5
    assert set(
        StockMovement.objects.filter(reference=f"import-{batch.pk}").values_list("actor", "user")
    ) == {("manager", manager.pk)}
    again = manager_web.post(preview_url(batch))
    assert "applied already" in _messages(again)[-1]
    assert Variant.objects.count() == variants + 5


def test_errors_are_shown_and_there_is_nothing_to_apply(manager_web):
    data = (
        b"sku,product,category,color,collection,price,size,received\nA,Tee,Hats,Red,FW24,1,S-M,-1\n"
    )
    upload(manager_web, data)
    batch = ImportBatch.objects.get()
    html = manager_web.get(preview_url(batch)).content.decode()

    assert batch.status == ImportBatchStatus.INVALID
    assert "Apply import" not in html
    assert "&quot;Hats&quot; is not a category" in html
    assert "Received cannot be negative." in html
    manager_web.post(preview_url(batch))
    assert not Product.objects.exists()


def test_every_error_is_listed_with_its_row_and_column_a_page_at_a_time(manager_web):
    # 350 rows, each with a wrong number and a SKU the catalog does not have: 700 errors.
    lines = ["sku,received", *(f"NEW-{n},{n}x" for n in range(350))]
    upload(manager_web, "\n".join(lines).encode())
    batch = ImportBatch.objects.get()
    assert batch.error_count == 700

    first = manager_web.get(preview_url(batch)).content.decode()
    second = manager_web.get(preview_url(batch) + "?errors=2").content.decode()

    assert "Errors 1 to 500 of 700" in first
    assert "Errors page 1 of 2" in first
    assert '<td>2</td><td>sku</td><td class="errorlist">SKU NEW-0 is not in the catalog' in first
    assert '<td>2</td><td>received</td><td class="errorlist">&quot;0x&quot; is not a whole' in first
    assert "Errors 501 to 700 of 700" in second
    assert (
        '<td>351</td><td>received</td><td class="errorlist">&quot;349x&quot; is not a whole '
        "number" in second
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The submitted file is empty."),  # Django's own form check
        ("sku\nCafé\n".encode("cp1252"), "is not UTF-8 text"),
        (codecs.BOM_UTF8 + b"sku,colour\nA,red\n", "&quot;colour&quot; is not a column"),
    ],
)
def test_bad_files_get_a_clear_message(manager_web, data, message):
    response = upload(manager_web, data)
    if response.status_code == 302:
        response = manager_web.get(response["Location"])
    assert message in response.content.decode()


def test_store_staff_import_stock_but_not_catalog_changes(login, store_staff, make_product):
    walkthrough_catalog()
    products = Product.objects.count()
    variant = make_product(stock={"S-M": 1}).variants.get()
    client = login(store_staff)

    upload(client, SAMPLE.read_bytes())
    creating = ImportBatch.objects.get()
    html = client.get(preview_url(creating)).content.decode()
    assert "create products, create variants, which your account may not do" in html
    assert "Apply import" not in html
    client.post(preview_url(creating))
    assert Product.objects.count() == products + 1

    upload(client, f"sku,received\n{variant.sku},5\n".encode())
    delivery = ImportBatch.objects.latest("pk")
    response = client.post(preview_url(delivery))
    assert response.status_code == 302
    variant.refresh_from_db()
    assert variant.quantity == 6
    assert StockMovement.objects.latest("pk").actor == store_staff.username


def test_a_batch_is_seen_only_by_its_uploader(manager_web, login, store_staff):
    upload(manager_web, SAMPLE.read_bytes())
    batch = ImportBatch.objects.get()
    assert login(store_staff).get(preview_url(batch)).status_code == 404


def test_the_preview_page_queries_do_not_grow_with_rows(manager_web, django_assert_max_num_queries):
    lines = [f"S{n},Tee {n},Tees,Red,FW24,9.90,One Size,,,{n % 3}" for n in range(300)]
    header = "sku,product,category,color,collection,price,size,barcode,received,counted"
    upload(manager_web, "\n".join([header, *lines]).encode())
    batch = ImportBatch.objects.get()
    with django_assert_max_num_queries(12):
        assert manager_web.get(preview_url(batch) + "?page=3").status_code == 200


def test_export_downloads_the_catalog_as_csv(manager_web, make_product):
    make_product(name="Organic Cotton Tee", stock={"S-M": 5, "L-XL": 0})
    response = manager_web.get(EXPORT)
    body = b"".join(response.streaming_content).decode()

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="catalog-')
    lines = body.splitlines()
    assert lines[0] == "\ufeff" + ",".join(imports.COLUMNS)
    assert [line.split(",")[1:] for line in lines[1:]] == [
        [
            "Organic Cotton Tee",
            "Tees",
            "Black",
            "FW24",
            "29.90",
            "S-M",
            "",
            "2",
            "yes",
            "MAIN",
            "5",
            "",
            "",
        ],
        [
            "Organic Cotton Tee",
            "Tees",
            "Black",
            "FW24",
            "29.90",
            "L-XL",
            "",
            "2",
            "yes",
            "MAIN",
            "0",
            "",
            "",
        ],
    ]
    assert imports.import_preview(data=body.encode()).errors == []


def test_export_needs_the_view_permission(login):
    nobody = User.objects.create_user("nobody", is_staff=True)
    assert login(nobody).get(EXPORT).status_code == 403
