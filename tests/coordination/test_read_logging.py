"""Every page of patient data logs its read: one VIEW row per GET (accounts.audit.logs_read),
naming the object in its URL and the patient, or for a list the patients or handoffs it names;
an htmx fragment of such a page too. Walked on the authorization matrix's world (its patient with
a checklist, a course with a stop and an assessment, handoffs in each status)."""

import pytest
from django.urls import resolve, reverse

from accounts.models import AuditEvent
from coordination.reminders.models import Notification
from patients.models import Patient

from ..factories import CareTeamMemberFactory, PatientFactory
from ..test_authorization_matrix import (
    RULES,
    ApiRead,
    OnHandoff,
    OnPlan,
    Page,
    api_headers,
    matrix_world,
    sign_in,
)

HTMX = {"HTTP_HX_REQUEST": "true"}

# A page of one patient: who opens it, the object in its URL, and what its row names.
PAGES = {
    "patient_detail": ("nurse", "patient", "patients.patient"),
    "patients:edit": ("nurse", "patient", "patients.patient"),
    "patients:care_team": ("coordinator", "patient", "patients.patient"),
    "patients:transfer": ("coordinator", "patient", "patients.patient"),
    "patients:assessments": ("nurse", "patient", "patients.assessments"),
    "patients:assessment_new": ("nurse", "patient", "patients.patient"),
    "patients:check_in_new": ("nurse", "patient", "patients.patient"),
    "patients:pump_event_new": ("nurse", "patient", "patients.patient"),
    "patients:assessment_confirm": ("oncologist", "assessment", "patients.assessment"),
    "alert_detail": ("nurse", "alert", "coordination.toxicityalert"),
    "patients:course_plan": ("oncologist", "patient", "patients.patient"),
    "patients:course_cycles": ("oncologist", "course", "patients.treatmentcourse"),
    "patients:course_stop": ("nurse", "course", "patients.treatmentcourse"),
    "patients:course_stop_for_good": ("oncologist", "course", "patients.treatmentcourse"),
    "patients:cycle_next_start": ("oncologist", "cycle", "patients.cycle"),
    "patients:interruption_restart": ("oncologist", "interruption", "patients.interruption"),
    "patients:interruption_restart_move": ("oncologist", "interruption", "patients.interruption"),
    "patients:event_bag": ("pharmacist", "event", "patients.careevent"),
    "patients:bag_reuse": ("pharmacist", "waiting_bag", "patients.infusionbag"),
    "patients:bag_dispose": ("pharmacist", "waiting_bag", "patients.infusionbag"),
    "event_detail": ("nurse", "event", "patients.careevent"),
    "event_reminders": ("nurse", "event", "patients.careevent"),
    "cycle_events": ("nurse", "cycle", "patients.cycle"),
    "task_reassign": ("coordinator", "weight", "checklists.task"),
    "handoff_new": ("case_manager", "patient", "patients.patient"),
    "handoff_detail": ("case_manager", "sent", "coordination.handoff"),
    "handoff_print": ("case_manager", "sent", "coordination.handoff"),
    "handoff_edit": ("case_manager", "draft", "coordination.handoff"),
}
# A page that names many: who opens it, and what its row names.
LISTS = {
    "home": ("nurse", "coordination.my_work"),
    "board": ("coordinator", "coordination.board"),
    "board_not_ready": ("coordinator", "coordination.board_not_ready"),
    "board_overdue": ("coordinator", "coordination.board_overdue"),
    "board_left_open": ("coordinator", "coordination.board_left_open"),
    "patients:list": ("nurse", "patients.list"),
    "handoff_list": ("case_manager", "coordination.handoff_list"),
    "handoff_review": ("coordinator", "coordination.handoff_review"),
    "alert_list": ("nurse", "coordination.alert_list"),
    "reports:unit": ("coordinator", "coordination.unit_report"),
    "notifications": ("nurse", "coordination.notifications"),
}
# Pages of patient data deliberately not in PAGES (none today).
NOT_YET_LOGGED: set[str] = set()
# Fragments loaded into the pages above (htmx): each a read of its own.
FRAGMENTS = [
    ("home", ""),
    ("event_detail", "?part=gate"),
    ("event_reminders", ""),
    ("cycle_events", ""),
    ("task_reassign", ""),
    ("board_not_ready", "?window=0"),
    ("board_overdue", "?role=nurse"),
    ("board_left_open", "?role=nurse"),
]


