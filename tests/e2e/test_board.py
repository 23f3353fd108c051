"""The unit board in the browser at 1280, 1024 and 820 px (issue 19): the coordinator of the demo
ward opens the events not ready starting soonest, a person's overdue tasks and the tasks left open
in place, reads them, and reassigns one; each state fits its window and passes axe."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from checklists.models import EVENT_TIME, Task
from patients.models import CareEvent

from .helpers import lines_of, sideways_scroll

pytestmark = pytest.mark.e2e

WIDTHS = [1280, 1024, 820]


def test_the_coordinator_opens_the_boards_lists_in_place_and_reassigns(
    page, login_as, demo_ward, axe_violations, screenshot
):
    # The demo leaves no task open when its event is done: one done task is open again, as if never charted.
    ward = User.objects.get(username="coordinator").unit
    charted = Task.objects.filter(patient__unit=ward, event__status=CareEvent.Status.DONE, due_at__lte=EVENT_TIME)
    Task.objects.filter(pk=charted.filter(status=Task.Status.DONE).values("pk")[:1]).update(
        status=Task.Status.OPEN, value="", completed_by=None, completed_at=None, verified_by=None, verified_at=None
    )
    login_as(page, "coordinator")
    page.goto(demo_ward.board)
    expect(
        page.get_by_role("heading", name=re.compile(r"Not ready: past their time or in the next 72 hours \(\d+\)"))
    ).to_be_visible()

    soonest = page.locator("#blocked ~ ul summary").first
    soonest.click()
    rows = page.get_by_role("table").first.get_by_role("row")
    expect(rows.nth(1)).to_be_visible()  # loaded in place: a row under the header
    expect(rows.nth(1)).to_contain_text(re.compile(r"\(RUH\d+\)"))  # the patient's name and MRN
    overdue = page.locator("#overdue ~ ul summary").first
    overdue.click()
    expect(page.locator("[id^=board-task-]").first).to_be_visible()  # the pool's tasks, loaded in place
    expect(page.locator("[id^=board-task-]").first).to_contain_text(re.compile(r"Overdue since .+\(RUH\d+\)"))
    left_open = page.locator("#left-open ~ ul summary").first  # counted by person: the tasks load in place
    left_open.click()
    expect(page.locator("[id^=left-open-task-]").first).to_be_visible()
    expect(page.locator("[id^=left-open-task-]").first).to_contain_text(
        re.compile(r"Left open [\s\S]+\(MRN RUH\d+\)\s+· Close")
    )

    found, too_wide = {}, {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"board-{width}")
        found[width] = axe_violations(page)
        too_wide[width] = sideways_scroll(page)
    assert {width: lines for width, lines in found.items() if lines} == {}
    assert {width: why for width, why in too_wide.items() if why} == {}
    # A time reads on one line at 820 px ("Mon 7 Dec 05:00"), not broken into three.
    assert lines_of(rows.nth(1).get_by_role("cell").first) == 1

    page.set_viewport_size({"width": 1024, "height": 768})
    page.locator("summary", has_text="Reassign").first.click()
    expect(page.get_by_label("Give to").first).to_be_visible()
