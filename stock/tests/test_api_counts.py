"""The count sessions' endpoints (``/api/v1/counts/``): start, scan or enter counts, preview,
apply (once), cancel; every refusal in the one envelope, nothing changed by it."""

import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from catalog.models import Variant
from stock.models import CountSession
from stock.services import stock_adjust
from stock.tests.location_support import everything, last_movement_id, levels, movements
from stock.tests.test_counts import BARCODE_L, BARCODE_S, CLERK, sell

pytestmark = pytest.mark.django_db

COUNTS = "/api/v1/counts/"


def url(session_id, action=""):
    return f"{COUNTS}{session_id}/" + (f"{action}/" if action else "")


@pytest.fixture
def tee(make_product, store):
    product = make_product(name="Tee", stock={"S-M": 0, "L-XL": 0})
    Variant.objects.filter(product=product, size="S-M").update(barcode=BARCODE_S)
    Variant.objects.filter(product=product, size="L-XL").update(barcode=BARCODE_L)
    small, large = product.variants.get(size="S-M"), product.variants.get(size="L-XL")
    for variant, units in ((small, 6), (large, 3)):
        stock_adjust(
            variant_id=variant.pk, delta=units, reason="received", actor=CLERK, location=store
        )
    return {"product": product, "small": small, "large": large}


def _error(response):
    return response.json()["error"]


def _start(client, **body):
    response = client.post(COUNTS, {"location": "store-01", **body}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_start_a_session_with_its_snapshot(stock_client, tee):
    small, large = tee["small"], tee["large"]

    response = stock_client.post(
        COUNTS, {"location": "store-01", "note": "Saturday", "zero_uncounted": True}, format="json"
    )

    assert response.status_code == 201
    data = response.json()
    session = CountSession.objects.get()
    assert response["Location"] == url(session.pk)
    assert data.pop("created_at")
    lines = data.pop("lines")
    assert data == {
        "id": session.pk,
        "reference": f"COUNT-{session.pk}",
        "location": "STORE-01",
        "product": None,
        "status": "open",
        "zero_uncounted": True,
        "note": "Saturday",
        "actor": data["actor"],
        "lines_total": 2,
        "lines_counted": 0,
        "applied_at": None,
        "cancelled_at": None,
    }
    assert data["actor"].startswith("client-")
    assert [
        (line["variant"], line["sku"], line["barcode"], line["snapshot_on_hand"], line["counted"])
        for line in lines
    ] == [
        (small.pk, small.sku, BARCODE_S, 6, None),
        (large.pk, large.sku, BARCODE_L, 3, None),
    ]


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({}, {"location": ["This field is required."]}),
        ({"location": "nowhere"}, {"location": ["No location with code 'NOWHERE'."]}),
        ({"location": "store-02"}, {"location": ["STORE-02 is archived and holds no stock."]}),
        (
            {"location": "store-01", "product": 999_999},
            {"product": ['Invalid pk "999999" - object does not exist.']},
        ),
        (
            {"location": "store-01", "zero_uncounted": "maybe"},
            {"zero_uncounted": ["Expected true or false; got a string."]},
        ),
        (
            {"location": "store-01", "status": "applied"},
            {
                "status": [
                    "Unknown field; the fields here are: location, product, zero_uncounted, note."
                ]
            },
        ),
    ],
)
def test_a_bad_session_is_refused_field_by_field(stock_client, tee, archived, body, details):
    response = stock_client.post(COUNTS, body, format="json")

    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "validation_error"
    assert {field: error["details"][field] for field in details} == details
    assert not CountSession.objects.exists()


def test_a_second_open_session_at_the_location_is_a_conflict(stock_client, tee):
    first = _start(stock_client)

    response = stock_client.post(COUNTS, {"location": "STORE-01"}, format="json")

    assert response.status_code == 409
    assert _error(response)["code"] == "conflict"
    assert _error(response)["details"] == {"location": "STORE-01", "count": first["id"]}


