from django.contrib import admin, messages

from accounts.admin_base import NoWrites
from accounts.models import Unit

from .handoffs.models import HandoffActionDefault, HandoffUnitRule
from .models import OnCallShift, ReminderPreference, ReminderRule, WatchUnitRule
from .watch.selectors import unit_watch_warnings


@admin.register(HandoffUnitRule)
class HandoffUnitRuleAdmin(admin.ModelAdmin):
    """How long each receiving unit has to acknowledge a handoff (a unit without a row has 4 hours),
    and how long before its due time a handoff task may be marked done (12 hours)."""

    list_display = ["unit", "acknowledge_hours", "done_early_hours"]
    list_select_related = ["unit"]


@admin.register(HandoffActionDefault)
class HandoffActionDefaultAdmin(admin.ModelAdmin):
    """The actions a new hospital-to-home draft starts with, each with what it rests on."""

    list_display = ["order", "text", "role", "purpose", "hours_after_discharge", "active"]
    list_display_links = ["text"]


@admin.register(ReminderRule)
class ReminderRuleAdmin(admin.ModelAdmin):
    """Each unit's reminder timings; a unit without a row uses the defaults shown on a new one."""

    list_display = [
        "unit",
        "due_soon_minutes",
        "overdue_minutes",
        "escalate_minutes",
        "escalate_hard_stop_minutes",
        "gate_hours",
        "handoff_escalate_minutes",
    ]
    list_select_related = ["unit"]


@admin.register(ReminderPreference)
class ReminderPreferenceAdmin(NoWrites, admin.ModelAdmin):
    """Read-only: people choose how they hear of their own work, on their Reminder settings page."""

    list_display = ["user", "email", "digest_hour"]
    list_select_related = ["user"]
    search_fields = ["user__username"]


class WatchWarnings:
    """Admins see the units whose alerts would find no one: no coordinator, or no one on call."""

    def changelist_view(self, request, extra_context=None):
        for unit in Unit.objects.order_by("name"):
            for warning in unit_watch_warnings(unit):
                messages.warning(request, warning)
        return super().changelist_view(request, extra_context)


@admin.register(WatchUnitRule)
class WatchUnitRuleAdmin(WatchWarnings, admin.ModelAdmin):
    """From which CRS grade an assessment raises an urgent alert (2 by default), and how long an alert
    waits for acknowledgement before it goes down the roster (15 minutes by default)."""

    list_display = ["unit", "alert_from_crs_grade", "acknowledge_minutes"]
    list_select_related = ["unit"]


@admin.register(OnCallShift)
class OnCallShiftAdmin(WatchWarnings, NoWrites, admin.ModelAdmin):
    """Read-only: a unit's coordinator sets its roster on the On call page, which checks that first
    call covers every hour and that shifts do not overlap (a shift deleted here would leave a gap
    unchecked, and an alert with no one to reach)."""

    list_display = ["unit", "role", "rank", "user", "starts_at", "ends_at"]
    list_filter = ["unit", "role", "rank"]
    list_select_related = ["unit", "user"]
