"""Clinical content governed by two people, in the browser (issue 20): a pharmacist admin drafts a
change with a condition and a source and submits it; an oncologist admin (the template asks for
one) reads what changes and what publishing does to the upcoming events, and approves; the
nurse's upcoming checklist carries the change and the open one does not. Screenshots of the
review page at 1280, 1024 and 820 px; axe-core on it."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role
from checklists.models import Checklist, TemplateVersion
from checklists.services import checklists_instantiate
from patients.models import CareEvent, Setting

from ..checklists.helpers import make_event, publish_template
from ..factories import UserFactory

pytestmark = pytest.mark.e2e

WIDTHS = [1280, 1024, 820]
SOURCE = "BLINCYTO prescribing information (2024), section 2.4: pump rate by bag duration"


@pytest.fixture
def content_admins(db):
    return (
        UserFactory(username="pharmacyadmin", role=Role.PHARMACIST, is_staff=True, unit=None),
        UserFactory(username="oncologyadmin", role=Role.ONCOLOGIST, is_staff=True, unit=None),
    )


@pytest.fixture
def bag_changes(patient, nurse):
    """The template's published v1, and two of the patient's home bag changes: one in three days
    that nobody has touched, and one this afternoon whose work has opened."""
    published = publish_template(
        name="Bag change at home",
        trigger_kind=CareEvent.Kind.BAG_CHANGE,
        items=[{"text": "Pump rate checked against the bag label"}, {"text": "Line and dressing inspected"}],
    )
    template = published.template
    template.approver_role = Role.ONCOLOGIST
    template.save()
    now = timezone.now()
    upcoming = make_event(
        patient, kind=CareEvent.Kind.BAG_CHANGE, setting=Setting.HOME, planned_at=now + dt.timedelta(days=3)
    )
    under_way = make_event(
        patient, kind=CareEvent.Kind.BAG_CHANGE, setting=Setting.HOME, planned_at=now + dt.timedelta(hours=6)
    )
    checklists_instantiate(events=[upcoming, under_way])
    return template, upcoming, under_way


def test_a_pharmacist_drafts_an_oncologist_approves_and_only_upcoming_checklists_change(
    page, login_as, content_admins, bag_changes, axe_violations, screenshot
):
    template, upcoming, under_way = bag_changes

    # The pharmacist admin drafts the change: a source and a condition on the first item.
    login_as(page, "pharmacyadmin")
    page.goto(f"/templates/{template.pk}/")
    page.get_by_role("button", name="New draft").click()
    page.get_by_role("link", name="Edit item 1").click()
    page.get_by_label("Source").fill(SOURCE)
    page.get_by_label("Condition 1: fact").select_option(label="Setting")
    page.get_by_label("Condition 1: compared how").select_option(label="is")
    value = page.get_by_label("Condition 1: value")
    expect(value).to_have_js_property("tagName", "SELECT")  # the setting's values, fetched in place
    value.select_option(label="Home")
    page.get_by_role("button", name="Save item").click()
    expect(page.get_by_text("Applies when setting is home")).to_be_visible()
    page.get_by_role("link", name="Review and publish…").click()
    submit = page.get_by_role("form", name="Submit for review")
    submit.get_by_label("What changed").fill("Pump rate check names its source; for home bag changes")
    page.get_by_role("button", name="Submit for review").click()
    # Submitted, the draft is no longer edited: its review page opens, and its author may not approve.
    expect(page.get_by_text("is submitted for review")).to_be_visible()
    expect(page.get_by_text("You wrote part of this draft: another admin approves it.")).to_be_visible()
    expect(page.get_by_role("button", name="Approve and publish")).to_have_count(0)

    # The oncologist admin finds it waiting, reads what changes and what publishing does.
    login_as(page, "oncologyadmin")
    page.goto("/templates/")
    waiting = page.get_by_role("region", name="Waiting for a review")
    waiting.get_by_role("link", name="Bag change at home v2").click()
    expect(page.get_by_text("1 item changed")).to_be_visible()
    expect(page.get_by_text(SOURCE).first).to_be_visible()
    impact = page.get_by_role("region", name="What publishing does now")
    expect(impact).to_contain_text("1 upcoming event will get v2")
    expect(impact).to_contain_text("1 open checklist keeps")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"template-review-{width}")
    assert axe_violations(page) == []
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_label("Approval note").fill("Checked against the label.")
    page.get_by_role("button", name="Approve and publish").click()
    expect(page.get_by_text("is approved and published")).to_be_visible()
    expect(page.get_by_text("Approved and published", exact=True)).to_be_visible()

    # The upcoming bag change has the new version; the one under way keeps the old.
    versions = dict(Checklist.objects.filter(template=template).values_list("event_id", "version__number"))
    assert versions == {upcoming.pk: 2, under_way.pk: 1}
    assert TemplateVersion.objects.get(template=template, number=2).published_by.username == "oncologyadmin"

    # The nurse sees the source beside the task on the upcoming event, not on the one under way.
    login_as(page, "nurse")
    page.goto(f"/events/{upcoming.pk}/")
    expect(page.get_by_text(SOURCE)).to_be_visible()
    page.goto(f"/events/{under_way.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bag change")
    assert under_way.tasks.filter(text="Pump rate checked against the bag label", source="").exists()
    expect(page.get_by_text(SOURCE)).to_have_count(0)
