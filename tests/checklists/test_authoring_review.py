"""Defects found by a fresh review of template authoring: each test says what must hold."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from checklists.impact import publication_impact
from checklists.interchange import template_import
from checklists.models import Checklist, ChecklistTemplate, ItemCondition, PublishedVersionError, TemplateVersion
from checklists.services import (
    checklists_instantiate,
    template_item_create,
    template_item_update,
    template_update,
    template_version_new_draft,
    template_version_publish,
)
from checklists.starter import starter_library_load, starter_library_update
from patients.models import CareEvent

from ..accounts.helpers import verified_login
from ..factories import PatientFactory
from .helpers import ITEM, item_form_data, library_file, make_event, publish_template


def _bag_change(patient, days: float) -> CareEvent:
    return make_event(patient, kind=CareEvent.Kind.BAG_CHANGE, planned_at=timezone.now() + dt.timedelta(days=days))


# --- a trigger changed, then a version published ---------------------------------------------------


def test_publishing_after_a_trigger_change_keeps_the_checklists_of_the_former_kinds_events(published, author):
    """The template's settings apply to checklists made from then on: an upcoming bag change keeps
    the checklist it has, rather than losing it to a version that no bag change gets any more."""
    event = _bag_change(PatientFactory(), 3)
    checklists_instantiate(events=[event])
    template = template_update(
        template=published.template, values={"trigger_kind": CareEvent.Kind.CYCLE_START}, actor=author
    )
    draft = template_version_new_draft(template=template, actor=author)
    template_item_update(item=draft.items.get(text="Line inspected"), values={"text": "Line checked"}, actor=author)

    impact = publication_impact(draft, now=timezone.now())
    assert (impact.get_new_version, impact.kept) == (0, 1)
    template_version_publish(version=draft, actor=author, change_summary="Line checked")

    kept = Checklist.objects.get(event=event)
    assert kept.version == published
    assert kept.tasks.count() == 2


# --- an item's position -------------------------------------------------------------------------


@pytest.fixture
def staff(client, admin_user):
    verified_login(client, admin_user)
    return client


def test_a_position_too_large_to_move_past_is_refused_at_the_field(staff, published, admin_user):
    """Moving or reordering goes through a free position above the largest one: a position at the
    database's integer limit made every later move of the draft a server error."""
    draft = template_version_new_draft(template=published.template, actor=admin_user)
    page = staff.post(reverse("checklists:item_add", args=[draft.pk]), item_form_data(order="2147483647"))
    assert page.status_code == 200
    assert "at most 9999" in page.content.decode()
    assert draft.items.count() == 2
    with pytest.raises(ValidationError):
        template_item_create(version=draft, values={**ITEM, "order": 2_147_483_647}, actor=admin_user)

    template_item_create(version=draft, values={**ITEM, "order": 9999}, actor=admin_user)
    moved = staff.post(reverse("checklists:item_move", args=[draft.items.get(order=2).pk]), {"direction": "down"})
    assert moved.status_code == 302
    assert list(draft.items.order_by("order").values_list("order", flat=True)) == [1, 2, 9999]


def test_an_import_with_a_position_beyond_the_largest_is_refused(db, admin_user):
    data = library_file("bag-change.json")
    data["items"][0]["order"] = 10_000
    with pytest.raises(ValidationError, match="field order"):
        template_import(data, actor=admin_user)
    assert not ChecklistTemplate.objects.exists()


# --- the options of a single choice ---------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        # The failing option with a space after it: the answer is read without it, so the nurse
        # could never record the failure, and the hard stop never failed.
        ["24 h or 48 h (preservative-free)", "72 h or 96 h (benzyl alcohol)", "7 days (0.6 mL/h, benzyl alcohol) "],
        # An empty option: an empty answer would be recorded as done.
        ["24 h or 48 h (preservative-free)", "72 h or 96 h (benzyl alcohol)", "7 days (0.6 mL/h, benzyl alcohol)", ""],
    ],
)
def test_an_option_that_cannot_be_answered_as_written_is_refused(db, admin_user, options):
    data = library_file("bag-change.json")
    hard_stop = next(row for row in data["items"] if row["text"] == "Patient under 22 kg: no 7-day bag")
    hard_stop["choices"] = options
    with pytest.raises(ValidationError, match="field choices"):
        template_import(data, actor=admin_user)
    assert not ChecklistTemplate.objects.exists()


@pytest.mark.parametrize(
    ("hard_stop", "failing", "expected"),
    [
        # Failing options on an item that is no hard stop fail nothing: the answer is recorded as done.
        (False, ["Leaking"], "hard stop"),
        # Every option failing: the item can never pass, and its event waits for an override.
        (True, ["Intact", "Leaking"], "at least one option"),
    ],
)
def test_failing_options_that_would_not_do_what_they_say_are_refused(
    published, admin_user, hard_stop, failing, expected
):
    draft = template_version_new_draft(template=published.template, actor=admin_user)
    values = {**ITEM, "response_kind": "choice", "choices": ["Intact", "Leaking"], "failing_choices": failing}
    with pytest.raises(ValidationError, match=expected) as refused:
        template_item_create(version=draft, values={**values, "hard_stop": hard_stop}, actor=admin_user)
    assert "failing_choices" in refused.value.message_dict
    assert draft.items.count() == 2


# --- the starter library ----------------------------------------------------------------------------


