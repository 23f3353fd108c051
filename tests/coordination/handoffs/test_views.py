"""Handoff pages: preparing, the handoff page and its in-place actions, the printout, the review
queue, the board and the patient page; access, audit, escaping and bad input."""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from coordination.handoffs import services as svc
from coordination.models import Handoff, HandoffComment
from patients.models import AccessGrant

from ...accounts.helpers import verified_login
from ...checklists.helpers import make_event, override_gate
from ...factories import OrganisationFactory, UnitFactory, UserFactory
from ..handoff_helpers import (
    SYNTHESIS,
    at_home,
    complete_checklist,
    draft_handoff,
    first_visit_done,
    form_data,
    make_agency,
    make_discharge,
    make_home_nurse,
    publish_transition_template,
    ready_discharge,
    write_handoff,
)

HTMX = {"HTTP_HX_REQUEST": "true"}
SCRIPT = "<script>alert('x')</script>"


@pytest.fixture
def ready(patient, nurse, nurse2, case_manager):
    return ready_discharge(patient, nurse=nurse, nurse2=nurse2, case_manager=case_manager)


@pytest.fixture
def handoff(ready, case_manager, agency):
    return draft_handoff(ready, case_manager, agency)


@pytest.fixture
def sent(handoff, case_manager):
    return svc.handoff_send(handoff=handoff, actor=case_manager)


def page(client, name, *args, **extra):
    response = client.get(reverse(name, args=args), **extra)
    return response, response.content.decode()


# --- preparing (the sending side) ------------------------------------------------------------------


def test_the_case_manager_prepares_a_handoff_from_the_patient_page(client, ready, case_manager, agency, patient):
    client.force_login(case_manager)
    _, body = page(client, "patient_detail", patient.pk)
    assert reverse("handoff_new", args=[patient.pk]) in body and "Prepare a handoff" in body

    response, body = page(client, "handoff_new", patient.pk)
    assert response.status_code == 200
    assert "Fever of 38.0 °C or more" in body  # a contingency plan to start from
    assert "First home visit: pump, line site" in body  # suggested actions
    assert 'for="id_actions-0-text"' in body and "Owner of action 1" in body

    response = client.post(reverse("handoff_new", args=[patient.pk]), form_data(ready, agency))
    handoff = Handoff.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("handoff_detail", args=[handoff.pk])
    assert handoff.status == "draft" and handoff.illness_severity == "watcher"
    action = handoff.actions.get()
    assert action.text == "First home visit" and action.role == "nurse"
    # the due time was typed in the unit's zone
    assert action.due_at == ready.planned_at.replace(second=0, microsecond=0) + dt.timedelta(days=1)


def test_the_handoff_form_asks_for_its_event_in_words(client, ready, case_manager):
    """Found by a walk through the pages: Django's "---------" was the first option of the event."""
    client.force_login(case_manager)
    _, body = page(client, "handoff_new", ready.patient_id)
    assert "---------" not in body and "Choose the event…" in body


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"contingency_plan": ""}, "contingency_plan", "This field is required."),
        ({"patient_summary": "x" * 4001}, "patient_summary", "at most 4000 characters"),
        ({"actions-0-role": ""}, "actions-0-role", "Choose who does it."),
        ({"actions-0-due_at": "tomorrow"}, "actions-0-due_at", "Give a date and a time on a 24-hour clock"),
        # Stored as year 10000 in UTC, it made the handoff's pages fail for everyone.
        ({"actions-0-due_at": "9999-12-31T23:59"}, "actions-0-due_at", "9999 is a typo"),
    ],
)
def test_bad_input_shows_at_its_field_and_saves_nothing(client, ready, case_manager, agency, changes, field, message):
    client.force_login(case_manager)
    response = client.post(reverse("handoff_new", args=[ready.patient_id]), form_data(ready, agency, **changes))
    body = response.content.decode()
    assert response.status_code == 200
    shown = f'id="id_{field}"' in body or f'id="id_{field}_0"' in body  # a date and time: two inputs
    assert shown and "is-invalid" in body and message in body
    assert not Handoff.objects.exists()


