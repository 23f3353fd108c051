"""A second person approves clinical content: submit, approve (which publishes), return with
comments, an emergency publication reviewed afterwards; and what publishing does to the
upcoming events, counted before it is done (checklists.governance, checklists.impact)."""

import datetime as dt

import pytest
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, Role
from checklists.governance import (
    emergency_review_pending,
    template_version_approve,
    template_version_publish_in_emergency,
    template_version_return,
    template_version_review_after,
    template_version_submit,
)
from checklists.impact import publication_impact
from checklists.models import Checklist, TemplateReview, TemplateVersion
from checklists.services import (
    checklists_instantiate,
    task_claim,
    template_item_create,
    template_update,
    template_version_fingerprint,
    template_version_new_draft,
)
from patients.models import CareEvent

from ..accounts.helpers import verified_login
from ..factories import CareTeamMemberFactory, PatientFactory, UnitFactory, UserFactory
from .helpers import make_event

REASON = "The label changed overnight and the night shift starts at 20:00."


@pytest.fixture
def pharmacist_admin(db):
    return UserFactory(username="pharmacist_admin", is_staff=True, role=Role.PHARMACIST)


@pytest.fixture
def oncologist_admin(db):
    return UserFactory(username="oncologist_admin", is_staff=True, role=Role.ONCOLOGIST)


def _submitted(draft, author):
    return template_version_submit(version=draft, actor=author, change_summary="Pump rate checked two hours before")


# --- the rule: nobody who wrote it approves it ------------------------------------------------


def test_the_author_cannot_approve_their_own_draft(draft, author):
    submitted = _submitted(draft, author)
    with pytest.raises(PermissionDenied, match="another admin approves it"):
        template_version_approve(version=submitted, actor=author)
    assert TemplateVersion.objects.get(pk=draft.pk).status == TemplateVersion.Status.IN_REVIEW


def test_an_admin_who_edited_one_item_is_an_author_too(draft, author, pharmacist_admin, oncologist_admin):
    template_item_create(
        version=draft, values={"section": "After", "role": Role.NURSE, "text": "Bag labelled"}, actor=pharmacist_admin
    )
    submitted = _submitted(draft, author)
    with pytest.raises(PermissionDenied):
        template_version_approve(version=submitted, actor=pharmacist_admin)
    template_version_approve(version=submitted, actor=oncologist_admin)
    assert TemplateVersion.objects.get(pk=draft.pk).status == TemplateVersion.Status.PUBLISHED


def test_the_template_can_require_the_approver_to_be_a_pharmacist(draft, author, oncologist_admin, pharmacist_admin):
    template = draft.template
    template.approver_role = Role.PHARMACIST
    template.save()
    submitted = _submitted(draft, author)
    with pytest.raises(PermissionDenied, match="approved by an admin who is a pharmacist"):
        template_version_approve(version=submitted, actor=oncologist_admin)
    published = template_version_approve(version=submitted, actor=pharmacist_admin, comment="Checked against the label")
    assert published.status == TemplateVersion.Status.PUBLISHED
    assert published.published_by == pharmacist_admin


def test_a_clinician_who_is_not_an_admin_cannot_approve(draft, author):
    submitted = _submitted(draft, author)
    nurse = UserFactory(role=Role.NURSE)
    with pytest.raises(PermissionDenied, match="Only an admin"):
        template_version_approve(version=submitted, actor=nurse)


def test_approval_publishes_retires_the_old_version_and_is_kept_in_the_history(
    draft, author, oncologist_admin, published
):
    submitted = _submitted(draft, author)
    template_version_approve(version=submitted, actor=oncologist_admin, comment="Agreed")
    assert TemplateVersion.objects.get(pk=published.pk).status == TemplateVersion.Status.RETIRED
    steps = list(TemplateReview.objects.filter(version=draft).values_list("step", "actor__username", "comment"))
    assert steps == [("submitted", "author", ""), ("approved", "oncologist_admin", "Agreed")]
    actions = set(AuditEvent.objects.filter(actor_id=oncologist_admin.pk).values_list("action", flat=True))
    assert "approve" in actions


