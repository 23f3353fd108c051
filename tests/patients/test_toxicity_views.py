"""The toxicity watch's pages: a nurse records at the field's unit clock, a bad value comes back
at its field with nothing stored, the oncologist confirms, and the trend draws what was recorded.
Who may open each page is walked by tests/test_authorization_matrix.py."""

import datetime as dt
from decimal import Decimal

from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from coordination.watch.models import ToxicityAlert, WatchUnitRule
from patients.models import Assessment

FORM = {
    "temperature": "38.9",
    "temperature_unit": "C",
    "oxygen_device": "none",
    "vasopressors": "none",
    "ice_orientation": "3",
    "ice_naming": "3",
    "ice_commands": "1",
    "ice_writing": "0",
    "ice_attention": "1",
    "consciousness": "alert",
    "seizure": "none",
    "motor_finding": "none",
    "raised_pressure": "none",
}


def on_unit_clock(patient, moment) -> str:
    return timezone.localtime(moment, patient.unit.zone).strftime("%Y-%m-%dT%H:%M")


def test_a_nurse_records_an_assessment_and_sees_it_graded_in_the_trend(client, patient, nurse):
    client.force_login(nurse)
    page = client.get(reverse("patients:assessment_new", args=[patient.pk]))
    assert page.status_code == 200
    assert "ICE score (10 points)" in page.text and "capd_score" not in page.text
    # The time's help names the unit's clock as the page's header does, not the zone's database name.
    assert f"{patient.unit.clock_label}." in page.text and "America/New_York" not in page.text
    at = timezone.now() - dt.timedelta(minutes=20)
    done = client.post(
        reverse("patients:assessment_new", args=[patient.pk]), {**FORM, "assessed_at": on_unit_clock(patient, at)}
    )
    assert done.status_code == 302
    assessment = Assessment.objects.get()
    assert (assessment.crs_grade, assessment.icans_grade, assessment.ice_score) == (1, 1, 8)
    assert assessment.assessed_at == at.replace(second=0, microsecond=0)
    listing = client.get(done.url)
    assert "Grade 1: fever of 38.9 °C without hypotension or hypoxia" in listing.text
    assert "Grade 1: ICE score 8 (7 to 9)" in listing.text
    assert "<svg" in listing.text and "ICANS grade (dashed line, squares)" in listing.text
    assert "Not yet: the oncologist confirms" in listing.text  # a nurse does not confirm


def test_a_fahrenheit_number_typed_as_celsius_comes_back_at_its_field(client, patient, nurse):
    client.force_login(nurse)
    at = on_unit_clock(patient, timezone.now())
    response = client.post(
        reverse("patients:assessment_new", args=[patient.pk]), {**FORM, "temperature": "98.6", "assessed_at": at}
    )
    assert response.status_code == 200
    assert "Was it in °F?" in response.context["form"].errors["temperature"][0]
    assert not Assessment.objects.exists()
    oxygen = client.post(
        reverse("patients:assessment_new", args=[patient.pk]), {**FORM, "oxygen_saturation": "101", "assessed_at": at}
    )
    assert "at most 100" in oxygen.context["form"].errors["oxygen_saturation"][0]
    assert not Assessment.objects.exists()


def test_the_oncologist_confirms_from_the_list(client, patient, nurse, oncologist):
    assessment = Assessment.objects.create(
        patient=patient,
        assessed_at=timezone.now(),
        recorded_by=nurse,
        temperature=Decimal("38.2"),
        temperature_unit="C",
        temperature_celsius=Decimal("38.2"),
        crs_grade=1,
        crs_rule="Grade 1: fever",
        icans_grade=0,
        icans_rule="No ICANS",
    )
    client.force_login(oncologist)
    listing = client.get(reverse("patients:assessments", args=[patient.pk]))
    assert f'action="{reverse("patients:assessment_confirm", args=[assessment.pk])}"' in listing.text
    url = reverse("patients:assessment_confirm", args=[assessment.pk])
    prefix = f"a{assessment.pk}-"
    refused = client.post(url, {prefix + "crs_grade": "2", prefix + "icans_grade": "0"})
    assert "Say why" in refused.text
    done = client.post(url, {prefix + "crs_grade": "1", prefix + "icans_grade": "0"})
    assert done.status_code == 302
    assessment.refresh_from_db()
    assert (assessment.confirmed_by, assessment.crs) == (oncologist, 1)


def test_an_event_named_by_a_digit_that_is_no_number_is_ignored_not_a_server_error(client, patient, nurse):
    client.force_login(nurse)
    # "²" passes str.isdigit() but not int(): as any other non-id, it names no event.
    url = reverse("patients:assessment_new", args=[patient.pk]) + "?event=\u00b2"
    at = on_unit_clock(patient, timezone.now() - dt.timedelta(minutes=5))
    assert client.post(url, {**FORM, "assessed_at": at}).status_code == 302
    assert Assessment.objects.get(patient=patient).event is None


def _recorded_message(client, patient, **fields) -> str:
    at = on_unit_clock(patient, timezone.now() - dt.timedelta(minutes=5))
    done = client.post(
        reverse("patients:assessment_new", args=[patient.pk]), {**FORM, **NORMAL_ICE, **fields, "assessed_at": at}
    )
    assert done.status_code == 302
    return " ".join(str(message) for message in get_messages(done.wsgi_request))


NORMAL_ICE = {"ice_orientation": "4", "ice_naming": "3", "ice_commands": "1", "ice_writing": "1", "ice_attention": "1"}


