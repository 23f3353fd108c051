"""A real browser (Debian's chromium, driven by Playwright) against pytest-django's live server.

Fixtures:
- `browser` (one per session), `context` and `page` (one per test, a 1024×768 tablet);
- `login_as(page, username)`: the real sign-in pages, second step included;
- the data: `infusion_start`, a short checklist for the cast of tests/conftest.py, and
  `demo_ward`, the demo hospital of `seed_demo`;
- `axe_violations(page)`: axe-core's serious and critical findings;
- `screenshot(page, name)`: a full-page PNG under var/screenshots/ when asked for, with
  `--screenshots` (declared in tests/conftest.py) or E2E_SCREENSHOTS=1.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect, sync_playwright

from accounts.models import User
from accounts.policy import mfa_required
from accounts.signin import totp_device

from ..accounts.helpers import totp_code
from ..factories import TEST_PASSWORD
from . import worlds

# Playwright's sync API runs an asyncio event loop in this thread; Django's ORM would refuse to
# run beside it. The tests are single-threaded, so the ORM calls are safe.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # runs as root in containers
    "--disable-dev-shm-usage",  # small /dev/shm in containers
    "--disable-background-networking",
    "--disable-extensions",
    "--disable-gpu",
]
TABLET = {"width": 1024, "height": 768}
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
SERIOUS = ("serious", "critical")

expect.set_options(timeout=10_000)  # a shared 2-core machine can be slow; passing checks return at once


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium to run the browser tests (CI does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def _plain_http_live_server():
    """The live server speaks plain HTTP. Production redirects it to HTTPS, and Django's
    SecurityMiddleware reads that setting once, when the server starts: so before it starts."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "SECURE_SSL_REDIRECT", False)
        yield


@pytest.fixture(scope="session")
def live_server(_plain_http_live_server, live_server):
    """pytest-django's live server, started over plain HTTP."""
    return live_server


@pytest.fixture
def context(browser, live_server):
    # bypass_csp: the app's Content-Security-Policy forbids inline scripts, and injecting
    # axe-core is one. Only the test's own injection is affected; the page runs as served.
    context = browser.new_context(base_url=live_server.url, viewport=TABLET, bypass_csp=True, locale="en-GB")
    yield context
    context.close()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture
def login_as():
    """`login_as(page, username)`: a fresh sign-in through the sign-in pages, as on a shared tablet.

    Staff and coordinators must pass the second step: they get an authenticator, and the helper
    types the code it shows. A code counts once, so one such user signs in at most once in 30 s.
    """

    def sign_in(page, username: str, password: str = TEST_PASSWORD):
        authenticator = _authenticator(User.objects.get(username=username))
        page.context.clear_cookies()
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        if authenticator:
            # The second step is a page of its own: wait for it explicitly (on a busy machine, two
            # xdist workers at once, the first step's answer can be slow), then read the code.
            code = page.get_by_label("Code")
            expect(code).to_be_visible(timeout=30_000)
            code.fill(totp_code(authenticator))
            page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    return sign_in


def _authenticator(user) -> TOTPDevice | None:
    """The authenticator app of a user whose role needs the second step (made if they have none)."""
    if not mfa_required(user):
        return None
    return totp_device(user) or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


@pytest.fixture
def infusion_start(patient, nurse, nurse2, pharmacist, oncologist):
    """Cycle 1 starts in four hours for a patient whose care team holds every role."""
    return worlds.infusion_start(patient)


@pytest.fixture
def demo_ward(db) -> worlds.DemoWard:
    """`seed_demo`'s hospital: twelve ward patients at different points of their courses."""
    return worlds.demo_ward()


@pytest.fixture
def axe_violations():
    """`axe_violations(page, tolerate=())`: axe-core's serious and critical violations, one readable line each."""

    def run(page, tolerate=()) -> list[str]:
        page.add_script_tag(path=AXE)
        results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        return [
            f"{violation['id']} ({violation['impact']}): {violation['help']}\n"
            + "\n".join(
                f"    at {node['target']}: {node['html'][:160]}\n      {_why(node)}" for node in violation["nodes"]
            )
            for violation in results["violations"]
            if violation["impact"] in SERIOUS and violation["id"] not in tolerate
        ]

    return run


def _why(node: dict) -> str:
    """axe's explanation for one element, e.g. the contrast ratio and the colours it measured."""
    checks = node["any"] or node["all"] or node["none"]
    return checks[0]["message"] if checks else node.get("failureSummary", "")


@pytest.fixture
def screenshot(request):
    """`screenshot(page, name)`: var/screenshots/<name>.png, when screenshots were asked for."""
    wanted = request.config.getoption("screenshots", default=False) or os.environ.get("E2E_SCREENSHOTS") == "1"

    def save(page, name: str):
        if wanted:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)

    return save
