"""Calendar feeds: a secret link per user, renewed from the Security page; events on the unit's
clock with its VTIMEZONE (across a daylight-saving change), naming patients by initials and the
MRN's last four only, and the kind of work, never a task's wording (a drug, a dose, the
diagnosis); every read logged as the feed's user."""

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from accounts.models import AuditEvent, Role
from accounts.services import user_deactivate, user_signed_out_everywhere
from checklists.models import Task
from checklists.services import checklists_instantiate, task_claim
from coordination.feeds.models import FeedKey
from coordination.feeds.services import feed_key_renew, feed_secret
from coordination.handoffs import services as handoffs
from coordination.handoffs.services import ActionSpec
from patients.models import CareEvent, CareTeamMember
from patients.services.team import care_team_remove

from ..accounts.helpers import SignInClient as Client
from ..accounts.helpers import admin_password_change, own_password_change, verified_login
from ..checklists.helpers import make_event, publish_template
from ..coordination.handoff_helpers import (
    SYNTHESIS,
    at_home,
    draft_handoff,
    first_visit_done,
    make_agency,
    make_home_nurse,
    ready_discharge,
)
from ..factories import CareTeamMemberFactory, PatientFactory, with_unmistakable_names

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")  # the factories' units; clocks go forward on 8 March 2026
BEFORE_THE_CHANGE = dt.datetime(2026, 3, 6, 12, 0, tzinfo=dt.UTC)


# What a task or a handoff action may say, and a calendar never: the drug, a dose, the diagnosis.
DRUG_DOSE_DIAGNOSIS = ("blinatumomab", "dexamethasone", "20 mg", "8 mg", "lymphoblastic", "leukaemia")


def label_of(patient):
    return f"{patient.given_name[0]}.{patient.family_name[0]}.".upper() + f" MRN …{patient.mrn[-4:]}"


def says_nothing_clinical(response):
    """Neither the feed's text (unfolded: iCalendar folds its lines) nor any event's summary or
    description names a drug, a dose or the diagnosis."""
    text = response.content.replace(b"\r\n ", b"").decode().lower()
    _, events = events_of(response)
    text += " ".join(f"{event['summary']} {event['description']}" for event in events).lower()
    assert not [word for word in DRUG_DOSE_DIAGNOSIS if word in text]


@pytest.fixture
def agency(ward):
    return make_agency(ward)


@pytest.fixture
def home_nurse(agency):
    return make_home_nurse(agency)


def accepted_handoff(patient, *, nurse, nurse2, case_manager, agency, home_nurse, actions):
    """A discharge home handed over to the agency and accepted there: `actions` are its tasks."""
    discharge = ready_discharge(patient, nurse=nurse, nurse2=nurse2, case_manager=case_manager)
    handoff = draft_handoff(discharge, case_manager, agency, actions=actions)
    handoffs.handoff_send(handoff=handoff, actor=case_manager)
    handoffs.handoff_acknowledge(handoff=handoff, actor=home_nurse)
    return handoffs.handoff_accept(handoff=handoff, actor=home_nurse, synthesis=SYNTHESIS)


def feed_url(user, name):
    key = FeedKey.objects.filter(user=user).first() or feed_key_renew(actor=user, second_step_passed=True)
    return reverse(name, args=[feed_secret(key)])


def events_of(response):
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    return calendar, list(calendar.walk("VEVENT"))


@time_machine.travel(BEFORE_THE_CHANGE, tick=False)
def test_the_units_week_keeps_the_units_clock_across_the_daylight_saving_change(client, patient, coordinator):
    before = make_event(patient, planned_at=dt.datetime(2026, 3, 7, 9, 0, tzinfo=NEW_YORK))
    after = make_event(patient, planned_at=dt.datetime(2026, 3, 10, 9, 0, tzinfo=NEW_YORK))
    make_event(patient, planned_at=dt.datetime(2026, 3, 20, 9, 0, tzinfo=NEW_YORK))  # beyond 7 days

    calendar, events = events_of(client.get(feed_url(coordinator, "feed_unit")))

    starts = {str(event["uid"]): event.decoded("dtstart") for event in events}
    assert set(starts) == {
        f"event-{before.pk}@care-coordination-tracker",
        f"event-{after.pk}@care-coordination-tracker",
    }
    for start in starts.values():
        assert (start.hour, start.minute, str(start.tzinfo)) == (9, 0, "America/New_York")
    utc_hours = sorted(start.astimezone(dt.UTC).hour for start in starts.values())
    assert utc_hours == [13, 14]  # EDT (UTC-4) after the change, EST (UTC-5) before
    (zone,) = calendar.walk("VTIMEZONE")
    assert zone["TZID"] == "America/New_York"
    assert {part.name for part in zone.subcomponents} == {"STANDARD", "DAYLIGHT"}


