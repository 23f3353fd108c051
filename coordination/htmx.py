"""One answer to an action posted from a fragment of a page (a task's row, a handoff's card, an
event's reminders panel), with htmx or without JavaScript.

`act()` runs the action and says how it went:
- a submitted `form` that does not validate stops it, with its errors at its fields;
- done: the notice that `run` returns ("Claimed.");
- refused: why, in words: PermissionDenied, the domain's `conflicts` (somebody else was first) and
  a ValidationError, whose errors that name a field of `form` go to that field and the rest above
  the fragment.

With htmx the answer is the fragment again (`partial(outcome)`) with, out of band, the page's
messages emptied (an earlier request's success no longer stands above this outcome), and after a
success `trigger` as HX-Trigger, so that what else the page shows (counts, gates) refreshes
itself. Without JavaScript it is a redirect `back` with the outcome as a message, or, when the
form has errors and the action has a whole page (`page(outcome)`), that page with the form. When
the action leaves the user without sight of what they acted on (a returned handoff), `run`
returns `Leave(notice, to)`: the browser goes there, with the notice.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string

from accounts.signin import redirect_to


@dataclass(frozen=True)
class Outcome:
    """What an action came to, for the fragment or the page to show."""

    notice: str = ""  # done: what to tell the user
    error: str = ""  # refused: why (a form's own errors stay at its fields)
    alarm: bool = False  # done, but what it recorded is unsafe: the notice is said as loudly as a refusal


@dataclass(frozen=True)
class Alarm:
    """Done, and what it recorded needs someone's action (a failed hard stop): `run` returns it
    so that the notice shows as an alert, not as a success."""

    notice: str


@dataclass(frozen=True)
class Leave:
    """Done, and what was acted on is no longer the user's to see: go to `to` with the notice."""

    notice: str
    to: str


def act(
    request,
    run: Callable[[], str | Leave | Alarm],
    *,
    partial: Callable[[Outcome], HttpResponse],
    back: str,
    form: forms.Form | None = None,
    conflicts: tuple[type[Exception], ...] = (),
    trigger: str | None = None,
    page: Callable[[Outcome], HttpResponse] | None = None,
    about: str = "",
) -> HttpResponse:
    """Run the action and answer the request (see the module). `about` names what a message
    without JavaScript is about, when the page gone back to lists many (a task's text)."""
    outcome = _run(run, form, conflicts)
    if isinstance(outcome, Leave):
        messages.success(request, outcome.notice)
        return redirect_to(request, outcome.to)
    if request.htmx:
        response = partial(outcome)
        # The page's messages go with it: an earlier request's "The draft is saved." must not stay
        # above the refusal that this answer shows in place.
        response.content += render_to_string("partials/messages_oob.html", request=request).encode()
        if trigger and outcome.notice:
            response["HX-Trigger"] = trigger
        return response
    field_errors = " ".join(e for errors in form.errors.values() for e in errors) if form is not None else ""
    if field_errors and page is not None:
        return page(outcome)
    if problem := outcome.error or field_errors or (outcome.alarm and outcome.notice):
        messages.error(request, f"{about}: {problem}" if about else problem)
    elif outcome.notice:
        messages.success(request, outcome.notice)
    return redirect(back)


def calling(service, notice: str, **kwargs) -> Callable[[], str]:
    """An action for `act`: call the service with these arguments, then say `notice`."""

    def run():
        service(**kwargs)
        return notice

    return run


def _run(run, form, conflicts) -> Outcome | Leave:
    if form is not None and not form.is_valid():
        return Outcome()
    try:
        done = run()
    except (PermissionDenied, *conflicts) as refusal:
        return Outcome(error=str(refusal) or "You may not do this.")
    except ValidationError as invalid:
        return Outcome(error=_to_fields(form, invalid))
    if isinstance(done, Alarm):
        return Outcome(notice=done.notice, alarm=True)
    return done if isinstance(done, Leave) else Outcome(notice=done)


def _to_fields(form, invalid: ValidationError) -> str:
    """Put the errors that name a field of `form` at that field; the others, as one sentence."""
    if form is None or not hasattr(invalid, "error_dict"):
        return " ".join(invalid.messages)
    rest = []
    for name, errors in invalid.error_dict.items():
        if name in form.fields:
            form.add_error(name, errors)
        else:
            rest += [message for error in errors for message in error.messages]
    return " ".join(rest)
