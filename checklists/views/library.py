"""The template library: list, a template's settings and versions, new draft, publish, compare."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Role

from ..forms import (
    ChecklistTemplateForm,
    CompareForm,
    PublishForm,
    TemplateConditionFormSet,
    condition_form_helper,
    show_refusal,
)
from ..models import ITEM_CONTENT_FIELDS, ChecklistTemplate, TemplateItem, TemplateVersion
from ..services import (
    template_create,
    template_update,
    template_version_new_draft,
    template_version_publish,
    template_version_validate,
)
from .access import get_draft_or_404, staff_required


def _settings_forms(request, template: ChecklistTemplate | None):
    """A template's settings form and its conditions, bound on a POST."""
    data = request.POST if request.method == "POST" else None
    form = ChecklistTemplateForm(data, instance=template)
    conditions = TemplateConditionFormSet(data, instance=form.instance, prefix="conditions")
    return form, conditions


@staff_required
def template_list(request):
    """The templates, and a new one (a POST here)."""
    form, conditions = _settings_forms(request, None)
    if request.method == "POST" and form.is_valid() and conditions.is_valid():
        try:
            created = template_create(values=form.template_values(), conditions=conditions.rows(), actor=request.user)
        except ValidationError as error:
            show_refusal(form, error)
        else:
            messages.success(request, f"{created.name} is created. Make its first draft to add items.")
            return redirect("checklists:template_detail", pk=created.pk)
    versions = TemplateVersion.objects.exclude(status=TemplateVersion.Status.RETIRED).order_by("number")
    templates = ChecklistTemplate.objects.prefetch_related("conditions", Prefetch("versions", queryset=versions))
    rows = []
    for template in templates:
        by_status = {version.status: version for version in template.versions.all()}
        rows.append(
            {
                "template": template,
                "published": by_status.get(TemplateVersion.Status.PUBLISHED),
                "draft": by_status.get(TemplateVersion.Status.DRAFT),
            }
        )
    return render(
        request,
        "checklists/template_list.html",
        {"rows": rows, "form": form, "conditions": conditions, "condition_helper": condition_form_helper()},
    )


@staff_required
def template_detail(request, pk):
    """A template's versions, and its settings (a POST here)."""
    # The form works on a copy of its own, so that a refused change does not show in the page's header.
    form, conditions = _settings_forms(request, get_object_or_404(ChecklistTemplate, pk=pk))
    if request.method == "POST" and form.is_valid() and conditions.is_valid():
        try:
            saved = template_update(
                template=form.instance, values=form.template_values(), conditions=conditions.rows(), actor=request.user
            )
        except ValidationError as error:
            show_refusal(form, error)
        else:
            messages.success(request, f"{saved.name} is saved; the settings apply to checklists created from now on.")
            return redirect("checklists:template_detail", pk=saved.pk)
    template = get_object_or_404(ChecklistTemplate.objects.prefetch_related("conditions"), pk=pk)
    versions = list(template.versions.select_related("published_by").order_by("-number"))
    pairs = list(zip(versions[1:], versions, strict=False))  # (older, newer) for the compare links
    compare_with = {newer.pk: older for older, newer in pairs}
    rows = [{"version": v, "previous": compare_with.get(v.pk)} for v in versions]
    has_draft = any(v.is_editable for v in versions)
    return render(
        request,
        "checklists/template_detail.html",
        {
            "template": template,
            "rows": rows,
            "has_draft": has_draft,
            "form": form,
            "conditions": conditions,
            "condition_helper": condition_form_helper(),
        },
    )


@require_POST
@staff_required
def draft_new(request, pk):
    template = get_object_or_404(ChecklistTemplate, pk=pk)
    draft = template_version_new_draft(template=template, actor=request.user)
    messages.success(request, f"Draft v{draft.number} is ready to edit. Checklists keep using the published version.")
    return redirect("checklists:draft_edit", pk=draft.pk)


def _items(version):
    return version.items.prefetch_related("conditions", "depends_on").order_by("order")


@staff_required
def version_detail(request, pk):
    version = get_object_or_404(TemplateVersion.objects.select_related("template", "published_by"), pk=pk)
    return render(
        request,
        "checklists/version_detail.html",
        {"version": version, "items": _items(version), "editable": False},
    )


@staff_required
def draft_edit(request, pk):
    version = get_draft_or_404(pk)
    return render(
        request,
        "checklists/version_detail.html",
        {"version": version, "items": _items(version), "editable": True},
    )


@staff_required
def version_publish(request, pk):
    version = get_draft_or_404(pk)
    form = PublishForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            published = template_version_publish(
                version=version, actor=request.user, change_summary=form.cleaned_data["change_summary"]
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return redirect("checklists:draft_edit", pk=version.pk)
        messages.success(request, f"{published.template.name} v{published.number} is published.")
        return redirect("checklists:template_detail", pk=published.template_id)
    try:
        template_version_validate(version)
        problems = []
    except ValidationError as error:
        problems = error.messages
    return render(request, "checklists/version_publish.html", {"version": version, "form": form, "problems": problems})


# --- comparison ------------------------------------------------------------------------------

COMPARED = [*ITEM_CONTENT_FIELDS, "conditions", "depends_on"]
LABELS = {
    **{name: str(TemplateItem._meta.get_field(name).verbose_name) for name in ITEM_CONTENT_FIELDS},
    "conditions": "applies when",
    "depends_on": "done after",
}
ROLE_LABELS = dict(Role.choices)
KIND_LABELS = dict(TemplateItem.ResponseKind.choices)


def _shown(name: str, value) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if name in ("role", "verifier_role"):
        return str(ROLE_LABELS.get(value, value))
    if name == "response_kind":
        return str(KIND_LABELS.get(value, value))
    return str(value)


def _snapshot(version: TemplateVersion) -> dict:
    snapshot = {}
    for item in version.items.prefetch_related("conditions", "depends_on").order_by("order"):
        values = {name: _shown(name, getattr(item, name)) for name in ITEM_CONTENT_FIELDS}
        values["conditions"] = " and ".join(sorted(str(c) for c in item.conditions.all())) or "—"
        values["depends_on"] = "; ".join(sorted(dep.text for dep in item.depends_on.all())) or "—"
        snapshot[item.key] = (item, values)
    return snapshot


def versions_compare(a: TemplateVersion, b: TemplateVersion) -> dict:
    """Items added, removed and changed from a to b, matched by their key across versions."""
    old, new = _snapshot(a), _snapshot(b)
    changed = []
    for key, (item, values) in new.items():
        if key in old:
            before = old[key][1]
            fields = [(LABELS[name], before[name], values[name]) for name in COMPARED if before[name] != values[name]]
            if fields:
                changed.append({"item": item, "fields": fields})
    return {
        "added": [item for key, (item, _) in new.items() if key not in old],
        "removed": [item for key, (item, _) in old.items() if key not in new],
        "changed": changed,
    }


@staff_required
def version_compare(request):
    form = CompareForm(request.GET if {"a", "b"} & set(request.GET) else None)
    diff = None
    if form.is_bound and form.is_valid():
        diff = versions_compare(form.cleaned_data["a"], form.cleaned_data["b"])
    return render(request, "checklists/version_compare.html", {"form": form, "diff": diff})
