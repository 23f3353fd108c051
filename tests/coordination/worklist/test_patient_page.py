"""The patient page opens the cycle under way and loads the others when asked (issue 19's
first step): a nine-cycle course is hundreds of events, most of them done or weeks ahead."""

import datetime as dt
import re
from decimal import Decimal
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from checklists.services import checklists_instantiate
from coordination.worklist.selectors import SHOWN_AFTER, SHOWN_BEFORE
from patients.models import CareEvent, Cycle, Indication, Interruption, PumpEvent, Setting
from patients.services import assessment_confirm, assessment_record, check_in_record, course_plan

from ...checklists.helpers import make_event, publish_template
from ...factories import CareTeamMemberFactory, CourseFactory, PatientFactory, UnitFactory
from ..handoff_helpers import write_handoff

HTMX = {"HTTP_HX_REQUEST": "true"}
# The user, the patient, whether on the record (patients.policy.Standing), care team, courses,
# cycles, breaks, the cycle under way (its events' times, its rows, their checklists and tasks), the
# history, handoffs, who may prepare one, the toxicity watch (4), the bags waiting for a decision, the
# bell, the read's audit row (and the session, which the sign-in helper keeps in the cache).
PATIENT_PAGE_QUERIES = 21
NORMAL_ICE = {"ice_orientation": 4, "ice_naming": 3, "ice_commands": 1, "ice_writing": 1, "ice_attention": 1}


@pytest.fixture
def course(patient, oncologist):
    start = timezone.localdate() - dt.timedelta(days=3)  # cycle 1 under way, cycle 2 ahead
    return course_plan(
        patient=patient,
        indication=Indication.RELAPSED_REFRACTORY,
        start_date=start,
        planned_cycles=2,
        bag_hours=48,
        outpatient_setting=Setting.HOME,
        actor=oncologist,
    )


def test_the_cycle_under_way_is_open_and_the_next_one_loads_when_asked(client, nurse, patient, course):
    first, second = course.cycles.order_by("number")
    client.force_login(nurse)
    page = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert "Events of cycle 1" in page  # its table
    live = CareEvent.objects.filter(cycle=second).exclude(status=CareEvent.Status.CANCELLED).count()
    assert f"The {live} events of cycle 2</summary>" in page
    assert f'data-hx-get="/cycles/{second.pk}/events/"' in page and "Events of cycle 2" not in page

    fragment = client.get(reverse("cycle_events", args=[second.pk]), **HTMX).content.decode()
    assert "Events of cycle 2" in fragment and fragment.count("<tr") == live + 1  # and the header
    read = AuditEvent.objects.filter(action="view", object_type="patients.cycle").latest("id")
    assert (read.object_id, read.patient_id) == (str(second.pk), patient.pk)


def test_without_javascript_a_cycle_opens_as_a_page_with_the_patient_banner(client, nurse, patient, course):
    second = course.cycles.get(number=2)
    client.force_login(nurse)
    page = client.get(reverse("cycle_events", args=[second.pk])).content.decode()
    assert f"MRN {patient.mrn}" in page and "<h1" in page and "Events of cycle 2" in page


def test_a_cycle_of_another_teams_patient_is_404(client, outsider, course):
    client.force_login(outsider)
    assert client.get(reverse("cycle_events", args=[course.cycles.first().pk])).status_code == 404


# --- the cycle under way, around now (issue 19) ---------------------------------------------------


