"""The authorization matrix, proved on every URL: every demo role × own and foreign patient.

Each URL pattern has one entry in RULES saying who may use it. The walk checks that:
- the roles allowed succeed on their own patient (a page answers 200; an action lands in the
  audit log under its name and that user);
- every other role is refused (403 for a role-gated page, 404 where the patient is not theirs,
  and an action leaves no trace);
- nobody reaches a patient of another care team: 404, so that its existence does not leak.
A URL without an entry fails `test_every_url_has_an_entry_in_the_matrix`.
"""

import contextlib
import datetime as dt
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.models import AuditEvent, PersonalToken, Role
from accounts.permissions import READ_AUDIT_LOG, Ability, can
from accounts.services import token_create
from checklists.models import Task
from checklists.policy import EDIT_TEMPLATES
from checklists.services import checklists_instantiate, task_claim, task_complete, template_version_new_draft
from coordination.feeds.policy import can_subscribe
from coordination.feeds.services import feed_key_renew, feed_secret
from coordination.handoffs import services as handoffs_svc
from coordination.handoffs.selectors import handoffs_visible_to
from coordination.handoffs.services import ActionSpec
from coordination.reminders.models import Notification
from coordination.reminders.policy import READ_REMINDER_LEDGER
from coordination.reports.policy import VIEW_REPORTS
from coordination.watch.models import ToxicityAlert
from coordination.worklist.policy import VIEW_BOARD
from patients.models import (
    Assessment,
    CareEvent,
    HomeCheckIn,
    Interruption,
    Patient,
    PumpEvent,
)
from patients.policy import EDIT_PATIENT, REGISTER_PATIENT, VIEW_PATIENTS

from .accounts.helpers import SignInClient, verified_login
from .checklists.helpers import blockers_listed, make_event, publish_template
from .coordination.handoff_helpers import (
    complete_checklist,
    draft_handoff,
    first_visit_done,
    make_agency,
    make_discharge,
    make_home_nurse,
)
from .factories import CareTeamMemberFactory, PatientFactory, UnitFactory, UserFactory
from .layers import build, layer
from .patients.helpers import make_bag

ROLES = ["pharmacist", "nurse", "oncologist", "case_manager", "coordinator", "admin", "outsider"]
ITEMS = [
    {"text": "Weight", "response_kind": "number", "unit": "kg", "min_value": 1, "max_value": 300},
    {"text": "Pump programmed and locked", "needs_verification": True, "verifier_role": "nurse"},
    {"text": "Order verified", "role": "pharmacist"},
    {"text": "Clear to start", "role": "oncologist", "response_kind": "attestation"},
]


@dataclass(frozen=True)
class Page:
    """A GET page. `ability`: who may open it (None: every signed-in user). `target`: the object
    in its URL; pages of a patient also need the patient to be visible to the user."""

    ability: Ability | None = None
    target: str | None = None
    method: str = "get"
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Act:
    """A POST action on a patient's task or event: it succeeds for `roles`, and shows in the
    audit log as `audit` by that user; for anyone else it leaves no trace."""

    target: str
    roles: frozenset
    audit: str
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class OnPlan:
    """A page that changes a patient's course plan (patients/policy.py): whoever does not see the
    patient gets 404; of those who do, `roles` (on the care team, or the unit's coordinator) get
    the form (200), the others 403."""

    target: str
    roles: frozenset


@dataclass(frozen=True)
class Own:
    """A page about the user themselves (their sign-in, their notifications): every signed-in user."""

    method: str = "get"


@dataclass(frozen=True)
class Public:
    """Reached without signing in, on purpose."""


@dataclass(frozen=True)
class OnHandoff:
    """A page or an action on a handoff, walked by every role and the receiving unit's nurse
    (`test_the_handoff_matrix_holds`). `target` names an object of `handoff_world`: a handoff in
    that status, "action" (an open task of the accepted one) or "patient" (preparing one).
    Whoever does not see the target gets 404; of those who see it, `roles` succeed: a page
    answers 200 (403 for the others), an action lands in the audit log as `audit` by that user
    (200 and no trace for the others)."""

    target: str
    roles: frozenset
    audit: str | None = None
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Fhir:
    """A FHIR endpoint (coordination/fhir/): `path` under /fhir/R4/, the world's objects of the
    case's patient filled in ({patient}, {course}, {weight}...). Every signed-in user reaches it;
    a read of a patient that the user does not see answers a 404 OperationOutcome, a search an
    empty Bundle; `patient_data=False` (the CapabilityStatement): 200 for everyone."""

    path: str
    target: str = "patient"
    patient_data: bool = True


@dataclass(frozen=True)
class ApiRead:
    """A GET of the REST API, with a personal token. Without `target`, a list: every signed-in
    user gets 200 (the list holds what they may see). With one, the record in the URL: 200 for
    whoever sees its patient on the record, 404 for everyone else (200 for all when the record
    is no patient's: `patient_data` False)."""

    target: str | None = None
    patient_data: bool = True


