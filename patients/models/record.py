import datetime as dt
import math
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from accounts.db import NOW, CompiledQuery, compiled
from accounts.models import Organisation, Role, Unit, register_audit_actions, validate_phone
from accounts.permissions import CLINICIANS
from accounts.triggers import PATIENT_COLUMN, PATIENT_IS_ROW, change_trigger
from accounts.validators import validate_mrn, validate_plain_text

# The roles that see patients at all (patients.policy.VIEW_PATIENTS): through a care team, their
# unit (a coordinator) or their unit's access grant. An administrator, or a user with no role, of a
# receiving unit sees nothing through its grant (found by review: an agency's admin read the record).
PATIENT_ROLES = CLINICIANS | {Role.COORDINATOR}


class Indication(models.TextChoices):
    RELAPSED_REFRACTORY = "relapsed_refractory", "Relapsed/refractory"
    MRD_POSITIVE = "mrd_positive", "MRD-positive"
    CONSOLIDATION = "consolidation", "Consolidation"


class Setting(models.TextChoices):
    """Where an event happens: decides which checklist items apply (home vs. ward)."""

    INPATIENT = "inpatient", "Inpatient"
    CLINIC = "clinic", "Infusion clinic"
    HOME = "home", "Home"


class PatientQuerySet(models.QuerySet):
    def visible_to(self, user, *, grants: bool = True) -> "PatientQuerySet":
        """The access policy, in one place.

        Care-team members see their patients; a coordinator sees the patients of their unit;
        the clinicians and coordinators of a unit with a live access grant (a handoff's receiving
        side), and a person with one (the oncologist on call that an urgent alert reached), see
        the granted patient; everyone else, admins included, sees nothing. With grants=False: only
        the patients the user sees on the record itself (care team, unit), not through a grant.
        """
        if not user.is_authenticated or not user.is_active:
            return self.none()
        return self.filter(pk__in=visible_patient_ids(*_standing(user), grants, now=timezone.now()))


def visible_ids_query(user, *, grants: bool = True, pk: int | None = None) -> CompiledQuery | models.QuerySet | list:
    """The ids of the patients `user` sees (`visible_to`), or with `pk` only that patient's if
    they see it, as a query for a page's one statement (accounts.audit.scope_of). On PostgreSQL
    it is compiled once per reader (accounts.db.compiled): building it with the ORM cost a kept
    page more than PostgreSQL's answer."""
    if not user.is_authenticated or not user.is_active:
        return []
    standing, now = (*_standing(user), grants), timezone.now()
    if query := compiled(visible_patient_ids, *standing, NOW):
        query = query.at(now)
        return query if pk is None else query.where_id(pk)
    ids = visible_patient_ids(*standing, now=now)
    return ids if pk is None else Patient.objects.filter(pk=pk, pk__in=ids).values_list("pk", flat=True)


def _standing(user) -> tuple[int, int | None, str]:
    """All that the access policy reads of a user: who they are, their unit, their role."""
    return user.pk, user.unit_id, user.role


def visible_patient_ids(
    user_id: int, unit_id: int | None, role: str, grants: bool, now: dt.datetime
) -> models.QuerySet:
    """The ids of the patients that the user `user_id` (of `unit_id`, in `role`) sees at `now`:
    the access policy's ways in, as one query. A pure function of its arguments, so that its SQL
    may be compiled once for them (`visible_ids_compiled`).

    A care-team membership counts in the role its user holds now, as for everything done on the
    team (`CareTeamMember.objects.in_current_role`): a nurse made an administrator, who sees no
    patient, or made case manager, no longer sees the patients of their nurse's memberships until
    the coordinator adds them again."""
    # Each way in is its own query of patient ids on its own index, and the patients are those
    # of their UNION: no join of patients to care teams and grants, which PostgreSQL planned
    # as a scan, and no OR of subqueries, which it answered by reading every patient of the
    # hospital (docs/performance.md, "Dashboard load" and issue 19's third pass).
    # order_by(): no ordering inside a UNION's parts (SQLite refuses one). Flat: read in Python
    # (SQLite's scope_of), the query gives ids, not rows.
    ways_in = [
        CareTeamMember.objects.filter(user_id=user_id, role=role).order_by().values_list("patient_id", flat=True)
    ]
    if grants:
        live = AccessGrant.objects.filter(
            Q(ends_at__isnull=True) | Q(ends_at__gt=now), starts_at__lte=now, revoked_at__isnull=True
        ).order_by()
        ways_in.append(live.filter(user_id=user_id).values_list("patient_id", flat=True))
        if unit_id and role in PATIENT_ROLES:
            ways_in.append(live.filter(unit_id=unit_id).values_list("patient_id", flat=True))
    if unit_id and role == Role.COORDINATOR:
        ways_in.append(Patient.objects.filter(unit_id=unit_id).order_by().values_list("pk", flat=True))
    first, *others = ways_in
    return first.union(*others) if others else first


