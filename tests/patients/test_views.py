import datetime as dt
import re
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from patients.models import Patient, Weighing
from patients.services import course_schedule_build, latest_weighing, weighing_record

from ..accounts.helpers import verified_login
from ..factories import TEST_PASSWORD, CareTeamMemberFactory, CourseFactory, PatientFactory, UnitFactory, UserFactory
from .helpers import registration_data


def test_the_patient_list_shows_the_nurses_patients_only(client, nurse, patient, foreign_patient):
    client.force_login(nurse)
    response = client.get(reverse("patients:list"))
    assert response.status_code == 200
    assert patient.mrn in response.content.decode()
    assert foreign_patient.mrn not in response.content.decode()


def test_the_login_page_signs_a_nurse_in(client, nurse):
    response = client.post(reverse("login"), {"username": "nurse", "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_the_patient_page_shows_the_course_timeline(client, nurse, patient):
    course = CourseFactory(patient=patient)
    course_schedule_build(course=course)
    client.force_login(nurse)
    body = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert "Cycle 1" in body and "Cycle start" in body and "days 1–9 in hospital" in body
    # The step-up, a week ahead, is among the later events of the cycle, listed when opened.
    assert "Step-up on cycle 1 day 8" in body and "Dose step-up" not in body
    later = re.search(r'The \d+ later events of cycle 1.*?data-hx-get="([^"]+)"', body, re.S).group(1)
    assert "Dose step-up" in client.get(unescape(later)).content.decode()


def test_the_patient_page_of_another_team_is_404(client, outsider, patient):
    client.force_login(outsider)
    assert client.get(reverse("patient_detail", args=[patient.pk])).status_code == 404
    assert client.get(reverse("patients:edit", args=[patient.pk])).status_code == 404


def test_a_coordinator_registers_a_patient(client, coordinator, patient):
    verified_login(client, coordinator)
    response = client.post(reverse("patients:create"), registration_data(patient))
    assert response.status_code == 302
    assert Patient.objects.filter(mrn="NEW0001", unit=patient.unit).exists()


def test_the_registration_form_asks_for_a_choice_in_words(client, coordinator):
    """Found by a review of the pages: Django's "---------" was the first option of Sex and Unit."""
    verified_login(client, coordinator)
    page = client.get(reverse("patients:create")).text
    assert "---------" not in page
    assert '<option value="" selected>Choose</option>' in page


def test_a_nurse_may_not_register_patients(client, nurse, patient):
    client.force_login(nurse)
    assert client.post(reverse("patients:create"), registration_data(patient)).status_code == 403
    assert not Patient.objects.filter(mrn="NEW0001").exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("weight_kg", "0", "0 kg is not a possible weight (between 0.5 and 300 kg): check it."),
        ("weight_kg", "-3", "-3 kg is not a possible weight (between 0.5 and 300 kg): check it."),
        ("weight_kg", "301", "301 kg is not a possible weight (between 0.5 and 300 kg): check it."),
        ("birth_date", (dt.date.today() + dt.timedelta(days=2)).isoformat(), "Birth date cannot be in the future."),  # noqa: DTZ011
        ("height_cm", "12", "Height must be at least 30 cm."),
        ("height_cm", "260", "Height must be at most 250 cm."),
        ("mrn", "DUP", "Another patient of this organisation already has this MRN."),
        # Too many digits: the limit, not Django's "Ensure that there are no more than 4 digits in total."
        ("height_cm", "17000", "Height must be 30–250 cm, with one decimal at most, for example 172.5."),
        ("height_cm", "172.55", "Height must be 30–250 cm, with one decimal at most, for example 172.5."),
        ("weight_kg", "65000", "65000 kg is not a possible weight (between 0.5 and 300 kg): check it."),
        # Weights are kept to 10 g and never rounded (patients.services.parse_weight): 5.365 is not 5.37.
        ("weight_kg", "5.365", "Give the weight to 10 g at most: two decimals, as the scale shows it."),
        ("weight_kg", "65.555", "Give the weight to 10 g at most: two decimals, as the scale shows it."),
    ],
)
def test_bad_patient_input_gets_a_message_at_its_field_and_saves_nothing(
    client, coordinator, patient, field, value, message
):
    PatientFactory(unit=patient.unit, mrn="DUP")
    before = Patient.objects.count()
    verified_login(client, coordinator)
    response = client.post(reverse("patients:create"), registration_data(patient, **{field: value}))
    assert response.status_code == 200
    assert message in response.context["form"].errors[field]
    assert Patient.objects.count() == before


