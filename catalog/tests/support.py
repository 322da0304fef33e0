"""Helpers shared by the catalog's tests."""

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections
from django.urls import reverse
from rest_framework import serializers

from catalog.models import Product

# Debian's Chromium, driven by Playwright; flags from the machine's notes (no background
# networking: this machine has no network but the package registries).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Every browser test: slow, against a live server (real transactions), and only with Chromium.
BROWSER_TEST_MARKS = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"needs Debian's Chromium at {CHROMIUM} (apt-get install chromium)",
    ),
]


def screenshot_taker(prefix: str, *, full_page: bool = True) -> Callable[[Any, str], None]:
    """Saves screenshots (of the whole page unless told otherwise) as
    test-artifacts/<prefix>-<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page: Any, name: str) -> None:
        page.screenshot(path=ARTIFACTS / f"{prefix}-{name}.png", full_page=full_page)

    return take


# A thread still running after this long is hung (a deadlock PostgreSQL did not break).
JOIN_TIMEOUT = 20


def admin_url(name: str, obj: Any) -> str:
    """The admin page ``name`` (change, delete, ...) of ``obj``."""
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{name}", args=[obj.pk])


def race(workers: Sequence[Callable[[], Any]]) -> list[Any]:
    """Run each worker in its own thread, all released at once by a barrier; return what each
    returned or raised. Each thread closes its own database connections when it is done."""
    barrier = threading.Barrier(len(workers), timeout=JOIN_TIMEOUT)
    outcomes: list[Any] = [None] * len(workers)

    def run(index: int, work: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            outcomes[index] = work()
        except Exception as error:  # the outcome, whatever it is, is what the test checks
            outcomes[index] = error
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(index, work), daemon=True)
        for index, work in enumerate(workers)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + JOIN_TIMEOUT
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    hung = [thread.name for thread in threads if thread.is_alive()]
    if hung:
        raise AssertionError(f"threads still running after {JOIN_TIMEOUT} s: {hung}")
    return outcomes


STOCK_FIELDS = ("stock_change", "stock_reason", "counted_quantity", "stock_note")


def management_form(*, total: int, initial: int) -> dict[str, str]:
    return {
        "variants-TOTAL_FORMS": str(total),
        "variants-INITIAL_FORMS": str(initial),
        "variants-MIN_NUM_FORMS": "0",
        "variants-MAX_NUM_FORMS": "3",
    }


def product_form_data(
    product: Product,
    *,
    rows: dict[str, dict[str, str]] | None = None,
    new_rows: tuple[dict[str, str], ...] = (),
    **fields: str,
) -> dict[str, str]:
    """The product's change form as the admin renders it, with ``fields``, the existing rows of
    ``rows`` (by size) changed as staff would type them, and ``new_rows`` added below."""
    existing = list(product.variants.order_by("id"))
    data = {
        "category": product.category,
        "name": product.name,
        "color": product.color,
        "price": str(product.price),
        "collection": product.collection,
        **({"is_active": "on"} if product.is_active else {}),
        **fields,
        **management_form(total=len(existing) + len(new_rows), initial=len(existing)),
    }
    for index, variant in enumerate(existing):
        values = {
            "id": str(variant.pk),
            "product": str(product.pk),
            "size": variant.size,
            "sku": variant.sku,
            "barcode": variant.barcode or "",
            "quantity": str(variant.quantity),
            "low_stock_threshold": str(variant.low_stock_threshold),
            **dict.fromkeys(STOCK_FIELDS, ""),
            **(rows or {}).get(variant.size, {}),
        }
        data.update({f"variants-{index}-{field}": value for field, value in values.items()})
    for index, row in enumerate(new_rows, start=len(existing)):
        values = {
            "product": str(product.pk),
            "sku": "",
            "barcode": "",
            "quantity": "0",
            "low_stock_threshold": "2",
            **row,
        }
        data.update({f"variants-{index}-{field}": value for field, value in values.items()})
    return data


def product_add_data(*rows: dict[str, str], **fields: str) -> dict[str, str]:
    """The add form as the admin posts it: the product's fields and one inline row per variant."""
    data = {
        "category": "Tees",
        "name": "Linen Tee",
        "color": "White",
        "price": "35.00",
        "collection": "FW24",
        "is_active": "on",
        **fields,
        **management_form(total=len(rows), initial=0),
    }
    for index, row in enumerate(rows):
        values = {"sku": "", "barcode": "", "quantity": "0", "low_stock_threshold": "2", **row}
        data.update({f"variants-{index}-{field}": value for field, value in values.items()})
    return data


@contextmanager
def chromium_page() -> Iterator[Any]:
    """A page of Debian's Chromium, headless, driven by Playwright; closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(10_000)
        try:
            yield page
        finally:
            browser.close()


def admin_log_in(page: Any, base_url: str, username: str, password: str = "pw") -> None:  # noqa: S107 - the test users' password
    """Sign in to the admin through its login form and wait for its home page."""
    from playwright.sync_api import expect

    page.goto(f"{base_url}/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_be_visible()


def commit_callbacks() -> None:
    """Run what a commit would run (the catalog version's bump) and forget it: a test's own
    transaction never commits, and a transaction bumps the version once."""
    pending, connection.run_on_commit = connection.run_on_commit, []
    for entry in pending:  # (savepoints, callback, robust)
        entry[1]()


def documented_shape(serializer: Any) -> list[tuple[str, Any]]:
    """The keys, in order, of the answer that ``serializer`` documents in the schema, each with
    the shape of the objects it nests (``None`` for a plain value)."""
    shape: list[tuple[str, Any]] = []
    for name, field in serializer.fields.items():
        nested = getattr(field, "child", field)  # many=True: a list of the child's
        is_object = isinstance(nested, serializers.Serializer)
        shape.append((name, documented_shape(nested) if is_object else None))
    return shape


def answer_shape(data: dict[str, Any]) -> list[tuple[str, Any]]:
    """The keys, in order, of an answer, as ``documented_shape`` gives them: a list of objects
    by the shape of its items (each the same, or the list of them, which no schema matches)."""
    shape: list[tuple[str, Any]] = []
    for key, value in data.items():
        nested: Any = None
        if isinstance(value, dict):
            nested = answer_shape(value)
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            shapes = [answer_shape(item) for item in value]
            nested = shapes[0] if all(s == shapes[0] for s in shapes) else shapes
        shape.append((key, nested))
    return shape