# --- submitting and returning ---------------------------------------------------------------------


def test_submitting_needs_a_summary_of_what_changed(draft, author):
    with pytest.raises(ValidationError) as refused:
        template_version_submit(version=draft, actor=author, change_summary="  ")
    assert "change_summary" in refused.value.error_dict
    assert TemplateVersion.objects.get(pk=draft.pk).status == TemplateVersion.Status.DRAFT


def test_a_draft_that_would_not_publish_cannot_be_submitted(published, author):
    draft = template_version_new_draft(template=published.template, actor=author)
    draft.items.filter(text="Line inspected").update(hard_stop=True)  # a checkbox cannot fail
    with pytest.raises(ValidationError, match="Only a number with limits"):
        _submitted(draft, author)
    assert not TemplateReview.objects.exists()


def test_a_draft_in_review_cannot_be_edited(draft, author):
    submitted = _submitted(draft, author)
    with pytest.raises(ValidationError, match="Only a draft can be edited"):
        template_item_create(version=submitted, values={"section": "x", "role": Role.NURSE, "text": "y"}, actor=author)


def test_returning_needs_comments_and_makes_it_a_draft_again(draft, author, oncologist_admin):
    submitted = _submitted(draft, author)
    with pytest.raises(ValidationError) as refused:
        template_version_return(version=submitted, actor=oncologist_admin, comment=" ")
    assert "comment" in refused.value.error_dict
    template_version_return(version=submitted, actor=oncologist_admin, comment="Two hours is too early for 7-day bags.")
    returned = TemplateVersion.objects.get(pk=draft.pk)
    assert returned.status == TemplateVersion.Status.DRAFT
    assert returned.reviews.last().comment == "Two hours is too early for 7-day bags."
    # And the author edits it again.
    template_item_create(version=returned, values={"section": "x", "role": Role.NURSE, "text": "y"}, actor=author)


def test_a_new_draft_is_not_made_beside_one_in_review(draft, author):
    submitted = _submitted(draft, author)
    assert template_version_new_draft(template=draft.template, actor=author).pk == submitted.pk


# --- what the approval was asked under stays while the draft is in review ----------------------

KEPT_WHILE_IN_REVIEW = (
    "Return the draft in review first: its reviewer approves it under the settings it was submitted with."
)


def _reviewed_settings(template):
    template.refresh_from_db()
    conditions = sorted((c.fact, c.operator, c.value) for c in template.conditions.all())
    return template.approver_role, template.trigger_kind, conditions


@pytest.fixture
def submitted_for_an_oncologist(published, draft, author):
    """The draft, submitted for a template approved by an oncologist admin, for home bag changes."""
    template_update(
        template=published.template,
        values={"approver_role": Role.ONCOLOGIST},
        conditions=[("setting", "in", "home,clinic")],
        actor=author,
    )
    return _submitted(draft, author)


@pytest.mark.parametrize(
    ("values", "conditions", "field"),
    [
        pytest.param({"approver_role": ""}, None, "approver_role", id="any-admin-approves"),
        pytest.param({"approver_role": Role.PHARMACIST}, None, "approver_role", id="another-approver-role"),
        pytest.param({}, [], "conditions", id="conditions-removed"),
        pytest.param({}, [("setting", "in", "home, clinic, inpatient")], "conditions", id="conditions-widened"),
        pytest.param({"trigger_kind": CareEvent.Kind.HOME_VISIT}, None, "trigger_kind", id="another-trigger"),
    ],
)
def test_what_the_approval_requires_cannot_change_while_a_draft_is_in_review(
    submitted_for_an_oncologist, author, pharmacist_admin, oncologist_admin, values, conditions, field
):
    template = submitted_for_an_oncologist.template
    before = _reviewed_settings(template)
    with pytest.raises(ValidationError) as refused:
        template_update(template=template, values=values, conditions=conditions, actor=author)
    assert refused.value.message_dict == {field: [KEPT_WHILE_IN_REVIEW]}
    assert _reviewed_settings(template) == before
    with pytest.raises(PermissionDenied, match="approved by an admin who is an oncologist"):
        template_version_approve(version=submitted_for_an_oncologist, actor=pharmacist_admin)

    # Returned, the draft is submitted again under the new settings, which its reviewer then reads
    # (who approves it is changed by one of its approvers: test_only_an_approver_loosens_who_approves).
    template_version_return(version=submitted_for_an_oncologist, actor=oncologist_admin, comment="Settings first.")
    template_update(template=template, values=values, conditions=conditions, actor=oncologist_admin)
    assert _reviewed_settings(template) != before


