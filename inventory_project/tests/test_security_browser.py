"""The content security policy in a real browser: the admin, Swagger UI and Redoc render and work
with inline scripts forbidden, and the browser reports no violation. Screenshots go to
test-artifacts/security-*.png."""

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from catalog.tests.support import BROWSER_TEST_MARKS, admin_log_in, chromium_page, screenshot_taker

pytestmark = BROWSER_TEST_MARKS


@pytest.fixture
def screenshot():
    # The docs are tens of thousands of pixels long; what a reader sees first is enough.
    return screenshot_taker("security", full_page=False)


def test_admin_and_api_docs_work_under_the_content_security_policy(
    live_server, manager: User, make_product, screenshot
):
    product = make_product(name="Merino Crew Sweater", category="Sweaters")
    violations: list[str] = []

    with chromium_page() as page:
        page.on(
            "console",
            lambda message: (
                violations.append(message.text)
                if message.type == "error" and "Content Security Policy" in message.text
                else None
            ),
        )
        admin_log_in(page, live_server.url, manager.username)

        page.goto(f"{live_server.url}/admin/catalog/product/{product.pk}/change/")
        # The inline rows' script (served from a file) ran: it adds the "add another" row.
        expect(page.get_by_role("button", name="Add another Variant")).to_be_visible()
        screenshot(page, "01-admin-change-page")

        page.goto(f"{live_server.url}/api/docs/")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("Inventory API")
        expect(page.locator(".opblock-tag").first).to_be_visible()
        screenshot(page, "02-swagger-ui")

        page.goto(f"{live_server.url}/api/redoc/")
        expect(page.locator("h1").first).to_contain_text("Inventory API")
        expect(page.get_by_text("/api/v1/products/").first).to_be_attached()
        screenshot(page, "03-redoc")

    # Redoc's "API docs by Redocly" badge loads its logo from Redocly's server; the policy blocks
    # that on purpose (the docs send readers' addresses nowhere) and Redoc then hides the badge.
    # That one report also proves the listener hears the browser's reports.
    blocked_badge = [text for text in violations if "https://cdn.redoc.ly/" in text]
    assert len(blocked_badge) == 1
    assert [text for text in violations if text not in blocked_badge] == []