@pytest.mark.parametrize("due", ["2001-12-02T09:00", "2026-01-01T09:00", "2099-12-31T23:00"])
def test_an_action_due_years_away_is_a_typo(client, ready, case_manager, agency, due):
    client.force_login(case_manager)
    response = client.post(
        reverse("handoff_new", args=[ready.patient_id]), form_data(ready, agency, **{"actions-0-due_at": due})
    )
    assert response.status_code == 200
    assert "Each action is due between a week ago and 120 days from now." in response.content.decode()
    assert not Handoff.objects.exists()


def test_an_action_due_out_of_range_is_refused_at_its_own_row(client, ready, case_manager, agency):
    """Of several actions, the one with the typo is the one marked, not the list as a whole."""
    client.force_login(case_manager)
    second = {"actions-1-text": "Call the caregiver", "actions-1-role": "case_manager"}
    data = form_data(ready, agency, **second, **{"actions-1-due_at": "2001-12-02T09:00"})
    response = client.post(reverse("handoff_new", args=[ready.patient_id]), data)
    body = response.content.decode()
    assert response.status_code == 200 and not Handoff.objects.exists()
    error = body.index('id="error_1_id_actions-1-due_at"')
    assert "Each action is due between a week ago and 120 days from now." in body[error : error + 300]
    assert 'id="error_1_id_actions-0-due_at"' not in body


def test_an_implausible_due_time_is_told_with_the_other_errors_at_the_first_post(client, ready, case_manager, agency):
    """The form says the service's range with the page's other errors, not after they are fixed."""
    client.force_login(case_manager)
    data = form_data(ready, agency, contingency_plan="", **{"actions-0-due_at": "2001-12-02T09:00"})
    response = client.post(reverse("handoff_new", args=[ready.patient_id]), data)
    body = response.content.decode()
    assert response.status_code == 200 and not Handoff.objects.exists()
    plan = body.index('id="error_1_id_contingency_plan"')
    assert "This field is required." in body[plan : plan + 300]
    due = body.index('id="error_1_id_actions-0-due_at"')
    assert svc.ACTION_DUE_RANGE in body[due : due + 300]
    assert body.count(svc.ACTION_DUE_RANGE) == 1  # once, at its row


@pytest.mark.parametrize("who", ["other-organisation", "other-receiving-unit"])
def test_a_receiving_person_who_is_not_the_units_is_refused_without_being_named(
    client, ready, case_manager, agency, who
):
    # Named, they would tell the sender who works where. (The list offers the organisation's
    # receiving people by name on purpose; another organisation's are never in it.)
    other_organisation = UnitFactory(organisation=OrganisationFactory(name="Other Hospital Trust"))
    unit = other_organisation if who == "other-organisation" else make_agency(agency, "Other agency")
    stranger = UserFactory(first_name="Zelda", last_name="Secretname", role="nurse", unit=unit)
    client.force_login(case_manager)
    data = form_data(ready, agency, to_person=stranger.pk)
    body = client.post(reverse("handoff_new", args=[ready.patient_id]), data).content.decode()
    error = re.search(r'id="id_to_person_error".*?</div>', body, re.S).group()
    assert svc.NOT_A_RECEIVING_MEMBER in error and "Secretname" not in error
    assert who != "other-organisation" or "Secretname" not in body
    assert not Handoff.objects.exists()


def test_the_sending_unit_itself_is_refused_with_a_clear_message(client, ready, case_manager, agency, ward):
    client.force_login(case_manager)
    response = client.post(reverse("handoff_new", args=[ready.patient_id]), form_data(ready, agency, to_unit=ward.pk))
    assert "never to the sending unit itself" in response.content.decode()
    assert not Handoff.objects.exists()


def test_only_the_sending_side_prepares(client, ready, pharmacist, coordinator):
    client.force_login(pharmacist)
    assert client.get(reverse("handoff_new", args=[ready.patient_id])).status_code == 403
    verified_login(client, coordinator)
    assert client.get(reverse("handoff_new", args=[ready.patient_id])).status_code == 403


def test_a_draft_is_edited_and_a_returned_one_shows_its_reason(client, sent, case_manager, home_nurse, agency):
    svc.handoff_return(handoff=sent, actor=home_nurse, reason="Bag dates missing")
    client.force_login(case_manager)
    response, body = page(client, "handoff_edit", sent.pk)
    assert "Bag dates missing" in body and "Saving makes it a draft again" in body
    data = form_data(sent.event, agency, pump="CADD-Solis 10 mL/h")
    del data["event"]
    response = client.post(reverse("handoff_edit", args=[sent.pk]), data)
    assert response.status_code == 302
    assert Handoff.objects.get(pk=sent.pk).status == "draft"
    assert Handoff.objects.get(pk=sent.pk).pump == "CADD-Solis 10 mL/h"


