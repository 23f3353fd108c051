"""The clinical statements the pages make, held to the data they describe (CLINICAL.md and the
project's audited clinical data): a page says what the grading and the regimen read, never a
number or a rule of its own."""

import html

from django.urls import reverse

from patients.grading import FEVER_CELSIUS, ICE_FROM_AGE_YEARS


def test_the_assessment_page_says_a_fever_alone_is_crs_as_the_grading_does(client, patient, nurse):
    """It said "CRS: fever with low blood pressure or oxygen need", which tells a nurse that a
    fever alone is no CRS; the ASTCT grading (CLINICAL.md: "CRS by fever, blood pressure
    (vasopressors) and oxygen need") makes a fever of 38.0 °C alone grade 1."""
    client.force_login(nurse)
    page = html.unescape(client.get(reverse("patients:assessment_new", args=[patient.pk])).text)
    assert "fever with low blood pressure or oxygen need" not in page
    assert f"a fever of {FEVER_CELSIUS} °C or more" in page and "a fever alone is grade 1" in page
    assert f"under {ICE_FROM_AGE_YEARS}, the CAPD" in page