def test_a_nurse_on_the_team_updates_the_weight(client, nurse, patient):
    client.force_login(nurse)
    data = registration_data(patient, mrn=patient.mrn, weight_kg="66.0")
    response = client.post(reverse("patients:edit", args=[patient.pk]), data)
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.weight_kg == Decimal("66")


def test_a_weight_to_10_g_on_the_record_is_kept_as_typed_and_shown_without_noise(client, nurse, patient):
    """An infant weighed 5.36 kg (the scale reads to 10 g) was made 5.4 kg, at the preservative bags'
    5.4 kg limit; and a weight is shown as the scale showed it: 5.36 kg, 70 kg, never 70.00 kg."""
    client.force_login(nurse)
    page = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert "70 kg, measured" in page and "70.0 kg" not in page and "70.00" not in page
    edit = client.get(reverse("patients:edit", args=[patient.pk])).content.decode()
    assert re.search(r'<input type="number" name="weight_kg" value="70"', edit)
    data = registration_data(patient, mrn=patient.mrn, weight_kg="5.36", weight_confirmed="5.36", weight_is_right="on")
    assert client.post(reverse("patients:edit", args=[patient.pk]), data).status_code == 302
    patient.refresh_from_db()
    assert patient.weight_kg == latest_weighing(patient).weight_kg == Decimal("5.36")
    page = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert "5.36 kg, measured" in page


def test_the_edit_form_shows_the_records_dates_in_its_date_pickers(client, coordinator, patient):
    """Found by a walk through the pages: the dates came in the site's format (02/04/1968), which a
    date picker drops, so the record opened for editing with its birth date and weighing day empty."""
    verified_login(client, coordinator)
    page = client.get(reverse("patients:edit", args=[patient.pk])).text
    for name, day in (("birth_date", patient.birth_date), ("weight_measured_on", patient.weight_measured_on)):
        field = re.search(rf'<input type="date" name="{name}"[^>]*>', page).group(0)
        assert f'value="{day.isoformat()}"' in field


def test_the_edit_form_reads_today_on_the_patients_unit_clock(client, patient, time_machine):
    """A member of the team whose own unit's day is already tomorrow (its clock is the one active
    on their pages) weighs on the patient's day: their "today" was let through as a date in the
    patient's unit's future, which the weighing then refused, as a 500."""
    far_east = UnitFactory(name="Line Islands clinic", time_zone="Pacific/Kiritimati")
    nurse = UserFactory(role=Role.NURSE, unit=far_east)
    CareTeamMemberFactory(patient=patient, user=nurse)
    time_machine.move_to(dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC), tick=False)  # 07:00 in New York
    client.force_login(nurse)
    url = reverse("patients:edit", args=[patient.pk])
    tomorrow_in_new_york = registration_data(
        patient, mrn=patient.mrn, weight_kg="66.0", weight_measured_on="2026-03-03"
    )
    response = client.post(url, tomorrow_in_new_york)
    assert response.status_code == 200
    assert "The weighing date cannot be in the future." in response.context["form"].errors["weight_measured_on"]
    today = registration_data(patient, mrn=patient.mrn, weight_kg="66.0", weight_measured_on="2026-03-02")
    assert client.post(url, today).status_code == 302
    patient.refresh_from_db()
    assert (patient.weight_kg, patient.weight_measured_on) == (Decimal("66.0"), dt.date(2026, 3, 2))


