import datetime as dt
import zoneinfo
from functools import cached_property

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.fields.json import KT
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .triggers import AUDIT_LOG_TRIGGERS, SEAL_TRIGGERS, change_trigger


class Role(models.TextChoices):
    """The clinical roles, one set of choices used by every app."""

    PHARMACIST = "pharmacist", "Pharmacist"
    NURSE = "nurse", "Nurse"
    ONCOLOGIST = "oncologist", "Oncologist"
    CASE_MANAGER = "case_manager", "Case manager"
    COORDINATOR = "coordinator", "Coordinator"


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a known time zone (for example Europe/Paris).")


validate_phone = RegexValidator(
    r"^\+?[0-9 ()./-]{6,40}$", "Give a phone number: digits and spaces, with + ( ) . / - if needed."
)


class Organisation(models.Model):
    name = models.CharField(max_length=200, unique=True)

    class Meta:
        # Access follows it: a grant opens only within the patient's organisation, and an oncologist
        # on call comes from the unit's. A change is logged.
        triggers = [change_trigger(patient=None)]

    def __str__(self) -> str:
        return self.name


class Unit(models.Model):
    class Kind(models.TextChoices):
        INPATIENT_WARD = "inpatient_ward", "Inpatient ward"
        INFUSION_CLINIC = "infusion_clinic", "Infusion clinic"
        HOME_HEALTH = "home_health", "Home-health agency"

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="units")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    phone_24h = models.CharField(
        "24/7 number",
        max_length=40,
        blank=True,
        validators=[validate_phone],
        help_text="The unit's number that answers day and night.",
    )
    on_call_phone = models.CharField(
        "on-call number",
        max_length=40,
        blank=True,
        validators=[validate_phone],
        help_text="The number that reaches the doctor on call.",
    )
    # Office hours on weekdays, on the unit's clock: what happens outside them is marked "out of hours".
    office_opens = models.TimeField("office hours from", default=dt.time(8))
    office_closes = models.TimeField("office hours until", default=dt.time(18))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="unit_name_unique_in_org"),
        ]
        ordering = ["organisation__name", "name"]
        # Pages show units' names and times in their zones: a change is logged, and so moves on
        # the version that kept pages are keyed by (accounts.audit.change_version).
        triggers = [change_trigger(patient=None)]

    def __str__(self) -> str:
        return self.name

    @cached_property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def clock_label(self) -> str:
        """The unit's clock in words a nurse reads at a glance: "New York time (EST)", the
        abbreviation of the moment (it changes with daylight saving); "UTC" for UTC."""
        now = timezone.localtime(timezone.now(), zoneinfo.ZoneInfo(self.time_zone)).tzname() or ""
        if "/" not in self.time_zone:
            return now or self.time_zone
        city = self.time_zone.rsplit("/", 1)[-1].replace("_", " ")
        return f"{city} time ({now})" if now and not now.startswith(("+", "-")) else f"{city} time"

    def is_out_of_hours(self, moment: dt.datetime) -> bool:
        """Outside the unit's weekday office hours, on its clock (weekends are out of hours)."""
        local = timezone.localtime(moment, self.zone)
        return local.weekday() >= 5 or not self.office_opens <= local.time() < self.office_closes


class User(AbstractUser):
    """A member of staff. Admins are `is_staff`; clinicians carry a role and a home unit."""

    role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="members")
    # Part of every session's auth hash: raising it ends all of the user's sessions (sign-out,
    # deactivation), because Django flushes a session whose stored hash no longer matches.
    session_epoch = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["username"]
        # Who may do what changes with these rows: every change is logged, passwords never are.
        triggers = [change_trigger(patient=None, ignore=("password", "last_login", "session_epoch"), permissions=True)]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def _get_session_auth_hash(self, secret=None):
        """The session hash of `get_session_auth_hash()` (and its SECRET_KEY_FALLBACKS variants),
        over the password and the session epoch instead of the password alone."""
        key_salt = "accounts.User.get_session_auth_hash"
        value = f"{self.password}|{self.session_epoch}"
        return salted_hmac(key_salt, value, secret=secret, algorithm="sha256").hexdigest()


_DOMAIN_AUDIT_ACTIONS: list[type[models.TextChoices]] = []