@time_machine.travel(dt.datetime(2026, 3, 5, 15, 0, tzinfo=NEW_YORK), tick=False)
def test_the_units_week_keeps_todays_earlier_events_and_a_stop_under_way(client, patient, coordinator):
    """Found by a review: the unit's calendar began at the minute it was read, so this morning's
    cycle start left it as soon as it began, and a stop under way (planned when it happened) never
    showed. A calendar shows the whole of today, on the unit's clock."""
    morning = make_event(patient, planned_at=dt.datetime(2026, 3, 5, 9, 0, tzinfo=NEW_YORK))
    stop = make_event(
        patient, kind=CareEvent.Kind.INTERRUPTION, planned_at=dt.datetime(2026, 3, 4, 22, 0, tzinfo=NEW_YORK)
    )
    CareEvent.objects.filter(pk=stop.pk).update(status=CareEvent.Status.IN_PROGRESS)
    make_event(patient, planned_at=dt.datetime(2026, 3, 4, 9, 0, tzinfo=NEW_YORK))  # yesterday, over

    _, events = events_of(client.get(feed_url(coordinator, "feed_unit")))

    assert {str(event["uid"]) for event in events} == {
        f"event-{morning.pk}@care-coordination-tracker",
        f"event-{stop.pk}@care-coordination-tracker",
    }


@time_machine.travel(dt.datetime(2026, 3, 20, 12, 0, tzinfo=NEW_YORK), tick=False)
def test_a_cancelled_event_stays_in_the_units_calendar_marked_cancelled_with_a_higher_sequence(
    client, patient, coordinator
):
    """A cancelled event dropped out of the feed, and a calendar that had it kept showing it for
    good: it is served marked cancelled (RFC 5545: STATUS:CANCELLED, a higher SEQUENCE) while it
    was planned from CANCELLED_KEPT (14 days) ago to the end of the feed."""
    from coordination.feeds.calendars import CANCELLED_KEPT
    from patients.services.schedule import event_cancel

    now = timezone.now()
    kept = make_event(patient, planned_at=now + dt.timedelta(days=2))
    called_off = make_event(patient, planned_at=now + dt.timedelta(days=3))
    lately = make_event(patient, planned_at=now - CANCELLED_KEPT + dt.timedelta(hours=1))
    long_ago = make_event(patient, planned_at=now - CANCELLED_KEPT - dt.timedelta(hours=1))
    url = feed_url(coordinator, "feed_unit")

    def by_uid():
        _, events = events_of(client.get(url))
        return {str(event["uid"]).split("@")[0]: event for event in events}

    before = by_uid()
    for event in (called_off, lately, long_ago):
        event_cancel(event=event, reason="No longer in the plan", actor=coordinator)
    after = by_uid()

    assert set(after) == {f"event-{kept.pk}", f"event-{called_off.pk}", f"event-{lately.pk}"}
    assert str(after[f"event-{kept.pk}"]["status"]) == "CONFIRMED"
    for event in (called_off, lately):
        assert str(after[f"event-{event.pk}"]["status"]) == "CANCELLED"
        assert str(after[f"event-{event.pk}"]["summary"]).startswith("Cancelled: ")
    uid = f"event-{called_off.pk}"
    assert int(after[uid].get("sequence", 0)) > int(before[uid].get("sequence", 0))


def test_a_head_request_answers_as_a_get_without_the_body(client, patient, coordinator):
    """A calendar app that checks a feed with HEAD was answered 405 Method Not Allowed."""
    make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=5))
    url = feed_url(coordinator, "feed_unit")
    got = client.get(url)

    head = client.head(url)

    assert head.status_code == 200 and head.content == b""
    assert head["Content-Type"] == got["Content-Type"] and int(head["Content-Length"]) == len(got.content)
    assert client.head(reverse("feed_unit", args=["1-nothing"])).status_code == 404  # as a GET would be