def _patient_with(ward, nurse, *, cycles: int, events: int, hours_apart: int = 2):
    """A patient of the nurse's with `cycles` cycles, the last one under way: its `events` checks,
    one every `hours_apart` hours, centred on now, each with a nurse's and a pharmacist's task; a
    check and a bag change in each earlier cycle."""
    patient = PatientFactory(unit=ward)
    CareTeamMemberFactory(patient=patient, user=nurse)
    today = timezone.localdate()
    course = CourseFactory(patient=patient, planned_cycles=cycles, start_date=today - dt.timedelta(days=60 * cycles))
    now = timezone.now()
    for number in range(1, cycles + 1):
        start = today - dt.timedelta(days=60 * (cycles - number) + 2)
        over = now - dt.timedelta(days=60 * (cycles - number) - 1) if number < cycles else now + dt.timedelta(days=20)
        cycle = Cycle.objects.create(
            course=course, number=number, phase=Cycle.Phase.INDUCTION, start_date=start, infusion_ends_at=over
        )
        if number < cycles:
            for kind in (CareEvent.Kind.TOXICITY_CHECK, CareEvent.Kind.BAG_CHANGE):
                make_event(patient, cycle=cycle, kind=kind, planned_at=over - dt.timedelta(days=3))
    made = [
        make_event(
            patient,
            cycle=cycle,
            kind=CareEvent.Kind.TOXICITY_CHECK,
            planned_at=now + dt.timedelta(hours=hours_apart * (n - events // 2)) + dt.timedelta(minutes=7),
        )
        for n in range(events)
    ]
    checklists_instantiate(events=made)
    return patient, made


@pytest.fixture
def checks(db):
    items = [{"text": "Temperature", "due_offset_minutes": -60}, {"text": "Bag label checked", "role": "pharmacist"}]
    return publish_template(items=items, name="CRS check", trigger_kind=CareEvent.Kind.TOXICITY_CHECK)


def test_the_cycle_under_way_lists_its_last_day_and_the_coming_two_and_counts_the_rest(client, ward, nurse, checks):
    patient, events = _patient_with(ward, nurse, cycles=1, events=61)  # every 2 hours, 60 hours either side
    now = timezone.now()
    shown = [e for e in events if now - SHOWN_BEFORE <= e.planned_at <= now + SHOWN_AFTER]
    earlier = [e for e in events if e.planned_at < now - SHOWN_BEFORE]
    later = [e for e in events if e.planned_at > now + SHOWN_AFTER]
    client.force_login(nurse)
    page = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    listed = page.split("Events of cycle 1</caption>")[1].split("</table>")[0]
    assert {e.pk for e in events if f'href="/events/{e.pk}/"' in listed} == {e.pk for e in shown}
    # The earlier ones' tasks are overdue (nobody did them): said beside their count, in red.
    assert f"The {len(earlier)} earlier events of cycle 1" in page
    assert f'<span class="text-danger">{2 * len(earlier)} tasks overdue</span>' in page
    assert f"The {len(later)} later events of cycle 1" in page

    links = re.findall(r'data-hx-get="(/cycles/\d+/events/\?[^"]+)"', page)
    assert len(links) == 2
    parts = [client.get(unescape(link), **HTMX).content.decode() for link in links]
    assert [{e.pk for e in events if f'href="/events/{e.pk}/"' in part} for part in parts] == [
        {e.pk for e in earlier},
        {e.pk for e in later},
    ]
    assert "Earlier events of cycle 1" in parts[0] and "Later events of cycle 1" in parts[1]
    # Without JavaScript, a page of their own says which they are.
    alone = client.get(unescape(links[0])).content.decode()
    assert "<h1" in alone and "The events planned before" in alone and f"MRN {patient.mrn}" in alone


def test_at_home_the_next_three_events_are_listed_however_far(client, ward, nurse, checks):
    patient, events = _patient_with(ward, nurse, cycles=1, events=8, hours_apart=7 * 24)  # a bag a week
    client.force_login(nurse)
    page = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    listed = page.split("Events of cycle 1</caption>")[1].split("</table>")[0]
    upcoming = [e for e in events if e.planned_at > timezone.now()]
    assert [e.pk for e in events if f'href="/events/{e.pk}/"' in listed] == [e.pk for e in upcoming[:3]]
    assert f"The {len(upcoming) - 3} later event" in page


def test_a_cycle_part_asked_with_a_moment_that_is_not_one_is_refused(client, nurse, course):
    client.force_login(nurse)
    url = reverse("cycle_events", args=[course.cycles.first().pk])
    assert client.get(url, {"before": "yesterday"}).status_code == 400
    assert client.get(url, {"after": "2026-01-01T10:00"}).status_code == 400  # no offset: whose clock?


def _queries(client, patient) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("patient_detail", args=[patient.pk])).status_code == 200
    return len(captured)


def test_the_patient_page_reads_as_many_times_for_1_cycle_of_10_events_as_for_5_of_100(
    client, ward, nurse, checks, time_machine, settings
):
    settings.PAGE_CACHE_SECONDS = 0  # the rendering's reads, not a kept page's
    time_machine.move_to(timezone.now(), tick=False)  # the session's activity is written once a minute
    small, _ = _patient_with(ward, nurse, cycles=1, events=10)
    large, events = _patient_with(ward, nurse, cycles=5, events=100)
    agency = UnitFactory(name="Home infusion")
    for event in events[:3]:  # the handoffs' rows name the patient
        write_handoff(event, sender=nurse, to_unit=agency)
    client.force_login(nurse)
    _queries(client, small)  # the first look of the session writes its activity
    assert _queries(client, small) == _queries(client, large) == PATIENT_PAGE_QUERIES


def test_a_patient_page_with_everything_on_it_reads_as_many_times_as_a_bare_one(
    client, ward, nurse, oncologist, checks, time_machine, settings
):
    """Nothing the page prints is left to a query of its own (a column `only()` left out, a
    relation not loaded): a grade confirmed, an alert, a home check, a pump event, an open break and
    a handoff on one patient, none on the other."""
    settings.PAGE_CACHE_SECONDS = 0  # the rendering's reads, not a kept page's
    time_machine.move_to(timezone.now(), tick=False)
    bare, _ = _patient_with(ward, nurse, cycles=1, events=10)
    full, events = _patient_with(ward, nurse, cycles=2, events=10)
    CareTeamMemberFactory(patient=full, user=oncologist)
    now = timezone.now()
    findings = {"temperature": Decimal("37.0"), "temperature_unit": "C", **NORMAL_ICE, "ice_orientation": 1}
    grade = assessment_record(patient=full, actor=nurse, assessed_at=now - dt.timedelta(minutes=5), findings=findings)
    assert grade.alerts.exists()
    assessment_confirm(assessment=grade, actor=oncologist, crs_grade=grade.crs_grade, icans_grade=grade.icans_grade)
    check_in_record(
        patient=full,
        actor=nurse,
        checked_at=now,
        temperature=Decimal("37.2"),
        temperature_unit="C",
        pump_status="running",
    )
    cycle = events[0].cycle
    Interruption.objects.create(
        patient=full, course=cycle.course, cycle=cycle, stopped_at=now - dt.timedelta(hours=9), cause="other",
        stopped_by=nurse, restarted_at=now - dt.timedelta(hours=8), restarted_by=oncologist,
    )  # fmt: skip
    stop = Interruption.objects.create(
        patient=full, course=cycle.course, cycle=cycle, stopped_at=now, cause="pump_or_line", stopped_by=nurse
    )
    PumpEvent.objects.create(
        patient=full, course=cycle.course, kind=PumpEvent.Kind.OCCLUSION_ALARM, occurred_at=now, reported_by="nurse",
        action_taken="Line flushed", recorded_by=nurse, interruption=stop,
    )  # fmt: skip
    write_handoff(events[0], sender=nurse, to_unit=UnitFactory(), to_person=nurse)
    client.force_login(nurse)
    _queries(client, bare)
    assert _queries(client, bare) == _queries(client, full)
    page = client.get(reverse("patient_detail", args=[full.pk])).content.decode()
    assert "Urgent, not acknowledged:" in page and f"(confirmed by {oncologist})" in page
    assert "Infusion stopped" in page and "Record the restart" in page and "37.2&nbsp;°C" in page
    assert f"Cycle {cycle.number} continues" in page and f"by {oncologist}" in page


def test_the_patient_page_is_kept_while_nothing_of_the_patients_changes(
    client, ward, nurse, checks, foreign_patient, time_machine
):
    """A second look renders nothing again; a change on another ward leaves it kept; a change of
    this patient's renders it again, with the change."""
    # The clock stands still: a kept page is kept within its minute (page_cache.page_key), and a
    # slow run that crossed a minute between two looks rendered the third again.
    time_machine.move_to(timezone.now(), tick=False)
    patient, events = _patient_with(ward, nurse, cycles=1, events=10)
    client.force_login(nurse)
    _queries(client, patient)
    kept = _queries(client, patient)
    foreign_patient.given_name = "Changed elsewhere"
    foreign_patient.save()
    assert _queries(client, patient) == kept < PATIENT_PAGE_QUERIES
    patient.given_name = "Renamed"
    patient.save()
    assert _queries(client, patient) > kept
    assert "Renamed" in client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