def register_audit_actions(actions: type[models.TextChoices]) -> type[models.TextChoices]:
    """Add an app's verbs (a TextChoices class) to those the audit log names; usable as a class decorator."""
    taken = {value for value, _ in audit_action_choices()}
    if clash := taken & set(actions.values):
        raise ValueError(f"Audit actions already registered: {', '.join(sorted(clash))}")
    _DOMAIN_AUDIT_ACTIONS.append(actions)
    return actions


def audit_action_choices() -> list[tuple[str, str]]:
    """Every verb of the audit log: its own (AuditEvent.Action) and those the apps registered."""
    return [*AuditEvent.Action.choices, *(choice for actions in _DOMAIN_AUDIT_ACTIONS for choice in actions.choices)]


# Records renamed since the log began: {the name its rows were written with: its name now}. The log
# keeps the names it was written with (append-only and sealed: a rewritten row would fail
# `audit_verify`), so its page shows the name now beside an old one. Each app registers its own
# (this app knows nothing of theirs), as with the verbs above.
_RENAMED_RECORDS: dict[str, str] = {}


def register_renamed_records(renamed: dict[str, str]) -> None:
    """Say that audit rows naming a key (a table, as the change triggers write it, or an app label,
    as the reads do) are of the record now named by its value."""
    if clash := {old for old, new in renamed.items() if _RENAMED_RECORDS.get(old, new) != new}:
        raise ValueError(f"Audit record names already mapped elsewhere: {', '.join(sorted(clash))}")
    _RENAMED_RECORDS.update(renamed)


# Rows of the audit log that record no change to the data: looks, exports and sign-ins.
READ_ACTIONS = ("view", "export", "login", "logout", "login_failed", "lockout")


class AuditEvent(models.Model):
    """One row of the append-only audit log: who did what to which record, when, from where.

    Rows are written by `accounts.audit` (reads, sign-ins, exports) and by database triggers
    (every insert, update and delete of patient data, bulk updates included). On PostgreSQL
    the application's role may only insert and read this table, a trigger refuses UPDATE and
    DELETE whatever the session says, and each row names its writing transaction (`xid`), by
    which the sealer chains it, with a keyed hash, into `AuditSeal` (`accounts.audit_seal`).
    The patient is named by id, not by foreign key, so that the log outlives any record.
    """

    class Action(models.TextChoices):
        VIEW = "view", "View"
        CREATE = "create", "Create"
        UPDATE = "update", "Update"
        DELETE = "delete", "Delete"
        # Completing is said of tasks and of handoffs alike.
        COMPLETE = "complete", "Complete"
        EXPORT = "export", "Export"
        LOGIN = "login", "Sign-in"
        LOGOUT = "logout", "Sign-out"
        LOGIN_FAILED = "login_failed", "Failed sign-in"
        LOCKOUT = "lockout", "Lockout"
        PERMISSION_CHANGE = "permission_change", "Permission change"
        # A read-only API token sent with a change: the credential was good, the request was not
        # for it. Always denied, so never counted as a change (the successes outside READ_ACTIONS).
        TOKEN_WRITE_REFUSED = "token_write_refused", "Write refused (read-only token)"

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILURE = "failure", "Failure"
        DENIED = "denied", "Denied"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_username = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=20, blank=True)
    # The verbs above are the log's own; each app adds those of its domain (complete, send…)
    # with `register_audit_actions`, so that this app knows nothing of the features above it.
    action = models.CharField(max_length=20, choices=audit_action_choices)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    patient_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.SUCCESS)
    detail = models.JSONField(default=dict, blank=True)
    # The writing transaction's id, set by the database (trigger `audit_stamp`); null on rows
    # written before it existed, which were sealed first.
    xid = models.BigIntegerField(null=True, blank=True, editable=False, db_index=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["action", "at"], name="audit_action_at_idx"),
            # The changes not sealed yet, counted from this index alone (accounts.audit.change_version).
            models.Index(
                fields=["xid"],
                name="audit_change_xid_idx",
                condition=models.Q(outcome="success") & ~models.Q(action__in=READ_ACTIONS),
            ),
            # The rare outcomes (failures, refusals: a row in a thousand), newest first, for the log's
            # outcome filter: without it a page walked the whole log down from its newest row until it
            # had found a page of them (docs/performance.md, "The audit log's pages").
            models.Index(fields=["outcome", "id"], name="audit_outcome_id_idx", condition=~models.Q(outcome="success")),
            # The user filter's three conditions, newest first, each by its own index: what a name did,
            # and the sign-ins that failed as it (no actor: the name tried, or a refused token's
            # user). Their OR walked the whole log for a name that did nothing (docs/performance.md,
            # "The audit log's pages"); the page reads the union of the three (accounts.paging.Arms).
            models.Index(Upper("actor_username"), "id", name="audit_actor_name_id_idx"),
            models.Index(
                Upper(KT("detail__username")), "id", name="audit_tried_name_id_idx", condition=models.Q(actor_id=None)
            ),
            models.Index(
                fields=["object_id", "id"],
                name="audit_refused_user_id_idx",
                condition=models.Q(actor_id=None, object_type="accounts.user"),
            ),
        ]
        triggers = AUDIT_LOG_TRIGGERS

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_username or 'system'} {self.action} {self.object_type}"

    @property
    def object_type_now(self) -> str:
        """The record's name now when it was renamed after this row was written ("" when it was not)."""
        return _RENAMED_RECORDS.get(self.object_type, "")


