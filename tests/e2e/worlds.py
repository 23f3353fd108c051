"""The data that the browser tests walk through: a small infusion start, or the whole demo ward."""

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from accounts.models import User
from checklists.models import ChecklistTemplate, TemplateVersion
from checklists.services import checklists_instantiate, template_version_new_draft
from checklists.starter import BAG_OPTIONS
from coordination.demo import seed_demo
from coordination.models import Notification
from patients.models import CareEvent, Patient

from ..checklists.helpers import make_event, publish_template
from ..database_helpers import TableSnapshot
from ..factories import TEST_PASSWORD

_demo_snapshot = TableSnapshot("e2e_demo_ward")

# --- a short pre-infusion checklist, in the words of the starter library --------------------

WEIGHT = "Weight"
BASELINE = "Baseline neurological and CRS assessment recorded"
PUMP = "Pump programmed at the label rate and locked; independent double-check"
ORDER = "Blinatumomab order verified"
BAG = "Bag duration and preservative on the pharmacy label"
CLEAR = "Clear to start the infusion"

PRE_INFUSION = [
    {
        "text": WEIGHT,
        "response_kind": "number",
        "unit": "kg",
        "min_value": 1,
        "max_value": 300,
        "due_offset_minutes": -180,
    },
    {"text": BASELINE, "response_kind": "text", "due_offset_minutes": -60},
    {"text": PUMP, "needs_verification": True, "verifier_role": "nurse", "due_offset_minutes": -15},
    {"text": ORDER, "role": "pharmacist", "section": "Pharmacy", "due_offset_minutes": -120},
    {"text": BAG, "role": "pharmacist", "section": "Pharmacy", "response_kind": "choice", "choices": BAG_OPTIONS},
    {
        "text": CLEAR,
        "role": "oncologist",
        "section": "Oncology",
        "response_kind": "attestation",
        "due_offset_minutes": -30,
    },
]


def infusion_start(patient) -> CareEvent:
    """Cycle 1 starts in four hours with the pre-infusion checklist above.

    The starter's own cycle 1 template is longer and orders the roles by its dependencies
    (oncologist, then pharmacist, then nurse); this one lets each role do its part in turn.
    """
    publish_template(items=PRE_INFUSION, name="Cycle 1 start: before the infusion")
    planned_at = timezone.now() + dt.timedelta(hours=4)
    day_one = timezone.localtime(planned_at, patient.unit.zone).date()
    event = make_event(patient, planned_at=planned_at, start_date=day_one)
    checklists_instantiate(events=[event])
    return event


# --- the demo ward: what people see on every page --------------------------------------------


@dataclass
class DemoWard:
    """The path of every main page on `seed_demo`'s ward, whose users sign in with TEST_PASSWORD."""

    patient: str  # Bruno Keller, in hospital on day 5 of cycle 1
    event: str  # Alice Moreau's cycle 1 start tomorrow: the starter checklist, all open
    template: str  # the starter's cycle 1 template
    template_version: str  # its published version
    template_draft: str  # a new draft of it, in the editor
    template_item: str  # the editor of the draft's weight item
    template_preview: str
    template_compare: str
    login: str = "/accounts/login/"
    my_work: str = "/"
    patients: str = "/patients/"
    patient_form: str = "/patients/new/"
    notifications: str = "/notifications/"
    board: str = "/board/"
    templates: str = "/templates/"
    security: str = "/accounts/security/"
    audit_log: str = "/audit/"


def demo_ward() -> DemoWard:
    """The demo hospital, seeded once per test process (10–20 s on the shared machine) and copied
    back for each later test that asks for it: browser tests are transactional (the live server
    reads committed rows), so their tables are emptied after each test."""
    if not _demo_snapshot.restore():
        seed_demo(password=TEST_PASSWORD)
        alice = Patient.objects.get(mrn="RUH100001")
        start = CareEvent.objects.get(patient=alice, kind=CareEvent.Kind.CYCLE_START, cycle__number=1)
        Notification.objects.create(
            recipient=User.objects.get(username="nurse"),
            title="Weight due in 2 hours",
            body=f"{alice.full_name}: cycle 1 start",
            link=f"/events/{start.pk}/",
        )
        template = ChecklistTemplate.objects.get(name="Cycle 1 start (inpatient)")
        template_version_new_draft(template=template, actor=User.objects.get(username="admin"))
        _demo_snapshot.take()
    alice = Patient.objects.get(mrn="RUH100001")
    bruno = Patient.objects.get(mrn="RUH100002")
    start = CareEvent.objects.get(patient=alice, kind=CareEvent.Kind.CYCLE_START, cycle__number=1)
    template = ChecklistTemplate.objects.get(name="Cycle 1 start (inpatient)")
    published = template.versions.get(status=TemplateVersion.Status.PUBLISHED)
    draft = template.versions.get(status=TemplateVersion.Status.DRAFT)
    return DemoWard(
        patient=f"/patients/{bruno.pk}/",
        event=f"/events/{start.pk}/",
        template=f"/templates/{template.pk}/",
        template_version=f"/templates/versions/{published.pk}/",
        template_draft=f"/templates/versions/{draft.pk}/edit/",
        template_item=f"/templates/items/{draft.items.get(text='Weight (kg)').pk}/edit/",
        template_preview=f"/templates/versions/{published.pk}/preview/",
        template_compare=f"/templates/versions/compare/?a={published.pk}&b={draft.pk}",
    )
