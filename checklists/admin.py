"""Administration of templates and a read-mostly view of checklists and tasks.

Published and retired versions are read-only here as everywhere; the actions call the
services (new draft, publish) rather than changing rows themselves.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from .models import (
    Checklist,
    ChecklistTemplate,
    ItemCondition,
    Task,
    TaskActivity,
    TemplateCondition,
    TemplateItem,
    TemplateVersion,
)
from .services import template_version_new_draft, template_version_publish


def _is_draft(version: TemplateVersion | None) -> bool:
    return version is None or version.is_editable


class TemplateConditionInline(admin.TabularInline):
    model = TemplateCondition
    extra = 0


class TemplateVersionInline(admin.TabularInline):
    model = TemplateVersion
    extra = 0
    fields = ["number", "status", "change_summary", "published_at", "published_by"]
    readonly_fields = fields
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "trigger_kind", "is_active"]
    list_filter = ["trigger_kind", "is_active"]
    search_fields = ["name", "description"]
    inlines = [TemplateConditionInline, TemplateVersionInline]
    actions = ["make_new_draft"]

    @admin.action(description="Make a new draft (copy of the newest version)")
    def make_new_draft(self, request, queryset):
        for template in queryset:
            draft = template_version_new_draft(template=template, actor=request.user)
            self.message_user(request, f"{template.name}: draft v{draft.number} is ready.", messages.SUCCESS)


class TemplateItemInline(admin.TabularInline):
    model = TemplateItem
    extra = 0
    fields = ["order", "section", "text", "role", "due_offset_minutes", "response_kind", "required", "hard_stop"]
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return _is_draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return _is_draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _is_draft(obj) and super().has_delete_permission(request, obj)


@admin.register(TemplateVersion)
class TemplateVersionAdmin(admin.ModelAdmin):
    list_display = ["template", "number", "status", "published_at", "published_by", "change_summary"]
    list_filter = ["status", "template__trigger_kind", "template"]
    search_fields = ["template__name", "change_summary"]
    list_select_related = ["template", "published_by"]
    readonly_fields = ["template", "number", "status", "created_at", "published_by", "published_at"]
    fields = ["template", "number", "status", "change_summary", "created_at", "published_by", "published_at"]
    inlines = [TemplateItemInline]
    actions = ["make_new_draft", "publish"]

    def has_add_permission(self, request):
        return False  # drafts are made by the "new draft" action, which copies the newest version

    def has_change_permission(self, request, obj=None):
        return _is_draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _is_draft(obj) and super().has_delete_permission(request, obj)

    @admin.action(description="Make a new draft of these versions' templates")
    def make_new_draft(self, request, queryset):
        for template in ChecklistTemplate.objects.filter(versions__in=queryset).distinct():
            draft = template_version_new_draft(template=template, actor=request.user)
            self.message_user(request, f"{template.name}: draft v{draft.number} is ready.", messages.SUCCESS)

    @admin.action(description="Publish the selected drafts")
    def publish(self, request, queryset):
        for version in queryset.select_related("template"):
            try:
                template_version_publish(version=version, actor=request.user, change_summary=version.change_summary)
            except ValidationError as error:
                self.message_user(request, f"{version}: {'; '.join(error.messages)}", messages.ERROR)
            else:
                self.message_user(request, f"{version.template.name} v{version.number} is published.", messages.SUCCESS)


class ItemConditionInline(admin.TabularInline):
    model = ItemCondition
    extra = 0

    def _draft(self, obj):
        return obj is None or obj.version.is_editable

    def has_add_permission(self, request, obj=None):
        return self._draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._draft(obj) and super().has_delete_permission(request, obj)


class TemplateItemAdminForm(forms.ModelForm):
    class Meta:
        model = TemplateItem
        fields = "__all__"  # noqa: DJ007 - the admin shows every field of an item

    def clean(self):
        data = super().clean()
        version = data.get("version") or (self.instance.version if self.instance.version_id else None)
        order = data.get("order")
        if version and order is not None:
            if version.items.filter(order=order).exclude(pk=self.instance.pk).exists():
                self.add_error("order", f"Item {order} already exists in this version; choose a free position.")
            if any(dep.version_id != version.pk for dep in data.get("depends_on") or []):
                self.add_error("depends_on", "Only items of the same version can be chosen.")
        return data


@admin.register(TemplateItem)
class TemplateItemAdmin(admin.ModelAdmin):
    form = TemplateItemAdminForm
    list_display = ["text", "version", "order", "section", "role", "response_kind", "required", "hard_stop"]
    list_filter = ["version__status", "role", "response_kind", "hard_stop", "needs_verification", "version__template"]
    search_fields = ["text", "section", "help_text", "version__template__name"]
    list_select_related = ["version__template"]
    readonly_fields = ["key"]
    filter_horizontal = ["depends_on"]
    inlines = [ItemConditionInline]

    def get_readonly_fields(self, request, obj=None):
        return ["key", "version"] if obj else ["key"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "version":
            kwargs["queryset"] = TemplateVersion.objects.filter(status=TemplateVersion.Status.DRAFT)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        return (obj is None or obj.version.is_editable) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return (obj is None or obj.version.is_editable) and super().has_delete_permission(request, obj)


@admin.register(ItemCondition)
class ItemConditionAdmin(admin.ModelAdmin):
    list_display = ["item", "fact", "operator", "value"]
    list_filter = ["fact", "operator", "item__version__status"]
    search_fields = ["item__text", "value", "item__version__template__name"]
    list_select_related = ["item"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "item":
            kwargs["queryset"] = TemplateItem.objects.filter(version__status=TemplateVersion.Status.DRAFT)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        return (obj is None or obj.item.version.is_editable) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return (obj is None or obj.item.version.is_editable) and super().has_delete_permission(request, obj)


class TaskInline(admin.TabularInline):
    model = Task
    extra = 0
    fields = ["order", "text", "role", "status", "assignee", "due_at", "value", "hard_stop_failed"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Checklist)
class ChecklistAdmin(admin.ModelAdmin):
    """Checklists are created by instantiation and worked through the services: read-only here."""

    list_display = ["template", "event", "version", "created_at", "overridden_at"]
    list_filter = ["template", "event__kind"]
    search_fields = ["template__name", "event__patient__mrn", "event__patient__family_name"]
    list_select_related = ["template", "version", "event__cycle", "event__patient__unit"]
    date_hierarchy = "created_at"
    inlines = [TaskInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["text", "patient", "role", "status", "assignee", "due_at", "hard_stop_failed"]
    list_filter = ["status", "role", "response_kind", "hard_stop_failed", "needs_verification", "patient__unit"]
    search_fields = ["text", "patient__mrn", "patient__family_name", "assignee__username"]
    list_select_related = ["patient", "assignee"]
    date_hierarchy = "due_at"
    raw_id_fields = ["checklist", "item", "patient", "event", "assignee", "completed_by", "verified_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # tasks change through the services (complete, verify, undo…), which log it


@admin.register(TaskActivity)
class TaskActivityAdmin(admin.ModelAdmin):
    list_display = ["at", "action", "actor", "patient", "task", "detail"]
    list_filter = ["action"]
    search_fields = ["patient__mrn", "actor__username", "detail", "task__text"]
    list_select_related = ["actor", "patient", "task"]
    date_hierarchy = "at"
    raw_id_fields = ["task", "checklist", "patient", "actor"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