def test_a_feed_names_patients_by_initials_and_the_mrns_last_four_never_by_name(client, patient, nurse, coordinator):
    with_unmistakable_names(patient)  # a generated "Ward" once matched the unit's name
    publish_template(items=[{"text": "Weight", "role": "nurse"}])
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=5))
    checklists_instantiate(events=[event])

    for user, name in ((nurse, "feed_my_work"), (coordinator, "feed_unit")):
        response = client.get(feed_url(user, name))
        _, events = events_of(response)
        summaries = " ".join(str(event["summary"]) for event in events)
        label = f"{patient.given_name[0]}.{patient.family_name[0]}.".upper() + f" MRN …{patient.mrn[-4:]}"
        assert label in summaries
        text = response.content.decode()
        assert patient.given_name not in text and patient.family_name not in text and patient.mrn not in text


def test_my_work_lists_my_open_tasks_and_not_another_teams(client, patient, nurse, foreign_patient):
    publish_template(items=[{"text": "Weight", "role": "nurse"}, {"text": "Order verified", "role": "pharmacist"}])
    ours = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=5))
    theirs = make_event(foreign_patient, planned_at=timezone.now() + dt.timedelta(hours=5))
    checklists_instantiate(events=[ours, theirs])

    _, events = events_of(client.get(feed_url(nurse, "feed_my_work")))

    # The kind of event and whose work it is, not the task's text (see the test below).
    assert [str(event["summary"]) for event in events] == [f"Cycle start: 1 task (nurse) · {label_of(patient)}"]
    assert reverse("event_detail", args=[ours.pk]) in str(events[0]["description"])


def test_my_work_says_the_kind_of_event_whose_work_and_when_never_a_drug_a_dose_or_the_diagnosis(
    client, patient, nurse
):
    """A calendar leaves the hospital: as an alert email, it never names the drug (and with it the
    diagnosis) or a dose next to the patient's initials. The tasks of one event due at one time
    are one entry, which links to the event's page (behind the sign-in) where their wording is."""
    with_unmistakable_names(patient)
    publish_template(
        items=[
            {"text": "Blinatumomab bag connected, label checked", "role": "nurse"},
            {"text": "Dexamethasone 20 mg IV given 1 h before", "role": "nurse"},
            {"text": "Blinatumomab order verified", "role": "pharmacist"},
        ],
        name="Bag change",
        trigger_kind=CareEvent.Kind.BAG_CHANGE,
    )
    planned_at = (timezone.now() + dt.timedelta(hours=5)).replace(second=0, microsecond=0)
    event = make_event(patient, kind=CareEvent.Kind.BAG_CHANGE, planned_at=planned_at)
    CareEvent.objects.filter(pk=event.pk).update(sequence=3)
    checklists_instantiate(events=[event])

    response = client.get(feed_url(nurse, "feed_my_work"))

    _, events = events_of(response)
    assert [str(entry["summary"]) for entry in events] == [f"Bag change #3: 2 tasks (nurse) · {label_of(patient)}"]
    assert events[0].decoded("dtstart") == timezone.localtime(event.planned_at, NEW_YORK)
    assert f"http://testserver{reverse('event_detail', args=[event.pk])}" in str(events[0]["description"])
    says_nothing_clinical(response)


def test_my_due_work_includes_my_open_handoff_actions_and_never_their_wording(
    client, patient, nurse, nurse2, case_manager, agency, home_nurse
):
    """The receiving side's tasks (a home nurse's first visit, a case manager's call), as My work
    shows them first: of the user's role on the handoffs their unit took over, due on the unit's
    clock (here after the change to summer time), linking to the handoff."""
    with_unmistakable_names(patient)
    agency_manager = make_home_nurse(agency, "agencycm", Role.CASE_MANAGER)
    visit_at = dt.datetime(2026, 3, 10, 9, 0, tzinfo=NEW_YORK)
    with time_machine.travel(BEFORE_THE_CHANGE, tick=False):
        handoff = accepted_handoff(
            patient,
            nurse=nurse,
            nurse2=nurse2,
            case_manager=case_manager,
            agency=agency,
            home_nurse=home_nurse,
            actions=[
                ActionSpec("First home visit: dexamethasone 8 mg before the blinatumomab bag", Role.NURSE, visit_at),
                ActionSpec("Call the caregiver", Role.CASE_MANAGER, visit_at - dt.timedelta(hours=20)),
            ],
        )

        response = client.get(feed_url(home_nurse, "feed_my_work"))

        _, events = events_of(response)
        assert [str(entry["summary"]) for entry in events] == [
            f"Hospital → home handoff: 1 task (nurse) · {label_of(patient)}"
        ]
        start = events[0].decoded("dtstart")
        assert (start.hour, str(start.tzinfo), start.astimezone(dt.UTC).hour) == (9, "America/New_York", 13)
        assert f"http://testserver{reverse('handoff_detail', args=[handoff.pk])}" in str(events[0]["description"])
        says_nothing_clinical(response)
        row = AuditEvent.objects.filter(object_type="coordination.feed_my_work").latest("id")
        assert (row.actor_id, row.detail) == (home_nurse.pk, {"patients": [patient.pk]})

        _, theirs = events_of(client.get(feed_url(agency_manager, "feed_my_work")))
        assert [str(entry["summary"]).split(":")[0] for entry in theirs] == ["Hospital → home handoff"]
        _, senders = events_of(client.get(feed_url(case_manager, "feed_my_work")))
        assert not [entry for entry in senders if "handoff" in str(entry["summary"])]  # the sender's unit owns none


