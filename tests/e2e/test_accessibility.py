"""Every main page of the demo ward, on a 1024×768 tablet: axe-core finds no serious or critical
violation (WCAG 2.x A and AA rules and best practices), and the page does not scroll sideways.

One walk for both: the demo ward takes some 20 seconds to seed, so it is seeded once.

With --screenshots (or E2E_SCREENSHOTS=1) each page is also saved under var/screenshots/.
"""

import pytest
from playwright.sync_api import expect

from .helpers import sideways_scroll, task_button

pytestmark = pytest.mark.e2e

# Who looks at each page of the demo ward (None: before signing in), grouped by person.
PAGES = {
    None: ["login"],
    "nurse": ["my_work", "patients", "patient", "event", "notifications", "security"],
    "coordinator": ["board", "patient_form"],
    "admin": [
        "templates",
        "template",
        "template_version",
        "template_draft",
        "template_item",
        "template_preview",
        "template_compare",
        "audit_log",
    ],
}

# Rules that a page may break for now, as {page: {rule id}}, each with a comment saying why and
# who fixes it; empty when all is well.
TOLERATED: dict[str, set[str]] = {}


def test_every_main_page_is_accessible_and_fits_a_1024_px_tablet(page, login_as, demo_ward, axe_violations, screenshot):
    found, too_wide = {}, {}
    for user, names in PAGES.items():
        if user:
            login_as(page, user)
        for name in names:
            page.goto(getattr(demo_ward, name))
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            screenshot(page, name.replace("_", "-"))
            found[name] = axe_violations(page, tolerate=TOLERATED.get(name, ()))
            too_wide[name] = sideways_scroll(page)

    # A wrong value shows its message at the field: that state must be readable too.
    login_as(page, "nurse")
    page.goto(demo_ward.event)
    page.get_by_label("Weight (kg)").fill("heavy")
    task_button(page, "Done", "Weight (kg)").click()
    expect(page.get_by_text("Enter a number with the digits 0–9")).to_be_visible()
    screenshot(page, "event-with-a-wrong-value")
    found["event with a wrong value"] = axe_violations(page, tolerate=TOLERATED.get("event", ()))

    report = "\n".join(f"{name}:\n  " + "\n  ".join(lines) for name, lines in found.items() if lines)
    assert not report, f"serious or critical accessibility violations:\n{report}"
    assert {name: why for name, why in too_wide.items() if why} == {}, "these pages scroll sideways"