def test_a_renamed_starter_template_is_not_installed_again_without_review(db, admin_user):
    """`make run` loads the library at every start (seed_demo): a starter template that an admin
    renamed was installed again under its library name, published without review, and its
    checklist made twice for every event of its kind."""
    starter_library_load()
    bag_change = ChecklistTemplate.objects.get(name="Bag change")
    template_update(template=bag_change, values={"name": "Bag change (ward 7)"}, actor=admin_user)
    assert starter_library_load() == 0
    assert not ChecklistTemplate.objects.filter(name="Bag change").exists()
    assert TemplateVersion.objects.filter(template__trigger_kind=CareEvent.Kind.BAG_CHANGE).count() == 1

    # The update still finds it (and says that the library names it otherwise, changing nothing).
    result = starter_library_update(actor=admin_user)
    assert result.settings == {"Bag change (ward 7)": ["name: “Bag change”"]}


# --- two admins editing one item ------------------------------------------------------------------


def test_an_edit_made_meanwhile_by_another_admin_is_not_overwritten_unseen(staff, published, admin_user, author):
    """Two authors of a draft open the same item; the second to save was silently writing over the
    first one's change (DESIGN.md rule 3: never both win, and the loser is told)."""
    draft = template_version_new_draft(template=published.template, actor=admin_user)
    item = draft.items.get(text="Line inspected")
    url = reverse("checklists:item_edit", args=[item.pk])
    seen = staff.get(url).context["form"]["seen"].value()
    assert seen

    template_item_update(item=item, values={"text": "Line inspected and labelled"}, actor=author)
    mine = item_form_data(text="Line inspected, no flushing", order=str(item.order), seen=seen)
    refused = staff.post(url, mine)
    assert refused.status_code == 200
    assert "changed this item while you were editing it" in refused.content.decode()
    item.refresh_from_db()
    assert item.text == "Line inspected and labelled"

    # Having seen that, saving again puts theirs in its place, knowingly.
    again = staff.post(url, {**mine, "seen": refused.context["form"]["seen"].value()})
    assert again.status_code == 302
    item.refresh_from_db()
    assert item.text == "Line inspected, no flushing"


def test_an_option_too_long_to_be_recorded_as_an_answer_is_refused(published, admin_user):
    """A chosen option is stored as the task's answer (at most 1,000 characters): a longer option
    was accepted, and choosing it at the bedside was a server error."""
    draft = template_version_new_draft(template=published.template, actor=admin_user)
    values = {**ITEM, "response_kind": "choice", "choices": ["Intact", "Leaking " + "x" * 1200]}
    with pytest.raises(ValidationError, match="at most 200 characters") as refused:
        template_item_create(version=draft, values=values, actor=admin_user)
    assert "choices" in refused.value.message_dict


# --- the models' own guard ------------------------------------------------------------------------


def test_a_condition_of_a_published_item_cannot_be_moved_to_a_draft(admin_user):
    """The models refuse a change to a published version themselves (SQLite, `make run`, has no
    triggers): a condition moved away from a published item was checked against its new item only."""
    published = publish_template(
        name="Bag change at home",
        trigger_kind=CareEvent.Kind.BAG_CHANGE,
        items=[{"text": "Delivery confirmed", "conditions": [("setting", "eq", "home")]}],
    )
    condition = ItemCondition.objects.get(item__version=published)
    draft = template_version_new_draft(template=published.template, actor=admin_user)
    condition.item = draft.items.get()
    with pytest.raises(PublishedVersionError):
        condition.save()
    assert ItemCondition.objects.get(pk=condition.pk).item.version == published


def _settings_post(form, **changes) -> dict:
    """The template page's settings form as the browser sends it: its fields, no condition rows."""
    data = {name: value for name, value in form.initial.items() if name in form.fields and value is not None}
    data["is_active"] = "on" if data.pop("is_active", False) else ""
    data.update({"conditions-TOTAL_FORMS": "0", "conditions-INITIAL_FORMS": "0", **changes})
    return {name: value for name, value in data.items() if value != ""}


def test_settings_changed_meanwhile_by_another_admin_are_not_overwritten_unseen(staff, published, author):
    """The settings page posts every setting, conditions included: an admin saving a new name
    silently undid the conditions another admin had set meanwhile (which decide which events get
    the checklist)."""
    template = published.template
    url = reverse("checklists:template_detail", args=[template.pk])
    form = staff.get(url).context["form"]
    assert form["seen"].value()

    template_update(template=template, values={}, conditions=[("setting", "eq", "home")], actor=author)
    mine = _settings_post(form, name="Bag change (home only)")
    refused = staff.post(url, mine)
    assert refused.status_code == 200
    assert "changed these settings while you were editing them" in refused.content.decode()
    template.refresh_from_db()
    assert template.name == "Bag change (home)"
    assert list(template.conditions.values_list("fact", "operator", "value")) == [("setting", "eq", "home")]

    again = staff.post(url, {**mine, "seen": refused.context["form"]["seen"].value()})
    assert again.status_code == 302
    template.refresh_from_db()
    assert template.name == "Bag change (home only)"


def test_the_restart_decision_stops_for_good_a_grade_3_neurotoxicity_at_9_mcg_a_day_only():
    """CLINICAL.md: a grade 3 neurological toxicity stops for good when it occurred at 9 mcg/day.
    "At the starting dose" read at the bedside of an MRD-positive or consolidation course, which
    starts at 28 mcg/day, would stop for good a patient whom the label restarts at 9 mcg/day."""
    data = library_file("interruption.json")
    decision = next(row for row in data["items"] if row["text"] == "Restart decision recorded")
    assert "starting or restart dose" not in decision["help_text"]
    assert "grade 3 neurological toxicity that occurred at 9 mcg/day" in decision["help_text"]
