"""coordination.htmx.act, the one answer to an action posted from a fragment: the fragment again
with htmx, a redirect with a message without JavaScript, refusals said in words."""

import re

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django_htmx.middleware import HtmxDetails

from coordination.htmx import Leave, Outcome, act


class Conflict(Exception):
    """A domain's "somebody else was first"."""


class ReasonForm(forms.Form):
    reason = forms.CharField()


@pytest.fixture
def post(rf):
    def make(*, htmx: bool, data=None):
        request = rf.post("/act/", data or {}, **({"HTTP_HX_REQUEST": "true"} if htmx else {}))
        request.htmx = HtmxDetails(request)
        request._messages = CookieStorage(request)
        return request

    return make


def answer(request, run, **kwargs):
    """act() with a fragment that shows the outcome it was given."""
    shown = []

    def partial(outcome):
        shown.append(outcome)
        return HttpResponse(f"fragment: {outcome.notice}{outcome.error}")

    response = act(request, run, partial=partial, back="/back/", **kwargs)
    return response, shown


def said(request) -> list[tuple[str, str]]:
    return [(message.level_tag, message.message) for message in get_messages(request)]


def test_with_htmx_a_success_answers_the_fragment_with_the_trigger(post):
    request = post(htmx=True)
    response, shown = answer(request, lambda: "Claimed.", trigger="taskChanged")
    assert shown == [Outcome(notice="Claimed.")] and response.content.startswith(b"fragment: Claimed.")
    assert response["HX-Trigger"] == "taskChanged" and said(request) == []
    # Out of band, the page's messages are replaced: nothing of an earlier request stays above the fragment.
    assert re.search(rb'<div id="messages" data-hx-swap-oob="true">\s*</div>\s*$', response.content)


@pytest.mark.parametrize(
    ("refusal", "words"),
    [
        (PermissionDenied("Only the unit's coordinator may reassign."), "Only the unit's coordinator may reassign."),
        (PermissionDenied(), "You may not do this."),
        (Conflict("Already claimed by nurse2."), "Already claimed by nurse2."),
        (ValidationError("The checklist is not complete."), "The checklist is not complete."),
    ],
)
def test_with_htmx_a_refusal_is_said_in_the_fragment_without_the_trigger(post, refusal, words):
    def run():
        raise refusal

    response, shown = answer(post(htmx=True), run, trigger="taskChanged", conflicts=(Conflict,))
    assert shown == [Outcome(error=words)] and "HX-Trigger" not in response


def test_an_exception_that_is_no_refusal_is_not_swallowed(post):
    def run():
        raise Conflict("not declared")

    with pytest.raises(Conflict):
        answer(post(htmx=True), run)


def test_without_javascript_a_success_goes_back_with_the_notice(post):
    request = post(htmx=False)
    response, shown = answer(request, lambda: "Verified.", trigger="taskChanged")
    assert (response.status_code, response["Location"], shown) == (302, "/back/", [])
    assert said(request) == [("success", "Verified.")] and "HX-Trigger" not in response


def test_without_javascript_a_refusal_goes_back_with_it_about_what_was_acted_on(post):
    def run():
        raise PermissionDenied("Only a nurse may do this.")

    request = post(htmx=False)
    response, _ = answer(request, run, about="Weight")
    assert response["Location"] == "/back/" and said(request) == [("error", "Weight: Only a nurse may do this.")]


@pytest.mark.parametrize("htmx", [True, False])
def test_an_invalid_form_stops_the_action_and_keeps_its_errors_at_its_field(post, htmx):
    request, form, ran = post(htmx=htmx), ReasonForm({"reason": ""}), []
    response, shown = answer(request, lambda: ran.append(1) or "Done.", form=form, trigger="taskChanged", about="Pump")
    assert ran == [] and form.errors["reason"] == ["This field is required."]
    if htmx:
        assert shown == [Outcome()] and "HX-Trigger" not in response
    else:
        assert response["Location"] == "/back/" and said(request) == [("error", "Pump: This field is required.")]


def test_without_javascript_a_form_with_errors_shows_the_whole_page_when_there_is_one(post):
    form = ReasonForm({"reason": ""})
    response = act(
        post(htmx=False),
        lambda: "Done.",
        form=form,
        partial=lambda outcome: HttpResponse("fragment"),
        page=lambda outcome: HttpResponse("the page, with the form"),
        back="/back/",
    )
    assert (response.status_code, response.content) == (200, b"the page, with the form")


def test_a_refusal_naming_a_field_of_the_form_lands_at_that_field_and_the_rest_above(post):
    form = ReasonForm({"reason": "x"})

    def run():
        raise ValidationError({"reason": "Say more.", "handoff": "Already sent."})

    _, shown = answer(post(htmx=True), run, form=form)
    assert shown == [Outcome(error="Already sent.")] and form.errors["reason"] == ["Say more."]


@pytest.mark.parametrize("htmx", [True, False])
def test_an_action_that_leaves_the_user_without_sight_of_it_sends_them_elsewhere(post, htmx):
    request = post(htmx=htmx)
    response, shown = answer(request, lambda: Leave("Returned.", "/handoffs/"), trigger="handoffChanged")
    assert shown == [] and said(request) == [("success", "Returned.")]
    if htmx:
        assert (response.status_code, response["HX-Redirect"]) == (200, "/handoffs/")
    else:
        assert (response.status_code, response["Location"]) == (302, "/handoffs/")
