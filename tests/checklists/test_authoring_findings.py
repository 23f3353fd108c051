"""Defects found by a review of template authoring as its admins and a safety engineer read it:
each test says what must hold."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import Role
from checklists.interchange import template_import
from checklists.models import ChecklistTemplate
from checklists.services import template_item_create, template_version_new_draft
from checklists.starter import LIBRARY

from ..accounts.helpers import verified_login
from .helpers import item_form_data

ITEM = {"section": "After", "role": "nurse", "text": "Bag labelled"}


def _library_file(name: str) -> dict:
    return json.loads((LIBRARY / name).read_text(encoding="utf-8"))


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
    data = _library_file("bag-change.json")
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
