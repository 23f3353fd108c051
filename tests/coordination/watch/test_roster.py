"""The on-call roster (issue 13): first call covers every hour, shifts do not overlap, refusals
name the row and field with nothing stored, and shifts keep their real length across a clock
change; who is on call is read by the unit's clock."""

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from accounts.models import Role
from coordination.watch.models import OnCallShift
from coordination.watch.selectors import first_call_gaps, on_call, unit_watch_warnings
from coordination.watch.services import ShiftInput, roster_replace

from ...factories import OrganisationFactory, UnitFactory, UserFactory

NY = zoneinfo.ZoneInfo("America/New_York")
# The night of the spring-forward change in New York: 8 March 2026, 02:00 becomes 03:00.
PERIOD_START = dt.datetime(2026, 3, 7, 8, 0, tzinfo=NY)
PERIOD_END = dt.datetime(2026, 3, 9, 8, 0, tzinfo=NY)
NO_COORDINATOR = (
    "{ward} has no coordinator: overdue tasks escalate to the oncologists of each care team "
    "(else the whole team), and alerts reach no coordinator."
)


def roster_form(*, shifts: int) -> dict[str, str]:
    """The on-call page's form for the oncologists' first call over 4–5 Jan 2027, with `shifts`
    rows to fill in (shift-N-user, shift-N-starts_at, shift-N-ends_at)."""
    return {
        "role": "oncologist",
        "rank": "1",
        "period_start": "2027-01-04T08:00",
        "period_end": "2027-01-05T08:00",
        "shift-TOTAL_FORMS": str(shifts),
        "shift-INITIAL_FORMS": "0",
        "shift-MIN_NUM_FORMS": "1",
        "shift-MAX_NUM_FORMS": "60",
    }


@pytest.fixture
def oncologists(ward):
    return [UserFactory(role=Role.ONCOLOGIST, unit=ward, username=f"onc{n}") for n in range(3)]


def at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, 0, tzinfo=NY)


def replace(coordinator, ward, shifts, *, rank=1, role=Role.ONCOLOGIST, start=PERIOD_START, end=PERIOD_END):
    return roster_replace(
        unit=ward, role=role, rank=rank, period_start=start, period_end=end, shifts=shifts, actor=coordinator
    )


def test_first_call_across_the_clock_change_routes_by_the_units_clock(coordinator, ward, oncologists):
    first, second = oncologists[:2]
    replace(coordinator, ward, [ShiftInput(first, at(7, 8), at(8, 8)), ShiftInput(second, at(8, 8), at(9, 8))])
    saturday_night = on_call(ward, Role.ONCOLOGIST, dt.datetime(2026, 3, 8, 3, 30, tzinfo=NY))
    assert [shift.user for shift in saturday_night] == [first]
    shift = saturday_night[0]
    assert shift.ends_at - shift.starts_at == dt.timedelta(hours=23)  # the night lost an hour
    assert [s.user for s in on_call(ward, Role.ONCOLOGIST, at(8, 8))] == [second]
    assert on_call(ward, Role.ONCOLOGIST, at(9, 8)) == []


def test_a_second_call_backs_up_the_first(coordinator, ward, oncologists):
    first, second, backup = oncologists
    replace(coordinator, ward, [ShiftInput(first, PERIOD_START, PERIOD_END)])
    replace(coordinator, ward, [ShiftInput(backup, at(7, 20), at(8, 8))], rank=2)
    assert [s.user for s in on_call(ward, Role.ONCOLOGIST, at(7, 23))] == [first, backup]


@pytest.mark.parametrize(
    ("shifts", "field", "words"),
    [
        ([(0, 7, 8, 8, 12), (1, 8, 10, 9, 8)], "1-starts_at", "'s shift, which ends Sun 8 Mar, 12:00"),
        (
            [(0, 7, 8, 8, 8), (1, 8, 9, 9, 8)],
            "1-starts_at",
            "No one is on call from Sun 8 Mar, 08:00 to Sun 8 Mar, 09:00",
        ),
        ([(0, 7, 8, 8, 20)], "period_end", "No one is on call from Sun 8 Mar, 20:00 to Mon 9 Mar, 08:00"),
        ([(0, 7, 8, 7, 8)], "0-ends_at", "ends after it starts"),
        ([(0, 6, 8, 9, 8)], "0-starts_at", "inside the period"),
    ],
)
def test_a_bad_roster_is_refused_at_its_row_and_nothing_is_kept(coordinator, ward, oncologists, shifts, field, words):
    rows = [ShiftInput(oncologists[who], at(d1, h1), at(d2, h2)) for who, d1, h1, d2, h2 in shifts]
    with pytest.raises(ValidationError) as refused:
        replace(coordinator, ward, rows)
    assert words in refused.value.message_dict[field][0]
    assert not OnCallShift.objects.exists()


