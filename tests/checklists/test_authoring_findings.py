"""Defects found by a review of template authoring as its admins and a safety engineer read it:
each test says what must hold."""

import json
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import Role
from checklists.compare import versions_compare
from checklists.governance import template_version_discard
from checklists.interchange import template_import
from checklists.models import ChecklistTemplate
from checklists.services import (
    template_item_create,
    template_item_reorder,
    template_item_update,
    template_version_new_draft,
    template_version_validate,
)

from ..accounts.helpers import verified_login
from .helpers import ITEM, item_form_data, library_file, publish_template


@pytest.fixture
def staff(client, admin_user):
    verified_login(client, admin_user)
    return client


# --- an item is given to a role that does tasks, and checked by a role that verifies -------------
# A coordinator works no task and a case manager or coordinator verifies none (checklists.policy):
# such an item made a task that nobody could do, skip or check, and its event waited for an
# oncologist's override.

ROLES_NOBODY_FILLS = [
    pytest.param({"role": Role.COORDINATOR}, "role", id="done-by-a-coordinator"),
    pytest.param({"needs_verification": True, "verifier_role": Role.CASE_MANAGER}, "verifier_role", id="case-manager"),
    pytest.param({"needs_verification": True, "verifier_role": Role.COORDINATOR}, "verifier_role", id="coordinator"),
]


@pytest.mark.parametrize(("values", "field"), ROLES_NOBODY_FILLS)
def test_an_item_that_nobody_could_do_or_check_is_refused_at_its_field(published, admin_user, values, field):
    draft = template_version_new_draft(template=published.template, actor=admin_user)
    with pytest.raises(ValidationError) as refused:
        template_item_create(version=draft, values={**ITEM, **values}, actor=admin_user)
    assert field in refused.value.message_dict
    assert draft.items.count() == 2


@pytest.mark.parametrize(("values", "field"), ROLES_NOBODY_FILLS)
def test_a_file_with_an_item_that_nobody_could_do_or_check_is_refused(db, admin_user, values, field):
    data = library_file("bag-change.json")
    data["items"][0].update(values)
    with pytest.raises(ValidationError, match=f"field {field}"):
        template_import(data, actor=admin_user)
    assert not ChecklistTemplate.objects.exists()


def test_the_editor_offers_only_the_roles_that_do_or_check_tasks(staff, published, admin_user):
    draft = template_version_new_draft(template=published.template, actor=admin_user)
    response = staff.get(reverse("checklists:item_add", args=[draft.pk]))
    form = response.context["form"]
    assert [value for value, _ in form.fields["role"].choices if value] == [
        Role.PHARMACIST,
        Role.NURSE,
        Role.ONCOLOGIST,
        Role.CASE_MANAGER,
    ]
    assert [value for value, _ in form.fields["verifier_role"].choices if value] == [
        Role.PHARMACIST,
        Role.NURSE,
        Role.ONCOLOGIST,
    ]
    posted = item_form_data(role=Role.COORDINATOR)
    response = staff.post(reverse("checklists:item_add", args=[draft.pk]), posted)
    assert response.status_code == 200
    assert "invalid-feedback" in response.content.decode()
    assert draft.items.count() == 2


# --- a hard stop is answered ---------------------------------------------------------------------


def test_a_hard_stop_that_may_be_left_unanswered_is_refused(published, admin_user):
    """The gate waits only for required tasks: an optional hard stop, never answered, let the event
    start unchecked, although a hard stop can be neither skipped nor marked not applicable."""
    draft = template_version_new_draft(template=published.template, actor=admin_user)
    values = {**ITEM, "response_kind": "number", "unit": "kg", "min_value": 22, "hard_stop": True, "required": False}
    with pytest.raises(ValidationError) as refused:
        template_item_create(version=draft, values=values, actor=admin_user)
    assert "required" in refused.value.message_dict
    assert draft.items.count() == 2
    template_item_create(version=draft, values={**values, "required": True}, actor=admin_user)


# --- the comparison shows every change -------------------------------------------------------------