@time_machine.travel(BEFORE_THE_CHANGE, tick=False)
def test_my_due_work_keeps_the_units_clock_across_the_daylight_saving_change(client, patient, nurse):
    publish_template(items=[{"text": "Weight", "role": "nurse"}])
    before = make_event(patient, planned_at=dt.datetime(2026, 3, 7, 9, 0, tzinfo=NEW_YORK))
    after = make_event(patient, planned_at=dt.datetime(2026, 3, 10, 9, 0, tzinfo=NEW_YORK))
    checklists_instantiate(events=[before, after])

    calendar, events = events_of(client.get(feed_url(nurse, "feed_my_work")))

    starts = [event.decoded("dtstart") for event in events]
    assert [(start.day, start.hour, str(start.tzinfo)) for start in starts] == [
        (7, 9, "America/New_York"),
        (10, 9, "America/New_York"),
    ]
    assert [start.astimezone(dt.UTC).hour for start in starts] == [14, 13]  # EST (UTC-5), then EDT (UTC-4)
    (zone,) = calendar.walk("VTIMEZONE")
    onsets = set()  # when the VTIMEZONE says that summer time begins: its DTSTART and RDATEs
    for part in zone.walk("DAYLIGHT"):
        assert part.decoded("tzoffsetto") == dt.timedelta(hours=-4)
        rdates = part.get("rdate", [])
        onsets |= {part.decoded("dtstart").date()} | {
            moment.dt.date() for rdate in (rdates if isinstance(rdates, list) else [rdates]) for moment in rdate.dts
        }
    assert dt.date(2026, 3, 8) in onsets


def test_a_patient_i_no_longer_see_leaves_my_due_work(
    client, patient, nurse, nurse2, case_manager, coordinator, agency, home_nurse
):
    """A task assigned to a nurse who left the care team, and a handoff action once the receiving
    unit's access window has closed, are gone from the calendar (and from the audit's patients)."""
    publish_template(items=[{"text": "Weight", "role": "nurse"}])
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=5))
    checklists_instantiate(events=[event])
    task_claim(task=Task.objects.get(event=event), actor=nurse)
    handoff = accepted_handoff(
        patient,
        nurse=nurse,
        nurse2=nurse2,
        case_manager=case_manager,
        agency=agency,
        home_nurse=home_nurse,
        actions=[ActionSpec("First home visit", Role.NURSE, timezone.now() + dt.timedelta(hours=30))],
    )
    mine, theirs = feed_url(nurse, "feed_my_work"), feed_url(home_nurse, "feed_my_work")
    assert len(events_of(client.get(mine))[1]) >= 1 and len(events_of(client.get(theirs))[1]) == 1

    care_team_remove(member=CareTeamMember.objects.get(patient=patient, user=nurse), actor=coordinator)
    with at_home(handoff):
        first_visit_done(handoff, home_nurse)  # completing asks for it; the window then closes 72 h on
        handoffs.handoff_complete(handoff=handoff, actor=home_nurse)
        with time_machine.travel(timezone.now() + dt.timedelta(hours=73)):
            assert events_of(client.get(mine))[1] == []
            assert events_of(client.get(theirs))[1] == []
            rows = AuditEvent.objects.filter(object_type="coordination.feed_my_work").order_by("-id")[:2]
            assert [row.detail for row in rows] == [{"patients": []}, {"patients": []}]


