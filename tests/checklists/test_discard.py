"""Discarding a draft that nobody will finish (checklists.governance.template_version_discard): the
template is free again for a new draft and an import; the draft is kept, marked discarded, with
its review history and the reason; and only an admin, on a draft that nobody is reviewing, may."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from accounts.models import AuditEvent, Role
from checklists.governance import (
    COMMENT_MAX,
    template_version_discard,
    template_version_publish_in_emergency,
    template_version_return,
    template_version_submit,
)
from checklists.interchange import template_import
from checklists.models import (
    ChecklistAuditAction,
    ChecklistTemplate,
    PublishedVersionError,
    TemplateItem,
    TemplateReview,
    TemplateVersion,
)
from checklists.services import (
    DRAFT_ONLY,
    template_item_update,
    template_version_fingerprint,
    template_version_new_draft,
    template_version_publish,
)
from checklists.starter import starter_library_load
from patients.models import CareEvent

from ..accounts.helpers import verified_login
from ..factories import UserFactory
from .helpers import checklist_for, make_event
from .test_concurrency import race_by
from .test_interchange import sample

REASON = "The label change was withdrawn by the manufacturer; nothing to publish."


@pytest.fixture
def reviewer(db):
    return UserFactory(username="reviewer", is_staff=True, role=Role.ONCOLOGIST)


def _stored(version) -> TemplateVersion:
    return TemplateVersion.objects.get(pk=version.pk)


# --- the service -------------------------------------------------------------------------------


def test_a_discarded_draft_frees_the_template_for_a_new_draft_copied_from_the_published_version(
    draft, author, published
):
    discarded = template_version_discard(version=draft, actor=author, reason=REASON)

    assert discarded.status == _stored(draft).status == TemplateVersion.Status.DISCARDED
    assert not published.template.versions.filter(status__in=TemplateVersion.UNPUBLISHED).exists()
    again = template_version_new_draft(template=published.template, actor=author)
    assert (again.number, again.status) == (3, TemplateVersion.Status.DRAFT)
    # The abandoned change is not carried over: the new draft starts from what is published.
    assert again.items.get(text="Pump rate checked").due_offset_minutes == -60
    assert draft.items.get(text="Pump rate checked").due_offset_minutes == -120  # kept as it was


def test_a_discarded_draft_frees_the_template_for_an_import(db, admin_user):
    starter_library_load()
    template = ChecklistTemplate.objects.get(name="Bag change")
    draft = template_version_new_draft(template=template, actor=admin_user)
    with pytest.raises(ValidationError, match="publish it, or discard it \\(“Discard draft…” on its page\\)"):
        template_import(sample(), actor=admin_user)

    template_version_discard(version=draft, actor=admin_user, reason=REASON)
    imported = template_import(sample(), actor=admin_user)
    assert (imported.template, imported.number, imported.status) == (template, 3, TemplateVersion.Status.DRAFT)


def test_the_import_refusal_of_a_draft_in_review_says_to_return_it_first(db, admin_user):
    starter_library_load()
    draft = template_version_new_draft(template=ChecklistTemplate.objects.get(name="Bag change"), actor=admin_user)
    template_version_submit(version=draft, actor=admin_user, change_summary="Nothing yet")
    with pytest.raises(ValidationError, match="discard it .* after returning it to draft"):
        template_import(sample(), actor=admin_user)


@pytest.mark.parametrize("status", [TemplateVersion.Status.PUBLISHED, TemplateVersion.Status.RETIRED])
def test_a_published_or_retired_version_cannot_be_discarded(draft, author, published, status):
    if status == TemplateVersion.Status.RETIRED:
        template_version_publish(version=draft, actor=author, change_summary="v2")
    with pytest.raises(ValidationError, match="Only a draft can be discarded"):
        template_version_discard(version=published, actor=author, reason=REASON)
    assert _stored(published).status == status
    assert not TemplateReview.objects.filter(step=TemplateReview.Step.DISCARDED).exists()


def test_a_submitted_draft_is_returned_before_it_can_be_discarded(draft, author):
    template_version_submit(version=draft, actor=author, change_summary="Pump rate checked two hours before")
    with pytest.raises(ValidationError, match="return it to draft on its review page first"):
        template_version_discard(version=draft, actor=author, reason=REASON)
    assert _stored(draft).status == TemplateVersion.Status.IN_REVIEW

    template_version_return(version=draft, actor=author, comment="Withdrawn: the label change is off.")
    template_version_discard(version=draft, actor=author, reason=REASON)
    assert _stored(draft).status == TemplateVersion.Status.DISCARDED


def test_a_draft_is_discarded_once(draft, author):
    template_version_discard(version=draft, actor=author, reason=REASON)
    with pytest.raises(ValidationError, match="discarded already"):
        template_version_discard(version=draft, actor=author, reason=REASON)
    assert TemplateReview.objects.filter(version=draft, step=TemplateReview.Step.DISCARDED).count() == 1


def test_a_clinician_who_is_not_an_admin_cannot_discard(draft):
    nurse = UserFactory(role=Role.NURSE)
    with pytest.raises(PermissionDenied, match="Only an admin"):
        template_version_discard(version=draft, actor=nurse, reason=REASON)
    assert _stored(draft).status == TemplateVersion.Status.DRAFT


@pytest.mark.parametrize(
    ("reason", "message"),
    [("", "Say why the draft is discarded"), ("   \n ", "Say why"), ("x" * (COMMENT_MAX + 1), "Keep it under 2,000")],
)
def test_a_reason_is_required_and_refused_at_its_field(draft, author, reason, message):
    with pytest.raises(ValidationError) as refused:
        template_version_discard(version=draft, actor=author, reason=reason)
    assert list(refused.value.message_dict) == ["reason"]
    assert message in refused.value.message_dict["reason"][0]
    assert _stored(draft).status == TemplateVersion.Status.DRAFT


def test_the_history_of_a_returned_draft_survives_with_the_reason_and_the_log_says_who(draft, author, reviewer):
    template_version_submit(version=draft, actor=author, change_summary="Pump rate checked two hours before")
    template_version_return(version=draft, actor=reviewer, comment="Two hours is too early for a home bag.")
    items = list(draft.items.values_list("pk", flat=True))

    template_version_discard(version=draft, actor=author, reason=REASON)

    steps = list(TemplateReview.objects.filter(version=draft).values_list("step", "actor__username", "comment"))
    assert steps == [
        ("submitted", "author", ""),
        ("returned", "reviewer", "Two hours is too early for a home bag."),
        ("discarded", "author", REASON),
    ]
    assert list(_stored(draft).items.values_list("pk", flat=True)) == items
    assert AuditEvent.objects.filter(actor_id=author.pk, action=ChecklistAuditAction.DISCARD).exists()


def test_a_discarded_draft_never_changes_and_is_neither_submitted_nor_published(draft, author, reviewer):
    template_version_discard(version=draft, actor=author, reason=REASON)
    stored = _stored(draft)
    item = stored.items.get(text="Line inspected")

    with pytest.raises(ValidationError, match=DRAFT_ONLY):
        template_item_update(item=item, values={"text": "Changed"}, actor=author)
    with pytest.raises(ValidationError, match="Only a draft can be submitted"):
        template_version_submit(version=stored, actor=author, change_summary="Again")
    with pytest.raises(ValidationError, match="Only a draft can be published"):
        template_version_publish_in_emergency(
            version=stored,
            actor=author,
            reason=REASON,
            seen=template_version_fingerprint(stored),
            change_summary="Again",
        )
    with pytest.raises(PublishedVersionError):
        TemplateItem.objects.filter(version=stored).update(text="Changed")
    stored.change_summary = "Changed"
    with pytest.raises(PublishedVersionError):
        stored.save()
    with pytest.raises(PublishedVersionError):
        stored.delete()
    # Nor behind the models' back: on PostgreSQL the triggers refuse it too.
    for sql in (
        "UPDATE checklists_templateitem SET text = 'Changed' WHERE version_id = %s",
        "UPDATE checklists_templateversion SET status = 'draft' WHERE id = %s",
    ):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [stored.pk])
    assert _stored(draft).status == TemplateVersion.Status.DISCARDED
    assert set(stored.items.values_list("text", flat=True)) == {"Pump rate checked", "Line inspected"}


def test_checklists_are_made_from_the_published_version_never_the_discarded_draft(draft, author, published, patient):
    template_version_discard(version=draft, actor=author, reason=REASON)
    checklist = checklist_for(make_event(patient, kind=CareEvent.Kind.BAG_CHANGE), published)
    assert checklist.version == published


# --- two people at once ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("other_step", ["submit", "publish"])
def test_a_discard_racing_a_submission_or_a_publication_gives_one_winner_and_the_loser_is_told(
    published, author, reviewer, other_step
):
    draft = template_version_new_draft(template=published.template, actor=author)
    seen = template_version_fingerprint(draft)

    def act(actor):
        if actor == author:
            return template_version_discard(version=draft, actor=actor, reason=REASON)
        if other_step == "submit":
            return template_version_submit(version=draft, actor=actor, change_summary="Nothing changed")
        return template_version_publish_in_emergency(
            version=draft, actor=actor, reason=REASON, seen=seen, change_summary="Nothing changed"
        )

    outcomes = race_by(act, [author, reviewer])

    won = [name for name, outcome in outcomes.items() if isinstance(outcome, TemplateVersion)]
    lost = [outcome for outcome in outcomes.values() if isinstance(outcome, ValidationError)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    final = _stored(draft).status
    if won == ["author"]:
        assert final == TemplateVersion.Status.DISCARDED
        assert "Only a draft can be" in lost[0].messages[0]
    else:
        assert final != TemplateVersion.Status.DISCARDED
        assert ("return it to draft" if other_step == "submit" else "Only a draft can be discarded") in (
            lost[0].messages[0]
        )


# --- the pages ---------------------------------------------------------------------------------


@pytest.fixture
def staff(client, author):
    verified_login(client, author)
    return client


def _discard_url(version) -> str:
    return reverse("checklists:version_discard", args=[version.pk])


def test_the_discard_page_refuses_anonymous_users_and_clinicians(client, draft):
    response = client.get(_discard_url(draft))
    assert response.status_code == 302 and "login" in response["Location"]
    assert client.post(_discard_url(draft), {"reason": REASON}).status_code == 302

    client.force_login(UserFactory(role=Role.NURSE))
    assert client.get(_discard_url(draft)).status_code == 403
    assert client.post(_discard_url(draft), {"reason": REASON}).status_code == 403
    assert _stored(draft).status == TemplateVersion.Status.DRAFT


def test_the_discard_form_discards_the_draft_and_the_template_page_offers_a_new_one(staff, draft, published):
    page = staff.get(_discard_url(draft))
    assert page.status_code == 200
    assert b"csrfmiddlewaretoken" in page.content and b'name="reason"' in page.content

    response = staff.post(_discard_url(draft), {"reason": REASON}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("checklists:template_detail", args=[published.template_id])
    assert "v2 is discarded" in response.content.decode()
    assert "New draft</button>" in response.content.decode()
    assert _stored(draft).status == TemplateVersion.Status.DISCARDED
    assert REASON in response.content.decode()  # in the template's history


def test_an_empty_reason_is_refused_at_the_field_and_nothing_is_discarded(staff, draft):
    response = staff.post(_discard_url(draft), {"reason": "  "})
    assert response.status_code == 200
    assert response.context["form"].errors["reason"][0].startswith("Say why the draft is discarded")
    assert "Say why the draft is discarded" in response.content.decode()
    assert _stored(draft).status == TemplateVersion.Status.DRAFT


def test_a_version_that_is_not_a_draft_gets_the_reason_and_no_form(staff, draft, published, author):
    template_version_submit(version=draft, actor=author, change_summary="Pump rate checked two hours before")
    for version, said in ((draft, "return it to draft"), (published, "Only a draft can be discarded")):
        page = staff.get(_discard_url(version)).content.decode()
        assert said in page and 'name="reason"' not in page
        response = staff.post(_discard_url(version), {"reason": REASON})
        assert response.status_code == 200 and said in response.content.decode()
    assert _stored(draft).status == TemplateVersion.Status.IN_REVIEW
    assert _stored(published).status == TemplateVersion.Status.PUBLISHED


@pytest.mark.parametrize("pk", ["999999", "99999999999999999999999"])
def test_an_unknown_version_is_a_404_not_a_500(staff, pk):
    url = reverse("checklists:version_discard", args=[1]).replace("/1/", f"/{pk}/")
    assert staff.get(url).status_code == 404
    assert staff.post(url, {"reason": REASON}).status_code == 404


def test_the_button_shows_on_a_draft_only(staff, draft, published, author):
    button = "Discard draft…"
    link = f'href="{_discard_url(draft)}"'
    editor = staff.get(reverse("checklists:draft_edit", args=[draft.pk])).content.decode()
    template_page = staff.get(reverse("checklists:template_detail", args=[published.template_id])).content.decode()
    review_page = staff.get(reverse("checklists:version_review", args=[draft.pk])).content.decode()
    assert all(button in page and link in page for page in (editor, template_page, review_page))
    published_page = staff.get(reverse("checklists:version_detail", args=[published.pk])).content.decode()
    assert button not in published_page

    template_version_submit(version=draft, actor=author, change_summary="Pump rate checked two hours before")
    for url in (
        reverse("checklists:version_review", args=[draft.pk]),
        reverse("checklists:template_detail", args=[published.template_id]),
    ):
        assert button not in staff.get(url).content.decode()


def test_a_discarded_draft_is_read_only_on_every_page(staff, draft, published, author):
    template_version_discard(version=draft, actor=author, reason=REASON)

    editor = staff.get(reverse("checklists:draft_edit", args=[draft.pk]), follow=True)
    assert editor.redirect_chain[-1][0] == reverse("checklists:version_detail", args=[draft.pk])
    assert "This draft is discarded" in editor.content.decode()
    assert staff.get(reverse("checklists:item_add", args=[draft.pk])).status_code == 404
    review = staff.get(reverse("checklists:version_review", args=[draft.pk])).content.decode()
    assert REASON in review and "Published" not in review.split("decide-heading")[1]
    listing = staff.get(reverse("checklists:template_list")).content.decode()
    assert f"v{draft.number} (edit)" not in listing
    template_page = staff.get(reverse("checklists:template_detail", args=[published.template_id])).content.decode()
    assert "Discarded" in template_page and "New draft</button>" in template_page


def test_the_next_version_is_compared_with_the_published_one_not_the_discarded_draft(staff, draft, published, author):
    template_version_discard(version=draft, actor=author, reason=REASON)
    v3 = template_version_new_draft(template=published.template, actor=author)
    page = staff.get(reverse("checklists:template_detail", args=[published.template_id])).content.decode()
    compare = reverse("checklists:version_compare")
    assert f"{compare}?a={published.pk}&amp;b={v3.pk}" in page
    assert f"?a={draft.pk}&amp;b={v3.pk}" not in page
    assert f"{compare}?a={published.pk}&amp;b={draft.pk}" in page  # what the discarded draft would have changed
