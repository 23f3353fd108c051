import datetime as dt
import hashlib
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Fieldset, Layout, Submit
from django import forms

from accounts import moments
from accounts.fields import ClinicalDateField, LocalDateTimeField
from accounts.models import Role, Unit, User

from .grading import ICE_FROM_AGE_YEARS, screened_with_capd
from .models import (
    DEMOGRAPHICS,
    MAX_PLANNED_CYCLES,
    Assessment,
    BagOption,
    CareEvent,
    HomeCheckIn,
    InfusionBag,
    Interruption,
    Patient,
    PumpEvent,
    RegimenVersion,
    Setting,
    TreatmentCourse,
)
from .models.toxicity import GRADES, ICE_PARTS
from .services.interruptions import KIND_NEEDED_FROM_GRADE
from .services.team import CLINICAL_UNITS, care_team_candidates
from .services.weighings import parse_weight
from .warning_signs import WARNING_SIGNS
from .weights import weight_shown

DUPLICATE_MRN = "Another patient of this organisation already has this MRN."


def record_version(patient: Patient) -> str:
    """What the record's form shows of it, as one short fingerprint: the edit form carries the one
    it was drawn from, and its save is refused if the record changed since (patients.views)."""
    values = "\x1f".join(str(patient.serializable_value(name)) for name in DEMOGRAPHICS)
    return hashlib.sha256(values.encode()).hexdigest()[:32]


# Django's own words for a number beyond its field's digits or bounds ("Ensure that there are no
# more than 3 digits before the decimal point", "Ensure this value is less than or equal to 300"):
# the field's limits said instead, in the words that help a nurse correct the number.
OUT_OF_LIMITS = ("max_digits", "max_whole_digits", "max_decimal_places", "max_value", "min_value")
TEMPERATURE_LIMITS = "A body temperature, 25–45 °C or 77–113 °F, with one decimal at most, for example 38.5."


def say_limits(form: forms.BaseForm, **messages: str) -> None:
    """Each named field of `form` refuses a number out of its limits with its message."""
    for name, message in messages.items():
        if name in form.fields:
            form.fields[name].error_messages.update(dict.fromkeys(OUT_OF_LIMITS, message))


# A date picker takes its value as YYYY-MM-DD only: the site's own format (en-gb, 02/04/1968) is
# dropped by the browser, so a record opened for editing showed its dates empty, to be typed again.
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def offer_tick(form: forms.Form, *, asked: tuple[str, str], tick: str, label: str) -> None:
    """A question about a typed value (a weight far from the one before, a low systolic): its hidden
    field `asked[0]` now holds the value asked about (`asked[1]`), and the tick `tick` is offered,
    unticked, with `label`. The tick confirms only that value: a value typed again is asked again."""
    name, value = asked
    form.data = form.data.copy()
    form.data[form.add_prefix(name)] = value
    form.data.pop(form.add_prefix(tick), None)
    form.fields[tick] = forms.BooleanField(required=False, label=label)
    form._bound_fields_cache.pop(tick, None)  # drawn from the new field, not the hidden one