def _shows_a_patient(rule) -> bool:
    if isinstance(rule, Page):
        return rule.target in {"patient", "event", "alert", "cycle"}
    return isinstance(rule, OnPlan) or (isinstance(rule, OnHandoff) and rule.audit is None)


def test_every_page_of_a_patient_in_the_matrix_logs_its_reads():
    of_a_patient = {name for name, rule in RULES.items() if _shows_a_patient(rule)}
    walked = PAGES.keys() | API_DETAILS.keys()  # the API's, below
    assert of_a_patient - walked - NOT_YET_LOGGED == set(), "log the new page's reads (logs_read)"
    assert PAGES.keys() | LISTS.keys() <= RULES.keys()


@pytest.fixture(scope="module")
def _module_world(django_db_setup, django_db_blocker):
    """The matrix's world and its handoffs, built once for this module and rolled back after it."""
    with matrix_world(django_db_blocker) as (users, targets, _foreign):
        yield users, targets


@pytest.fixture
def world(_module_world, db):
    """Users by role, and the objects of our patient by name: its event, course, cycle, stop,
    task "weight", handoffs by status. This case's changes are rolled back after it."""
    return _module_world


def reads(**filters):
    return list(AuditEvent.objects.filter(action=AuditEvent.Action.VIEW, **filters).order_by("id"))


def get(client, name, *, args=(), query="", **headers):
    before = reads()
    response = client.get(reverse(name, args=args) + query, **headers)
    assert response.status_code == 200, (name, response.status_code)
    return reads(id__gt=before[-1].id if before else 0)


@pytest.mark.parametrize("name", PAGES)
def test_a_page_of_one_patient_logs_one_read_naming_it_and_the_patient(client, world, name):
    users, targets = world
    role, target, object_type = PAGES[name]
    sign_in(client, users[role])
    (row,) = get(client, name, args=[targets[target].pk])
    patient = targets["patient"]
    assert (row.actor_id, row.object_type, row.object_id) == (users[role].pk, object_type, str(targets[target].pk))
    assert (row.patient_id, row.outcome) == (patient.pk, AuditEvent.Outcome.SUCCESS)


@pytest.mark.parametrize(("name", "query"), FRAGMENTS)
def test_a_fragment_loaded_into_a_page_is_a_read_of_its_own(client, world, name, query):
    users, targets = world
    role, target, object_type = PAGES.get(name) or (LISTS[name][0], None, LISTS[name][1])
    sign_in(client, users[role])
    (row,) = get(client, name, args=[targets[target].pk] if target else [], query=query, **HTMX)
    assert row.object_type == object_type and row.actor_id == users[role].pk


@pytest.mark.parametrize("name", ["patients:list", "handoff_list", "handoff_review"])
def test_a_list_logs_one_read_naming_what_it_lists(client, world, name):
    users, _ = world
    role, object_type = LISTS[name]
    sign_in(client, users[role])
    (row,) = get(client, name)
    assert row.object_type == object_type and row.actor_id == users[role].pk and row.patient_id is None
    assert row.detail.get("patients") or row.detail.get("handoffs")


def test_my_work_logs_every_patient_it_names_and_its_list_the_patients_of_its_rows(client, world):
    users, targets = world
    nurse = users["nurse"]
    idle = PatientFactory(unit=targets["patient"].unit)  # on the nurse's team, without a task
    CareTeamMemberFactory(patient=idle, user=nurse, role=nurse.role)
    sign_in(client, nurse)

    (page,) = get(client, "home")
    (again,) = get(client, "home")
    (rows,) = get(client, "home", **HTMX)

    visible = sorted(Patient.objects.visible_to(nurse).values_list("pk", flat=True))
    assert visible == sorted([targets["patient"].pk, idle.pk])
    assert page.object_type == again.object_type == "coordination.my_work"
    assert page.detail == again.detail == {"patients": visible}  # the filter names each of them
    assert rows.detail == {"patients": [targets["patient"].pk]}


