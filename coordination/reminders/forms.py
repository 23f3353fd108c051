"""The forms of the reminder pages: a snooze, a person's preferences, the ledger's filters."""

import datetime as dt

import django_filters
from crispy_forms.helper import FormHelper
from django import forms
from django.utils import timezone

from accounts.filters import PeriodFilterSet, period_filters
from accounts.models import User

from .models import Reminder, ReminderPreference, TaskSnooze

SNOOZE_CHOICES = [
    ("", "Choose…"),
    ("15", "15 minutes"),
    ("30", "30 minutes"),
    ("60", "1 hour"),
    ("120", "2 hours"),
    ("240", "4 hours"),
    ("480", "8 hours"),
    ("720", "12 hours"),
]


def fields_only() -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    return helper


class SnoozeForm(forms.Form):
    """For how long, or until what time (in the unit's zone: today, or tomorrow if that time has
    passed), and why."""

    minutes = forms.ChoiceField(label="Snooze for", choices=SNOOZE_CHOICES, required=False)
    until = forms.TimeField(
        label="or until", required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    reason = forms.CharField(
        label="Reason", max_length=500, widget=forms.TextInput(attrs={"autocomplete": "off"}), strip=True
    )

    def __init__(self, *args, zone, now: dt.datetime | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone = zone
        self.now = now or timezone.now()
        self.helper = fields_only()

    def clean(self):
        data = super().clean()
        minutes, until = data.get("minutes"), data.get("until")
        if bool(minutes) == bool(until):
            self.add_error("minutes", "Choose how long, or until what time.")
            return data
        if minutes:
            data["until_at"] = self.now + dt.timedelta(minutes=int(minutes))
        else:
            local_now = timezone.localtime(self.now, self.zone)
            at = dt.datetime.combine(local_now.date(), until, tzinfo=self.zone)
            if at <= self.now:
                at = dt.datetime.combine(local_now.date() + dt.timedelta(days=1), until, tzinfo=self.zone)
            if at > self.now + TaskSnooze.MAX_DURATION:
                self.add_error("until", "A snooze lasts at most 24 hours.")
            data["until_at"] = at
        return data


HOUR_CHOICES = [("", "No digest")] + [(str(hour), f"{hour:02d}:00") for hour in range(24)]


class PreferenceForm(forms.ModelForm):
    digest_hour = forms.TypedChoiceField(
        label="Daily digest at",
        choices=HOUR_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        help_text=ReminderPreference._meta.get_field("digest_hour").help_text,
    )

    class Meta:
        model = ReminderPreference
        fields = ["email", "digest_hour"]


class LedgerFilter(PeriodFilterSet):
    kind = django_filters.ChoiceFilter(label="Kind", choices=Reminder.Kind.choices, empty_label="Any")
    state = django_filters.ChoiceFilter(label="State", choices=Reminder.State.choices, empty_label="Any")
    recipient = django_filters.CharFilter(label="Recipient (user name)", method="filter_recipient")
    start, end = period_filters("created_at", start_label="Created from (date)", end_label="to (date, included)")

    class Meta:
        model = Reminder
        fields: list[str] = []

    def filter_recipient(self, queryset, name, value):
        # One indexed lookup of the user, then the reminders' foreign-key index.
        user_ids = User.objects.filter(username__iexact=value.strip()).values("pk")
        return queryset.filter(recipient_id__in=user_ids)