def test_a_feed_read_is_logged_as_a_read_by_the_feeds_user(client, patient, coordinator):
    make_event(patient, planned_at=timezone.now() + dt.timedelta(days=1))
    url = feed_url(coordinator, "feed_unit")
    client.get(url)
    row = AuditEvent.objects.filter(action=AuditEvent.Action.VIEW).latest("id")
    assert (row.actor_id, row.object_type, row.detail) == (
        coordinator.pk,
        "coordination.feed_unit",
        {"patients": [patient.pk]},
    )


@pytest.mark.parametrize("secret", ["nothing", "1-deadbeef", "999999-abc", "-", "12345678901234567890-x", "\u00b2-abc"])
def test_a_bad_secret_is_not_found_with_a_clear_message(client, nurse, secret):
    feed_key_renew(actor=nurse, second_step_passed=False)
    response = client.get(reverse("feed_my_work", args=[secret]))
    assert response.status_code == 404
    assert "Security page" in response.content.decode()


def test_renewing_invalidates_the_old_link_at_once(client, nurse):
    old = feed_url(nurse, "feed_my_work")
    assert client.get(old).status_code == 200
    client.force_login(nurse)

    response = client.post(reverse("feed_renew"), {"confirm": "on"})

    assert response.status_code == 302
    assert client.get(old).status_code == 404
    assert client.get(feed_url(nurse, "feed_my_work")).status_code == 200
    assert AuditEvent.objects.filter(object_type="coordination_feedkey", action="update", actor_id=nurse.pk).exists()


def test_making_renewing_and_ending_the_links_is_logged_by_the_database_as_api_tokens_are(
    client, nurse, nurse2, admin_user
):
    """Made, renewed and ended calendar links are in the log under whoever did it, written by the
    database as an API token's changes are (a trigger), so a key that goes another way is logged
    too: the log had only the rows that the feed services wrote themselves. The nonce the links
    are made from, and so the links, never reach the log."""
    client.force_login(nurse)
    client.post(reverse("feed_renew"))
    made = FeedKey.objects.get(user=nurse)
    client.post(reverse("feed_renew"), {"confirm": "on"})
    renewed = FeedKey.objects.get(user=nurse)
    user_deactivate(user=nurse, actor=admin_user)
    other = feed_key_renew(actor=nurse2, second_step_passed=False)
    FeedKey.objects.filter(pk=other.pk).delete()  # not through a service: the system's

    rows = AuditEvent.objects.filter(object_type="coordination_feedkey").order_by("id")
    assert [(row.action, row.actor_username, row.object_id) for row in rows] == [
        ("create", "nurse", str(made.pk)),
        ("update", "nurse", str(made.pk)),
        ("delete", "admin", str(made.pk)),
        ("create", "nurse2", str(other.pk)),
        ("delete", "", str(other.pk)),
    ]
    assert "renewed_at" in rows[1].detail["changes"] and rows[0].ip == "127.0.0.1"
    logged = str(list(AuditEvent.objects.values_list("object_id", "detail")))
    assert not [secret for secret in (made.nonce, renewed.nonce, feed_secret(renewed)) if secret in logged]


def test_renewing_without_confirming_changes_nothing(client, nurse):
    old = feed_url(nurse, "feed_my_work")
    client.force_login(nurse)
    client.post(reverse("feed_renew"), {})
    assert client.get(old).status_code == 200


@pytest.mark.parametrize("ended_by", [user_deactivate, user_signed_out_everywhere])
def test_a_deactivation_or_a_sign_out_everywhere_ends_the_links_and_reactivating_revives_none(
    client, nurse, admin_user, ended_by
):
    """The link is a credential, as an API token is: what revokes the tokens (an account that
    left, or that may be in other hands) ends it too, and reactivating the account revives none."""
    old = feed_url(nurse, "feed_my_work")
    assert client.get(old).status_code == 200

    ended_by(user=nurse, actor=admin_user)
    nurse.is_active = True
    nurse.save()

    assert client.get(old).status_code == 404
    assert client.get(feed_url(nurse, "feed_my_work")).status_code == 200  # new links work