def test_only_an_approver_loosens_who_approves(published, author, pharmacist_admin, oncologist_admin):
    """Found by a review: the author of a draft could turn "approved by an admin who is an
    oncologist" into any admin, submit, and have a colleague approve it."""
    template = published.template
    template_update(template=template, values={"approver_role": Role.ONCOLOGIST}, actor=author)  # naming one: anyone
    for actor, role in ((author, ""), (pharmacist_admin, Role.PHARMACIST)):
        with pytest.raises(ValidationError) as refused:
            template_update(template=template, values={"approver_role": role}, actor=actor)
        assert refused.value.message_dict == {
            "approver_role": ["Only an admin who is an oncologist changes who approves this template."]
        }
    template.refresh_from_db()
    assert template.approver_role == Role.ONCOLOGIST
    template_update(template=template, values={"approver_role": ""}, actor=oncologist_admin)
    template.refresh_from_db()
    assert template.approver_role == ""


def test_the_other_settings_and_the_same_ones_sent_again_still_save_while_a_draft_is_in_review(
    submitted_for_an_oncologist, author
):
    template = submitted_for_an_oncologist.template
    before = _reviewed_settings(template)
    template_update(
        template=template,
        values={
            "name": "Bag change at home or in clinic",
            "description": "Outside the ward.",
            "is_active": False,  # the off switch works whatever is in review
            "approver_role": Role.ONCOLOGIST,
            "trigger_kind": CareEvent.Kind.BAG_CHANGE,
        },
        conditions=[("setting", "in", "clinic, home")],  # the same, as the page's checkboxes send it
        actor=author,
    )
    template.refresh_from_db()
    assert (template.name, template.description, template.is_active) == (
        "Bag change at home or in clinic",
        "Outside the ward.",
        False,
    )
    assert _reviewed_settings(template)[:2] == before[:2]


def _settings_posted(template, *, approver_role, conditions):
    rows = list(template.conditions.all())
    data = {
        "name": template.name,
        "trigger_kind": template.trigger_kind,
        "description": template.description,
        "is_active": "on",
        "approver_role": approver_role,
        "conditions-TOTAL_FORMS": str(len(rows) + 1),
        "conditions-INITIAL_FORMS": str(len(rows)),
        "conditions-MIN_NUM_FORMS": "0",
        "conditions-MAX_NUM_FORMS": "10",
    }
    for index, row in enumerate(rows):
        data |= {f"conditions-{index}-id": str(row.pk), f"conditions-{index}-template": str(template.pk)}
    for index, (fact, operator, values) in enumerate(conditions):
        data |= {
            f"conditions-{index}-fact": fact,
            f"conditions-{index}-operator": operator,
            f"conditions-{index}-value": values,
        }
    return data


