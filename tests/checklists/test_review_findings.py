"""Findings of the review of template authoring (issue 20): each test failed before its fix."""

import datetime as dt
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from checklists.governance import template_version_approve, template_version_return, template_version_submit
from checklists.impact import publication_impact
from checklists.interchange import template_import
from checklists.models import Checklist, ChecklistTemplate, TemplateItem, TemplateVersion
from checklists.services import (
    checklists_instantiate,
    template_item_update,
    template_update,
    template_version_new_draft,
)
from checklists.starter import LIBRARY
from patients.models import CareEvent, Setting

from ..accounts.helpers import verified_login
from ..factories import PatientFactory, UserFactory
from .helpers import make_event


@pytest.fixture
def reviewer(db):
    return UserFactory(username="reviewer", is_staff=True, role=Role.ONCOLOGIST)


# --- import: a file that is JSON but not text ------------------------------------------------------


def _with_lone_surrogate() -> bytes:
    """The library's bag change, renamed with a JSON escape of half a character (\\ud800): valid
    JSON in ASCII bytes, but no text PostgreSQL (or a page) can hold."""
    data = json.loads((LIBRARY / "bag-change.json").read_text(encoding="utf-8"))
    data["template"]["name"] = "Bag change \ud800"
    return json.dumps(data).encode("ascii")


def test_an_import_with_a_lone_surrogate_escape_is_refused_and_creates_nothing(db, author):
    with pytest.raises(ValidationError, match="not text"):
        template_import(_with_lone_surrogate(), actor=author)
    assert not ChecklistTemplate.objects.exists()


def test_the_import_page_answers_a_lone_surrogate_at_the_file_field(client, author):
    verified_login(client, author)
    upload = SimpleUploadedFile("bag-change.json", _with_lone_surrogate(), content_type="application/json")
    response = client.post(reverse("checklists:template_import"), {"file": upload})
    assert response.status_code == 200
    assert any("not text" in error for error in response.context["form"].errors["file"])
    assert not ChecklistTemplate.objects.exists()


# --- approval: the reviewer approves what they read -------------------------------------------------


def test_a_stale_approval_does_not_publish_a_draft_changed_and_submitted_again_since(
    client, published, author, reviewer
):
    """The reviewer opens the review page of the submitted draft; meanwhile the author withdraws
    it, changes an item and submits it again. The reviewer's tab, still showing the first
    submission, must not approve (and publish) content they never saw."""
    draft = template_version_new_draft(template=published.template, actor=author)
    template_version_submit(version=draft, actor=author, change_summary="First attempt")
    url = reverse("checklists:version_review", args=[draft.pk])
    verified_login(client, reviewer)
    seen = client.get(url).context["forms"]["approve"]
    posted = {"action": "approve", "approve-comment": "Looks right"}
    posted |= {f"approve-{name}": value for name, value in seen.initial.items() if name != "comment"}

    template_version_return(version=draft, actor=author, comment="Withdrawn to change the pump check.")
    item = draft.items.get(text="Pump rate checked")
    template_item_update(item=item, values={"due_offset_minutes": -30 * 24 * 60}, actor=author)
    template_version_submit(version=draft, actor=author, change_summary="Second attempt")

    response = client.post(url, posted)
    assert response.status_code == 200
    assert TemplateVersion.objects.get(pk=draft.pk).status == TemplateVersion.Status.IN_REVIEW
    assert "submitted again" in response.content.decode()
    # The page now shows the new submission, and its approve form approves that one.
    shown = response.context["forms"]["approve"]
    posted = {"action": "approve", "approve-comment": "Re-read"}
    posted["approve-submission"] = shown["submission"].value()
    assert client.post(url, posted).status_code == 302
    assert TemplateVersion.objects.get(pk=draft.pk).status == TemplateVersion.Status.PUBLISHED
    assert TemplateItem.objects.get(version=draft, text="Pump rate checked").due_offset_minutes == -30 * 24 * 60


# --- publication: what the review page counts is what publishing does ------------------------------


def test_publishing_keeps_the_untouched_checklist_of_an_event_the_template_no_longer_applies_to(
    published, author, reviewer
):
    """The template's settings are narrowed to home bag changes (they apply to checklists made
    from then on). An untouched checklist of an upcoming bag change on the ward was counted as
    "gets the new version", then deleted at publication and not made again: the event lost its
    checklist, and the page had said otherwise."""
    patient = PatientFactory()
    event = make_event(
        patient,
        kind=CareEvent.Kind.BAG_CHANGE,
        setting=Setting.INPATIENT,
        planned_at=timezone.now() + dt.timedelta(days=5),
    )
    checklists_instantiate(events=[event])
    template_update(template=published.template, values={}, conditions=[("setting", "eq", "home")], actor=author)
    draft = template_version_new_draft(template=published.template, actor=author)
    template_version_submit(version=draft, actor=author, change_summary="Home bag changes only")

    impact = publication_impact(draft, now=timezone.now())
    assert (impact.get_new_version, impact.kept) == (0, 1)
    template_version_approve(version=draft, actor=reviewer)
    assert list(Checklist.objects.filter(event=event).values_list("version__number", flat=True)) == [1]
