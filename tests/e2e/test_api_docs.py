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
