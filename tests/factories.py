import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import Organisation, Role, Unit, User
from patients.models import CareTeamMember, Indication, Patient, RegimenVersion, TreatmentCourse

TEST_PASSWORD = "test-Pass-word-1"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ["name"]

    name = "Test Hospital"


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Ward {n}")
    kind = Unit.Kind.INPATIENT_WARD
    time_zone = "America/New_York"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    role = Role.NURSE
    unit = factory.SubFactory(UnitFactory)
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def save_password(self, create, extracted, **kwargs):
        if create:
            self.save()


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    organisation = factory.SelfAttribute("unit.organisation")
    unit = factory.SubFactory(UnitFactory)
    mrn = factory.Sequence(lambda n: f"MRN{n:06d}")
    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    birth_date = dt.date(1970, 5, 17)
    sex = Patient.Sex.FEMALE
    weight_kg = Decimal("70.0")
    weight_measured_on = factory.LazyFunction(timezone.localdate)
    height_cm = Decimal("170.0")


def with_unmistakable_names(patient: Patient) -> Patient:
    """The patient renamed to names that no other text of a page, email or feed holds: a test that
    a name is absent cannot then fail on a generated "Ward" in a unit's name, or on a user who
    happens to share the patient's generated family name."""
    patient.given_name, patient.family_name = "Zephyrine", "Quillfeather"
    patient.save(update_fields=["given_name", "family_name"])
    return patient


class CareTeamMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CareTeamMember

    patient = factory.SubFactory(PatientFactory)
    user = factory.SubFactory(UserFactory)
    role = factory.SelfAttribute("user.role")


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TreatmentCourse

    patient = factory.SubFactory(PatientFactory)
    indication = Indication.RELAPSED_REFRACTORY
    planned_cycles = 2
    start_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=1))
    bag_hours = 48
    regimen_version = factory.LazyAttribute(
        lambda course: RegimenVersion.objects.get(regimen__indication=course.indication, status="published")
    )