def test_only_an_oncologist_is_on_call_as_one_and_only_the_units_coordinator_sets_it(
    coordinator, ward, oncologists, nurse, outsider
):
    with pytest.raises(ValidationError) as refused:
        replace(coordinator, ward, [ShiftInput(nurse, PERIOD_START, PERIOD_END)])
    assert "is not an active oncologist" in refused.value.message_dict["0-user"][0]
    with pytest.raises(PermissionDenied):
        replace(outsider, ward, [ShiftInput(oncologists[0], PERIOD_START, PERIOD_END)])


def test_an_oncologist_of_another_organisation_is_never_on_call(coordinator, ward):
    """Found by a review: the roster form offers its organisation's oncologists only, but the
    service took whoever it was given, and being on call opens the unit's alerting patients."""
    from ...factories import OrganisationFactory, UnitFactory, UserFactory

    elsewhere = UserFactory(
        role=Role.ONCOLOGIST, unit=UnitFactory(name="Ward", organisation=OrganisationFactory(name="Another hospital"))
    )
    assert elsewhere.unit.organisation_id != ward.organisation_id
    with pytest.raises(ValidationError) as refused:
        replace(coordinator, ward, [ShiftInput(elsewhere, PERIOD_START, PERIOD_END)])
    assert "works for another organisation" in refused.value.message_dict["0-user"][0]
    assert not OnCallShift.objects.exists()


def test_a_ward_rosters_no_nurse_on_call_and_its_page_offers_none(client, coordinator, ward, nurse):
    """Found by a review: the on-call page offered a "Nurse" roster for a ward, where nobody would
    ever be called (a ward's alerts go to its oncologists and coordinators; an agency's caregivers
    call its nurse)."""
    from ...accounts.helpers import verified_login

    with pytest.raises(ValidationError) as refused:
        replace(coordinator, ward, [ShiftInput(nurse, PERIOD_START, PERIOD_END)], role=Role.NURSE)
    assert refused.value.message_dict["role"] == [
        "Inpatient ward rosters call oncologists and coordinators; choose one of them."
    ]
    assert not OnCallShift.objects.exists()
    verified_login(client, coordinator)
    page = client.get("/roster/")
    assert [value for value, _ in page.context["period_form"].fields["role"].choices] == ["oncologist", "coordinator"]


def test_a_new_roster_cuts_the_old_one_at_the_edges_of_its_period(coordinator, ward, oncologists):
    first, second, _ = oncologists
    replace(coordinator, ward, [ShiftInput(first, at(1, 8), at(15, 8))], start=at(1, 8), end=at(15, 8))
    replace(coordinator, ward, [ShiftInput(second, PERIOD_START, PERIOD_END)])
    kept = [(s.user, s.starts_at, s.ends_at) for s in OnCallShift.objects.order_by("starts_at")]
    assert kept == [(first, at(1, 8), at(7, 8)), (second, at(7, 8), at(9, 8)), (first, at(9, 8), at(15, 8))]


def test_gaps_and_a_unit_without_coordinator_are_warned(ward, oncologists, time_machine):
    now = at(7, 8)
    time_machine.move_to(now, tick=False)
    gaps = first_call_gaps(ward, now=now)
    assert [gap.role for gap in gaps] == [Role.ONCOLOGIST, Role.COORDINATOR]
    warnings = unit_watch_warnings(ward, now=now)
    assert warnings[0] == NO_COORDINATOR.format(ward=ward)
    assert "No first-call oncologist from Sat 7 Mar, 08:00 onwards: nobody is on the roster after that" in warnings[1]


def test_admins_see_the_units_whose_alerts_would_find_no_one(client, ward, admin_user):
    from ...accounts.helpers import verified_login

    verified_login(client, admin_user)
    page = client.get("/admin/coordination/oncallshift/", follow=True)
    assert NO_COORDINATOR.format(ward=ward) in page.text
    assert "No first-call oncologist from" in page.text


def test_the_coordinator_sets_the_roster_on_the_on_call_page_with_errors_at_their_row(
    client, coordinator, ward, oncologists
):
    from ...accounts.helpers import verified_login

    verified_login(client, coordinator)
    assert client.get("/roster/").status_code == 200
    form = {
        **roster_form(shifts=2),
        "shift-0-user": str(oncologists[0].pk),
        "shift-0-starts_at": "2027-01-04T08:00",
        "shift-0-ends_at": "2027-01-04T20:00",
        "shift-1-user": str(oncologists[1].pk),
        "shift-1-starts_at": "2027-01-04T21:00",
        "shift-1-ends_at": "2027-01-05T08:00",
    }
    refused = client.post("/roster/", form)
    assert refused.status_code == 200
    assert (
        "No one is on call from Mon 4 Jan, 20:00 to Mon 4 Jan, 21:00."
        in refused.context["shifts"].forms[1].errors["starts_at"][0]
    )
    assert not OnCallShift.objects.exists()
    saved = client.post("/roster/", {**form, "shift-1-starts_at": "2027-01-04T20:00"})
    assert saved.status_code == 302
    assert OnCallShift.objects.count() == 2


