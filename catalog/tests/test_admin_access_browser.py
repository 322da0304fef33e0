"""Access in a real browser: a manager adds a clerk to the Store staff group, the clerk signs in,
gets locked out by too many wrong passwords, reads how long to wait and where a manager
unlocks, and the manager unlocks the sign-in. Screenshots go to test-artifacts/access-*.png.

The data is set up before Playwright starts and checked after it stops (see
test_admin_browser.py for why)."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from catalog.groups import STORE_STAFF_GROUP
from catalog.tests.support import BROWSER_TEST_MARKS, admin_log_in, chromium_page, screenshot_taker

pytestmark = BROWSER_TEST_MARKS

PASSWORD = "a-Long-pass-4471"


@pytest.fixture
def screenshot() -> Callable[[Page, str], None]:
    return screenshot_taker("access")


def _try_password(page: Page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")


def test_a_manager_adds_a_clerk_and_lifts_the_clerks_lockout(
    live_server, manager: User, screenshot
):
    with chromium_page() as page:
        admin_log_in(page, live_server.url, manager.username)
        page.goto(f"{live_server.url}/admin/auth/user/add/")
        # Nothing on the form makes a superuser or grants a single permission.
        expect(page.locator("[name=is_superuser]")).to_have_count(0)
        expect(page.locator("[name=user_permissions]")).to_have_count(0)
        page.fill("#id_username", "new-clerk")
        page.fill("#id_password1", PASSWORD)
        page.fill("#id_password2", PASSWORD)
        page.get_by_label(STORE_STAFF_GROUP).check()
        screenshot(page, "01-add-clerk")
        page.locator("input[name=_save]").click()
        expect(page.locator(".messagelist .success")).to_be_visible()
        screenshot(page, "02-clerk-added")
        page.get_by_role("button", name="Log out").click()

        # The clerk signs in and sees the catalog.
        admin_log_in(page, live_server.url, "new-clerk", PASSWORD)
        expect(page.get_by_role("link", name="Products", exact=True)).to_be_visible()
        page.get_by_role("button", name="Log out").click()

        # Five wrong passwords lock the clerk out.
        for _ in range(5):
            _try_password(page, live_server.url, "new-clerk", "wrong")
        expect(page.get_by_role("heading", name="Sign-in locked")).to_be_visible()
        expect(page.locator("#content-main")).to_contain_text("Try again in 15 minutes")
        screenshot(page, "03-locked-out")
        unlock_link = page.locator("#content-main a").first.get_attribute("href")
        assert unlock_link is not None

        # The manager opens the page the lockout names and unlocks the clerk.
        admin_log_in(page, live_server.url, manager.username)
        page.goto(f"{live_server.url}{unlock_link}")
        row = page.locator("#result_list tbody tr").filter(has_text="new-clerk")
        expect(row).to_have_count(1)
        row.locator("input[name=_selected_action]").check()
        page.select_option("select[name=action]", "unlock")
        screenshot(page, "04-lockouts")
        page.get_by_role("button", name="Go").click()
        expect(page.locator(".messagelist .success")).to_contain_text("Unlocked: new-clerk")
        page.get_by_role("button", name="Log out").click()

        admin_log_in(page, live_server.url, "new-clerk", PASSWORD)
        expect(page.get_by_role("link", name="Products", exact=True)).to_be_visible()
        screenshot(page, "05-clerk-back")

    clerk = User.objects.get(username="new-clerk")
    assert (clerk.is_staff, clerk.is_superuser) == (True, False)
    assert [group.name for group in clerk.groups.all()] == [STORE_STAFF_GROUP]