@pytest.mark.parametrize(
    ("approver_role", "conditions", "shown_at"),
    [
        pytest.param("", [("setting", "in", ["home", "clinic"])], "approver_role", id="approver"),
        pytest.param(Role.ONCOLOGIST, [("setting", "in", ["home", "clinic", "inpatient"])], "conditions", id="cond"),
    ],
)
def test_the_template_page_refuses_the_change_at_its_field_and_saves_nothing(
    client, submitted_for_an_oncologist, author, approver_role, conditions, shown_at
):
    template = submitted_for_an_oncologist.template
    before = _reviewed_settings(template)
    url = reverse("checklists:template_detail", args=[template.pk])
    page = _signed_in(client, author).post(
        url, _settings_posted(template, approver_role=approver_role, conditions=conditions)
    )
    assert page.status_code == 200
    if shown_at == "approver_role":
        assert page.context["form"].errors == {"approver_role": [KEPT_WHILE_IN_REVIEW]}
    else:
        assert page.context["form"].errors == {}
        assert page.context["conditions"].non_form_errors() == [KEPT_WHILE_IN_REVIEW]
    assert KEPT_WHILE_IN_REVIEW in page.content.decode()
    assert "A draft is in review: who approves it, the trigger and the conditions stay" in page.content.decode()
    assert _reviewed_settings(template) == before

    # The same settings sent again, with a new name: saved.
    unchanged = _settings_posted(
        template, approver_role=Role.ONCOLOGIST, conditions=[("setting", "in", ["clinic", "home"])]
    )
    saved = client.post(url, unchanged | {"name": "Bag change outside the ward"})
    assert saved.status_code == 302
    assert _reviewed_settings(template) == before


# --- the emergency path ---------------------------------------------------------------------------


def test_an_emergency_publication_needs_a_reason_and_is_flagged_until_another_admin_reviews_it(
    draft, author, oncologist_admin
):
    with pytest.raises(ValidationError, match="at least 20 characters"):
        template_version_publish_in_emergency(
            version=draft, actor=author, reason="urgent", seen=template_version_fingerprint(draft), change_summary="x"
        )
    assert TemplateVersion.objects.get(pk=draft.pk).status == TemplateVersion.Status.DRAFT

    published = template_version_publish_in_emergency(
        version=draft,
        actor=author,
        reason=REASON,
        seen=template_version_fingerprint(draft),
        change_summary="Pump rate two hours before",
    )
    assert published.status == TemplateVersion.Status.PUBLISHED
    assert emergency_review_pending(published)
    with pytest.raises(PermissionDenied, match="another admin reviews it"):
        template_version_review_after(version=published, actor=author)
    template_version_review_after(version=published, actor=oncologist_admin, comment="Correct; keep it.")
    assert not emergency_review_pending(TemplateVersion.objects.get(pk=published.pk))


def test_the_review_history_cannot_be_rewritten(draft, author):
    from django.db import DatabaseError, transaction

    _submitted(draft, author)
    review = TemplateReview.objects.get()
    with pytest.raises(DatabaseError), transaction.atomic():
        TemplateReview.objects.filter(pk=review.pk).update(comment="changed")


# --- impact: counted before, done at publication -------------------------------------------------


@pytest.fixture
def wards(db):
    return UnitFactory(name="Ward 7 Haematology"), UnitFactory(name="Home infusion")


def _bag_change(patient, days: float) -> CareEvent:
    planned_at = timezone.now() + dt.timedelta(days=days)
    return make_event(patient, kind=CareEvent.Kind.BAG_CHANGE, planned_at=planned_at)


def test_impact_counts_by_unit_and_publication_does_what_it_said(published, draft, author, oncologist_admin, wards):
    ward, home = wards
    on_ward, at_home = PatientFactory(unit=ward), PatientFactory(unit=home)
    untouched = _bag_change(on_ward, 3)  # made again on the new version
    untouched_home = _bag_change(at_home, 4)  # made again too
    worked_on = _bag_change(on_ward, 3)  # a task claimed: keeps v1
    due_soon = _bag_change(at_home, 0.5)  # on someone's list already: keeps v1
    finished = _bag_change(on_ward, -2)  # done: not counted
    checklists_instantiate(events=[untouched, untouched_home, worked_on, due_soon, finished])
    CareEvent.objects.filter(pk=finished.pk).update(status=CareEvent.Status.DONE)
    nurse = UserFactory(role=Role.NURSE, unit=ward)
    CareTeamMemberFactory(patient=on_ward, user=nurse)
    task_claim(task=worked_on.tasks.first(), actor=nurse)
    no_checklist_yet = _bag_change(at_home, 5)  # created after v1, without its checklist: gets v2

    impact = publication_impact(draft, now=timezone.now())
    counts = {unit.unit: (unit.new, unit.replaced, unit.kept) for unit in impact.units}
    assert counts == {"Home infusion": (1, 1, 1), "Ward 7 Haematology": (0, 1, 1)}
    assert (impact.get_new_version, impact.kept) == (3, 2)

    template_version_approve(version=_submitted(draft, author), actor=oncologist_admin)
    versions = dict(Checklist.objects.values_list("event_id", "version__number"))
    assert versions == {
        untouched.pk: 2,
        untouched_home.pk: 2,
        no_checklist_yet.pk: 2,
        worked_on.pk: 1,
        due_soon.pk: 1,
        finished.pk: 1,
    }
    # The new checklist carries the new content.
    assert untouched.tasks.get(text="Pump rate checked").due_at == untouched.planned_at - dt.timedelta(hours=2)