# --- the handoff page and its in-place actions ---------------------------------------------------


def test_sending_from_the_page_with_htmx_updates_the_card(client, handoff, case_manager):
    client.force_login(case_manager)
    response = client.post(reverse("handoff_send", args=[handoff.pk]), **HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith('<div id="handoff-card"')
    assert "Sent to HomeCare Infusion" in body and "Acknowledge by" in body


def test_a_send_refused_by_the_checklist_says_why(client, patient, nurse, nurse2, case_manager, agency):
    publish_transition_template()
    event = make_discharge(patient)
    handoff = draft_handoff(event, case_manager, agency)
    client.force_login(case_manager)
    _, body = page(client, "handoff_detail", handoff.pk)
    assert "It cannot be sent yet" in body and "Supplies delivered" in body
    assert 'type="submit" disabled aria-describedby="send-heading">Send the handoff</button>' in body
    response = client.post(reverse("handoff_send", args=[handoff.pk]), **HTMX)
    assert "The checklist is not complete" in response.content.decode()
    assert Handoff.objects.get(pk=handoff.pk).status == "draft"


def test_what_a_draft_still_needs_is_listed_without_red(client, patient, nurse, nurse2, case_manager, agency):
    """Found by a walk through the pages: a draft for a discharge ten days away listed its open
    checklist in red, though nothing in it was late (README: red only for what is due). A send
    refused all the same still says so in the red alert."""
    publish_transition_template()
    handoff = draft_handoff(make_discharge(patient), case_manager, agency)
    client.force_login(case_manager)
    _, body = page(client, "handoff_detail", handoff.pk)
    needs = re.search(r"It cannot be sent yet:</p>\s*<ul([^>]*)>", body)
    assert needs is not None, body
    assert "danger" not in needs.group(1)


def test_the_checklist_section_marks_what_the_override_covers(client, patient, nurse, case_manager, oncologist, agency):
    """Found by a review: after the oncologist overrode the discharge's gate, the handoff page still
    listed its missing items as plain blockers, beside a badge saying it was overridden."""
    publish_transition_template()
    event = make_discharge(patient)
    handoff = draft_handoff(event, case_manager, agency)
    override_gate(event, oncologist, reason="Agency confirmed by phone; paperwork follows")
    client.force_login(case_manager)
    _, body = page(client, "handoff_detail", handoff.pk)
    assert "Supplies delivered" in body and "(covered by the override)" in body
    assert "Overridden by" in body and "Agency confirmed by phone; paperwork follows" in body


def test_the_home_nurse_acknowledges_and_accepts_in_place(client, sent, home_nurse):
    client.force_login(home_nurse)
    _, body = page(client, "handoff_detail", sent.pk)
    assert "Acknowledge receipt" in body

    response = client.post(reverse("handoff_acknowledge", args=[sent.pk]), **HTMX)
    body = response.content.decode()
    assert "Receipt acknowledged" in body and "Accept the handoff" in body and response["HX-Trigger"]

    response = client.post(reverse("handoff_accept", args=[sent.pk]), {"accept-synthesis": "  "}, **HTMX)
    body = response.content.decode()
    assert "is-invalid" in body and "This field is required." in body
    assert Handoff.objects.get(pk=sent.pk).status == "acknowledged"

    response = client.post(reverse("handoff_accept", args=[sent.pk]), {"accept-synthesis": SYNTHESIS}, **HTMX)
    body = response.content.decode()
    assert "Accepted: the actions are now your unit" in body and "Receiver's synthesis" in body
    # Still on the ward: the visit is not offered as done, and the page says from when it will be.
    assert 'Done<span class="visually-hidden">: First home visit' not in body
    assert "Not before the planned discharge home" in body
    with at_home(sent):
        client.force_login(home_nurse)
        _, body = page(client, "handoff_detail", sent.pk)
    assert 'Done<span class="visually-hidden">: First home visit' in body


def test_without_javascript_an_action_goes_back_to_the_page_with_a_message(client, sent, home_nurse):
    client.force_login(home_nurse)
    response = client.post(reverse("handoff_acknowledge", args=[sent.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("handoff_detail", args=[sent.pk])
    assert "Receipt acknowledged" in response.content.decode()
    # A second press (a page drawn before the first): answered as the first, acknowledged once.
    response = client.post(reverse("handoff_acknowledge", args=[sent.pk]), follow=True)
    assert "Receipt acknowledged" in response.content.decode()
    assert sent.activities.filter(action="acknowledge").count() == 1


def test_an_acceptance_without_synthesis_without_javascript_shows_the_page_with_the_error(client, sent, home_nurse):
    svc.handoff_acknowledge(handoff=sent, actor=home_nurse)
    client.force_login(home_nurse)
    response = client.post(reverse("handoff_accept", args=[sent.pk]), {"accept-synthesis": ""})
    body = response.content.decode()
    assert response.status_code == 200 and "is-invalid" in body and "<h1" in body


def test_a_return_without_a_reason_is_refused_at_the_field(client, sent, home_nurse):
    client.force_login(home_nurse)
    response = client.post(reverse("handoff_return", args=[sent.pk]), {"return-reason": ""}, **HTMX)
    body = response.content.decode()
    assert "is-invalid" in body and '<details class="mb-3" open>' in body
    assert Handoff.objects.get(pk=sent.pk).status == "sent"


def test_a_return_sends_the_receiver_back_to_the_list(client, sent, home_nurse):
    client.force_login(home_nurse)
    response = client.post(reverse("handoff_return", args=[sent.pk]), {"return-reason": "No pump model"}, **HTMX)
    assert response["HX-Redirect"] == reverse("handoff_list")
    assert client.get(reverse("handoff_detail", args=[sent.pk])).status_code == 404
    client.force_login(home_nurse)
    response = client.post(reverse("handoff_acknowledge", args=[sent.pk]))
    assert response.status_code == 404


def test_the_receiving_side_completes_and_works_its_actions(client, sent, home_nurse):
    svc.handoff_acknowledge(handoff=sent, actor=home_nurse)
    svc.handoff_accept(handoff=sent, actor=home_nurse, synthesis=SYNTHESIS)
    client.force_login(home_nurse)
    visit = sent.actions.get(text="First home visit")
    with at_home(sent):
        client.force_login(home_nurse)  # the clock moved: a fresh session
        response = client.post(reverse("handoff_action_done", args=[visit.pk]), **HTMX)
        assert "Done: First home visit" in response.content.decode()
        _, body = page(client, "handoff_list")
        assert "No open task of yours." in body

        Handoff.objects.filter(pk=sent.pk).update(sent_at=timezone.now() - dt.timedelta(days=1))
        when = timezone.localtime(timezone.now(), sent.patient.unit.zone) - dt.timedelta(minutes=30)
        response = client.post(
            reverse("handoff_complete", args=[sent.pk]),
            {"complete-first_visit_at": when.strftime("%Y-%m-%dT%H:%M")},
            **HTMX,
        )
        assert "Completed: first home visit recorded" in response.content.decode()
        assert Handoff.objects.get(pk=sent.pk).status == "completed"


def test_the_page_says_the_first_visit_comes_before_completing_and_a_posted_completion_is_refused(
    client, sent, home_nurse
):
    svc.handoff_acknowledge(handoff=sent, actor=home_nurse)
    svc.handoff_accept(handoff=sent, actor=home_nurse, synthesis=SYNTHESIS)
    client.force_login(home_nurse)
    body = client.get(reverse("handoff_detail", args=[sent.pk])).content.decode()
    assert "Complete the handoff</button>" not in body
    assert "Mark “First home visit” done first" in body
    when = timezone.localtime(timezone.now(), sent.patient.unit.zone) - dt.timedelta(minutes=30)
    response = client.post(
        reverse("handoff_complete", args=[sent.pk]),
        {"complete-first_visit_at": when.strftime("%Y-%m-%dT%H:%M")},
        **HTMX,
    )
    assert "Mark “First home visit” done first" in response.content.decode()
    assert Handoff.objects.get(pk=sent.pk).status == "accepted"


def test_the_home_nurses_handoff_tasks_are_in_her_my_work_and_completing_waits_for_the_visit(client, sent, home_nurse):
    """Issue 14, item 7: her work is where her work is; completing is not the next button, nor "now"."""
    svc.handoff_acknowledge(handoff=sent, actor=home_nurse)
    svc.handoff_accept(handoff=sent, actor=home_nurse, synthesis=SYNTHESIS)
    client.force_login(home_nurse)
    my_work = client.get(reverse("home")).content.decode()
    section = my_work.split('id="handoff-actions"')[1].split("</section>")[0]
    assert "Handoff tasks (1)" in my_work and "First home visit" in section
    assert f"{sent.patient.family_name}, {sent.patient.given_name} ({sent.patient.mrn})" in section
    assert f'href="/handoffs/{sent.pk}/"' in section

    _, body = page(client, "handoff_detail", sent.pk)
    assert "<summary>After the first home visit: complete the handoff…</summary>" not in body
    with at_home(sent):
        client.force_login(home_nurse)  # the clock moved: a fresh session
        first_visit_done(sent, home_nurse)
        _, body = page(client, "handoff_detail", sent.pk)
        assert "<summary>After the first home visit: complete the handoff…</summary>" in body
        for part in ("complete-first_visit_at_0", "complete-first_visit_at_1"):  # the date, the time
            field = body.split(f'name="{part}"')[1].split(">")[0]
            assert "value=" not in field  # not prefilled with now


def test_a_second_person_acknowledging_is_told_who_was_first(client, sent, home_nurse, agency):
    colleague = make_home_nurse(agency, "homenurse2")
    svc.handoff_acknowledge(handoff=sent, actor=colleague)
    client.force_login(home_nurse)
    response = client.post(reverse("handoff_acknowledge", args=[sent.pk]), **HTMX)
    assert f"Already acknowledged by {colleague} at" in response.content.decode()


# --- access and the audit log ------------------------------------------------------------------


def test_every_read_of_a_handoff_page_is_in_the_audit_log(client, sent, home_nurse):
    client.force_login(home_nurse)
    for name in ("handoff_detail", "handoff_print"):
        assert client.get(reverse(name, args=[sent.pk])).status_code == 200
    reads = AuditEvent.objects.filter(action="view", object_type="coordination.handoff", object_id=str(sent.pk))
    assert {(r.actor_id, r.patient_id, r.detail["page"]) for r in reads} == {
        (home_nurse.pk, sent.patient_id, "detail"),
        (home_nurse.pk, sent.patient_id, "print"),
    }


def test_a_handoff_of_another_team_answers_404_and_is_logged_as_denied(client, sent, outsider):
    client.force_login(outsider)
    for name in ("handoff_detail", "handoff_print", "handoff_edit"):
        assert client.get(reverse(name, args=[sent.pk])).status_code == 404
    assert client.post(reverse("handoff_acknowledge", args=[sent.pk])).status_code == 404
    assert AuditEvent.objects.filter(
        object_type="coordination.handoff", object_id=str(sent.pk), outcome="denied", actor_id=outsider.pk
    ).exists()


def test_a_draft_is_not_seen_by_the_receiving_unit(client, handoff, home_nurse):
    client.force_login(home_nurse)
    assert client.get(reverse("handoff_detail", args=[handoff.pk])).status_code == 404
    assert client.get(reverse("patient_detail", args=[handoff.patient_id])).status_code == 404


def test_the_receiving_unit_sees_a_limited_patient_page(client, sent, home_nurse, nurse):
    client.force_login(home_nurse)
    response, body = page(client, "patient_detail", sent.patient_id)
    assert response.status_code == 200
    assert "Your unit sees this patient through a handoff" in body
    assert reverse("handoff_detail", args=[sent.pk]) in body
    assert "History" not in body and "Prepare a handoff" not in body
    assert str(nurse) in body  # whom to call: the care team
    assert client.get(reverse("patients:edit", args=[sent.patient_id])).status_code == 404


def test_the_receiving_unit_sees_the_handoff_not_the_care_teams_events_and_tasks(client, sent, home_nurse):
    client.force_login(home_nurse)
    assert client.get(reverse("event_detail", args=[sent.event_id])).status_code == 404
    task = sent.event.tasks.first()
    assert client.post(reverse("task_claim", args=[task.pk])).status_code == 404


def test_free_text_is_shown_escaped(client, ready, case_manager, agency, coordinator):
    handoff = draft_handoff(ready, case_manager, agency, patient_summary=SCRIPT, contingency_plan=SCRIPT)
    svc.handoff_send(handoff=handoff, actor=case_manager)
    svc.handoff_comment(handoff=handoff, actor=coordinator, text=SCRIPT)
    verified_login(client, coordinator)
    for name in ("handoff_detail", "handoff_print"):
        body = client.get(reverse(name, args=[handoff.pk])).content.decode()
        assert SCRIPT not in body and "&lt;script&gt;" in body


def test_oversized_input_is_refused_at_the_field(client, sent, home_nurse):
    svc.handoff_acknowledge(handoff=sent, actor=home_nurse)
    client.force_login(home_nurse)
    response = client.post(reverse("handoff_accept", args=[sent.pk]), {"accept-synthesis": "x" * 2001}, **HTMX)
    assert "at most 2000 characters" in response.content.decode()
    assert Handoff.objects.get(pk=sent.pk).status == "acknowledged"


def test_a_comment_sent_eight_times_by_a_double_click_is_stored_once(client, sent, coordinator):
    verified_login(client, coordinator)
    card = client.get(reverse("handoff_detail", args=[sent.pk])).content.decode()
    key = re.search(r'name="comment-submission" value="([0-9a-f-]{36})"', card)[1]
    data = {"comment-text": "Agency called back.", "comment-submission": key}
    for _ in range(8):
        assert client.post(reverse("handoff_comment", args=[sent.pk]), data, **HTMX).status_code == 200
    assert list(HandoffComment.objects.filter(handoff=sent).values_list("text", flat=True)) == ["Agency called back."]

    again = client.get(reverse("handoff_detail", args=[sent.pk])).content.decode()
    assert key not in again  # the next comment is a new submission
    next_key = re.search(r'name="comment-submission" value="([0-9a-f-]{36})"', again)[1]
    client.post(reverse("handoff_comment", args=[sent.pk]), {**data, "comment-submission": next_key}, **HTMX)
    assert HandoffComment.objects.filter(handoff=sent).count() == 2


# --- the printout ------------------------------------------------------------------------------------


def test_the_printout_leaves_out_internal_comments_and_the_review(client, sent, coordinator, case_manager):
    svc.handoff_comment(handoff=sent, actor=coordinator, text="Internal: agency slow last time")
    svc.handoff_flag(handoff=sent, actor=coordinator, flagged=True, reason="Check the pump model")
    client.force_login(case_manager)
    detail = client.get(reverse("handoff_detail", args=[sent.pk])).content.decode()
    assert "Internal: agency slow last time" in detail
    body = client.get(reverse("handoff_print", args=[sent.pk])).content.decode()
    assert "Internal: agency slow last time" not in body and "Check the pump model" not in body
    assert "css/print.css" in body and "js/print.js" in body
    assert "Fever above 38.5 °C or new confusion" in body and "CADD-Solis" in body
    assert "Bag changes" in body


def test_the_printout_gives_whom_to_call_as_the_record_says_now(client, sent, home_nurse):
    """Found walking the demo: the unit's 24/7 number set (or the caregiver recorded) after sending
    printed "not set" on the caregiver's sheet, whose first lines say to call that number."""
    unit, patient = sent.patient.unit, sent.patient
    assert "24/7: not set" in dict(sent.facts)["Contacts"]
    unit.phone_24h, unit.on_call_phone = "+1 617 555 0170", "+1 617 555 0199"
    unit.save()
    patient.caregiver_name, patient.caregiver_phone = "Sam Lee", "+1 617 555 0143"
    patient.save()
    client.force_login(home_nurse)
    body = client.get(reverse("handoff_print", args=[sent.pk])).content.decode()
    assert "+1 617 555 0170" in body and "+1 617 555 0199" in body and "Sam Lee +1 617 555 0143" in body
    assert "24/7: not set" not in body and "caregiver: not recorded" not in body
    # The handoff page shows the change beside what was sent, as for the other facts.
    page = client.get(reverse("handoff_detail", args=[sent.pk])).content.decode()
    assert "Changed on the record since it was sent" in page and "24/7: +1 617 555 0170" in page


def test_the_handoff_templates_hold_no_inline_style_or_script():
    templates = sorted((Path(settings.BASE_DIR) / "templates" / "coordination" / "handoffs").rglob("*.html"))
    assert len(templates) >= 9  # the glob found them
    for template in templates:
        html = template.read_text()
        assert not re.search(r"\sstyle\s*=|<style", html), template
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), template


# --- the coordinator's review queue and the board -------------------------------------------------


def test_the_review_queue_puts_overdue_acknowledgements_first_and_shows_turnaround(
    client, ready, case_manager, nurse, nurse2, agency, home_nurse, coordinator, patient
):
    now = timezone.now()
    late = svc.handoff_send(handoff=draft_handoff(ready, case_manager, agency), actor=case_manager)
    Handoff.objects.filter(pk=late.pk).update(
        sent_at=now - dt.timedelta(hours=5), acknowledge_by=now - dt.timedelta(hours=1)
    )
    other = make_discharge(patient, hours_ahead=30)
    complete_checklist(other, workers={"nurse": nurse, "case_manager": case_manager}, verifier=nurse2)
    quick = draft_handoff(other, case_manager, agency)
    svc.handoff_send(handoff=quick, actor=case_manager, now=now - dt.timedelta(hours=3))
    svc.handoff_acknowledge(handoff=quick, actor=home_nurse, now=now - dt.timedelta(hours=2, minutes=20))
    svc.handoff_accept(handoff=quick, actor=home_nurse, synthesis=SYNTHESIS, now=now - dt.timedelta(hours=1))

    verified_login(client, coordinator)
    response, body = page(client, "handoff_review")
    assert response.status_code == 200
    assert body.index(reverse("handoff_detail", args=[late.pk])) < body.index(
        reverse("handoff_detail", args=[quick.pk])
    )
    assert "1 with the acknowledgement overdue" in body
    assert "40\xa0minutes" in body and "2\xa0hours" in body  # sent → acknowledged, sent → accepted

    filtered = client.get(reverse("handoff_review"), {"status": "accepted"}).content.decode()
    assert reverse("handoff_detail", args=[quick.pk]) in filtered
    assert reverse("handoff_detail", args=[late.pk]) not in filtered
    overdue = client.get(reverse("handoff_review"), {"status": "overdue"}).content.decode()
    assert reverse("handoff_detail", args=[late.pk]) in overdue
    assert reverse("handoff_detail", args=[quick.pk]) not in overdue


def test_the_review_queue_is_for_coordinators(client, case_manager):
    client.force_login(case_manager)
    assert client.get(reverse("handoff_review")).status_code == 403


def test_the_board_shows_waiting_handoffs_and_links_the_review(client, sent, coordinator):
    verified_login(client, coordinator)
    body = client.get(reverse("board")).content.decode()
    assert "Handoffs waiting for the receiving side (1)" in body
    assert reverse("handoff_review") in body and reverse("handoff_detail", args=[sent.pk]) in body


def _many_handoffs(patient, sender, agency, count):
    for _ in range(count):
        event = make_event(patient, kind="discharge_home", planned_at=timezone.now() + dt.timedelta(hours=5))
        write_handoff(
            event,
            sender=sender,
            to_unit=agency,
            status="sent",
            sent_at=timezone.now() - dt.timedelta(hours=5),
            acknowledge_by=timezone.now() - dt.timedelta(hours=1),
        )


@pytest.mark.parametrize(
    ("name", "viewer"),
    [
        *(("handoff_review", "coordinator"), ("board", "coordinator"), ("handoff_review?format=csv", "coordinator")),
        # The sending side's list (outgoing), the receiving side's (incoming), each as a page and a CSV.
        *(("handoff_list", "case_manager"), ("handoff_list?format=csv", "case_manager")),
        *(("handoff_list", "home_nurse"), ("handoff_list?format=csv", "home_nurse")),
    ],
)
def test_lists_use_the_same_number_of_queries_for_1_and_20_handoffs(
    request, client, patient, case_manager, agency, name, viewer, django_assert_max_num_queries, settings
):
    settings.PAGE_CACHE_SECONDS = 0  # the rendering's reads, not a kept board's
    name, _, query = name.partition("?")
    url = reverse(name) + (f"?{query}" if query else "")
    verified_login(client, request.getfixturevalue(viewer))
    # The receiving unit sees the handoffs while its access grant lasts.
    AccessGrant.objects.create(
        patient=patient, unit=agency, reason="Handoff", starts_at=timezone.now() - dt.timedelta(days=1)
    )
    counts = []
    for total in (1, 20):
        _many_handoffs(patient, case_manager, agency, total - Handoff.objects.count())
        # A request first, uncounted: the sign-in middleware writes the session's activity once
        # a minute, and building the handoffs can take that long on a loaded machine.
        client.get(url)
        with django_assert_max_num_queries(25) as captured:
            assert client.get(url).status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]
    body = b"".join(client.get(url).streaming_content) if query else client.get(url).content
    last = Handoff.objects.last()
    assert (patient.mrn if query else reverse("handoff_detail", args=[last.pk])) in body.decode()  # rows were listed


def test_the_handoff_list_shows_the_receiver_its_handoffs_and_tasks(client, sent, home_nurse):
    client.force_login(home_nurse)
    _, body = page(client, "handoff_list")
    assert "For HomeCare Infusion (1)" in body and reverse("handoff_detail", args=[sent.pk]) in body
    assert "Handoffs" in body  # the navigation


def test_a_refused_send_says_what_is_missing_once_and_the_saved_draft_message_goes(
    client, patient, nurse, nurse2, case_manager, agency
):
    publish_transition_template()
    event = make_discharge(patient)
    handoff = draft_handoff(event, case_manager, agency)
    client.force_login(case_manager)
    saved = client.post(reverse("handoff_edit", args=[handoff.pk]), form_data(event, agency), follow=True).text
    above_ipass = saved[: saved.index('id="ipass"')]  # the messages and the card, not the checklist's section
    assert "The draft is saved." in above_ipass and above_ipass.count("Supplies delivered") == 1

    card = client.post(reverse("handoff_send", args=[handoff.pk]), **HTMX).text
    (alert,) = re.findall(r'<div class="alert alert-danger[^"]*" role="alert">(.*?)</div>', card, re.S)
    assert "Not sent yet: first see to these." in alert and "Supplies delivered" in alert
    assert card.count("Supplies delivered") == 1  # the list under "Send to …" is the refusal, said once
    # Out of band, the page's messages are emptied: "The draft is saved." no longer stands above.
    assert re.search(r'<div id="messages" data-hx-swap-oob="true">\s*</div>', card)

    page_ = client.post(reverse("handoff_send", args=[handoff.pk]), follow=True).text  # without JavaScript
    above_ipass = page_[: page_.index('id="ipass"')]
    assert above_ipass.count("Not sent yet") == 1 and above_ipass.count("Supplies delivered") == 1
    assert "The draft is saved." not in page_


def _more_of_everything(handoff, agency, numbers):
    """Actions, comments and history rows, each by a person of its own."""
    from coordination.handoffs.models import HandoffAction, HandoffActivity

    for n in numbers:
        HandoffAction.objects.create(
            handoff=handoff, order=100 + n, text=f"Call {n}", role="nurse", due_at=timezone.now() + dt.timedelta(days=1)
        )
        HandoffComment.objects.create(handoff=handoff, author=UserFactory(role="nurse", unit=agency), text=f"Note {n}")
        HandoffActivity.objects.create(handoff=handoff, actor=UserFactory(), action="update", detail=f"Edit {n}")


@pytest.mark.parametrize("name", ["handoff_detail", "handoff_print"])
@pytest.mark.parametrize("viewer", ["case_manager", "home_nurse"])
def test_a_handoffs_page_uses_the_same_number_of_queries_for_1_and_20_actions_and_comments(
    request, client, sent, agency, name, viewer, time_machine, settings
):
    settings.PAGE_CACHE_SECONDS = 0  # the rendering's reads, not a kept page's
    time_machine.move_to(timezone.now(), tick=False)
    verified_login(client, request.getfixturevalue(viewer))
    url = reverse(name, args=[sent.pk])
    _more_of_everything(sent, agency, range(1))
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    _more_of_everything(sent, agency, range(1, 20))
    with CaptureQueriesContext(connection) as many:
        assert "Call 19" in client.get(url).content.decode()
    assert len(many) == len(few)
