from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from accounts.admin_base import ReadOnlyAdmin, ReadOnlyInline

from .models import (
    AccessGrant,
    BagOption,
    CareEvent,
    CareTeamMember,
    Cycle,
    InfusionBag,
    Interruption,
    Patient,
    PremedicationRule,
    Regimen,
    RegimenCycleRule,
    RegimenVersion,
    TreatmentCourse,
    Weighing,
)
from .services import regimen_version_new_draft, regimen_version_publish


class CareTeamInline(admin.TabularInline):
    model = CareTeamMember
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["mrn", "family_name", "given_name", "birth_date", "unit", "weight_kg"]
    list_filter = ["unit", "sex", "organisation"]
    search_fields = ["mrn", "family_name", "given_name"]
    list_select_related = ["unit"]
    inlines = [CareTeamInline]


@admin.register(CareTeamMember)
class CareTeamMemberAdmin(admin.ModelAdmin):
    list_display = ["patient", "user", "role", "added_at"]
    list_filter = ["role", "patient__unit"]
    search_fields = ["patient__mrn", "patient__family_name", "user__username"]
    list_select_related = ["patient", "user"]
    autocomplete_fields = ["patient", "user"]


@admin.register(AccessGrant)
class AccessGrantAdmin(admin.ModelAdmin):
    list_display = ["patient", "unit", "reason", "starts_at", "ends_at", "revoked_at"]
    list_filter = ["unit"]
    search_fields = ["patient__mrn", "reason"]
    list_select_related = ["patient", "unit"]


class CycleInline(ReadOnlyInline):
    model = Cycle
    show_change_link = True


@admin.register(TreatmentCourse)
class TreatmentCourseAdmin(ReadOnlyAdmin):
    list_display = ["patient", "regimen", "indication", "planned_cycles", "start_date", "status"]
    list_filter = ["status", "indication", "regimen"]
    search_fields = ["patient__mrn", "patient__family_name"]
    list_select_related = ["patient"]
    inlines = [CycleInline]


@admin.register(Cycle)
class CycleAdmin(ReadOnlyAdmin):
    list_display = ["course", "number", "phase", "start_date", "inpatient_days"]
    list_filter = ["phase", "number"]
    search_fields = ["course__patient__mrn", "course__patient__family_name"]
    list_select_related = ["course__patient"]


@admin.register(CareEvent)
class CareEventAdmin(ReadOnlyAdmin):
    list_display = ["patient", "kind", "cycle", "planned_at", "setting", "status"]
    list_filter = ["kind", "status", "setting", "patient__unit"]
    search_fields = ["patient__mrn", "patient__family_name"]
    date_hierarchy = "planned_at"
    list_select_related = ["patient", "cycle"]
    raw_id_fields = ["patient", "cycle"]


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


@admin.register(Interruption)
class InterruptionAdmin(ReadOnlyAdmin):
    list_display = ["patient", "cycle", "stopped_at", "restarted_at", "cause", "toxicity_grade", "permanent"]
    list_select_related = ["patient", "cycle"]


@admin.register(InfusionBag)
class InfusionBagAdmin(ReadOnlyAdmin):
    list_display = [
        "patient",
        "event",
        "duration_hours",
        "rate_ml_per_hour",
        "expires_at",
        "compounded_by",
        "checked_by",
    ]
    list_select_related = ["patient", "event", "compounded_by", "checked_by"]


@admin.register(Weighing)
class WeighingAdmin(ReadOnlyAdmin):
    list_display = ["patient", "weight_kg", "measured_at", "recorded_by", "source"]
    list_select_related = ["patient", "recorded_by"]
