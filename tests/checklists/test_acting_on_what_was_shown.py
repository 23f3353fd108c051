"""An admin acts on what their page showed them: a one-person (emergency) publication publishes
the draft as its publisher read it, an approval says which submission its approver read, and a
removal removes the item as it was shown. Each test failed before its fix."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import Role
from checklists.governance import (
    DRAFT_CHANGED_SINCE_SHOWN,
    latest_submission,
    template_version_publish_in_emergency,
    template_version_submit,
)
from checklists.models import TemplateItem, TemplateReview, TemplateVersion
from checklists.services import (
    template_item_create,
    template_item_delete,
    template_item_fingerprint,
    template_item_update,
    template_update,
    template_version_fingerprint,
)

from ..accounts.helpers import verified_login
from ..factories import UserFactory

REASON = "The label changed overnight and the night shift starts at 20:00."
THIRTY_DAYS_BEFORE = -30 * 24 * 60


@pytest.fixture
def colleague(db):
    """Another admin, editing the same draft meanwhile."""
    return UserFactory(username="colleague", is_staff=True, role=Role.ONCOLOGIST)


def _pump_check(draft) -> TemplateItem:
    return draft.items.get(text="Pump rate checked")


def _status(version) -> str:
    return TemplateVersion.objects.get(pk=version.pk).status


# What another admin may change in a draft (not in review) while its publisher reads it.
CHANGES_MEANWHILE = {
    "an item moved to 30 days before": lambda draft, admin: template_item_update(
        item=_pump_check(draft), values={"due_offset_minutes": THIRTY_DAYS_BEFORE}, actor=admin
    ),
    "an item no longer required": lambda draft, admin: template_item_update(
        item=_pump_check(draft), values={"required": False}, actor=admin
    ),
    "a condition on an item": lambda draft, admin: template_item_update(
        item=_pump_check(draft), values={}, conditions=[("setting", "eq", "home")], actor=admin
    ),
    "a dependency": lambda draft, admin: template_item_update(
        item=_pump_check(draft), values={}, depends_on=[draft.items.get(text="Line inspected")], actor=admin
    ),
    "an item added": lambda draft, admin: template_item_create(
        version=draft, values={"section": "After", "role": Role.NURSE, "text": "Bag labelled"}, actor=admin
    ),
    "an item removed": lambda draft, admin: template_item_delete(
        item=draft.items.get(text="Line inspected"), actor=admin
    ),
    "the template's conditions": lambda draft, admin: template_update(
        template=draft.template, values={}, conditions=[("setting", "eq", "home")], actor=admin
    ),
}


# --- an emergency publication publishes what its publisher read ---------------------------------


@pytest.mark.parametrize("change", CHANGES_MEANWHILE)
def test_an_emergency_publication_of_a_draft_changed_since_it_was_read_publishes_nothing(
    draft, author, colleague, change
):
    seen = template_version_fingerprint(draft)
    CHANGES_MEANWHILE[change](draft, colleague)

    with pytest.raises(ValidationError, match="changed after you opened it") as refused:
        template_version_publish_in_emergency(
            version=draft, actor=author, reason=REASON, seen=seen, change_summary="Pump check earlier"
        )
    assert refused.value.code == "changed_meanwhile"
    assert _status(draft) == TemplateVersion.Status.DRAFT
    assert not TemplateReview.objects.filter(version=draft, step=TemplateReview.Step.EMERGENCY).exists()

    # Read again, it publishes.
    published = template_version_publish_in_emergency(
        version=draft, actor=author, reason=REASON, seen=template_version_fingerprint(draft), change_summary="x"
    )
    assert published.status == TemplateVersion.Status.PUBLISHED


def test_the_review_page_refuses_an_emergency_publication_of_a_draft_changed_since_and_shows_the_change(
    client, draft, author, colleague
):
    """The author opens the review page; another admin then moves the pump check to 30 days
    before; the author's emergency publication must not publish what they never saw."""
    url = reverse("checklists:version_review", args=[draft.pk])
    verified_login(client, author)
    page = client.get(url)
    shown = page.context["forms"]["emergency"]
    assert f'name="emergency-seen" value="{shown.initial["seen"]}"' in page.content.decode()
    posted = {
        "action": "emergency",
        "emergency-change_summary": "Pump check two hours before",
        "emergency-comment": REASON,
        "emergency-seen": shown.initial["seen"],
    }
    template_item_update(item=_pump_check(draft), values={"due_offset_minutes": THIRTY_DAYS_BEFORE}, actor=colleague)

    response = client.post(url, posted)
    assert response.status_code == 200
    assert _status(draft) == TemplateVersion.Status.DRAFT
    text = response.content.decode()
    assert DRAFT_CHANGED_SINCE_SHOWN in text
    assert text.index(DRAFT_CHANGED_SINCE_SHOWN) < text.index('id="changes-heading"')  # above what changed
    assert "<ins>30 days before</ins>" in text  # the change as it is now

    # Posted again from the page as it is now, deliberately: it publishes, with the change.
    posted["emergency-seen"] = response.context["forms"]["emergency"]["seen"].value()
    assert client.post(url, posted).status_code == 302
    assert _status(draft) == TemplateVersion.Status.PUBLISHED
    assert _pump_check(draft).due_offset_minutes == THIRTY_DAYS_BEFORE