class AuditSeal(models.Model):
    """An audit row's place in the keyed hash chain (`accounts.audit_seal`).

    `hash` is an HMAC-SHA256, with a key that the database never sees, over the previous
    position's hash and the row's content: whoever can write the database can neither alter a
    sealed row nor recompute the chain without it being found by `manage.py audit_verify`.
    """

    position = models.BigIntegerField(primary_key=True)
    event_id = models.BigIntegerField(unique=True)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["position"]
        triggers = SEAL_TRIGGERS

    def __str__(self) -> str:
        return f"#{self.position}: audit row {self.event_id}"


class PatientChangeCount(models.Model):
    """How many committed changes the audit log holds for one patient, below the sealer's last
    horizon (`patient_id` 0: the records of no patient: users, units, templates, rules). Written by
    the sealer alone, in the pass that moves the horizon (`accounts.audit_seal`): the base of
    `accounts.audit.change_version` for a reader's patients, so that a page kept for them moves on
    with their changes and only theirs."""

    patient_id = models.BigIntegerField(primary_key=True)
    changes = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"patient {self.patient_id}: {self.changes} changes sealed"


class AuditSealRun(models.Model):
    """One pass of the sealer that sealed rows: the chain's head after it (`position`, `head`),
    and its horizon, the oldest transaction then running: every audit row of a transaction below
    it is sealed, and `changes` of them record a change (the base of
    `accounts.audit.change_version`)."""

    horizon = models.BigIntegerField()
    position = models.BigIntegerField()
    head = models.CharField(max_length=64)
    changes = models.BigIntegerField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        triggers = SEAL_TRIGGERS

    def __str__(self) -> str:
        return f"sealed up to #{self.position} at {self.at:%Y-%m-%d %H:%M:%S}"


class PersonalToken(models.Model):
    """A personal API token: a program acting as its user, with the user's role and access
    (issue 17). Made, named and revoked on the Security page; the secret is shown once and
    only its SHA-256 is kept (accounts.services.token_create)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What uses it, for example “Infusion agency sync”.")
    # The first characters of the secret, shown in the list so that a user can tell tokens apart.
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Made in a session that had passed the second sign-in step: a role that requires the step
    # (staff, coordinators) accepts only such tokens, also when the role came after the token.
    with_second_step = models.BooleanField(default=False)

    class Scope(models.TextChoices):
        # What a token may do with its user's access: a feed that only reads cannot complete,
        # claim or undo anything if it leaks. Enforced for every API view by accounts.api_auth.
        READ = "read", "Read only"
        READ_WRITE = "read_write", "Read and write"

    # Tokens made before scopes existed keep acting as their user (migration 0016 makes them
    # read and write); a token made without a choice reads only.
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.READ)

    class Meta:
        ordering = ["-created_at", "-id"]
        # Made and revoked tokens are logged; the hash never is, nor each use.
        triggers = [change_trigger(patient=None, ignore=("key_hash", "last_used_at"))]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_live(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at

    @property
    def writes(self) -> bool:
        return self.scope == self.Scope.READ_WRITE