def test_scanning_and_entering_counts(stock_client, tee):
    small, large = tee["small"], tee["large"]
    session = _start(stock_client)

    scans = [
        stock_client.post(url(session["id"], "lines"), {"barcode": BARCODE_S}, format="json")
        for _ in range(2)
    ]
    by_sku = stock_client.post(
        url(session["id"], "lines"), {"sku": large.sku.lower(), "counted": 2}, format="json"
    )

    assert [scan.status_code for scan in scans] == [200, 200]
    assert scans[1].json()["counted"] == 2
    line = by_sku.json()
    assert line.pop("counted_at")
    assert line == {
        "id": line["id"],
        "variant": large.pk,
        "sku": large.sku,
        "barcode": BARCODE_L,
        "product": tee["product"].pk,
        "size": "L-XL",
        "snapshot_on_hand": 3,
        "counted": 2,
        "expected_at_entry": 3,
        "correction": None,
    }
    detail = stock_client.get(url(session["id"])).json()
    assert (detail["lines_total"], detail["lines_counted"]) == (2, 2)
    assert [(line["sku"], line["counted"]) for line in detail["lines"]] == [
        (small.sku, 2),
        (large.sku, 2),
    ]


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({}, {"non_field_errors": ["Give exactly one of barcode, sku and variant."]}),
        (
            {"barcode": BARCODE_S, "sku": "X"},
            {"non_field_errors": ["Give exactly one of barcode, sku and variant."]},
        ),
        ({"barcode": "0000000000000"}, {"barcode": ["No variant with this barcode."]}),
        ({"sku": "NOPE"}, {"sku": ["No variant with this SKU."]}),
        ({"variant": 999_999}, {"variant": ["No variant with this id."]}),
        (
            {"barcode": BARCODE_S, "counted": -1},
            {"counted": ["Ensure this value is greater than or equal to 0."]},
        ),
        (
            {"barcode": BARCODE_S, "counted": "many"},
            {"counted": ["Expected a whole number; got a string."]},
        ),
    ],
)
def test_a_bad_entry_is_refused_field_by_field(stock_client, tee, body, details):
    session = _start(stock_client)

    response = stock_client.post(url(session["id"], "lines"), body, format="json")

    assert response.status_code == 400, response.json()
    assert _error(response)["code"] == "validation_error"
    assert _error(response)["details"] == details
    assert not CountSession.objects.get().lines.filter(counted__isnull=False).exists()


def test_an_unknown_session_is_404(stock_client, tee):
    for response in (
        stock_client.get(url(999_999)),
        stock_client.get(url(999_999, "preview")),
        stock_client.post(url(999_999, "lines"), {"barcode": BARCODE_S}, format="json"),
        stock_client.post(url(999_999, "apply")),
    ):
        assert response.status_code == 404
        assert _error(response)["code"] == "not_found"


def test_preview_then_apply_corrects_only_the_real_difference(stock_client, tee, store):
    small, large = tee["small"], tee["large"]
    session = _start(stock_client)
    stock_client.post(
        url(session["id"], "lines"), {"barcode": BARCODE_S, "counted": 4}, format="json"
    )
    sell(small, 1, store)  # after the count: a sale, not a loss
    start = last_movement_id()

    preview = stock_client.get(url(session["id"], "preview"))

    assert preview.status_code == 200
    assert preview.json() == {
        "count": session["id"],
        "status": "open",
        "units": -2,
        "value": "-59.80",
        "corrections": [
            {
                "variant": small.pk,
                "sku": small.sku,
                "counted": 4,
                "expected_at_entry": 6,
                "on_hand": 5,
                "committed": 0,
                "units": -2,
                "on_hand_after": 3,
                "price": "29.90",
                "value": "-59.80",
                "refused": False,
            }
        ],
    }
    assert last_movement_id() == start

    applied = stock_client.post(url(session["id"], "apply"))

    assert applied.status_code == 200
    assert applied.json() == {**preview.json(), "status": "applied"}
    assert movements(start) == [
        (small.sku, "count_correction", -2, 0, 3, 0, "STORE-01", f"COUNT-{session['id']}")
    ]
    assert levels()[(large.sku, "STORE-01")] == (3, 0)
    detail = stock_client.get(url(session["id"])).json()
    assert detail["status"] == "applied"
    assert detail["applied_at"] is not None
    assert [line["correction"] for line in detail["lines"]] == [-2, None]


def test_applying_twice_answers_the_same_and_moves_once(stock_client, tee):
    session = _start(stock_client)
    stock_client.post(
        url(session["id"], "lines"), {"barcode": BARCODE_S, "counted": 1}, format="json"
    )

    first = stock_client.post(url(session["id"], "apply"))
    after = last_movement_id()
    again = stock_client.post(url(session["id"], "apply"))

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert last_movement_id() == after


def test_applying_a_cancelled_session_is_an_invalid_transition(stock_client, tee):
    session = _start(stock_client)
    stock_client.post(url(session["id"], "lines"), {"barcode": BARCODE_S}, format="json")
    cancelled = stock_client.post(url(session["id"], "cancel"))
    before = everything()

    applied = stock_client.post(url(session["id"], "apply"))
    scanned = stock_client.post(url(session["id"], "lines"), {"barcode": BARCODE_S}, format="json")

    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    for refused in (applied, scanned):
        assert refused.status_code == 409
        assert _error(refused)["code"] == "invalid_transition"
        assert _error(refused)["details"] == {"count": session["id"], "status": "cancelled"}
    assert everything() == before


