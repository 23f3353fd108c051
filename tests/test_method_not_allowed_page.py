"""A form's address opened by a link, a bookmark or a typed URL answers a page that says so, in
the site's frame, with its Allow header; the API keeps its problem details."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from .api.helpers import bearer, token_for
from .checklists.helpers import make_event


def test_a_form_address_opened_as_a_page_says_so(client, nurse, patient):
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))
    client.force_login(nurse)
    response = client.get(reverse("event_override", args=[event.pk]))
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    page = response.content.decode()
    assert "Not a page to open" in page and "Nothing was changed." in page
    assert reverse("home") in page  # the way back, in the site's frame


def test_the_apis_405_keeps_its_problem_details(client, nurse):
    response = client.put(reverse("api:task-list"), "{}", content_type="application/json", **bearer(token_for(nurse)))
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/problem+json")
    assert "Not a page to open" not in response.content.decode()