class PatientForm(forms.ModelForm):
    """Registration and demographics; the model's validators and clean() give each field its message."""

    # Two people editing one record: the form opened before the other's save would send back
    # the values it showed and write them over the other's (changed_data compares with the
    # record as it is at the save). Empty from a client that never drew the form.
    loaded = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    # Any number here: its limits and decimals are the weighings' one rule (clean_weight_kg), so that
    # the record's form and a checklist's weight take and refuse the same weights.
    weight_kg = forms.DecimalField(label="Weight (kg)", widget=forms.NumberInput(attrs={"step": "0.01"}))
    # The typo guard for a weight (patients.services.weight_change_question): a weight far from the
    # weighing before it is asked about at its field, and taken when "… kg is right" is ticked,
    # for the very weight that was asked about (`weight_confirmed` carries it).
    weight_confirmed = forms.CharField(widget=forms.HiddenInput, required=False, max_length=20)
    weight_is_right = forms.BooleanField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Patient
        fields = DEMOGRAPHICS
        widgets = {"birth_date": DATE_INPUT, "weight_measured_on": DATE_INPUT}
        # Too many digits (17000 for 170.00 cm) is refused by the form before the model's limits
        # run, in Django's words ("no more than 4 digits in total"): say the limit instead.
        error_messages = {
            name: dict.fromkeys(("max_digits", "max_whole_digits", "max_decimal_places"), message)
            for name, message in (
                ("height_cm", "Height must be 30–250 cm, with one decimal at most, for example 172.5."),
            )
        }

    def __init__(self, *args, organisation, units, **kwargs):
        """`units`: where a new patient may be registered. An existing record keeps its unit:
        moving a patient is a transfer (patients.services.patient_transfer)."""
        super().__init__(*args, **kwargs)
        self.instance.organisation = organisation
        if units is None:
            del self.fields["unit"]
        else:
            self.fields["unit"].queryset = units
            self.fields["unit"].empty_label = "Choose the unit"
        if self.instance.pk:
            self.fields["loaded"].initial = record_version(self.instance)
            # 70, not the column's 70.00: the same value, as the scale showed it.
            self.initial["weight_kg"] = Decimal(f"{self.instance.weight_kg.normalize():f}")
        else:
            # A new record's weight is its first weighing: there is nothing before it to differ from.
            for name in ("loaded", "weight_confirmed", "weight_is_right"):
                del self.fields[name]
        # Words, not Django's "---------", for the choice not made yet.
        self.fields["sex"].choices = [("", "Choose"), *Patient.Sex.choices]
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Save"))

    def ask_about_weight(self, question: str) -> None:
        """The weight typed differs too much from the one before: the question at its field, and a
        tick to take that very weight."""
        typed = self.cleaned_data["weight_kg"]
        self.add_error("weight_kg", question)
        offer_tick(
            self,
            asked=("weight_confirmed", f"{typed.normalize():f}"),
            tick="weight_is_right",
            label=f"{weight_shown(typed)} is right: take it as the patient's weight",
        )

    @property
    def weight_is_confirmed(self) -> bool:
        """The user ticked "… kg is right" for the weight now typed (not one asked about before)."""
        data, typed = self.cleaned_data, self.cleaned_data.get("weight_kg")
        if not data.get("weight_is_right") or typed is None:
            return False
        try:  # the same weight however it is written: 40, 40.0, 40.00
            return Decimal(data.get("weight_confirmed") or "") == typed
        except InvalidOperation:
            return False

    def clean_weight_kg(self):
        """The weighings' one rule (parse_weight): 0.5 to 300 kg, to 10 g, never rounded."""
        try:
            return parse_weight(self.cleaned_data["weight_kg"])
        except forms.ValidationError as error:
            raise forms.ValidationError(error.message_dict["weight_kg"]) from None

    def clean_mrn(self):
        mrn = self.cleaned_data["mrn"].strip().upper()
        duplicate = Patient.objects.filter(organisation=self.instance.organisation, mrn=mrn)
        if self.instance.pk:
            duplicate = duplicate.exclude(pk=self.instance.pk)
        if duplicate.exists():
            raise forms.ValidationError(DUPLICATE_MRN)
        return mrn


# --- the course plan: forms validate the input; the services in patients/services act ---------


def _helper(submit: str) -> FormHelper:
    helper = FormHelper()
    helper.add_input(Submit("submit", submit))
    return helper


def unit_time(label: str, zone_name: str, **kwargs) -> forms.DateTimeField:
    """A date and time on the unit's clock (the view activates the unit's zone while validating)."""
    kwargs.setdefault("help_text", f"{zone_name}.")
    return LocalDateTimeField(label=label, **kwargs)


