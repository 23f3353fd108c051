# Admins manage what the hospital runs on: regimens and bag options here, units and users in
# accounts, templates in checklists, rules in coordination. No patient record (patients, care
# teams, grants, courses, events, interruptions, bags, weighings) is browsable in the admin: those
# are read through the app's pages, where the access policy applies and every read is logged.

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from .models import BagOption, PremedicationRule, Regimen, RegimenCycleRule, RegimenVersion
from .services import regimen_version_new_draft, regimen_version_publish

# --- regimens: drafts are edited here; a published version is read-only -----------------------


class DraftOnlyInline(admin.TabularInline):
    extra = 0

    def _editable(self, obj) -> bool:
        return obj is None or obj.is_editable

    def has_add_permission(self, request, obj=None):
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(obj) and super().has_delete_permission(request, obj)


class CycleRuleInline(DraftOnlyInline):
    model = RegimenCycleRule


class PremedicationInline(DraftOnlyInline):
    model = PremedicationRule


@admin.register(Regimen)
class RegimenAdmin(admin.ModelAdmin):
    list_display = ["name", "indication"]
    actions = ["new_draft"]

    @admin.action(description="Start a new draft version (copies the newest)")
    def new_draft(self, request, queryset):
        for regimen in queryset:
            try:
                draft = regimen_version_new_draft(regimen=regimen, actor=request.user)
            except ValidationError as refusal:
                self.message_user(request, f"{regimen}: {' '.join(refusal.messages)}", messages.ERROR)
            else:
                self.message_user(request, f"{draft} is ready to edit.", messages.SUCCESS)


@admin.register(RegimenVersion)
class RegimenVersionAdmin(admin.ModelAdmin):
    list_display = ["regimen", "number", "status", "max_cycles", "step_up_day", "source", "published_at"]
    list_filter = ["status", "regimen"]
    readonly_fields = ["regimen", "number", "status", "published_at", "published_by", "created_at"]
    inlines = [CycleRuleInline, PremedicationInline]
    actions = ["publish"]

    def has_add_permission(self, request):
        return False  # drafts come from "Start a new draft version" on the regimen

    def has_change_permission(self, request, obj=None):
        return (obj is None or obj.is_editable) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return obj is not None and obj.is_editable and super().has_delete_permission(request, obj)

    @admin.action(description="Publish the selected drafts (running courses keep their version)")
    def publish(self, request, queryset):
        for version in queryset:
            try:
                regimen_version_publish(version=version, actor=request.user)
            except ValidationError as refusal:
                self.message_user(request, f"{version}: {' '.join(refusal.messages)}", messages.ERROR)
            else:
                self.message_user(
                    request, f"{version.regimen} version {version.number} is published.", messages.SUCCESS
                )


@admin.register(BagOption)
class BagOptionAdmin(admin.ModelAdmin):
    list_display = [
        "duration_hours",
        "rate_ml_per_hour",
        "preservative",
        "min_weight_kg",
        "weight_limit_source",
        "active",
    ]
    list_editable = ["active"]