def test_a_weight_far_from_the_newest_weighing_is_asked_about_at_its_field_then_taken(client, nurse, patient):
    """A slipped decimal on the record's form: 7.0 for 70 kg is asked about at the weight, nothing is
    saved, and the weight is taken when the nurse says it is right (that very weight: another one
    typed with the tick is asked about again)."""
    client.force_login(nurse)
    url = reverse("patients:edit", args=[patient.pk])
    day = f"{patient.weight_measured_on.day} {patient.weight_measured_on:%b}"
    response = client.post(url, registration_data(patient, mrn=patient.mrn, weight_kg="7.0", height_cm="171"))
    assert response.status_code == 200
    question = f"70 kg on {day}; 7 kg now is a 90 % drop: confirm or correct."
    assert response.context["form"].errors["weight_kg"] == [question]
    assert "7 kg is right" in unescape(response.content.decode())
    patient.refresh_from_db()
    assert (patient.weight_kg, patient.height_cm, Weighing.objects.count()) == (Decimal("70.0"), Decimal("170.0"), 0)
    other = registration_data(patient, mrn=patient.mrn, weight_kg="8.0", weight_confirmed="7.0", weight_is_right="on")
    assert client.post(url, other).status_code == 200
    confirmed = registration_data(
        patient, mrn=patient.mrn, weight_kg="7.0", weight_confirmed="7.0", weight_is_right="on"
    )
    assert client.post(url, confirmed).status_code == 302
    patient.refresh_from_db()
    assert patient.weight_kg == Decimal("7.0") and latest_weighing(patient).weight_kg == Decimal("7.0")


def test_a_weight_typed_for_an_earlier_day_does_not_replace_the_newest_weighing(client, nurse, patient):
    """The record's weight is the newest weighing's: the checklists' dose-band conditions read the
    record, the bag checks the newest weighing, and both must see the same weight. One typed for a
    day before the newest weighing is kept as an earlier weighing, and the page says so."""
    newest = weighing_record(patient=patient, weight_kg="70.0", actor=nurse)
    client.force_login(nurse)
    earlier = (timezone.localdate(timezone=patient.unit.zone) - dt.timedelta(days=10)).isoformat()
    data = registration_data(patient, mrn=patient.mrn, weight_kg="66.0", weight_measured_on=earlier, height_cm="171")
    response = client.post(reverse("patients:edit", args=[patient.pk]), data, follow=True)
    patient.refresh_from_db()
    newest_day = timezone.localtime(newest.measured_at, patient.unit.zone).date()
    assert (patient.weight_kg, patient.weight_measured_on) == (Decimal("70.0"), newest_day)
    assert patient.height_cm == Decimal("171.0")  # the rest of the form is saved
    assert latest_weighing(patient) == newest
    assert Weighing.objects.filter(patient=patient, weight_kg=Decimal("66.0")).exists()
    assert "kept as an earlier weighing" in response.content.decode()


def test_an_edit_on_a_form_opened_before_another_save_overwrites_nothing(client, nurse, coordinator, patient):
    """Two people editing one record: the nurse's form, opened before the coordinator saved a new
    height, sent the old height back with her change of caregiver, and the save wrote it over the
    coordinator's (the BSA, and with it a child's dose, read the height). Her save is refused, the
    form shows the record as it now is, and her change is made again from there."""
    from django.test import Client

    Patient.objects.filter(pk=patient.pk).update(weight_measured_on=timezone.localdate(timezone=patient.unit.zone))
    url = reverse("patients:edit", args=[patient.pk])
    client.force_login(nurse)
    drawn = client.get(url).context["form"]
    seen = {name: drawn[name].value() for name in drawn.fields}
    seen = {name: "" if value is None else value for name, value in seen.items()}

    other = Client()
    verified_login(other, coordinator)
    theirs = other.get(url).context["form"]
    assert (
        other.post(url, {**{n: theirs[n].value() or "" for n in theirs.fields}, "height_cm": "181"}).status_code == 302
    )

    refused = client.post(url, {**seen, "caregiver_name": "Jo Bloggs"})
    assert refused.status_code == 200
    assert "changed this record after you opened it" in refused.text
    patient.refresh_from_db()
    assert (patient.height_cm, patient.caregiver_name) == (Decimal("181.0"), "")
    fresh = refused.context["form"]
    assert fresh["height_cm"].value() == Decimal("181.0")

    again = {name: "" if fresh[name].value() is None else fresh[name].value() for name in fresh.fields}
    assert client.post(url, {**again, "caregiver_name": "Jo Bloggs"}).status_code == 302
    patient.refresh_from_db()
    assert (patient.height_cm, patient.caregiver_name) == (Decimal("181.0"), "Jo Bloggs")
