"""What the API's schema states in prose, told to the schema fuzzer (schemathesis).

The schema states every rule JSON Schema can state without turning a body into a union that
client generators render as ``StockAdjustType0 | StockAdjustType1``. These four it states in
its descriptions, and a fuzzer's "valid" request must keep them as a client would:

- a barcode is a GTIN with its check digit (format ``gtin``);
- an order line names its variant by ``variant`` or by ``sku``, one of the two;
- a stock change's sign follows its reason (received and returned add, damaged and lost take,
  a correction is anything but 0);
- the sales report's first day is not after its last, and the range is 366 days at most.

Loaded by test_fuzz.py through SCHEMATHESIS_HOOKS; every other rule comes from the schema.
"""

import datetime
from typing import Any

import schemathesis
from hypothesis import strategies as st

from catalog.validators import gtin_check_digit

ADDS, TAKES = {"received", "returned"}, {"damaged", "lost"}
MAX_SALES_DAYS = 366


def _gtin(digits: str) -> str:
    return digits + str(gtin_check_digit(digits))


schemathesis.openapi.format("gtin", st.text("0123456789", min_size=12, max_size=12).map(_gtin))


def _line_names_one_variant(line: Any) -> bool:
    return not isinstance(line, dict) or ("variant" in line) != ("sku" in line)


def _sign_follows_reason(body: dict[str, Any]) -> bool:
    reason, delta = body.get("reason"), body.get("delta")
    if not isinstance(delta, int):
        return True
    if reason in ADDS:
        return delta > 0
    if reason in TAKES:
        return delta < 0
    return delta != 0


@schemathesis.hook
def filter_body(ctx: Any, body: Any) -> bool:
    if not isinstance(body, dict):
        return True
    path = ctx.operation.path
    if path == "/api/v1/orders/" and isinstance(body.get("lines"), list):
        return all(_line_names_one_variant(line) for line in body["lines"])
    if path.endswith("/adjust/"):
        return _sign_follows_reason(body)
    return True


def _day(value: Any) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


@schemathesis.hook
def filter_query(ctx: Any, query: Any) -> bool:
    if ctx.operation.path != "/api/v1/reports/sales/" or not isinstance(query, dict):
        return True
    first, last = _day(query.get("date_from")), _day(query.get("date_to"))
    if first is None:
        return True
    last = last or datetime.datetime.now(datetime.UTC).date()  # the server's zone in tests
    return first <= last and (last - first).days < MAX_SALES_DAYS