def test_a_dependency_moved_to_another_item_of_the_same_text_is_shown_as_a_change(db, admin_user):
    """Dependencies were compared by their items' texts: "done after" moved from the vital signs
    after the start to those before it read as no change, and the reviewer approved it unseen."""
    version = publish_template(
        items=[
            {"text": "Vital signs recorded", "section": "Before the start"},
            {"text": "Vital signs recorded", "section": "After the start", "due_offset_minutes": 240},
            {"text": "Infusion started"},
        ],
        dependencies=[("Infusion started", "Vital signs recorded")],  # the second of the two
    )
    draft = template_version_new_draft(template=version.template, actor=admin_user)
    before, after, started = draft.items.order_by("order")
    assert list(started.depends_on.all()) == [after]
    template_item_update(item=started, values={}, depends_on=[before], actor=admin_user)

    diff = versions_compare(version, draft)

    [change] = diff["changed"]
    assert change["item"].text == "Infusion started"
    assert change["fields"] == [("done after", "#2 Vital signs recorded", "#1 Vital signs recorded")]


def test_a_renumbered_dependency_is_no_change_of_the_item_that_waits_for_it(db, admin_user):
    version = publish_template(
        items=[{"text": "Consent signed"}, {"text": "Line primed"}, {"text": "Infusion started"}],
        dependencies=[("Infusion started", "Line primed")],
    )
    draft = template_version_new_draft(template=version.template, actor=admin_user)
    consent, line, started = draft.items.order_by("order")
    template_item_reorder(version=draft, item_ids=[line.pk, consent.pk, started.pk], actor=admin_user)

    diff = versions_compare(version, draft)

    assert sorted(change["item"].text for change in diff["changed"]) == ["Consent signed", "Line primed"]


# --- a long chain of dependencies -----------------------------------------------------------------


def _chained_file(length: int) -> dict:
    """A template of `length` items, each done after the one below it."""
    data = library_file("bag-change.json")
    first = data["items"][0]
    blank = {**first, "conditions": [], "depends_on": [], "help_text": "", "source": ""}
    blank |= {"response_kind": "checkbox", "hard_stop": False, "needs_verification": False, "verifier_role": ""}
    blank |= {"choices": [], "failing_choices": [], "unit": "", "min_value": None, "max_value": None, "records": ""}
    keys = [str(uuid.UUID(int=number + 1)) for number in range(length)]
    data["items"] = [
        {**blank, "key": key, "order": order, "text": f"Step {order}", "depends_on": keys[order : order + 1]}
        for order, key in enumerate(keys, start=1)
    ]
    data["template"]["name"] = "A long chain"
    return data


def test_a_file_of_a_long_chain_of_items_is_imported_not_a_server_error(db, admin_user):
    """The file's reader walks a chain without recursion, but the check before publication walked
    it recursively: 1,500 chained items (a file well under 1 MB) exhausted Python's stack."""
    data = _chained_file(1500)
    assert len(json.dumps(data)) < 1024 * 1024
    draft = template_import(data, actor=admin_user)
    assert draft.items.count() == 1500
    template_version_validate(draft)
    last, first = draft.items.get(order=1500), draft.items.get(order=1)
    last.depends_on.add(first)  # closes the chain into a circle
    with pytest.raises(ValidationError, match="circle"):
        template_version_validate(draft)


# --- a file's texts are read as the editor reads a form's --------------------------------------------


def test_a_file_whose_name_has_spaces_around_it_is_the_next_draft_of_that_template(db, admin_user):
    """The editor strips what is typed; the import did not: "Bag change " became a second template
    beside "Bag change", triggered by the same events, and each bag change got both checklists."""
    data = library_file("bag-change.json")
    first = template_import(data, actor=admin_user)
    template_version_discard(version=first, actor=admin_user, reason="Imported again below")
    name, text = data["template"]["name"], data["items"][0]["text"]
    data["template"]["name"] = f"  {name} "
    data["items"][0]["text"] = f" {text}  "

    second = template_import(data, actor=admin_user)

    assert list(ChecklistTemplate.objects.values_list("name", flat=True)) == [name]
    assert (second.template_id, second.number) == (first.template_id, 2)
    assert second.items.filter(text=text).exists()


@pytest.mark.parametrize("name", ["", "   "])
def test_a_file_without_a_name_is_refused_at_the_name(db, admin_user, name):
    data = library_file("bag-change.json")
    data["template"]["name"] = name
    with pytest.raises(ValidationError, match="Template, field name"):
        template_import(data, actor=admin_user)
    assert not ChecklistTemplate.objects.exists()


# --- bad input is refused at the field, never a server error -----------------------------------------


@pytest.mark.parametrize("patient", ["9" * 5000, "99999999999999999999"])
def test_a_preview_for_a_patient_number_of_many_digits_is_refused_at_the_field(staff, published, patient):
    response = staff.get(reverse("checklists:version_preview", args=[published.pk]), {"patient": patient, "event": ""})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
