"""The clinical statements the pages make, held to the data they describe (CLINICAL.md and the
project's audited clinical data): a page says what the grading and the regimen read, never a
number or a rule of its own."""

import datetime as dt
import html

from django.urls import reverse

from patients.grading import FEVER_CELSIUS, ICE_FROM_AGE_YEARS

from .helpers import rr_course


def test_the_assessment_page_says_a_fever_alone_is_crs_as_the_grading_does(client, patient, nurse):
    """It said "CRS: fever with low blood pressure or oxygen need", which tells a nurse that a
    fever alone is no CRS; the ASTCT grading (CLINICAL.md: "CRS by fever, blood pressure
    (vasopressors) and oxygen need") makes a fever of 38.0 °C alone grade 1."""
    client.force_login(nurse)
    page = html.unescape(client.get(reverse("patients:assessment_new", args=[patient.pk])).text)
    assert "fever with low blood pressure or oxygen need" not in page
    assert f"a fever of {FEVER_CELSIUS} °C or more" in page and "a fever alone is grade 1" in page
    assert f"under {ICE_FROM_AGE_YEARS}, the CAPD" in page


def test_the_pump_event_form_says_the_regimens_supervised_restart_threshold(client, patient, nurse, time_machine):
    """The help said "After a stop of 4 hours or more, the oncologist records the restart" whatever
    the course's regimen version says; the policy that decides it reads the version's
    `supervised_restart_after_hours` (CLINICAL.md: "every restart after an interruption of 4 hours
    or more" is supervised: 4 is the seeded value, which an admin may change in a new version)."""
    now = dt.datetime(2026, 3, 12, 3, 0, tzinfo=dt.UTC)
    time_machine.move_to(now, tick=False)
    course = rr_course(patient, start=dt.date(2026, 3, 2), cycles=2, now=now - dt.timedelta(days=11))
    version = course.regimen_version
    type(version).objects.filter(pk=version.pk).update(supervised_restart_after_hours=6)
    client.force_login(nurse)
    page = client.get(reverse("patients:pump_event_new", args=[patient.pk])).text
    assert "After a stop of 6 hours or more, the oncologist records the restart." in page
    assert "4 hours" not in page
