"""The admin shows templates, checklists and tasks; it edits none of them.

Templates have one editor, the template pages (/templates/, checklists.views), which change them
through the services. Here they are listed, searched and shown read-only, each with a link to its
page in the editor; the two actions call the services too (make a new draft, publish).
"""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin_base import ReadOnlyAdmin, ReadOnlyInline

from .models import (
    ChecklistTemplate,
    ItemCondition,
    TemplateCondition,
    TemplateItem,
    TemplateVersion,
)
from .services import template_version_new_draft

EDITOR_NOTE = (
    "Read-only here: templates, their versions, items and conditions are changed in the template editor "
    "(follow the link), which keeps published versions as they are."
)


def editor_link(obj) -> tuple[str, bool]:
    """The page of the template editor for a template, a version, an item or an item's condition,
    and whether it can be edited there (a template's settings and a draft) or only read."""
    if isinstance(obj, ChecklistTemplate):
        return reverse("checklists:template_detail", args=[obj.pk]), True
    if isinstance(obj, ItemCondition):
        obj = obj.item
    if isinstance(obj, TemplateItem):
        if obj.version.is_editable:
            return reverse("checklists:item_edit", args=[obj.pk]), True
        return reverse("checklists:version_detail", args=[obj.version_id]) + f"#item-{obj.pk}", False
    if obj.is_editable:
        return reverse("checklists:draft_edit", args=[obj.pk]), True
    return reverse("checklists:version_detail", args=[obj.pk]), False


class TemplateEditorLink(ReadOnlyAdmin):
    """A template object, read-only, with the link to its page in the template editor."""

    @admin.display(description="template editor")
    def editor(self, obj):
        url, editable = editor_link(obj)
        return format_html('<a href="{}">{} in the template editor</a>', url, "Edit" if editable else "Open")

    def get_fieldsets(self, request, obj=None):
        fields = ["editor", *(name for name in self.get_fields(request, obj) if name != "editor")]
        return [(None, {"fields": fields, "description": EDITOR_NOTE})]

    def get_readonly_fields(self, request, obj=None):
        return ["editor", *super().get_readonly_fields(request, obj)]


def _new_drafts(modeladmin, request, templates) -> None:
    for template in templates:
        draft = template_version_new_draft(template=template, actor=request.user)
        link = reverse("checklists:draft_edit", args=[draft.pk])
        message = format_html(
            '{}: draft v{} is ready; <a href="{}">edit it in the template editor</a>.',
            template.name,
            draft.number,
            link,
        )
        modeladmin.message_user(request, message, messages.SUCCESS)


class TemplateConditionInline(ReadOnlyInline):
    model = TemplateCondition


class TemplateVersionInline(ReadOnlyInline):
    model = TemplateVersion
    fields = ["number", "status", "change_summary", "published_at", "published_by"]
    show_change_link = True


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(TemplateEditorLink):
    list_display = ["name", "trigger_kind", "is_active", "editor"]
    list_filter = ["trigger_kind", "is_active"]
    search_fields = ["name", "description"]
    inlines = [TemplateConditionInline, TemplateVersionInline]
    actions = ["make_new_draft"]

    @admin.action(description="Make a new draft (copy of the newest version)")
    def make_new_draft(self, request, queryset):
        _new_drafts(self, request, queryset)


class TemplateItemInline(ReadOnlyInline):
    model = TemplateItem
    fields = ["order", "section", "text", "role", "due_offset_minutes", "response_kind", "required", "hard_stop"]
    show_change_link = True


@admin.register(TemplateVersion)
class TemplateVersionAdmin(TemplateEditorLink):
    list_display = ["template", "number", "status", "published_at", "published_by", "change_summary", "editor"]
    list_filter = ["status", "template__trigger_kind", "template"]
    search_fields = ["template__name", "change_summary"]
    list_select_related = ["template", "published_by"]
    fields = ["template", "number", "status", "change_summary", "created_at", "published_by", "published_at"]
    inlines = [TemplateItemInline]
    # No publish action: a draft is published through its review page, by a second admin
    # (checklists.governance), never by one admin from here.
    actions = ["make_new_draft"]

    @admin.action(description="Make a new draft of these versions' templates")
    def make_new_draft(self, request, queryset):
        _new_drafts(self, request, ChecklistTemplate.objects.filter(versions__in=queryset).distinct())


class ItemConditionInline(ReadOnlyInline):
    model = ItemCondition


@admin.register(TemplateItem)
class TemplateItemAdmin(TemplateEditorLink):
    list_display = ["text", "version", "order", "section", "role", "response_kind", "required", "hard_stop", "editor"]
    list_filter = ["version__status", "role", "response_kind", "hard_stop", "needs_verification", "version__template"]
    search_fields = ["text", "section", "help_text", "version__template__name"]
    list_select_related = ["version__template"]
    readonly_fields = ["key"]
    inlines = [ItemConditionInline]


@admin.register(ItemCondition)
class ItemConditionAdmin(TemplateEditorLink):
    list_display = ["item", "fact", "operator", "value", "editor"]
    list_filter = ["fact", "operator", "item__version__status"]
    search_fields = ["item__text", "value", "item__version__template__name"]
    list_select_related = ["item__version"]