def test_the_board_logs_the_patients_it_shows(client, world):
    users, targets = world
    PatientFactory(unit=targets["patient"].unit)  # the unit's, with nothing late or waiting: not on the board
    sign_in(client, users["coordinator"])
    (row,) = get(client, "board")
    assert (row.object_type, row.detail) == ("coordination.board", {"patients": [targets["patient"].pk]})


def test_the_unit_report_logs_a_read_of_its_unit_naming_no_patient(client, world):
    users, targets = world
    coordinator = users["coordinator"]
    sign_in(client, coordinator)
    (row,) = get(client, "reports:unit", query="?period=7")
    assert (row.object_type, row.patient_id, row.detail["unit"]) == (
        "coordination.unit_report",
        None,
        coordinator.unit_id,
    )


def test_a_refused_look_is_not_logged_as_a_read(client, world):
    users, targets = world
    sign_in(client, users["nurse"])
    assert client.get(reverse("board")).status_code == 403
    assert client.get(reverse("task_reassign", args=[targets["weight"].pk])).status_code == 403
    assert not reads(outcome=AuditEvent.Outcome.SUCCESS, actor_id=users["nurse"].pk)


def test_a_post_is_not_logged_as_a_read(client, world):
    users, targets = world
    sign_in(client, users["oncologist"])
    response = client.post(reverse("patients:course_cycles", args=[targets["course"].pk]), {"planned_cycles": ""})
    assert response.status_code == 200  # the form again, with its error
    assert not reads(actor_id=users["oncologist"].pk)


# FHIR (coordination/fhir/): each answer is a read of its own, naming the patients it shows.
FHIR_READS = {
    "Patient/{patient}": ("fhir.Patient", True),
    "Task/task-{weight}": ("fhir.Task", True),
    "Patient/{patient}/$everything": ("fhir.Patient", True),
    "Encounter?patient={patient}": ("fhir.Encounter", False),
    "MedicationDispense/bag-{bag}": ("fhir.MedicationDispense", True),
}


@pytest.mark.parametrize("path", FHIR_READS)
def test_a_fhir_answer_logs_one_read_naming_its_patients(client, world, path):
    users, targets = world
    object_type, one_patient = FHIR_READS[path]
    sign_in(client, users["nurse"])
    before = reads()
    fill = {key: value.pk for key, value in targets.items() if hasattr(value, "pk")}
    assert client.get("/fhir/R4/" + path.format(**fill)).status_code == 200
    (row,) = reads(id__gt=before[-1].id if before else 0)
    patient = targets["patient"].pk
    assert (row.actor_id, row.object_type, row.detail["patients"]) == (users["nurse"].pk, object_type, [patient])
    assert row.patient_id == (patient if one_patient else None)


# --- the REST API: its reads of patient data are logged as the pages' are ----------------------
# (coordination.api.views.base.PatientData): one row a request, by the token's user.

API_DETAILS = {
    name: ("nurse", rule.target)
    for name, rule in RULES.items()
    if isinstance(rule, ApiRead) and rule.patient_data and rule.target
} | {"api:handoff-detail": ("case_manager", "sent")}
API_LISTS = [
    name for name, rule in RULES.items() if isinstance(rule, ApiRead) and rule.patient_data and not rule.target
]


def test_every_api_read_of_patient_data_is_walked_here():
    api_reads = {name for name in RULES if name.startswith("api:") and name.endswith(("-list", "-detail"))}
    not_patient_data = {"api:regimen-list", "api:regimen-detail"}
    own = {"api:notification-list"}  # the caller's own, naming patients: walked on its own, below
    assert api_reads - not_patient_data - own == API_DETAILS.keys() | set(API_LISTS)


