"""Dead ends that still lead somewhere (issue 14, item 8): a 403 says why with the navigation
around it, 404 and 500 are the app's own pages, and a refusal logs its line, not a traceback."""

import logging

from django.contrib.staticfiles import finders
from django.test import RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from .factories import with_unmistakable_names


def test_a_403_says_why_with_the_navigation_around_it(client, pharmacist, caplog):
    client.force_login(pharmacist)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(reverse("patients:create"))
    assert response.status_code == 403
    body = response.content.decode()
    assert "Not allowed" in body and "Only coordinators may register a patient." in body
    assert 'aria-label="Main"' in body and 'href="/"' in body
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.status_code == 403 and record.exc_info is None  # a line, not a traceback


def test_a_refusal_naming_two_roles_puts_both_in_the_plural(client, nurse):
    """Found by a review of the pages: "Only administrator or coordinators may read the unit reports"."""
    client.force_login(nurse)
    response = client.get(reverse("reports:unit"))
    assert response.status_code == 403
    assert "Only administrators or coordinators may read the unit reports." in response.content.decode()


def test_a_404_is_the_apps_own_page_and_leaks_nothing(client, outsider, patient):
    with_unmistakable_names(patient)  # the outsider's generated name could share a generated one
    client.force_login(outsider)
    response = client.get(reverse("patient_detail", args=[patient.pk]))
    assert response.status_code == 404
    body = response.content.decode()
    assert "Not found" in body and 'aria-label="Main"' in body
    assert patient.family_name not in body and "No Patient matches" not in body


def test_the_500_page_needs_nothing_but_itself():
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


def test_every_page_names_its_icon_so_that_no_browser_asks_for_a_missing_favicon(client, nurse):
    client.force_login(nurse)
    body = client.get(reverse("home")).content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in body
    assert finders.find("favicon.svg")
