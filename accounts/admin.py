from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import Organisation, Unit, User


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "organisation", "time_zone"]
    list_filter = ["kind", "organisation"]
    search_fields = ["name"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "role", "unit", "is_staff", "is_active"]
    list_filter = ["role", "unit", "is_staff", "is_active"]
    list_select_related = ["unit"]
    fieldsets = (*BaseUserAdmin.fieldsets, ("Clinical role", {"fields": ("role", "unit")}))
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, ("Clinical role", {"fields": ("role", "unit")}))