@pytest.mark.parametrize("name", API_DETAILS)
def test_an_api_read_of_one_record_logs_one_row_naming_it_and_the_patient(client, world, name):
    users, targets = world
    role, target = API_DETAILS[name]
    user, record = users[role], targets[target]
    (row,) = get(client, name, args=[record.pk], **api_headers(user))
    audit_type = resolve(reverse(name, args=[record.pk])).func.cls.audit_type
    assert (row.actor_id, row.object_type, row.object_id) == (user.pk, audit_type, str(record.pk))
    assert (row.patient_id, row.outcome) == (targets["patient"].pk, AuditEvent.Outcome.SUCCESS)


@pytest.mark.parametrize("name", API_LISTS)
def test_a_page_of_an_api_list_logs_one_row_naming_the_patients_it_shows(client, world, name):
    users, targets = world
    nurse = users["nurse"]
    (row,) = get(client, name, **api_headers(nurse))
    basename = name.removeprefix("api:").removesuffix("-list")
    assert (row.actor_id, row.object_type, row.patient_id) == (nurse.pk, f"api.{basename}", None)
    assert row.detail == {"patients": [targets["patient"].pk]}


def test_an_api_read_refused_is_logged_as_denied_not_as_a_read(client, world):
    users, targets = world
    outsider = users["outsider"]
    response = client.get(reverse("api:task-detail", args=[targets["weight"].pk]), **api_headers(outsider))
    assert response.status_code == 404
    assert not reads(actor_id=outsider.pk, outcome=AuditEvent.Outcome.SUCCESS)
    assert reads(actor_id=outsider.pk, outcome=AuditEvent.Outcome.DENIED, object_id=str(targets["weight"].pk))


# --- the bell's notifications: their titles name patients (name, MRN, a grade of CRS) ------------


def test_the_notifications_page_and_the_api_list_log_the_patients_they_name(client, world):
    users, targets = world
    nurse, patient = users["nurse"], targets["patient"]
    Notification.objects.create(recipient=nurse, title=f"Grade 4 cytokine release syndrome: {patient}", patient=patient)
    Notification.objects.create(recipient=nurse, title="Your reminder settings changed")  # names nobody
    sign_in(client, nurse)

    (page,) = get(client, "notifications")
    (api,) = get(client, "api:notification-list", **api_headers(nurse))

    assert (page.actor_id, page.object_type, page.patient_id) == (nurse.pk, "coordination.notifications", None)
    assert (api.actor_id, api.object_type, api.patient_id) == (nurse.pk, "api.notification", None)
    assert page.detail == api.detail == {"patients": [patient.pk]}


def test_marking_one_notification_read_through_the_api_answers_its_title_and_logs_the_read(client, world):
    users, targets = world
    nurse, patient = users["nurse"], targets["patient"]
    named = Notification.objects.create(recipient=nurse, title=f"Due: {patient} ({patient.mrn})", patient=patient)
    nobody = Notification.objects.create(recipient=nurse, title="Your reminder settings changed")
    before = reads()[-1].id if reads() else 0

    response = client.post(reverse("api:notification-read", args=[named.pk]), **api_headers(nurse))
    assert response.status_code == 200 and patient.mrn in response.json()["title"]
    (row,) = reads(id__gt=before)
    assert (row.actor_id, row.object_type, row.object_id) == (nurse.pk, "coordination.notification", str(named.pk))
    assert (row.patient_id, row.outcome) == (patient.pk, AuditEvent.Outcome.SUCCESS)

    response = client.post(reverse("api:notification-read", args=[nobody.pk]), **api_headers(nurse))
    assert response.status_code == 200
    assert reads(id__gt=row.id)[0].patient_id is None  # a read still, of nobody


def test_the_bells_count_names_nobody_and_is_no_read(client, world):
    users, targets = world
    nurse, patient = users["nurse"], targets["patient"]
    Notification.objects.create(recipient=nurse, title=f"Overdue: {patient}", patient=patient)
    sign_in(client, nurse)
    response = client.get(reverse("notification_bell"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert patient.family_name not in response.text and patient.mrn not in response.text  # a count, no name
    assert get(client, "notification_bell") == []
