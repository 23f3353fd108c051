"""A user deactivated, or given another role, can no longer work the tasks they hold: those go back
to the pool of the care team, with a line in each task's history, so that the team finds them in
My work (found by a review: they stayed claimed by someone who could not work them, so nobody's
My work listed them, nobody could claim them, and the team was reminded of tasks it could not see)."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.services import user_deactivate
from checklists.models import Task, TaskActivity
from checklists.selectors import my_work
from checklists.services import checklists_instantiate, task_claim, task_complete
from patients.models import CareTeamMember

from ..checklists.helpers import make_event, publish_template
from ..factories import PatientFactory
from .helpers import verified_login
from .test_signin import change_form_data

ITEMS = [{"text": "Weight"}, {"text": "Line primed"}, {"text": "Order verified", "role": "pharmacist"}]


@pytest.fixture
def tasks(patient, nurse, nurse2, pharmacist):
    publish_template(items=ITEMS)
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))
    checklists_instantiate(events=[event])
    weight, line, order = (
        Task.objects.get(event=event, text=text) for text in ("Weight", "Line primed", "Order verified")
    )
    task_claim(task=weight, actor=nurse)
    task_claim(task=line, actor=nurse)
    task_complete(task=line, actor=nurse, value="yes")
    task_claim(task=order, actor=pharmacist)
    return weight, line, order


def test_a_deactivated_users_open_tasks_go_back_to_the_pool(nurse, nurse2, admin_user, tasks):
    weight, line, order = tasks
    assert weight not in my_work(nurse2)
    user_deactivate(user=nurse, actor=admin_user)
    for task in tasks:
        task.refresh_from_db()
    assert weight.assignee is None and weight in my_work(nurse2)
    assert line.assignee == nurse and line.status == "done"  # done work stays theirs
    assert order.assignee is not None  # another's claim is untouched
    released = TaskActivity.objects.get(task=weight, action=TaskActivity.Action.RELEASE)
    assert released.actor == admin_user and "deactivated" in released.detail and str(nurse) in released.detail


def test_unticking_active_in_the_admin_gives_their_tasks_back_too(client, nurse, nurse2, admin_user, tasks):
    verified_login(client, admin_user)
    response = client.post(
        reverse("admin:accounts_user_change", args=[nurse.pk]), change_form_data(client, nurse, is_active=False)
    )
    assert response.status_code == 302
    tasks[0].refresh_from_db()
    assert tasks[0].assignee is None and tasks[0] in my_work(nurse2)


def test_a_role_changed_in_the_admin_gives_back_the_tasks_of_the_former_role(client, nurse, nurse2, admin_user, tasks):
    verified_login(client, admin_user)
    response = client.post(
        reverse("admin:accounts_user_change", args=[nurse.pk]),
        change_form_data(client, nurse, role=Role.CASE_MANAGER),
    )
    assert response.status_code == 302
    weight = Task.objects.get(pk=tasks[0].pk)
    assert weight.assignee is None and weight in my_work(nurse2)
    released = TaskActivity.objects.get(task=weight, action=TaskActivity.Action.RELEASE)
    assert "case manager" in released.detail and released.actor == admin_user


def test_a_change_that_keeps_the_role_keeps_the_claims(client, nurse, admin_user, tasks):
    verified_login(client, admin_user)
    client.post(
        reverse("admin:accounts_user_change", args=[nurse.pk]), change_form_data(client, nurse, first_name="Nora")
    )
    tasks[0].refresh_from_db()
    assert tasks[0].assignee == nurse


def test_the_deactivate_action_gives_their_tasks_back(client, nurse, nurse2, admin_user, tasks):
    verified_login(client, admin_user)
    client.post(reverse("admin:accounts_user_changelist"), {"action": "deactivate", "_selected_action": [nurse.pk]})
    tasks[0].refresh_from_db()
    assert tasks[0].assignee is None


def test_taken_off_the_care_team_their_claims_on_that_patient_go_back_to_the_pool(
    client, coordinator, patient, nurse, nurse2, pharmacist, tasks
):
    """Found by a review: off the team, the nurse could no longer work what she had claimed for the
    patient, and nobody else could claim it (nor find it in My work)."""
    weight, line, order = tasks
    other = PatientFactory(unit=patient.unit)
    CareTeamMember.objects.create(patient=other, user=nurse, role=Role.NURSE)
    elsewhere = make_event(other, planned_at=timezone.now() + dt.timedelta(hours=3))
    checklists_instantiate(events=[elsewhere])
    kept = Task.objects.get(event=elsewhere, text="Weight")
    task_claim(task=kept, actor=nurse)

    verified_login(client, coordinator)
    member = CareTeamMember.objects.get(patient=patient, user=nurse)
    assert client.post(reverse("patients:care_team", args=[patient.pk]), {"remove": member.pk}).status_code == 302

    for task in (weight, line, order, kept):
        task.refresh_from_db()
    assert weight.assignee is None and weight in my_work(nurse2)
    assert line.assignee == nurse and line.status == "done"  # done work stays theirs
    assert order.assignee == pharmacist  # another's claim is untouched
    assert kept.assignee == nurse  # her claims on the patients she still cares for stay hers
    released = TaskActivity.objects.get(task=weight, action=TaskActivity.Action.RELEASE)
    assert released.actor == coordinator and "left the care team" in released.detail