def test_a_count_below_the_committed_units_is_insufficient_stock(stock_client, tee, store):
    from stock.tests.test_counts import commit

    commit(tee["small"], 4, store)
    session = _start(stock_client)
    stock_client.post(
        url(session["id"], "lines"), {"barcode": BARCODE_S, "counted": 2}, format="json"
    )
    before = everything()

    response = stock_client.post(url(session["id"], "apply"))

    assert response.status_code == 409
    assert _error(response)["code"] == "insufficient_stock"
    assert [line["sku"] for line in _error(response)["details"]["lines"]] == [tee["small"].sku]
    assert everything() == before


def test_a_single_count_at_a_location_with_an_open_session_is_a_conflict(stock_client, tee):
    session = _start(stock_client)

    response = stock_client.post(
        f"/api/v1/variants/{tee['small'].pk}/count/",
        {"quantity": 1, "location": "STORE-01"},
        format="json",
    )

    assert response.status_code == 409
    assert _error(response)["code"] == "conflict"
    assert _error(response)["details"] == {"location": "STORE-01", "count": session["id"]}


def test_writes_honour_an_idempotency_key(stock_client, tee):
    first = stock_client.post(
        COUNTS, {"location": "STORE-01"}, format="json", HTTP_IDEMPOTENCY_KEY="count-1"
    )
    again = stock_client.post(
        COUNTS, {"location": "STORE-01"}, format="json", HTTP_IDEMPOTENCY_KEY="count-1"
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert CountSession.objects.count() == 1

    # A scanner retrying a scan it never got an answer for counts it once.
    lines = url(first.json()["id"], "lines")
    for _ in range(3):
        scan = stock_client.post(
            lines, {"barcode": BARCODE_S}, format="json", HTTP_IDEMPOTENCY_KEY="scan-1"
        )
        assert scan.json()["counted"] == 1
    assert stock_client.post(lines, {"barcode": BARCODE_S}, format="json").json()["counted"] == 2


def test_counting_needs_stock_write_and_a_bound_key_counts_only_at_its_own(
    key_client, tee, main, store
):
    reader = key_client()
    out = io.StringIO()
    call_command(
        "create_api_key", "till-1", "--scope", "stock:write", "--location", "STORE-01",
        stdout=out, stderr=io.StringIO(),
    )  # fmt: skip
    till = APIClient()
    till.credentials(HTTP_AUTHORIZATION=f"Api-Key {out.getvalue().strip()}")

    denied = reader.post(COUNTS, {"location": "STORE-01"}, format="json")
    elsewhere = till.post(COUNTS, {"location": "MAIN"}, format="json")
    own = till.post(COUNTS, {"location": "STORE-01"}, format="json")

    assert denied.status_code == 403
    assert _error(denied)["message"] == "This API key lacks the scope stock:write."
    assert elsewhere.status_code == 403
    assert _error(elsewhere)["details"] == {"location": "MAIN", "allowed_locations": ["STORE-01"]}
    assert own.status_code == 201


def test_the_list_filters_by_status_and_location_newest_first(
    stock_client, tee, main, django_assert_num_queries
):
    applied = _start(stock_client)
    stock_client.post(url(applied["id"], "apply"))
    open_here = _start(stock_client)
    at_main = stock_client.post(COUNTS, {"location": "MAIN"}, format="json").json()

    with django_assert_num_queries(2):  # the key, the page (with the lines counted)
        listed = stock_client.get(COUNTS)
    by_status = stock_client.get(COUNTS, {"status": "open"})
    by_location = stock_client.get(COUNTS, {"location": "store-01"})
    bad = stock_client.get(COUNTS, {"status": "done"})

    assert [row["id"] for row in listed.json()["results"]] == [
        at_main["id"],
        open_here["id"],
        applied["id"],
    ]
    assert "lines" not in listed.json()["results"][0]
    assert listed.json()["results"][1]["lines_total"] == 2
    assert [row["id"] for row in by_status.json()["results"]] == [at_main["id"], open_here["id"]]
    assert [row["id"] for row in by_location.json()["results"]] == [
        open_here["id"],
        applied["id"],
    ]
    assert bad.status_code == 400
    assert "status" in _error(bad)["details"]


def test_a_session_by_id_in_a_pinned_number_of_queries(
    stock_client, tee, django_assert_num_queries
):
    session = _start(stock_client)
    with django_assert_num_queries(3):  # the key, the session, its lines
        response = stock_client.get(url(session["id"]))
    assert len(response.json()["lines"]) == 2


def test_a_scan_costs_a_pinned_number_of_queries(stock_client, tee, django_assert_num_queries):
    session = _start(stock_client)
    lines = url(session["id"], "lines")
    stock_client.post(lines, {"barcode": BARCODE_S}, format="json")

    # The key; the session (404); in the service's transaction (a savepoint in the test's: two
    # statements), the session locked, the location key-share locked, the variant found by its
    # barcode, then locked, its level there, its line, the line's update.
    with django_assert_num_queries(11):
        scan = stock_client.post(lines, {"barcode": BARCODE_S}, format="json")

    assert scan.json()["counted"] == 2
