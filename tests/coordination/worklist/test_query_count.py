"""The worklist's pages read as many times for many rows as for few: an event page with many
tasks (and its gate, redrawn by htmx), a cycle's events (the patient page's on-demand part) and My
work's list as htmx redraws it, every row shown. (My work, the board and the patient page as whole
pages: test_views.py, test_board.py, test_patient_page.py.)"""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from checklists.models import Task
from checklists.services import checklists_instantiate

from ...checklists.helpers import make_cycle, make_event, publish_template
from ...factories import CareTeamMemberFactory, PatientFactory, UserFactory
from ...query_count import queries_of

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _still_clock(time_machine, settings):
    settings.PAGE_CACHE_SECONDS = 0  # the rendering's reads, not a kept page's
    time_machine.move_to(timezone.now(), tick=False)


def _items(count: int) -> list[dict]:
    """Nurses' tasks, every other one checked by a second nurse."""
    checked = {"needs_verification": True, "verifier_role": "nurse"}
    return [{"text": f"Check {n}", **(checked if n % 2 else {})} for n in range(count)]


def _work_on(tasks, patient) -> None:
    """A third of the tasks claimed, a third done (and some of those checked), each by a nurse of its own."""
    for n, task in enumerate(tasks):
        worker = UserFactory(role=Role.NURSE, unit=patient.unit)
        CareTeamMemberFactory(patient=patient, user=worker, role=Role.NURSE)
        if n % 3 == 1:
            task.assignee = worker
        elif n % 3 == 2:
            task.status, task.completed_by, task.completed_at = Task.Status.DONE, worker, timezone.now()
            if task.needs_verification and n % 4 == 3:
                task.verified_by, task.verified_at = UserFactory(role=Role.NURSE), timezone.now()
        task.save()


def _event_with(patient, items: int | None = None):
    """An event with its checklist, of a template of `items` published now (else those published)."""
    if items:
        publish_template(items=_items(items), name=f"Start with {items}")
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))
    checklists_instantiate(events=[event])
    _work_on(list(Task.objects.filter(event=event).order_by("order")), patient)
    return event


@pytest.mark.parametrize("part", ["", "?part=gate"])
def test_an_event_page_reads_as_many_times_for_20_tasks_as_for_2(client, patient, nurse, part):
    client.force_login(nurse)
    few = _event_with(patient, 2)
    many = _event_with(PatientFactory(unit=patient.unit), 20)
    CareTeamMemberFactory(patient=many.patient, user=nurse, role=Role.NURSE)
    headers = HTMX if part else {}
    client.get(reverse("event_detail", args=[few.pk]))
    counted = [queries_of(client, reverse("event_detail", args=[event.pk]) + part, **headers) for event in (few, many)]
    assert counted[0] == counted[1]
    assert client.get(reverse("event_detail", args=[many.pk])).content.decode().count("Check 1") >= 11  # every task


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "htmx"])
def test_a_cycles_events_read_as_many_times_for_20_events_as_for_1(client, patient, nurse, headers):
    client.force_login(nurse)
    publish_template(items=_items(3))
    cycles = []
    for count in (1, 20):
        cycle = make_cycle(patient, number=len(cycles) + 1)
        events = [
            make_event(patient, cycle=cycle, planned_at=timezone.now() + dt.timedelta(hours=n + 1))
            for n in range(count)
        ]
        checklists_instantiate(events=events)
        _work_on(list(Task.objects.filter(event__in=events)), patient)
        cycles.append(cycle)
    client.get(reverse("cycle_events", args=[cycles[0].pk]))
    counted = [queries_of(client, reverse("cycle_events", args=[cycle.pk]), **headers) for cycle in cycles]
    assert counted[0] == counted[1]


@pytest.mark.parametrize("query", ["?rows=all", "?rows=all&status=verify&due=all"])
def test_my_works_list_reads_as_many_times_for_20_patients_as_for_1(client, ward, nurse, query):
    """Each patient's tasks: some in the pool, some claimed by the nurse, some done by others and
    waiting for her check."""
    client.force_login(nurse)
    publish_template(items=_items(6))
    url = reverse("home") + query
    client.get(url)
    counted = []
    for patients in (1, 19):  # 1, then 20 in all
        for _ in range(patients):
            patient = PatientFactory(unit=ward)
            CareTeamMemberFactory(patient=patient, user=nurse, role=Role.NURSE)
            _event_with(patient)
            Task.objects.filter(patient=patient, assignee__isnull=False).update(assignee=nurse)
        counted.append(queries_of(client, url, **HTMX))
    assert counted[0] == counted[1]
    assert client.get(url, **HTMX).content.decode().count('id="task-') >= 20  # a row or more a patient
