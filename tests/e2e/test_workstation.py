"""My work on a ward workstation and a tablet (issue 14, item 9): at 1024×768 at least four task
rows are on the first screen; at 820 px the bell's count stays in sight (the menu folds away);
a checkbox task is done in one press."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from checklists.models import Task
from checklists.services import checklists_instantiate
from coordination.models import Notification

from ..checklists.helpers import make_event, publish_template
from .helpers import task_button

pytestmark = pytest.mark.e2e

CHECKS = [f"Check {n}: line, pump and label" for n in range(1, 7)]


@pytest.fixture
def six_tasks(patient, nurse):
    publish_template(items=[{"text": text, "due_offset_minutes": -30 * n} for n, text in enumerate(CHECKS)])
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=4))
    checklists_instantiate(events=[event])
    Notification.objects.create(recipient=nurse, title="Weight due in 2 hours", link="/")
    return event


def rows_in_view(page) -> int:
    return page.evaluate(
        """() => [...document.querySelectorAll('.task-row')].filter(row => {
            const box = row.getBoundingClientRect();
            return box.top >= 0 && box.bottom <= window.innerHeight;
        }).length"""
    )


def test_four_task_rows_fit_the_first_screen_of_a_1024_by_768_workstation(page, login_as, six_tasks, screenshot):
    page.set_viewport_size({"width": 1024, "height": 768})
    login_as(page, "nurse")
    expect(page.locator(".task-row")).to_have_count(6)
    screenshot(page, "my-work-1024x768")
    assert rows_in_view(page) >= 4


@pytest.mark.parametrize("width", [1280, 1024, 820])
def test_the_bells_count_stays_in_sight(page, login_as, six_tasks, width, screenshot):
    # A long name, role and unit must not push the bar onto a second line (the names are random
    # otherwise, and a long one wrapped it at 1280 px only now and then).
    User.objects.filter(username="nurse").update(first_name="Maximiliana-Josephine", last_name="Vandenberghe-Oyelaran")
    login_as(page, "nurse")
    page.set_viewport_size({"width": width, "height": 800})
    bell = page.get_by_role("link", name="Notifications 1 unread")
    expect(bell).to_be_visible()
    expect(bell).to_be_in_viewport()
    nav = page.get_by_role("navigation", name="Main").bounding_box()
    assert nav["height"] < 80, "the navigation wraps onto a second line"
    screenshot(page, f"navigation-{width}")


def test_a_checkbox_task_is_done_in_one_press(page, login_as, six_tasks):
    page.set_viewport_size({"width": 1024, "height": 768})
    login_as(page, "nurse")
    task_button(page, "Done", CHECKS[0]).click()
    expect(page.get_by_text("Done.")).to_be_visible()
    assert Task.objects.get(event=six_tasks, text=CHECKS[0]).status == Task.Status.DONE


@pytest.mark.parametrize("width", [1280, 1024, 820])
def test_the_event_page_puts_the_work_on_the_first_screen(page, login_as, infusion_start, width, screenshot):
    """The gate in a line, then the tasks; the bag, the reminders and the snoozes below them
    (issue 14, item 6). 820×1180 is a tablet held upright."""
    login_as(page, "nurse")
    page.set_viewport_size({"width": width, "height": 1180 if width == 820 else 768})
    page.goto(f"/events/{infusion_start.pk}/")
    expect(page.locator(".task-row").first).to_be_in_viewport()
    headings = page.get_by_role("heading").all_inner_texts()
    assert headings.index("Bag") > headings.index("Before the start")
    screenshot(page, f"event-{width}")