def test_the_nurse_is_told_of_an_alert_only_when_the_units_rule_raised_one(client, patient, nurse):
    """The unit chooses from which CRS grade the oncologist is called (WatchUnitRule): a nurse told
    "the oncologist on call is alerted" when nobody was would wait for a doctor who is not coming."""
    client.force_login(nurse)
    rule = WatchUnitRule.objects.create(unit=patient.unit, alert_from_crs_grade=3)
    told = _recorded_message(client, patient, hypotension="on")  # CRS grade 2, below the unit's grade
    assert Assessment.objects.get().crs_grade == 2 and not ToxicityAlert.objects.exists()
    assert "alerted" not in told
    rule.alert_from_crs_grade = 1
    rule.save()
    told = _recorded_message(client, patient)  # CRS grade 1 (fever alone): this unit calls the oncologist
    assert ToxicityAlert.objects.count() == 1
    assert "The oncologist on call and the coordinator are alerted" in told


def test_a_back_dated_assessment_before_the_12th_birthday_is_screened_with_the_capd(client, patient, nurse):
    """Found by a review: the form chose ICE or CAPD by today's age, the service by the age at the
    assessment's time, so an assessment back-dated across the 12th birthday could not be saved.
    Both go by the assessment's time; the form says so at the time's field and offers the CAPD."""
    url = reverse("patients:assessment_new", args=[patient.pk])
    patient.birth_date = timezone.localdate(timezone=patient.unit.zone) - dt.timedelta(days=1)
    patient.birth_date = patient.birth_date.replace(year=patient.birth_date.year - 12)  # 12 since yesterday
    patient.save()
    client.force_login(nurse)
    before = on_unit_clock(patient, timezone.now() - dt.timedelta(days=2))
    page = client.post(url, {**FORM, "assessed_at": before})
    assert page.status_code == 200 and not Assessment.objects.exists()
    errors = page.context["form"].errors
    assert list(errors) == ["assessed_at"]
    assert "the patient was 11: children under 12 are screened with the CAPD" in errors["assessed_at"][0]
    assert 'name="capd_score"' in page.text and 'name="ice_orientation"' not in page.text
    no_ice = {name: "" for name in ("ice_orientation", "ice_naming", "ice_commands", "ice_writing", "ice_attention")}
    done = client.post(url, {**FORM, **no_ice, "capd_score": "4", "assessed_at": before})
    assert done.status_code == 302
    assert Assessment.objects.get().uses_capd


def test_a_capd_form_sent_for_a_time_after_the_12th_birthday_asks_for_the_ice(client, patient, nurse):
    url = reverse("patients:assessment_new", args=[patient.pk])
    today = timezone.localdate(timezone=patient.unit.zone)
    patient.birth_date = today.replace(year=today.year - 12)  # 12 today
    patient.save()
    client.force_login(nurse)
    no_ice = {name: "" for name in ("ice_orientation", "ice_naming", "ice_commands", "ice_writing", "ice_attention")}
    now = on_unit_clock(patient, timezone.now())
    page = client.post(url, {**FORM, **no_ice, "capd_score": "4", "assessed_at": now})
    assert page.status_code == 200 and not Assessment.objects.exists()
    assert "the patient was 12: from 12 the ICE score is the screen" in page.context["form"].errors["assessed_at"][0]
    assert 'name="ice_orientation"' in page.text and 'name="capd_score"' not in page.text


def test_a_temperature_keeps_its_unit_on_its_line(client, patient, nurse):
    """Found by a walk through the pages: at 1024 px the list's narrow column broke "37.6 °C" after
    the number, the unit alone on the next line; a no-break space holds them together."""
    client.force_login(nurse)
    at = on_unit_clock(patient, timezone.now() - dt.timedelta(minutes=5))
    typed = {**FORM, "temperature": "101.3", "temperature_unit": "F", "assessed_at": at}
    assert client.post(reverse("patients:assessment_new", args=[patient.pk]), typed).status_code == 302
    listing = client.get(reverse("patients:assessments", args=[patient.pk])).text
    assert "38.5&nbsp;°C" in listing and "(101.3&nbsp;°F)" in listing


def test_the_form_asks_about_a_low_systolic_and_takes_it_when_confirmed(client, patient, nurse):
    """The question comes back at "hypotension" with a tick for the very systolic typed; ticked, the
    grade is as recorded. A different systolic typed after the tick is asked about again."""
    client.force_login(nurse)
    url = reverse("patients:assessment_new", args=[patient.pk])
    at = on_unit_clock(patient, timezone.now() - dt.timedelta(minutes=5))
    sent = {**FORM, **NORMAL_ICE, "temperature": "39.2", "systolic_bp": "70", "diastolic_bp": "40", "assessed_at": at}
    asked = client.post(url, sent)
    assert asked.status_code == 200 and not Assessment.objects.exists()
    assert "Systolic 70 mmHg is below 90: tick hypotension, or confirm it is not low for this patient." in asked.text
    assert "Systolic 70 mmHg is not low for this patient" in asked.text
    form = asked.context["form"]
    assert form.data["systolic_asked"] == "70"
    retyped = client.post(url, {**sent, "systolic_bp": "72", "systolic_asked": "70", "systolic_not_low": "on"})
    assert retyped.status_code == 200 and "Systolic 72 mmHg is below 90" in retyped.text
    done = client.post(url, {**sent, "systolic_asked": "70", "systolic_not_low": "on"})
    assert done.status_code == 302
    assert Assessment.objects.get().crs_grade == 1