@dataclass(frozen=True)
class Feed:
    """A calendar feed (coordination/feeds/), reached by the secret in its URL, not a session:
    200 for the roles that coordination.feeds.policy allows, 403 for the others."""

    feed: str


@dataclass(frozen=True)
class ApiAct:
    """A POST action of the REST API on a patient's task, with a personal token: as `Act`, it
    succeeds (200) for `roles` and lands in the audit log as `audit` by that user; anyone else who
    sees the patient is refused (403, or 409 when the task's state refuses first) with no trace;
    whoever does not see it gets 404."""

    target: str
    roles: frozenset
    audit: str
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class OwnRecord:
    """A record of the user's own in the URL: a notification (marked read through the API, with a
    token) or an API token (revoked on the Security page). Its owner succeeds; another's is 404."""

    kind: str


TEMPLATES = EDIT_TEMPLATES
SENDERS = frozenset({"nurse", "oncologist", "case_manager"})  # on the patient's care team
RECEIVER = frozenset({"homenurse"})  # of the receiving agency
SEES_HANDOFF = SENDERS | {"pharmacist", "coordinator"} | RECEIVER
RULES = {
    # Signing in and the health check.
    "login": Public(),
    "healthz": Public(),
    "logout": Own(method="post"),
    "admin_logout": Own(method="post"),  # the admin's sign-out button, the same sign-out
    "mfa_verify": Own(),
    "mfa_setup": Own(),
    "security": Own(),
    "mfa_recovery_codes": Own(method="post"),
    "mfa_turn_off": Own(method="post"),
    "password_change": Own(),
    "admin_password_change": Own(),  # the admin's "Change password" link, the same form
    "token_new": Own(method="post"),
    "token_revoke": OwnRecord("token"),
    # The clinicians' pages.
    "home": Own(),
    "notifications": Own(),
    "notifications_read": Own(method="post"),
    "notification_bell": Own(),
    "patients:list": Own(),
    "patients:create": Page(REGISTER_PATIENT),
    "patients:edit": Page(EDIT_PATIENT, target="patient"),
    # The unit coordinator's: the care team and transfers (patients.policy.can_manage_care_team).
    "patients:care_team": OnPlan("patient", frozenset({"coordinator"})),
    "patients:transfer": OnPlan("patient", frozenset({"coordinator"})),
    "patient_detail": Page(VIEW_PATIENTS, target="patient"),
    "event_detail": Page(VIEW_PATIENTS, target="event"),
    "board": Page(VIEW_BOARD),
    # The board's lists, opened on demand: the events not ready in a window, a person's overdue
    # tasks, a person's tasks left open when their event was done.
    "board_not_ready": Page(VIEW_BOARD, data={"window": "0"}),
    "board_overdue": Page(VIEW_BOARD, data={"role": "nurse", "assignee": "pool"}),
    "board_left_open": Page(VIEW_BOARD, data={"role": "nurse", "assignee": "pool"}),
    # The unit report (coordination/reports/): coordinators their unit, administrators every unit.
    "reports:unit": Page(VIEW_REPORTS, data={"period": "7"}),
    "reports:csv": Page(VIEW_REPORTS, data={"section": "readiness"}),
    # Who changes a course plan (patients/policy.py): the oncologist plans and decides; a nurse
    # or the oncologist records a stop; the pharmacist records bags; the chemotherapy plan's
    # next start is the oncologist's or the unit coordinator's.
    "patients:course_plan": OnPlan("patient", frozenset({"oncologist"})),
    "patients:course_cycles": OnPlan("course", frozenset({"oncologist"})),
    "patients:course_stop": OnPlan("course", frozenset({"nurse", "oncologist", "outsider"})),
    "patients:course_stop_for_good": OnPlan("course", frozenset({"oncologist"})),
    "patients:cycle_next_start": OnPlan("cycle", frozenset({"oncologist", "coordinator"})),
    # The world's stop is a pump or line problem: the nurse who put it right restarts too.
    "patients:interruption_restart": OnPlan("interruption", frozenset({"oncologist", "nurse", "outsider"})),
    # Moving a planned restart: whoever may record it (its time is not known to the page's policy yet).
    "patients:interruption_restart_move": OnPlan("interruption", frozenset({"oncologist", "nurse", "outsider"})),
    "patients:event_bag": OnPlan("event", frozenset({"pharmacist"})),
    # A bag whose event was cancelled: whoever may record a bag decides what becomes of it.
    "patients:bag_reuse": OnPlan("waiting_bag", frozenset({"pharmacist"})),
    "patients:bag_dispose": OnPlan("waiting_bag", frozenset({"pharmacist"})),
    "patients:pump_event_new": OnPlan("patient", frozenset({"nurse", "oncologist", "outsider"})),
    # The toxicity watch: nurses and the oncologist assess; the oncologist confirms a grade.
    "patients:assessments": Page(VIEW_PATIENTS, target="patient"),
    "patients:assessment_new": OnPlan("patient", frozenset({"nurse", "oncologist", "outsider"})),
    "patients:check_in_new": OnPlan("patient", frozenset({"nurse", "oncologist", "outsider"})),
    "patients:assessment_confirm": OnPlan("assessment", frozenset({"oncologist"})),
    # What a role does to a patient's work.
    "event_override": Act(
        "event",
        frozenset({"oncologist"}),
        "override",
        {"reason": "Weight taken on paper.", "justification": "done_elsewhere", "confirm": "on", "covers": ""},
    ),
    "task_claim": Act("weight", frozenset({"nurse"}), "claim"),
    "task_release": Act("order", frozenset({"pharmacist", "coordinator"}), "release"),
    "task_complete": Act("weight", frozenset({"nurse"}), "complete", {"task-{pk}-value": "70"}),
    "task_not_applicable": Act("weight", frozenset({"nurse"}), "not_applicable", {"na-{pk}-reason": "Weighed"}),
    # Undo, verify and reassign carry the task's state as the page drew it (`{version}`).
    "task_verify": Act("pump", frozenset({"nurse"}), "verify", {"version": "{version}"}),
    "task_undo": Act("pump", frozenset({"nurse"}), "undo", {"undo-{pk}-reason": "Wrong pump", "version": "{version}"}),
    "task_reassign": Act(
        "weight",
        frozenset({"coordinator"}),
        "reassign",
        {"reassign-{pk}-assignee": "{nurse}", "reassign-{pk}-reason": "x", "version": "{version}"},
    ),
    # A task left open when its event was done, in the pool: its role's workers or the coordinator close it.
    "task_close": Act(
        "left", frozenset({"nurse", "coordinator"}), "close_left_open", {"outcome": "not_done", "reason": "x"}
    ),
    # Handoffs: the sending side, the receiving side, the coordinator's review.
    "handoff_list": Own(),
    "handoff_review": Page(VIEW_BOARD),
    "handoff_new": OnHandoff("patient", SENDERS),
    "handoff_detail": OnHandoff("sent", SEES_HANDOFF),
    "handoff_print": OnHandoff("sent", SEES_HANDOFF),
    "handoff_edit": OnHandoff("draft", SENDERS),
    "handoff_send": OnHandoff("draft", SENDERS, "send"),
    "handoff_cancel": OnHandoff("draft", SENDERS, "cancel", {"cancel-reason": "Discharge postponed"}),
    "handoff_acknowledge": OnHandoff("sent", RECEIVER, "acknowledge"),
    "handoff_return": OnHandoff("sent", RECEIVER, "return", {"return-reason": "Pump not stated"}),
    "handoff_accept": OnHandoff("acknowledged", RECEIVER, "accept", {"accept-synthesis": "Visit tomorrow 10:00."}),
    "handoff_complete": OnHandoff("accepted", RECEIVER, "complete", {"complete-first_visit_at": "{now}"}),
    "handoff_action_done": OnHandoff("action", RECEIVER, "complete"),
    "handoff_comment": OnHandoff(
        "sent",
        frozenset({"coordinator"}),
        "comment",
        {"comment-text": "On time.", "comment-submission": "5f0c3d52-7a8e-4d8b-9f1e-2b6a0c4e8d11"},
    ),
    "handoff_flag": OnHandoff("sent", frozenset({"coordinator"}), "flag", {"flag-reason": "Check the pump"}),
    "handoff_sign_off": OnHandoff("completed", frozenset({"coordinator"}), "sign_off"),
    # Administration: checklist templates and the audit log.
    "checklists:template_list": Page(TEMPLATES),
    "checklists:template_detail": Page(TEMPLATES, target="template"),
    "checklists:draft_new": Page(TEMPLATES, target="template", method="post"),
    "checklists:version_compare": Page(TEMPLATES),
    "checklists:version_detail": Page(TEMPLATES, target="version"),
    "checklists:draft_edit": Page(TEMPLATES, target="draft"),
    "checklists:item_add": Page(TEMPLATES, target="draft"),
    "checklists:version_review": Page(TEMPLATES, target="draft"),
    "checklists:version_discard": Page(TEMPLATES, target="draft"),
    "checklists:version_preview": Page(TEMPLATES, target="version"),
    "checklists:item_edit": Page(TEMPLATES, target="draft_item"),
    "checklists:item_delete": Page(TEMPLATES, target="draft_item", method="post"),
    "checklists:item_move": Page(TEMPLATES, target="draft_item", method="post", data={"direction": "down"}),
    "checklists:items_reorder": Page(TEMPLATES, target="draft", method="post"),
    "checklists:condition_value": Page(TEMPLATES, data={"prefix": "conditions-0", "conditions-0-fact": "setting"}),
    # Template files in and out: the import page (a GET shows the form) and a version's download.
    "checklists:template_import": Page(TEMPLATES),
    "checklists:version_export": Page(TEMPLATES, target="version"),
    "audit:log": Page(READ_AUDIT_LOG),
    "audit:export": Page(READ_AUDIT_LOG),
    # Reminders: the ledger (admins), one's own settings, an event's reminders, snoozing a task's
    # reminders (whoever does the task, or the unit's coordinator; logged as an update).
    "reminder_ledger": Page(READ_REMINDER_LEDGER),
    "reminder_ledger_summary": Page(READ_REMINDER_LEDGER),
    # The toxicity watch's alerts (the patient's team sees them; the oncologist and the unit's
    # coordinator acknowledge) and the roster (the unit's coordinator).
    "alert_list": Own(),
    "alert_detail": Page(VIEW_PATIENTS, target="alert"),
    "alert_acknowledge": Act("alert", frozenset({"oncologist", "coordinator"}), "update"),
    "roster": Page(VIEW_BOARD),
    "reminder_settings": Own(),
    "event_reminders": Page(VIEW_PATIENTS, target="event"),
    "cycle_events": Page(VIEW_PATIENTS, target="cycle"),
    "task_snooze": Act("weight", frozenset({"nurse", "coordinator"}), "update", {"minutes": "60", "reason": "X-ray"}),
    # FHIR R4 (coordination/fhir/): read and search through the access policy, for every role.
    "fhir:metadata": Fhir("metadata", patient_data=False),
    "fhir:search": Fhir("Encounter?patient={patient}"),
    "fhir:read": Fhir("Task/task-{weight}"),
    "fhir:everything": Fhir("Patient/{patient}/$everything"),
    # Calendar feeds: my due work (clinical roles), the unit's week (its coordinators); the links'
    # renewal from one's own Security page.
    "feed_my_work": Feed("my-work"),
    "feed_unit": Feed("unit"),
    "feed_renew": Own(method="post"),
    # Django's admin checks staff status itself; its index stands for all its pages.
    "admin:index": Page(TEMPLATES),
    # The REST API (coordination/api/): the pages' rules, answered in JSON. Its schema and docs
    # hold no patient data and are open, as a FHIR server's capability statement is.
    "api:schema": Public(),
    "api:docs": Public(),
    "api:patient-list": ApiRead(),
    "api:patient-detail": ApiRead("patient"),
    "api:course-list": ApiRead(),
    "api:course-detail": ApiRead("course"),
    "api:cycle-list": ApiRead(),
    "api:cycle-detail": ApiRead("cycle"),
    "api:event-list": ApiRead(),
    "api:event-detail": ApiRead("event"),
    "api:checklist-list": ApiRead(),
    "api:checklist-detail": ApiRead("checklist"),
    "api:assessment-list": ApiRead(),
    "api:assessment-detail": ApiRead("assessment"),
    "api:interruption-list": ApiRead(),
    "api:interruption-detail": ApiRead("interruption"),
    "api:pump-event-list": ApiRead(),
    "api:pump-event-detail": ApiRead("pump_event"),
    "api:bag-list": ApiRead(),
    "api:bag-detail": ApiRead("bag"),
    "api:check-in-list": ApiRead(),
    "api:check-in-detail": ApiRead("check_in"),
    "api:regimen-list": ApiRead(patient_data=False),
    "api:regimen-detail": ApiRead("regimen", patient_data=False),
    "api:task-list": ApiRead(),
    "api:task-detail": ApiRead("weight"),
    "api:task-claim": ApiAct("weight", frozenset({"nurse"}), "claim"),
    "api:task-release": ApiAct("order", frozenset({"pharmacist", "coordinator"}), "release"),
    "api:task-complete": ApiAct("weight", frozenset({"nurse"}), "complete", {"value": "70"}),
    "api:task-not-applicable": ApiAct("weight", frozenset({"nurse"}), "not_applicable", {"reason": "Weighed"}),
    "api:task-verify": ApiAct("pump", frozenset({"nurse"}), "verify", {"version": "{version}"}),
    "api:task-undo": ApiAct("pump", frozenset({"nurse"}), "undo", {"reason": "Wrong pump", "version": "{version}"}),
    "api:handoff-list": ApiRead(),
    "api:handoff-detail": OnHandoff("sent", SEES_HANDOFF),
    "api:handoff-send": OnHandoff("draft", SENDERS, "send"),
    "api:handoff-cancel": OnHandoff("draft", SENDERS, "cancel", {"reason": "Discharge postponed"}),
    "api:handoff-acknowledge": OnHandoff("sent", RECEIVER, "acknowledge"),
    "api:handoff-return": OnHandoff("sent", RECEIVER, "return", {"reason": "Pump not stated"}),
    "api:handoff-accept": OnHandoff("acknowledged", RECEIVER, "accept", {"synthesis": "Visit tomorrow 10:00."}),
    "api:handoff-complete": OnHandoff("accepted", RECEIVER, "complete", {"first_visit_at": "{now}"}),
    "api:notification-list": Own(),
    "api:notification-read": OwnRecord("notification"),
    "api:notification-read-all": ApiRead(patient_data=False),
}


