from django.contrib import admin

from .handoffs.models import HandoffUnitRule
from .models import Reminder, ReminderPreference, ReminderRule


@admin.register(HandoffUnitRule)
class HandoffUnitRuleAdmin(admin.ModelAdmin):
    """How long each receiving unit has to acknowledge a handoff; a unit without a row has 4 hours."""

    list_display = ["unit", "acknowledge_hours"]
    list_select_related = ["unit"]


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
class ReminderPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "email", "digest_hour"]
    list_select_related = ["user"]
    search_fields = ["user__username"]


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    """Read-only: the ledger is written by the sweep and delivery (the Reminders page reads it too)."""

    list_display = ["created_at", "kind", "target", "recipient", "state", "sent_at", "dispatch_count", "attempts"]
    list_filter = ["kind", "state"]
    list_select_related = ["recipient"]
    search_fields = ["target", "recipient__username"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