@pytest.mark.parametrize("change", ["deactivated", "became a coordinator", "moved to another hospital"])
def test_a_first_caller_who_can_no_longer_answer_leaves_a_gap_the_board_warns_of(ward, coordinator, change):
    """Found by a review: a deactivated first-call oncologist still counted as cover, so no
    warning showed while every alert went to no oncologist on call."""
    now = dt.datetime(2026, 2, 2, 12, tzinfo=dt.UTC)
    oncologist = UserFactory(role=Role.ONCOLOGIST, unit=ward, username="onc0")
    start, end = now - dt.timedelta(hours=1), now + dt.timedelta(days=8)
    with time_machine.travel(now, tick=False):
        for role, who in ((Role.ONCOLOGIST, oncologist), (Role.COORDINATOR, coordinator)):
            shifts = [ShiftInput(who, start, end)]
            roster_replace(
                unit=ward, role=role, rank=1, period_start=start, period_end=end, shifts=shifts, actor=coordinator
            )
    assert unit_watch_warnings(ward, now=now) == []
    if change == "deactivated":
        oncologist.is_active = False
    elif change == "became a coordinator":
        oncologist.role = Role.COORDINATOR
    else:  # an alert may not open the patient to them: no cover
        oncologist.unit = UnitFactory(organisation=OrganisationFactory(name="Another Hospital"))
    oncologist.save()
    assert any("No first-call oncologist" in warning for warning in unit_watch_warnings(ward, now=now))


def test_a_row_added_and_left_empty_is_no_server_error(client, coordinator, ward, oncologists):
    """A row added by "Add a shift" and left empty passes the formset as an extra form with nothing
    in it. It is no shift: the rows given are saved (or refused at their own row), nothing fails."""
    from ...accounts.helpers import verified_login

    verified_login(client, coordinator)
    form = {
        **roster_form(shifts=2),
        "shift-0-user": str(oncologists[0].pk),
        "shift-0-starts_at": "2027-01-04T08:00",
        "shift-0-ends_at": "2027-01-04T20:00",
        "shift-1-user": "",
        "shift-1-starts_at_0": "",
        "shift-1-starts_at_1": "",
        "shift-1-ends_at_0": "",
        "shift-1-ends_at_1": "",
        "shift-2-user": str(oncologists[1].pk),
        "shift-2-starts_at": "2027-01-04T21:00",
        "shift-2-ends_at": "2027-01-05T08:00",
    }
    form["shift-TOTAL_FORMS"] = "3"
    refused = client.post("/roster/", form)
    assert refused.status_code == 200
    assert "No one is on call from" in refused.context["shifts"].forms[2].errors["starts_at"][0]
    assert not refused.context["shifts"].forms[1].errors
    form["shift-0-ends_at"] = "2027-01-04T21:00"
    saved = client.post("/roster/", form)
    assert saved.status_code == 302
    assert list(OnCallShift.objects.order_by("starts_at").values_list("user", flat=True)) == [
        oncologists[0].pk,
        oncologists[1].pk,
    ]


def test_a_roster_of_one_shift_is_said_saved_in_the_singular(client, coordinator, ward, oncologists):
    """Found walking the page: "The roster is saved: 1 shifts."."""
    from ...accounts.helpers import verified_login

    verified_login(client, coordinator)
    form = {
        **roster_form(shifts=1),
        "shift-0-user": str(oncologists[0].pk),
        "shift-0-starts_at": "2027-01-04T08:00",
        "shift-0-ends_at": "2027-01-05T08:00",
    }
    page = client.post("/roster/", form, follow=True)
    assert "The roster is saved: 1 shift." in page.text


def test_the_admins_roster_is_read_only_a_first_call_shift_cannot_be_deleted_there(
    client, coordinator, ward, oncologists, admin_user
):
    from ...accounts.helpers import verified_login

    replace(coordinator, ward, [ShiftInput(oncologists[0], PERIOD_START, PERIOD_END)])
    shift = OnCallShift.objects.get()
    verified_login(client, admin_user)
    delete = reverse("admin:coordination_oncallshift_delete", args=[shift.pk])
    assert client.get(delete).status_code == 403
    assert client.post(delete, {"post": "yes"}).status_code == 403
    bulk = {"action": "delete_selected", "_selected_action": [shift.pk], "post": "yes"}
    client.post(reverse("admin:coordination_oncallshift_changelist"), bulk)
    assert OnCallShift.objects.filter(pk=shift.pk).exists()  # first call still covers the period