class CoursePlanForm(forms.Form):
    indication = forms.ChoiceField(help_text="Sets the regimen: step-up, rests, days in hospital, premedication.")
    start_date = ClinicalDateField(label="Day 1 of cycle 1", widget=DATE_INPUT)
    planned_cycles = forms.IntegerField(label="Cycles planned", min_value=1, max_value=MAX_PLANNED_CYCLES)
    inpatient_bag_hours = forms.TypedChoiceField(
        label="Bag in hospital", coerce=int, initial=TreatmentCourse._meta.get_field("inpatient_bag_hours").default
    )
    bag_hours = forms.TypedChoiceField(label="Bag outside hospital", coerce=int)
    outpatient_setting = forms.ChoiceField(
        label="After the days in hospital", choices=[(Setting.HOME, "Home"), (Setting.CLINIC, "Infusion clinic")]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        versions = RegimenVersion.objects.filter(status=RegimenVersion.Status.PUBLISHED).select_related("regimen")
        self.fields["indication"].choices = [
            (v.regimen.indication, f"{v.regimen.get_indication_display()}: {_limit(v)}") for v in versions
        ]
        bags = [(option.duration_hours, str(option)) for option in BagOption.objects.filter(active=True)]
        self.fields["inpatient_bag_hours"].choices = self.fields["bag_hours"].choices = bags
        self.helper = _helper("Plan the course")


def _limit(version: RegimenVersion) -> str:
    cycles = f"up to {version.max_cycles} cycles" if version.max_cycles else "cycles set by the protocol"
    step_up = f"step-up on day {version.step_up_day}" if version.has_step_up else "no step-up"
    return f"{cycles}, {step_up} (v{version.number})"


class CyclesForm(forms.Form):
    planned_cycles = forms.IntegerField(label="Cycles planned", min_value=1, max_value=MAX_PLANNED_CYCLES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Change the plan")


class NextStartForm(forms.Form):
    next_start_date = ClinicalDateField(label="Next cycle starts on", widget=DATE_INPUT)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Set the next start")


class StopForm(forms.Form):
    cause = forms.ChoiceField(choices=Interruption.Cause.choices, widget=forms.RadioSelect)
    toxicity_grade = forms.TypedChoiceField(
        label="Grade of the reaction",
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Not graded yet / not a reaction")] + [(g, f"Grade {g}") for g in (1, 2, 3, 4)],
    )
    toxicity_kind = forms.ChoiceField(
        label="Kind of toxicity",
        required=False,
        choices=[("", "Not a reaction / not known yet")] + list(Interruption.ToxicityKind.choices),
        help_text="Needed for grade 3 or 4: the label's rules for a restart differ for each kind.",
    )
    detail = forms.CharField(label="What happened", max_length=500, required=False)

    def __init__(self, *args, zone_name: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields = {"stopped_at": unit_time("Stopped at", zone_name), **self.fields}
        self.helper = _helper("Record the stop")


class RestartForm(forms.Form):
    """The restart's time; after a reaction of grade 3 or more also when it resolved (and its kind,
    for a stop recorded without one), which the regimen's limits on a restart read (an "other"
    grade 4 follows the other reactions' rule)."""

    def __init__(self, *args, zone_name: str, interruption: Interruption, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["restarted_at"] = unit_time("Restarts at (done or planned)", zone_name)
        if (interruption.toxicity_grade or 0) >= KIND_NEEDED_FROM_GRADE:
            version = interruption.course.regimen_version
            self.fields["resolved_at"] = unit_time(
                "Grade 1 or less since",
                zone_name,
                required=False,
                help_text=f"{zone_name}. Needed after neurological toxicity and other reactions: the label "
                f"stops for good one that took more than {version.neurological_resolve_within_days} days "
                f"(neurological) or {version.other_toxicity_resolve_within_days} days (other) to resolve, and "
                f"restarts after {version.restart_after_resolved_days} days at grade 1 or less "
                f"(regimen version {version.number}: {version.source}).",
            )
            if not interruption.toxicity_kind:
                self.fields["toxicity_kind"] = forms.ChoiceField(
                    label="Kind of toxicity", choices=[("", "Choose")] + list(Interruption.ToxicityKind.choices)
                )
        self.helper = _helper("Record the restart")


class RestartMoveForm(forms.Form):
    """The new time of a planned restart; the rest of the restart (when the reaction resolved, its
    kind) stays as recorded, and its rules are read again at the new time."""

    def __init__(self, *args, zone_name: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["restarted_at"] = unit_time("Restarts at (the new time)", zone_name)
        self.helper = _helper("Move the restart")


class StopForGoodForm(forms.Form):
    reason = forms.CharField(
        label="Why the course stops for good", max_length=400, widget=forms.Textarea(attrs={"rows": 2})
    )
    confirm = forms.BooleanField(
        label="I understand: future events and their open tasks are cancelled, and the care team is told."
    )

    def __init__(self, *args, zone_name: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields = {"stopped_at": unit_time("Stopped at", zone_name), **self.fields}
        self.helper = _helper("Stop the course for good")


class BagForm(forms.Form):
    option = forms.ModelChoiceField(label="Bag", queryset=BagOption.objects.none())
    dose = forms.CharField(max_length=100, help_text="As on the order, for example 28 mcg/day.")
    dose_basis = forms.ChoiceField(label="Dose by", choices=InfusionBag.DoseBasis.choices)
    volume_ml = forms.DecimalField(label="Volume (mL)", max_digits=6, decimal_places=1)
    rate_ml_per_hour = forms.DecimalField(label="Rate on the label (mL/h)", max_digits=5, decimal_places=1)
    stabiliser_added = forms.BooleanField(label="IV solution stabiliser added", required=False)
    compounded_by = forms.ModelChoiceField(
        label="Compounded by", queryset=User.objects.none(), empty_label="Choose the pharmacist…"
    )
    checked_by = forms.ModelChoiceField(
        label="Checked by (a second pharmacist)",
        queryset=User.objects.none(),
        empty_label="Choose the second pharmacist…",
    )

    def __init__(self, *args, zone_name: str, organisation_units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["option"].queryset = BagOption.objects.filter(active=True)
        staff = User.objects.filter(is_active=True, unit__in=organisation_units).order_by("last_name", "first_name")
        pharmacists = staff.filter(role=Role.PHARMACIST)  # patients.policy: can_compound_bag, can_check_bag
        self.fields["compounded_by"].queryset = pharmacists
        self.fields["checked_by"].queryset = pharmacists
        self.fields["expires_at"] = unit_time("Expires at (from the label)", zone_name)
        self.fields["option"].empty_label = "Choose the bag…"
        say_limits(
            self,
            volume_ml="The volume in mL, as on the label, with one decimal at most, for example 240.0.",
            rate_ml_per_hour="The rate in mL/h, as on the label, with one decimal at most, for example 10.0.",
        )
        self.helper = _helper("Record the bag")


class BagReuseForm(forms.Form):
    """A bag prepared for a cancelled event, used for another event of the patient."""

    event = forms.ModelChoiceField(label="Use it for", queryset=CareEvent.objects.none(), empty_label=None)

    def __init__(self, *args, targets, zone, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["event"].queryset = targets
        self.fields["event"].label_from_instance = lambda event: (
            f"{event.label}, cycle {event.cycle.number}: {moments.moment(event.planned_at, zone)}"
        )
        self.helper = _helper("Use the bag for this event")


class BagDisposeForm(forms.Form):
    """A bag prepared for a cancelled event, returned to the pharmacy or discarded: why is kept."""

    decision = forms.ChoiceField(
        label="The bag is",
        choices=[(value, label) for value, label in InfusionBag.Decision.choices if value in InfusionBag.OUT_OF_USE],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(label="Why", max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Record the decision")


# --- the toxicity watch: CRS and ICANS assessments ------------------------------------------------

VITALS = [
    "temperature",
    "temperature_unit",
    "fever_masked",
    "systolic_bp",
    "diastolic_bp",
    "hypotension",
    "heart_rate",
    "oxygen_saturation",
    "oxygen_device",
    "oxygen_flow_l_min",
    "vasopressors",
]
NEUROLOGY = ["consciousness", "seizure", "motor_finding", "raised_pressure", "handwriting_note"]


class AssessmentForm(forms.ModelForm):
    """What the nurse saw. The ICE score's five parts for patients of 12 and over, the CAPD for
    younger children; the service grades it and checks what a form cannot (units, the future)."""

    # The question about a systolic low for the age with hypotension unticked
    # (patients.services.low_systolic_question): asked at `hypotension`, and answered by ticking
    # "… mmHg is not low for this patient" for the very systolic asked about (`systolic_asked`).
    systolic_asked = forms.CharField(widget=forms.HiddenInput, required=False, max_length=10)
    systolic_not_low = forms.BooleanField(widget=forms.HiddenInput, required=False)
    FORM_ONLY = ("systolic_asked", "systolic_not_low")

    class Meta:
        model = Assessment
        fields = [*VITALS, *ICE_PARTS, "ice_unable", "capd_score", *NEUROLOGY, "note"]
        widgets = {
            "temperature_unit": forms.RadioSelect,
            "note": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, zone_name: str, age_on: Callable[[dt.date], int], today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields = {"assessed_at": unit_time("Assessed at", zone_name), **self.fields}
        self.fields["temperature_unit"].choices = Assessment.TemperatureUnit.choices
        self.fields["temperature_unit"].label = "Measured in"
        say_limits(
            self,
            temperature=TEMPERATURE_LIMITS,
            systolic_bp="A systolic pressure from 0 to 300 mmHg, in whole numbers.",
            diastolic_bp="A diastolic pressure from 0 to 200 mmHg, in whole numbers.",
            heart_rate="A heart rate from 0 to 300 a minute, in whole numbers.",
            oxygen_flow_l_min="An oxygen flow of at most 80 L/min, with one decimal at most, for example 2.5.",
        )
        # The screen goes by the age on the day assessed, as the service's does: today's on a new
        # form, the typed day's once sent (a back-dated assessment across the 12th birthday).
        self.day = self._typed_day() or today
        self.age = age_on(self.day)
        uses_capd = screened_with_capd(self.age)
        screen, unused = (["capd_score"], list(ICE_PARTS)) if uses_capd else (list(ICE_PARTS), ["capd_score"])
        for name in unused:
            del self.fields[name]
        self.helper = FormHelper()
        self.helper.layout = Layout(
            "assessed_at",
            Fieldset("Vital signs (CRS)", *_after("hypotension", VITALS, self.FORM_ONLY)),
            Fieldset(
                f"CAPD (children under {ICE_FROM_AGE_YEARS})" if uses_capd else "ICE score (10 points)",
                *screen,
                "ice_unable",
            ),
            Fieldset("Neurological findings (ICANS)", *NEUROLOGY),
            "note",
        )
        self.helper.add_input(Submit("submit", "Record and grade"))

    def ask_about_systolic(self) -> None:
        """The service asked about the systolic typed (its question goes at `hypotension`): offer the
        tick that confirms that very systolic."""
        typed = self.cleaned_data["systolic_bp"]
        offer_tick(
            self,
            asked=("systolic_asked", str(typed)),
            tick="systolic_not_low",
            label=f"Systolic {typed} mmHg is not low for this patient",
        )

    @property
    def low_systolic_confirmed(self) -> bool:
        """The user ticked "… mmHg is not low" for the systolic now typed (not one asked about before)."""
        data, typed = self.cleaned_data, self.cleaned_data.get("systolic_bp")
        return bool(data.get("systolic_not_low")) and typed is not None and data.get("systolic_asked") == str(typed)

    def findings(self) -> dict:
        """The cleaned data the assessment is made of: without the time and the form's own fields."""
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name not in self.FORM_ONLY and name != "assessed_at"
        }

    def _typed_day(self) -> dt.date | None:
        """The day typed at "Assessed at", on the unit's clock as typed (the field keeps the wall
        clock whatever zone is active), or None: not sent, or not a time."""
        if not self.is_bound:
            return None
        field = self.fields["assessed_at"]
        try:
            moment = field.clean(
                field.widget.value_from_datadict(self.data, self.files, self.add_prefix("assessed_at"))
            )
        except forms.ValidationError:
            return None
        return moment.date() if moment else None

    def clean(self):
        cleaned = super().clean()
        # Scores of the other screen were typed on a form shown for another day's age: say why
        # the screen changed, at the time that changed it, and show the right one.
        other_screen = [
            name
            for name in (*ICE_PARTS, "capd_score")
            if name not in self.fields and self.data.get(self.add_prefix(name)) not in (None, "")
        ]
        if other_screen and "assessed_at" not in self.errors:
            on = f"On {moments.day(self.day)} the patient was {self.age}"
            self.add_error(
                "assessed_at",
                f"{on}: children under {ICE_FROM_AGE_YEARS} are screened with the CAPD, not the ICE score. "
                "Give the CAPD score below."
                if "capd_score" in self.fields
                else f"{on}: from {ICE_FROM_AGE_YEARS} the ICE score is the screen, not the CAPD. Score the ICE below.",
            )
        return cleaned


def _after(name: str, names: list[str], more) -> list[str]:
    at = names.index(name) + 1
    return [*names[:at], *more, *names[at:]]


class GradeConfirmForm(forms.Form):
    crs_grade = forms.TypedChoiceField(label="CRS grade", choices=GRADES, coerce=int)
    icans_grade = forms.TypedChoiceField(label="ICANS grade", choices=GRADES, coerce=int)
    reason = forms.CharField(
        label="Reason, if you change a grade", max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Confirm the grades")


class PumpEventForm(forms.ModelForm):
    """A pump or line event; times on the unit's clock. A stop opens an interruption."""

    class Meta:
        model = PumpEvent
        fields = ["kind", "reported_by", "volume_left_ml", "action_taken"]
        widgets = {"reported_by": forms.RadioSelect, "action_taken": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, zone_name: str, supervised_after_hours: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # Radio buttons: a blank "---------" choice among them reads as an answer of its own.
        self.fields["reported_by"].choices = PumpEvent.Reporter.choices
        self.fields["kind"].choices = [("", "Choose what happened…"), *PumpEvent.Kind.choices]
        say_limits(self, volume_left_ml="The volume left, 0 to 1000 mL with one decimal at most, for example 45.5.")
        self.fields = {
            "occurred_at": unit_time("Happened at", zone_name),
            **self.fields,
            "infusion_stopped_at": unit_time(
                "Infusion stopped at",
                zone_name,
                required=False,
                help_text=f"{zone_name}. Empty if the infusion ran on. A stop opens an interruption.",
            ),
            "infusion_restarted_at": unit_time(
                "Infusion restarted at",
                zone_name,
                required=False,
                help_text=f"{zone_name}. {_who_restarts(supervised_after_hours)}",
            ),
        }
        self.helper = _helper("Record the event")


def _who_restarts(hours: int | None) -> str:
    """Who records a pump stop's restart, by the threshold of the course's regimen version
    (`supervised_restart_after_hours`, which patients.policy.can_record_restart reads), not a
    number of its own."""
    if hours is None:
        return (
            "After a stop long enough for a supervised restart (the regimen says how long), the oncologist records it."
        )
    return f"After a stop of {hours} hours or more, the oncologist records the restart."


RED_FLAG = ": red flag"


class CheckInForm(forms.Form):
    """The home nurse's daily check; the red flags (said so at each) reach the oncologist on call.
    Said in words, not starred: beside "Temperature*" a star reads as a required field."""

    temperature = forms.DecimalField(max_digits=4, decimal_places=1)
    temperature_unit = forms.ChoiceField(
        label="Measured in", choices=HomeCheckIn._meta.get_field("temperature_unit").choices, widget=forms.RadioSelect
    )
    signs = forms.MultipleChoiceField(
        label="Warning signs today",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[
            (sign.key, f"{sign.label} ({sign.watch}){RED_FLAG if sign.red_flag else ''}") for sign in WARNING_SIGNS
        ],
        help_text="A red flag alerts the oncologist on call at once.",
    )
    handwriting_changed = forms.BooleanField(label=f"Handwriting changed from the usual{RED_FLAG}", required=False)
    pump_status = forms.ChoiceField(label="Pump", choices=HomeCheckIn.PumpStatus.choices, widget=forms.RadioSelect)
    note = forms.CharField(max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, zone_name: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields = {"checked_at": unit_time("Checked at", zone_name), **self.fields}
        say_limits(self, temperature=TEMPERATURE_LIMITS)
        self.helper = _helper("Record the check")


# --- the care team and transfers (patients/services/team.py) -----------------------------------


class CareTeamAddForm(forms.Form):
    user = forms.ModelChoiceField(
        label="Add to the care team",
        queryset=User.objects.none(),
        empty_label="Choose a clinician…",
        help_text="Clinicians of this hospital's wards and clinics who are not on the team yet.",
    )

    def __init__(self, *args, patient, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["user"]
        field.queryset = care_team_candidates(patient)
        field.label_from_instance = lambda user: (
            f"{user.get_full_name() or user.username} ({user.get_role_display()}, {user.unit})"
        )
        self.helper = _helper("Add")


class TransferForm(forms.Form):
    to_unit = forms.ModelChoiceField(
        label="Move to", queryset=Unit.objects.none(), empty_label="Choose a ward or clinic…"
    )
    reason = forms.CharField(
        label="Why the patient moves",
        max_length=500,
        # One line, as the notifications and the care-team page show it (the model refuses line breaks).
        widget=forms.TextInput,
        help_text="Both units' coordinators read it. The care team stays as it is until the new unit changes it.",
    )

    def __init__(self, *args, patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_unit"].queryset = Unit.objects.filter(
            organisation_id=patient.organisation_id, kind__in=CLINICAL_UNITS
        ).exclude(pk=patient.unit_id)
        self.helper = _helper("Transfer the patient")