@register_audit_actions
class PatientAuditAction(models.TextChoices):
    """What the audit log says was done to who cares for a patient, and where (beyond create, update)."""

    CARE_TEAM_ADD = "care_team_add", "Add to care team"
    CARE_TEAM_REMOVE = "care_team_remove", "Remove from care team"
    TRANSFER = "transfer", "Transfer"
    BAG_REUSE = "bag_reuse", "Use a bag for another event"
    BAG_DISPOSE = "bag_dispose", "Return or discard a bag"


# Nobody alive was born before: an older year is a typo (year 1, 19 for 1990).
EARLIEST_BIRTH_YEAR = 1900
MRN_UNIQUE = "patient_mrn_unique_in_org"
# What registration records of a patient: the fields of its form and of the API's patient.
DEMOGRAPHICS = (
    "mrn",
    "given_name",
    "family_name",
    "birth_date",
    "sex",
    "weight_kg",
    "weight_measured_on",
    "height_cm",
    "unit",
    "caregiver_name",
    "caregiver_phone",
)


class Patient(models.Model):
    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        OTHER = "other", "Other"
        UNKNOWN = "unknown", "Unknown"

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="patients")
    mrn = models.CharField(
        "MRN", max_length=32, help_text="Medical record number, unique in the organisation.", validators=[validate_mrn]
    )
    given_name = models.CharField(max_length=100, validators=[validate_plain_text])
    family_name = models.CharField(max_length=100, validators=[validate_plain_text])
    birth_date = models.DateField()
    sex = models.CharField(max_length=10, choices=Sex.choices)
    weight_kg = models.DecimalField(
        "weight (kg)",
        max_digits=5,
        decimal_places=2,  # to 10 g, as infant scales read (patients.services.parse_weight)
        validators=[
            MinValueValidator(Decimal("0.5"), "Weight must be more than 0 kg."),
            MaxValueValidator(Decimal("300"), "Weight must be at most 300 kg."),
        ],
    )
    weight_measured_on = models.DateField("weight measured on")
    height_cm = models.DecimalField(
        "height (cm)",
        max_digits=4,
        decimal_places=1,
        validators=[
            MinValueValidator(Decimal("30"), "Height must be at least 30 cm."),
            MaxValueValidator(Decimal("250"), "Height must be at most 250 cm."),
        ],
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="patients")
    # Who to call at home, and who calls the unit: on the caregiver's handoff summary and the
    # home nurse's page.
    caregiver_name = models.CharField("caregiver's name", max_length=200, blank=True, validators=[validate_plain_text])
    caregiver_phone = models.CharField(
        "caregiver's phone",
        max_length=40,
        blank=True,
        validators=[validate_phone],
    )

    objects = PatientQuerySet.as_manager()

    class Meta:
        triggers = [change_trigger(patient=PATIENT_IS_ROW)]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "mrn"], name=MRN_UNIQUE),
            models.CheckConstraint(
                condition=Q(weight_kg__gt=0) & Q(weight_kg__lte=300), name="patient_weight_in_range"
            ),
        ]
        ordering = ["family_name", "given_name"]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name} ({self.mrn})"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def clean(self):
        today = timezone.localdate()
        errors = {}
        if self.birth_date and self.birth_date > today:
            errors["birth_date"] = "Birth date cannot be in the future."
        elif self.birth_date and self.birth_date.year < EARLIEST_BIRTH_YEAR:
            errors["birth_date"] = f"Give a birth date after {EARLIEST_BIRTH_YEAR}: {self.birth_date.year} is a typo."
        if self.weight_measured_on and self.weight_measured_on > today:
            errors["weight_measured_on"] = "The weighing date cannot be in the future."
        if self.birth_date and self.weight_measured_on and self.weight_measured_on < self.birth_date:
            errors["weight_measured_on"] = "The weighing date cannot be before the birth date."
        if errors:
            raise ValidationError(errors)

    def age_on(self, day: dt.date) -> int:
        return day.year - self.birth_date.year - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))

    @property
    def age(self) -> int:
        return self.age_on(timezone.localdate())

    @property
    def body_surface_area(self) -> Decimal:
        """Mosteller body-surface area in m², shown to the pharmacist, never used as an order."""
        bsa = math.sqrt(float(self.height_cm) * float(self.weight_kg) / 3600)
        return Decimal(f"{bsa:.2f}")


