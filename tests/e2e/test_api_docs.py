"""The API's browsable docs (/api/docs/): Swagger UI from the app's own vendored files renders the
schema in a real browser under the site's Content-Security-Policy ('self' only), with no violation."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_the_api_docs_render_from_vendored_files_without_a_csp_violation(browser, live_server, screenshot):
    # A context of its own: the shared one bypasses the CSP to inject axe-core.
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    refused, elsewhere = [], []

    def console(message):
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    def request(sent):
        if not sent.url.startswith((live_server.url, "data:")):
            elsewhere.append(sent.url)

    page.on("console", console)
    page.on("request", request)
    try:
        response = page.goto("/api/docs/")
        assert response.status == 200 and "script-src 'self'" in response.headers["content-security-policy"]
        expect(page.get_by_role("heading", name="Care Coordination Tracker API")).to_be_visible()
        expect(page.get_by_text("/api/v1/tasks/{id}/claim/", exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="Authorize")).to_be_visible()
        screenshot(page, "api-docs")
        assert refused == []
        assert elsewhere == []
    finally:
        context.close()


def test_a_nurse_makes_a_token_sees_it_once_uses_it_and_revokes_it(page, login_as, nurse, live_server, screenshot):
    login_as(page, "nurse")
    page.goto("/accounts/security/")
    tokens = page.get_by_role("region", name="API tokens")
    expect(tokens.get_by_text("You have no API tokens.")).to_be_visible()
    tokens.get_by_label("Name").fill("Agency sync")
    tokens.get_by_role("button", name="Make a token").click()
    secret = page.locator("#api-token").inner_text()
    assert secret.startswith("cct_")
    expect(page.get_by_role("button", name="Copy the token")).to_be_visible()  # shown by copy.js
    screenshot(page, "api-token-made")

    api = page.context.request
    answer = api.get(f"{live_server.url}/api/v1/tasks/", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status == 200

    page.get_by_role("link", name="I have stored the token: back to Security").click()
    row = page.get_by_role("row", name="Agency sync")
    expect(row).not_to_contain_text("never")  # its last use, just now
    expect(page.get_by_text(secret)).to_have_count(0)
    screenshot(page, "api-token-list")
    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("is revoked: it stops working at its next request")).to_be_visible()
    refused = api.get(f"{live_server.url}/api/v1/tasks/", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status == 401


@pytest.mark.parametrize("width", [1280, 820])
def test_the_security_pages_tokens_and_calendar_links_fit_the_screen(
    browser, live_server, login_as, nurse, patient, width, screenshot
):
    from accounts.services import token_create
    from coordination.feeds.services import feed_key_renew

    token_create(user=nurse, name="Agency sync", days=90, second_step_passed=False, actor=nurse)
    feed_key_renew(actor=nurse, second_step_passed=False)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        login_as(page, "nurse")  # (its check looks for the navigation's Sign out, folded away at 820 px)
        page.set_viewport_size({"width": width, "height": 900})
        page.goto("/accounts/security/")
        expect(page.get_by_role("region", name="API tokens").get_by_role("row", name="Agency sync")).to_be_visible()
        feeds = page.get_by_role("region", name="Calendar feeds")
        expect(feeds.get_by_role("textbox", name="My due work")).to_have_accessible_description(
            "Your open tasks, your role's open tasks on your care teams and your handoff tasks, due from 7 days ago "
            "(overdue) to 14 days ahead: the kind of event, how many tasks and the patient's initials, never their "
            "wording."
        )
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        screenshot(page, f"security-{width}")
    finally:
        context.close()
