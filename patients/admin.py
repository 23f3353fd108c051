from django.contrib import admin

from .models import AccessGrant, CareEvent, CareTeamMember, Cycle, Patient, TreatmentCourse


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


class CycleInline(admin.TabularInline):
    model = Cycle
    extra = 0
    show_change_link = True


@admin.register(TreatmentCourse)
class TreatmentCourseAdmin(admin.ModelAdmin):
    list_display = ["patient", "regimen", "indication", "planned_cycles", "start_date", "status"]
    list_filter = ["status", "indication", "regimen"]
    search_fields = ["patient__mrn", "patient__family_name"]
    list_select_related = ["patient"]
    inlines = [CycleInline]


@admin.register(Cycle)
class CycleAdmin(admin.ModelAdmin):
    list_display = ["course", "number", "phase", "start_date", "inpatient_days"]
    list_filter = ["phase", "number"]
    search_fields = ["course__patient__mrn", "course__patient__family_name"]
    list_select_related = ["course__patient"]


@admin.register(CareEvent)
class CareEventAdmin(admin.ModelAdmin):
    list_display = ["patient", "kind", "cycle", "planned_at", "setting", "status"]
    list_filter = ["kind", "status", "setting", "patient__unit"]
    search_fields = ["patient__mrn", "patient__family_name"]
    date_hierarchy = "planned_at"
    list_select_related = ["patient", "cycle"]
    raw_id_fields = ["patient", "cycle"]