def test_an_emergency_post_that_does_not_say_what_it_read_publishes_nothing(client, draft, author):
    url = reverse("checklists:version_review", args=[draft.pk])
    verified_login(client, author)
    posted = {"action": "emergency", "emergency-change_summary": "Pump check earlier", "emergency-comment": REASON}

    response = client.post(url, posted)
    assert response.status_code == 200
    assert _status(draft) == TemplateVersion.Status.DRAFT
    assert "did not say which state of the draft you read" in response.content.decode()

    posted["emergency-seen"] = response.context["forms"]["emergency"]["seen"].value()
    assert client.post(url, posted).status_code == 302
    assert _status(draft) == TemplateVersion.Status.PUBLISHED


# --- an approval says which submission it approves ---------------------------------------------


def test_an_approval_that_does_not_say_which_submission_it_read_publishes_nothing(client, draft, author, colleague):
    template_version_submit(version=draft, actor=author, change_summary="Pump check two hours before")
    url = reverse("checklists:version_review", args=[draft.pk])
    verified_login(client, colleague)

    response = client.post(url, {"action": "approve", "approve-comment": "Fine"})
    assert response.status_code == 200
    assert _status(draft) == TemplateVersion.Status.IN_REVIEW
    assert "did not say which submission you read" in response.content.decode()

    submission = response.context["forms"]["approve"]["submission"].value()
    assert submission == latest_submission(draft)
    assert (
        client.post(url, {"action": "approve", "approve-comment": "Fine", "approve-submission": submission}).status_code
        == 302
    )
    assert _status(draft) == TemplateVersion.Status.PUBLISHED


# --- a removal removes the item as it was shown ----------------------------------------------------


def test_an_item_changed_since_it_was_shown_is_not_removed(draft, author, colleague):
    item = _pump_check(draft)
    seen = template_item_fingerprint(item)
    template_item_update(item=item, values={"due_offset_minutes": THIRTY_DAYS_BEFORE}, actor=colleague)

    with pytest.raises(ValidationError, match="it is not removed") as refused:
        template_item_delete(item=item, actor=author, seen=seen)
    assert refused.value.code == "changed_meanwhile"
    assert TemplateItem.objects.filter(pk=item.pk).exists()

    template_item_delete(item=item, actor=author, seen=template_item_fingerprint(_pump_check(draft)))
    assert not TemplateItem.objects.filter(pk=item.pk).exists()


def _remove_button_seen(page: str, item: TemplateItem) -> str:
    """The fingerprint that the editor's Remove button of `item` sends."""
    action = re.escape(reverse("checklists:item_delete", args=[item.pk]))
    return re.search(rf'action="{action}">.*?name="seen" value="([0-9a-f]+)"', page, re.DOTALL)[1]


def test_the_editors_remove_button_does_not_remove_an_item_changed_since_the_page_showed_it(
    client, draft, author, colleague
):
    item = _pump_check(draft)
    editor = reverse("checklists:draft_edit", args=[draft.pk])
    verified_login(client, author)
    seen = _remove_button_seen(client.get(editor).content.decode(), item)
    template_item_update(item=item, values={"due_offset_minutes": THIRTY_DAYS_BEFORE}, actor=colleague)

    response = client.post(reverse("checklists:item_delete", args=[item.pk]), {"seen": seen}, follow=True)
    assert response.redirect_chain[-1][0].startswith(editor)
    text = response.content.decode()
    assert "changed this item after you opened the page; it is not removed" in text
    assert TemplateItem.objects.filter(pk=item.pk).exists()

    # From the page as it is now, the removal is a choice made knowingly.
    client.post(reverse("checklists:item_delete", args=[item.pk]), {"seen": _remove_button_seen(text, item)})
    assert not TemplateItem.objects.filter(pk=item.pk).exists()
