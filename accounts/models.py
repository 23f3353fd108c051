import zoneinfo
from functools import cached_property

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models


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


class Organisation(models.Model):
    name = models.CharField(max_length=200, unique=True)

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

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="unit_name_unique_in_org"),
        ]
        ordering = ["organisation__name", "name"]

    def __str__(self) -> str:
        return self.name

    @cached_property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class User(AbstractUser):
    """A member of staff. Admins are `is_staff`; clinicians carry a role and a home unit."""

    role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="members")

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username