class CareTeamMemberQuerySet(models.QuerySet):
    def in_current_role(self) -> "CareTeamMemberQuerySet":
        """The memberships held in their user's current role. A membership keeps the role its user
        had when added to the team; a nurse since made case manager is not the team's nurse any more,
        nor its case manager until added again in that role: what they may do on the team, every
        policy reads from these."""
        return self.filter(role=F("user__role"))

    def who_count(self) -> "CareTeamMemberQuerySet":
        """The care team as everyone reads it (the patient page, the API, FHIR, an alert's
        recipients): a member deactivated, or added in a role they no longer hold, works no task
        and sees no patient, and is no one to page or send work to. Only the care-team page lists
        them too, marked, so that the coordinator removes them."""
        return self.filter(user__is_active=True).in_current_role()


class CareTeamMember(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="care_team")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="care_teams")
    role = models.CharField(max_length=20, choices=Role.choices)
    added_at = models.DateTimeField(default=timezone.now)

    objects = CareTeamMemberQuerySet.as_manager()

    class Meta:
        triggers = [change_trigger(patient=PATIENT_COLUMN)]
        constraints = [
            models.UniqueConstraint(fields=["patient", "user"], name="care_team_member_once"),
        ]
        ordering = ["role", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) for {self.patient}"

    @property
    def is_in_current_role(self) -> bool:
        """Added in the role its user still holds (see `CareTeamMemberQuerySet.in_current_role`)."""
        return self.role == self.user.role


class AccessGrant(models.Model):
    """A time-boxed window in which a unit's users (a handoff's receiving side), or one person
    (the oncologist on call that an urgent alert reached), see a patient.

    Opened and closed by the service of whoever needs it; read only by `visible_to`.
    """

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="access_grants")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="access_grants", null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_grants", null=True, blank=True
    )
    reason = models.CharField(max_length=200)
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty while open-ended.")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        triggers = [change_trigger(patient=PATIENT_COLUMN)]
        indexes = [
            models.Index(fields=["unit", "patient"]),
            models.Index(fields=["user", "patient"], condition=Q(user__isnull=False), name="person_grant_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(unit__isnull=True, user__isnull=False) | Q(unit__isnull=False, user__isnull=True),
                name="grant_to_a_unit_or_a_person",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit or self.user} → {self.patient} ({self.reason})"

    def is_live(self, at=None) -> bool:
        """The same rule as `visible_to`, for one grant already loaded."""
        at = at or timezone.now()
        return self.revoked_at is None and self.starts_at <= at and (self.ends_at is None or self.ends_at > at)


class Transfer(models.Model):
    """A patient moved from one unit to another by a coordinator: who, when and why.

    The record's `unit` says where the patient is; these rows say how they came there. Both
    units' coordinators are told (coordination's bell), and the change trigger logs the row."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="transfers")
    from_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    to_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=500, validators=[validate_plain_text])
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        triggers = [change_trigger(patient=PATIENT_COLUMN)]
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.patient} from {self.from_unit} to {self.to_unit} on {self.at:%Y-%m-%d}"