def url_names(resolver=None, namespace=""):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from url_names(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield namespace + entry.name


def test_every_url_has_an_entry_in_the_matrix():
    names = {name for name in url_names() if not name.startswith("admin:")}
    assert names - RULES.keys() == set(), "add the new URLs to RULES"
    assert RULES.keys() - names - {"admin:index"} == set(), "remove URLs that no longer exist"


def test_the_admin_lives_at_its_configured_path():
    assert reverse("admin:index") == "/" + settings.ADMIN_URL


# --- the walk ---------------------------------------------------------------------------------
#
# The world is built once per module (and per xdist worker), not once per case: building it costs
# a second and there are some 540 cases. It is a layer (tests/layers.py): what a case changes (a
# claimed task, a sent handoff, an audit row, a session) is gone before the next case starts.
# The handoffs are a second layer in a savepoint of its own, kept for the cases of the class
# `TestTheHandoffMatrix`: pytest rolls it back as soon as the next case is not one of them (however
# pytest-xdist orders the cases), so the cases of `test_the_matrix_holds` never see it.


def _member(patient, role, username):
    user = UserFactory(username=username, role=role, unit=patient.unit)
    CareTeamMemberFactory(patient=patient, user=user, role=role)
    return user


def _cast():
    """The cast of tests/conftest.py (`patient`, `foreign_patient`, `nurse`, ... `outsider`), made once."""
    from patients.services import regimen_library_seed  # what tests/conftest.py seeds before each test

    regimen_library_seed()
    ward, other_ward = UnitFactory(name="Haematology Ward"), UnitFactory(name="Cardiology Ward")
    patient, foreign_patient = PatientFactory(unit=ward), PatientFactory(unit=other_ward)
    cast = {
        "patient": patient,
        "foreign_patient": foreign_patient,
        "nurse": _member(patient, Role.NURSE, "nurse"),
        "nurse2": _member(patient, Role.NURSE, "nurse2"),
        "pharmacist": _member(patient, Role.PHARMACIST, "pharmacist"),
        "oncologist": _member(patient, Role.ONCOLOGIST, "oncologist"),
        "case_manager": _member(patient, Role.CASE_MANAGER, "casemanager"),
        "coordinator": UserFactory(username="coordinator", role=Role.COORDINATOR, unit=ward),
        "admin_user": UserFactory(username="admin", role="", unit=None, is_staff=True, is_superuser=True),
    }
    cast["outsider"] = UserFactory(username="outsider", role=Role.NURSE, unit=other_ward)
    CareTeamMemberFactory(patient=foreign_patient, user=cast["outsider"], role=Role.NURSE)
    return cast


def _build_world(
    patient, foreign_patient, nurse, nurse2, pharmacist, oncologist, case_manager, coordinator, admin_user, outsider
):
    """Two patients with a checklist each: ours (the cast's care team) and another team's."""
    version = publish_template(items=ITEMS)
    draft = template_version_new_draft(template=version.template, actor=admin_user)
    users = {
        "pharmacist": pharmacist,
        "nurse": nurse,
        "oncologist": oncologist,
        "case_manager": case_manager,
        "coordinator": coordinator,
        "admin": admin_user,
        "outsider": outsider,
    }
    objects = {}
    for whose, someone, completer in (("own", patient, nurse2), ("foreign", foreign_patient, outsider)):
        event = make_event(someone, planned_at=timezone.now() + dt.timedelta(hours=3))
        checklists_instantiate(events=[event])
        tasks = {
            text.split()[0].lower(): Task.objects.get(event=event, text=text) for text in [i["text"] for i in ITEMS]
        }
        task_complete(task=tasks["pump"], actor=completer, value=True)
        done = make_event(someone, planned_at=timezone.now() - dt.timedelta(hours=13))
        checklists_instantiate(events=[done])
        CareEvent.objects.filter(pk=done.pk).update(status=CareEvent.Status.DONE)
        tasks["left"] = Task.objects.get(event=done, text="Weight")
        if whose == "own":
            task_claim(task=tasks["order"], actor=pharmacist)
        course = event.cycle.course
        stop = Interruption.objects.create(
            patient=someone,
            course=course,
            cycle=event.cycle,
            stopped_at=timezone.now() - dt.timedelta(hours=1),
            cause=Interruption.Cause.PUMP_OR_LINE,
            stopped_by=completer,
        )
        assessment = Assessment.objects.create(
            patient=someone,
            assessed_at=timezone.now(),
            recorded_by=completer,
            crs_grade=1,
            crs_rule="Grade 1: fever",
            icans_grade=0,
            icans_rule="No ICANS",
        )
        alert = ToxicityAlert.objects.create(
            patient=someone, unit=someone.unit, assessment=assessment, reason="ICANS grade 2", raised_by=completer
        )
        pump_event = PumpEvent.objects.create(
            patient=someone,
            course=course,
            kind=PumpEvent.Kind.OCCLUSION_ALARM,
            occurred_at=timezone.now() - dt.timedelta(hours=1),
            reported_by=PumpEvent.Reporter.NURSE,
            action_taken="Line flushed",
            recorded_by=completer,
        )
        check_in = HomeCheckIn.objects.create(
            patient=someone,
            checked_at=timezone.now(),
            temperature=37,
            temperature_unit="C",
            temperature_celsius=37,
            pump_status=HomeCheckIn.PumpStatus.RUNNING,
            recorded_by=completer,
        )
        bag = make_bag(event, compounded_by=pharmacist, checked_by=completer)
        # A bag whose event was cancelled: the decision pages open only for one that waits.
        cancelled = make_event(someone, planned_at=timezone.now() + dt.timedelta(hours=5))
        CareEvent.objects.filter(pk=cancelled.pk).update(status=CareEvent.Status.CANCELLED)
        plan = {
            "bag": bag,
            "waiting_bag": make_bag(cancelled, compounded_by=pharmacist, checked_by=completer),
            "pump_event": pump_event,
            "check_in": check_in,
            "course": course,
            "cycle": event.cycle,
            "interruption": stop,
            "assessment": assessment,
            "alert": alert,
            "checklist": tasks["weight"].checklist,
            "regimen": course.regimen_version.regimen,
        }
        objects[whose] = {"patient": someone, "event": event, **plan, **tasks}
    for whose in objects:
        objects[whose].update(
            template=version.template, version=version, draft=draft, draft_item=draft.items.order_by("order").first()
        )
    return users, objects


@pytest.fixture(scope="module")
def _module_world(django_db_setup, django_db_blocker):
    with layer(django_db_blocker):
        world = build(django_db_blocker, lambda: _build_world(**_cast()))
        users, _ = world
        build(django_db_blocker, _sign_in_once, users.values())
        try:
            yield world
        finally:
            _SESSIONS.clear()


@pytest.fixture
def world(_module_world, db):
    """Two patients with a checklist each: ours (the cast's care team) and another team's.
    Built once per module (`_module_world`); this case's changes are rolled back after it."""
    return _module_world


# A signed-in session for each user of the module's world, made with it: signing in writes a
# session, a sign-in row of the audit log and django-axes' log, some 50 ms a case. Each case
# presents its user's session cookie instead; what the case does to the session is rolled back.
_SESSIONS: dict[int, str] = {}


def _sign_in_once(users) -> None:
    for user in users:
        client = SignInClient()
        _sign_in_now(client, user)
        _SESSIONS[user.pk] = client.cookies[settings.SESSION_COOKIE_NAME].value


def sign_in(client, user):
    """`user` signed in on `client` (both steps where the role needs the second)."""
    if user.pk in _SESSIONS:
        client.cookies[settings.SESSION_COOKIE_NAME] = _SESSIONS[user.pk]
    else:  # a user that the case, or a layer of its own, made
        _sign_in_now(client, user)


def _sign_in_now(client, user):
    if user.is_staff or user.role == Role.COORDINATOR:
        verified_login(client, user)
    else:
        client.force_login(user)


def sees(user, patient: Patient) -> bool:
    return Patient.objects.visible_to(user).filter(pk=patient.pk).exists()


CASES = [
    (name, role, whose)
    for name, rule in RULES.items()
    if not isinstance(rule, Public | OnHandoff)
    for role in ROLES
    for whose in (
        ("own", "foreign")
        if getattr(rule, "target", None)
        in {
            "patient",
            "event",
            "weight",
            "order",
            "pump",
            "left",
            "course",
            "cycle",
            "interruption",
            "assessment",
            "pump_event",
            "check_in",
            "bag",
            "alert",
            "checklist",
            "regimen",
        }
        else ("own",)
    )
]


@pytest.mark.parametrize(("name", "role", "whose"), CASES, ids=[f"{n}-{r}-{w}" for n, r, w in CASES])
def test_the_matrix_holds(client, world, name, role, whose):
    users, objects = world
    user, rule, target = users[role], RULES[name], objects[whose]
    if isinstance(rule, ApiRead | ApiAct | OwnRecord):
        walk_api(client, user, role, name, rule, target, whose)
        return
    sign_in(client, user)

    if isinstance(rule, Own):
        response = getattr(client, rule.method)(reverse(name))
        assert response.status_code in (200, 302), response.status_code
        return

    if isinstance(rule, Fhir):
        fill = {key: value.pk for key, value in target.items() if hasattr(value, "pk")}
        response = client.get("/fhir/R4/" + rule.path.format(**fill))
        assert response["Content-Type"].startswith("application/fhir+json")
        body = response.json()
        if not rule.patient_data:
            assert response.status_code == 200
        elif body.get("type") == "searchset":
            assert response.status_code == 200 and (body["total"] > 0) == sees(user, target["patient"])
        else:
            assert response.status_code == (200 if sees(user, target["patient"]) else 404), response.status_code
        return

    if isinstance(rule, Feed):
        response = client.get(reverse(name, args=[feed_secret(feed_key_renew(actor=user, second_step_passed=True))]))
        assert response.status_code == (200 if can_subscribe(user, rule.feed) else 403), response.status_code
        return

    if isinstance(rule, OnPlan):
        response = client.get(reverse(name, args=[target[rule.target].pk]))
        if not sees(user, target["patient"]):
            assert response.status_code == 404
        elif role in rule.roles:
            assert response.status_code == 200, response.status_code
        else:
            assert response.status_code == 403, response.status_code
        return

    if isinstance(rule, Page):
        args = [target[rule.target].pk] if rule.target else []
        response = getattr(client, rule.method)(reverse(name, args=args), rule.data)
        patient = target.get("patient") if rule.target in {"patient", "event", "alert", "cycle"} else None
        if patient is not None and not sees(user, patient):
            assert response.status_code == 404
        elif name == "admin:index":
            assert (response.status_code == 200) == user.is_staff
        elif can(user, rule.ability):
            assert response.status_code in (200, 302), response.status_code
        else:
            assert response.status_code == 403
        return

    # An action on a task or an event.
    obj = target[rule.target]
    pk = obj.pk
    fill = {"nurse": users["nurse"].pk, "version": drawn_version(obj)}
    data = {key.format(pk=pk): value.format(**fill) for key, value in rule.data.items()}
    if "covers" in data:  # the keys of what the event page lists for the override to confirm
        data["covers"] = blockers_listed(obj)
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = client.post(reverse(name, args=[pk]), data, HTTP_HX_REQUEST="true")
    logged = AuditEvent.objects.filter(id__gt=last, action=rule.audit)
    if not sees(user, target["patient"]):
        assert response.status_code == 404
        assert not logged.exists()
        return
    assert response.status_code in (200, 302)  # htmx partials answer 200, full-page forms redirect
    if whose == "own":  # the other team's patient is the outsider's own: the cast's roles apply here
        assert logged.filter(actor_id=user.pk).exists() == (role in rule.roles)


def drawn_version(obj) -> str:
    """A task's state as a page would draw it now (what undo, verify and reassign send back)."""
    return type(obj).objects.get(pk=obj.pk).state_version if hasattr(obj, "state_version") else ""


def api_headers(user) -> dict:
    """A personal token of `user` (made after both steps where their role needs them), as a header.
    Read and write: the matrix checks what each role may change, not the token's scope."""
    secret = token_create(
        user=user, name="Matrix", days=30, second_step_passed=True, actor=user, scope=PersonalToken.Scope.READ_WRITE
    )[1]
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def walk_api(client, user, role, name, rule, target, whose):
    headers = api_headers(user)
    if isinstance(rule, OwnRecord):
        if rule.kind == "token":  # on the Security page, signed in
            sign_in(client, user)
            headers = {}
            mine, theirs = (
                token_create(user=u, name="T", days=30, second_step_passed=True, actor=u)[0]
                for u in (user, UserFactory())
            )
        else:
            mine = Notification.objects.create(recipient=user, title="Yours")
            theirs = Notification.objects.create(recipient=UserFactory(), title="Someone else's")
        assert client.post(reverse(name, args=[mine.pk]), **headers).status_code in (200, 302)
        assert client.post(reverse(name, args=[theirs.pk]), **headers).status_code == 404
        return
    if isinstance(rule, ApiRead):
        url = reverse(name, args=[target[rule.target].pk] if rule.target else [])
        if name.endswith("read-all"):  # the one list action: mark all of one's notifications read
            response = client.post(url, {}, content_type="application/json", **headers)
        else:
            response = client.get(url, **headers)
        expected = 200 if not (rule.target and rule.patient_data) or sees(user, target["patient"]) else 404
        assert response.status_code == expected, (response.status_code, response.content[:300])
        return
    obj = target[rule.target]
    pk = obj.pk
    version = drawn_version(obj)
    data = {key: value.format(version=version) if isinstance(value, str) else value for key, value in rule.data.items()}
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = client.post(reverse(name, args=[pk]), data, content_type="application/json", **headers)
    logged = AuditEvent.objects.filter(id__gt=last, action=rule.audit)
    if not sees(user, target["patient"]):
        assert response.status_code == 404
        assert not logged.exists()
        return
    if whose == "own":  # the other team's patient is the outsider's own: the cast's roles apply here
        allowed = role in rule.roles
        assert (response.status_code == 200) == allowed, (response.status_code, response.content[:300])
        assert response.status_code in ((200,) if allowed else (403, 409))
        assert logged.filter(actor_id=user.pk).exists() == allowed


# --- the handoffs: both sides and the review ---------------------------------------------------


def _build_handoffs(world):
    """The world, plus a home-health agency with its nurse, and handoffs of our patient in each
    status from draft to completed (the accepted one with an open task for a nurse)."""
    users, objects = world
    patient, case_manager = objects["own"]["patient"], users["case_manager"]
    agency = make_agency(patient.unit)
    homenurse = make_home_nurse(agency)
    publish_template(
        items=[{"text": "Caregiver teach-back done"}], name="Hospital-to-home", trigger_kind="discharge_home"
    )
    past = timezone.now() - dt.timedelta(hours=3)
    handoffs = {}
    for hours, status in enumerate(["draft", "sent", "acknowledged", "accepted", "completed"], start=20):
        # Discharged a day ago (the receiving side works once the patient is home), the steps
        # taken since.
        event = make_discharge(patient, hours_ahead=-hours, with_bag_changes=False)
        complete_checklist(event, workers={"nurse": users["nurse"]}, verifier=None)
        # A nurse's task after the first home visit, due within the hours it may be marked done
        # early: the accepted handoff, its visit done, can be completed and still has a task to do.
        now = timezone.now()
        actions = [
            ActionSpec("First home visit", Role.NURSE, now - dt.timedelta(hours=4)),
            ActionSpec("Call the caregiver", Role.CASE_MANAGER, now + dt.timedelta(hours=2)),
            ActionSpec("First bag change at home", Role.NURSE, now + dt.timedelta(hours=6)),
        ]
        handoff = draft_handoff(event, case_manager, agency, actions=actions)
        steps = [
            lambda h: handoffs_svc.handoff_send(handoff=h, actor=case_manager, now=past),
            lambda h: handoffs_svc.handoff_acknowledge(handoff=h, actor=homenurse, now=past),
            lambda h: (
                handoffs_svc.handoff_accept(handoff=h, actor=homenurse, synthesis="Visit tomorrow", now=past),
                first_visit_done(h, homenurse, now=past),  # completing waits for the first home visit
            ),
            lambda h: handoffs_svc.handoff_complete(handoff=h, actor=homenurse, now=past),
        ]
        for step in steps[: ["draft", "sent", "acknowledged", "accepted", "completed"].index(status)]:
            step(handoff)
        handoffs[status] = handoff
    handoffs["action"] = handoffs["accepted"].actions.get(role="nurse", status="open")
    handoffs["patient"] = patient
    return {**users, "homenurse": homenurse}, handoffs


@contextlib.contextmanager
def matrix_world(django_db_blocker, extras=None):
    """The body of another module's module fixture: this world and its handoffs, built once in a
    layer and rolled back after the module. Yields (users by role, our patient's objects by name
    with the handoffs by status and what `extras((users, handoffs))` returns, the other team's
    patient's objects)."""
    with layer(django_db_blocker):
        world = build(django_db_blocker, lambda: _build_world(**_cast()))
        users, handoffs = build(django_db_blocker, _build_handoffs, world)
        more = build(django_db_blocker, extras, (users, handoffs)) if extras else {}
        yield users, {**world[1]["own"], **handoffs, **more}, world[1]["foreign"]


def sees_target(user, target) -> bool:
    if isinstance(target, Patient):
        return sees(user, target)
    handoff_id = getattr(target, "handoff_id", target.pk)
    return handoffs_visible_to(user).filter(pk=handoff_id).exists()


HANDOFF_CASES = [
    (name, role) for name, rule in RULES.items() if isinstance(rule, OnHandoff) for role in [*ROLES, "homenurse"]
]


class TestTheHandoffMatrix:
    """The handoff cases share the handoff layer, built once for the class (see `handoff_world`)."""

    @pytest.fixture(scope="class")
    @classmethod
    def _class_handoff_world(cls, _module_world, django_db_blocker):
        """The handoff layer, in a savepoint of the module's transaction, rolled back when the
        class's cases are done."""
        with layer(django_db_blocker):
            yield build(django_db_blocker, _build_handoffs, _module_world)

    @pytest.fixture
    def handoff_world(self, _class_handoff_world, db):
        """The world, plus a home-health agency with its nurse, and handoffs of our patient in each
        status from draft to completed. Built once for the class; this case's changes are rolled
        back after it."""
        return _class_handoff_world

    @pytest.mark.parametrize(("name", "role"), HANDOFF_CASES, ids=[f"{n}-{r}" for n, r in HANDOFF_CASES])
    def test_the_handoff_matrix_holds(self, client, handoff_world, name, role):
        users, targets = handoff_world
        user, rule, target = users[role], RULES[name], targets[RULES[name].target]
        api = name.startswith("api:")
        if api:
            client.defaults.update(api_headers(user))
        else:
            sign_in(client, user)
        url = reverse(name, args=[target.pk])

        if rule.audit is None:  # a page
            response = client.get(url)
            if not sees_target(user, target):
                assert response.status_code == 404
            else:
                assert response.status_code == (200 if role in rule.roles else 403), response.status_code
            return

        now = timezone.localtime(timezone.now(), target_patient_zone(targets)).strftime("%Y-%m-%dT%H:%M")
        if api:  # the API's times are UTC, with their offset
            now = timezone.now().isoformat()
        data = {key: value.format(now=now) for key, value in rule.data.items()}
        mine = AuditEvent.objects.filter(action=rule.audit, actor_id=user.pk)
        before, everyone_before = mine.count(), AuditEvent.objects.filter(action=rule.audit).count()
        visible = sees_target(user, target)
        if api:
            response = client.post(url, data, content_type="application/json")
        else:
            response = client.post(url, data, HTTP_HX_REQUEST="true")
        if not visible:
            assert response.status_code == 404
            assert AuditEvent.objects.filter(action=rule.audit).count() == everyone_before
        elif api:  # refused in so many words: 403, or 409 when the handoff's state refuses first
            assert response.status_code == (200 if role in rule.roles else response.status_code), response.content
            assert response.status_code in ((200,) if role in rule.roles else (403, 409)), response.content[:600]
            assert (mine.count() > before) == (role in rule.roles), response.content.decode()[:600]
        else:
            assert response.status_code == 200
            assert (mine.count() > before) == (role in rule.roles), response.content.decode()[:600]


def target_patient_zone(targets):
    return targets["patient"].unit.zone