# --- the pages ------------------------------------------------------------------------------------


def _signed_in(client, user):
    verified_login(client, user)
    return client


def test_the_review_page_says_what_changes_and_what_publishing_does(client, draft, author, oncologist_admin):
    submitted = _submitted(draft, author)
    page = _signed_in(client, oncologist_admin).get(reverse("checklists:version_review", args=[submitted.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "1 item changed" in text
    assert "<del>1 hour before</del> → <ins>2 hours before</ins>" in text
    assert "Approve and publish" in text
    assert "Submitted for review" in text


def test_the_author_sees_why_they_cannot_approve_and_a_forged_approval_is_refused(client, draft, author):
    submitted = _submitted(draft, author)
    page = _signed_in(client, author).get(reverse("checklists:version_review", args=[submitted.pk]))
    assert "You wrote part of this draft: another admin approves it." in page.content.decode()
    assert 'value="approve"' not in page.content.decode()
    forged = client.post(reverse("checklists:version_review", args=[submitted.pk]), {"action": "approve"})
    assert forged.status_code == 403
    assert TemplateVersion.objects.get(pk=draft.pk).status == TemplateVersion.Status.IN_REVIEW


def test_submit_then_approve_through_the_pages(client, draft, author, oncologist_admin):
    url = reverse("checklists:version_review", args=[draft.pk])
    submitted = _signed_in(client, author).post(
        url, {"action": "submit", "submit-change_summary": "Earlier pump check", "submit-comment": ""}
    )
    assert submitted.status_code == 302
    assert TemplateVersion.objects.get(pk=draft.pk).status == TemplateVersion.Status.IN_REVIEW
    client.logout()
    shown = _signed_in(client, oncologist_admin).get(url).context["forms"]["approve"]
    posted = {"action": "approve", "approve-comment": "Fine", "approve-submission": shown.initial["submission"]}
    approved = client.post(url, posted)
    assert approved.status_code == 302
    assert TemplateVersion.objects.get(pk=draft.pk).status == TemplateVersion.Status.PUBLISHED


def test_refusals_show_at_their_field_and_change_nothing(client, draft, author, oncologist_admin):
    url = reverse("checklists:version_review", args=[draft.pk])
    page = _signed_in(client, author).post(
        url, {"action": "emergency", "emergency-change_summary": "x", "emergency-comment": "soon"}
    )
    assert page.status_code == 200
    assert page.context["forms"]["emergency"].errors["comment"]
    assert TemplateVersion.objects.get(pk=draft.pk).status == TemplateVersion.Status.DRAFT
    _submitted(draft, author)
    client.logout()
    page = _signed_in(client, oncologist_admin).post(url, {"action": "return", "return-comment": ""})
    assert page.context["forms"]["return"].errors["comment"]
    assert TemplateVersion.objects.get(pk=draft.pk).status == TemplateVersion.Status.IN_REVIEW


def test_the_template_list_shows_what_waits_for_a_review(client, draft, author, oncologist_admin):
    _submitted(draft, author)
    page = _signed_in(client, oncologist_admin).get(reverse("checklists:template_list"))
    assert "Waiting for a review" in page.content.decode()
    assert "(in review)" in page.content.decode()


def test_the_django_admin_offers_no_one_person_publication():
    version_admin = admin.site._registry[TemplateVersion]
    assert "publish" not in (version_admin.actions or [])
