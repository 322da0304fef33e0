"""manage.py import_catalog and export_catalog."""

from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from catalog import imports
from catalog.models import ImportBatch, Product, StockMovement, Variant

pytestmark = pytest.mark.django_db

SAMPLE = Path(imports.__file__).parent / "samples" / "catalog_import.csv"


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_applies_the_file_and_prints_the_summary():
    out, _ = run("import_catalog", str(SAMPLE))
    assert out.splitlines() == [
        "6 row(s): 4 product(s) and 6 variant(s) to create, 0 product(s) and 0 variant(s) to "
        "change, 40 unit(s) received on 3 row(s), 3 count(s).",
        f"Imported (import #{ImportBatch.objects.get().pk}).",
    ]
    assert Variant.objects.count() == 6
    assert set(StockMovement.objects.values_list("actor_kind", "actor")) == {
        ("system", "import_catalog")
    }
    run("reconcile_stock")


def test_a_dry_run_changes_nothing():
    out, _ = run("import_catalog", str(SAMPLE), "--dry-run")
    assert out.endswith("Dry run: nothing was changed.\n")
    assert not Product.objects.exists()
    assert not ImportBatch.objects.exists()


def test_errors_are_printed_and_exit_non_zero(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("sku,received,counted\nA,1,2\nB,-4,\n")
    err = StringIO()
    with pytest.raises(CommandError, match=r"^2 error\(s\); nothing was imported\.$"):
        call_command("import_catalog", str(path), stdout=StringIO(), stderr=err)
    assert err.getvalue().splitlines() == [
        "row 2, counted: A row either receives units (received) or counts them (counted), not both.",
        "row 3, received: Received cannot be negative.",
    ]
    assert not Product.objects.exists()


def test_the_actor_is_a_staff_user():
    user = User.objects.create_user("clerk", is_staff=True)
    run("import_catalog", str(SAMPLE), "--actor", "clerk")
    assert set(StockMovement.objects.values_list("actor_kind", "user")) == {("user", user.pk)}
    with pytest.raises(CommandError, match="No active user 'ghost'"):
        run("import_catalog", str(SAMPLE), "--actor", "ghost")


def test_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run("import_catalog", str(tmp_path / "none.csv"))


def test_export_writes_what_import_reads_back_unchanged(tmp_path):
    run("import_catalog", str(SAMPLE))
    out, _ = run("export_catalog")
    assert out.splitlines()[0] == ",".join(imports.COLUMNS)
    assert len(out.splitlines()) == 7
    path = tmp_path / "export.csv"
    _, err = run("export_catalog", "--output", str(path))
    assert err == f"6 variant(s) written to {path}.\n"
    assert path.read_text().splitlines() == out.splitlines()

    out, _ = run("import_catalog", str(path), "--dry-run")
    assert out.startswith("6 row(s): 0 product(s) and 0 variant(s) to create, 0 product(s)")
