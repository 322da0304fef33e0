"""manage.py import_catalog and export_catalog."""

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from catalog.models import ImportBatch, Product, Variant
from stock import imports
from stock.models import StockMovement
from stock.tests.import_support import SAMPLE, walkthrough_catalog

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_applies_the_file_and_prints_the_summary():
    walkthrough_catalog()
    movements = StockMovement.objects.count()
    out, _ = run("import_catalog", str(SAMPLE))
    assert out.splitlines() == [
        "10 row(s): 3 product(s) and 5 variant(s) to create, 0 product(s) and 0 variant(s) to "
        "change, 60 unit(s) received on 8 row(s), 2 count(s).",
        f"Imported (import #{ImportBatch.objects.get().pk}).",
    ]
    assert StockMovement.objects.count() - movements == 10
    assert set(
        StockMovement.objects.filter(reference__startswith="import-").values_list(
            "actor_kind", "actor"
        )
    ) == {("system", "import_catalog")}
    run("reconcile_stock")


def test_a_dry_run_changes_nothing():
    walkthrough_catalog()
    products = list(Product.objects.values())
    out, _ = run("import_catalog", str(SAMPLE), "--dry-run")
    assert out.endswith("Dry run: nothing was changed.\n")
    assert list(Product.objects.values()) == products
    assert not ImportBatch.objects.exists()


def test_every_error_is_printed_with_its_row_and_column_and_exit_non_zero(tmp_path, make_product):
    small, large = make_product(stock={"S-M": 1, "L-XL": 1}).variants.order_by("pk")
    lines = [f"{small.sku},1,2", f"{large.sku},-4,", *(f"NEW-{n},x," for n in range(300))]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(["sku,received,counted", *lines]))
    err = StringIO()
    with pytest.raises(CommandError, match=r"^602 error\(s\); nothing was imported\.$"):
        call_command("import_catalog", str(path), "--dry-run", stdout=StringIO(), stderr=err)
    printed = err.getvalue().splitlines()
    assert printed[:2] == [
        "row 2, counted: A row either receives units (received) or counts them (counted), not both.",
        "row 3, received: Received cannot be negative.",
    ]
    # Every one, not the first few: each unknown SKU's and each wrong number's.
    assert len(printed) == 602
    assert printed[-2:] == [
        "row 303, sku: SKU NEW-299 is not in the catalog; to create it, the file needs columns "
        "for its product, category, color, collection, price, size.",
        'row 303, received: "x" is not a whole number; received is a count of units.',
    ]
    assert Variant.objects.count() == 2


def test_the_actor_is_a_staff_user():
    walkthrough_catalog()
    user = User.objects.create_user("clerk", is_staff=True)
    run("import_catalog", str(SAMPLE), "--actor", "clerk")
    assert set(
        StockMovement.objects.filter(reference__startswith="import-").values_list(
            "actor_kind", "user"
        )
    ) == {("user", user.pk)}
    with pytest.raises(CommandError, match="No active user 'ghost'"):
        run("import_catalog", str(SAMPLE), "--actor", "ghost")


def test_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run("import_catalog", str(tmp_path / "none.csv"))


def test_export_writes_what_import_reads_back_unchanged(tmp_path):
    walkthrough_catalog()
    run("import_catalog", str(SAMPLE))
    variants = Variant.objects.count()
    out, _ = run("export_catalog")
    assert out.splitlines()[0] == ",".join(imports.COLUMNS)
    assert len(out.splitlines()) == variants + 1
    path = tmp_path / "export.csv"
    _, err = run("export_catalog", "--output", str(path))
    assert err == f"{variants} row(s) written to {path}.\n"
    assert path.read_text().splitlines() == out.splitlines()

    out, _ = run("import_catalog", str(path), "--dry-run")
    assert out.startswith(
        f"{variants} row(s): 0 product(s) and 0 variant(s) to create, 0 product(s)"
    )