@pytest.mark.parametrize("change", [own_password_change, admin_password_change], ids=["own", "admin"])
def test_a_new_password_ends_the_calendar_links_as_it_revokes_the_api_tokens(client, nurse, admin_user, change):
    """A password is changed because it leaked: a link made with it (by whoever held it) would
    otherwise keep reading the user's patients for good, as links never expire."""
    old = feed_url(nurse, "feed_my_work")
    assert Client().get(old).status_code == 200

    change(client, nurse, admin_user)

    assert Client().get(old).status_code == 404
    assert not FeedKey.objects.filter(user=nurse).exists()


def test_the_units_calendar_is_refused_to_a_nurse_and_to_a_coordinator_no_more(client, nurse, coordinator):
    assert client.get(feed_url(nurse, "feed_unit")).status_code == 403
    url = feed_url(coordinator, "feed_unit")
    coordinator.role = "nurse"
    coordinator.save()
    assert client.get(url).status_code == 403
    coordinator.is_active = False
    coordinator.save()
    assert client.get(url).status_code == 404


def test_links_made_before_the_role_required_the_second_step_stop_working(client, nurse, patient):
    """As an API token: a link made with the password alone (by a nurse, or whoever held her
    password) must not become the unit's calendar when she is made its coordinator, a role that
    signs in with two steps."""
    client.force_login(nurse)  # the password alone: a nurse may
    client.post(reverse("feed_renew"))
    secret = feed_secret(FeedKey.objects.get(user=nurse))
    assert Client().get(reverse("feed_my_work", args=[secret])).status_code == 200

    nurse.role = Role.COORDINATOR
    nurse.save()

    for name in ("feed_my_work", "feed_unit"):
        refused = Client().get(reverse(name, args=[secret]))
        assert refused.status_code == 403
        assert "Security page" in refused.content.decode()
    verified_login(client, nurse)
    client.post(reverse("feed_renew"), {"confirm": "on"})
    renewed = feed_secret(FeedKey.objects.get(user=nurse))
    assert Client().get(reverse("feed_unit", args=[renewed])).status_code == 200


@pytest.mark.parametrize(
    ("who", "shown"),
    [("nurse", ["My due work"]), ("coordinator", ["My due work", "next 7 days"]), ("admin_user", [])],
)
def test_the_security_page_shows_the_links_that_the_role_allows(client, request, who, shown):
    user = request.getfixturevalue(who)
    verified_login(client, user)
    if shown:
        page = client.get(reverse("security")).content.decode()
        assert "Make my calendar links" in page
        client.post(reverse("feed_renew"))
    page = client.get(reverse("security")).content.decode()
    assert ("Calendar feeds" in page) == bool(shown)
    for label in shown:
        assert label in page
    if shown:
        assert feed_url(user, "feed_my_work") in page


@pytest.mark.parametrize("name", ["feed_my_work", "feed_unit"])
def test_a_feed_costs_as_many_queries_for_many_events_as_for_one(client, ward, nurse, coordinator, name):
    publish_template(items=[{"text": "Weight", "role": "nurse"}])
    user = nurse if name == "feed_my_work" else coordinator
    url = feed_url(user, name)

    def add_patient():
        someone = PatientFactory(unit=ward)
        CareTeamMemberFactory(patient=someone, user=nurse, role="nurse")
        checklists_instantiate(events=[make_event(someone, planned_at=timezone.now() + dt.timedelta(hours=5))])

    def queries():
        with CaptureQueriesContext(connection) as counted:
            assert client.get(url).status_code == 200
        return len(counted), len(events_of(client.get(url))[1])

    add_patient()
    one, shown = queries()
    for _ in range(4):
        add_patient()
    many, shown_many = queries()
    assert (shown, shown_many) == (1, 5) and one == many


def test_the_units_calendar_name_is_escaped_as_text_and_its_lines_are_folded_at_75_octets(client, ward, coordinator):
    """X-WR-CALNAME is a TEXT value (RFC 5545 3.8.8.2): a unit's name with a comma, a semicolon
    or a line break is escaped, not written raw (nor, for a line break, a 500)."""
    ward.name = "Haematology Ward, 4th floor; North\nwing Ærø Ünit Ünit Ünit Ünit Ünit Ünit"
    ward.save()

    response = client.get(feed_url(coordinator, "feed_unit"))

    assert response.status_code == 200
    unfolded = response.content.replace(b"\r\n ", b"").decode()
    assert "X-WR-CALNAME:Haematology Ward\\, 4th floor\\; North\\nwing Ærø" in unfolded
    assert all(len(line) <= 75 for line in response.content.split(b"\r\n"))
