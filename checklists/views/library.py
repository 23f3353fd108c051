"""The template library: list, a template's settings and versions, new draft, discard a draft,
publish, compare."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from .. import governance, policy
from ..compare import versions_compare
from ..forms import (
    ChecklistTemplateForm,
    CompareForm,
    TemplateConditionFormSet,
    show_refusal,
)
from ..governance import emergency_review_pending, versions_awaiting_review_after
from ..models import ChecklistTemplate, TemplateReview, TemplateVersion
from ..review_forms import DiscardDraftForm
from ..services import (
    template_create,
    template_update,
    template_version_new_draft,
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
    listed = (TemplateVersion.Status.RETIRED, TemplateVersion.Status.DISCARDED)
    versions = TemplateVersion.objects.exclude(status__in=listed).order_by("number")
    templates = ChecklistTemplate.objects.prefetch_related("conditions", Prefetch("versions", queryset=versions))
    rows = []
    for template in templates:
        by_status = {version.status: version for version in template.versions.all()}
        rows.append(
            {
                "template": template,
                "published": by_status.get(TemplateVersion.Status.PUBLISHED),
                "draft": by_status.get(TemplateVersion.Status.DRAFT) or by_status.get(TemplateVersion.Status.IN_REVIEW),
            }
        )
    return render(
        request,
        "checklists/template_list.html",
        {
            "rows": rows,
            "in_review": [row["draft"] for row in rows if row["draft"] and not row["draft"].is_editable],
            "awaiting_review_after": versions_awaiting_review_after(),
            "form": form,
            "conditions": conditions,
        },
    )


@staff_required
def template_detail(request, pk):
    """A template's versions, and its settings (a POST here)."""
    # The form works on a copy of its own, so that a refused change does not show in the page's header.
    form, conditions = _settings_forms(request, get_object_or_404(ChecklistTemplate, pk=pk))
    if request.method == "POST" and form.is_valid() and conditions.is_valid():
        try:
            saved = template_update(
                template=form.instance,
                values=form.template_values(),
                conditions=conditions.rows(),
                seen=form.cleaned_data["seen"] or None,
                actor=request.user,
            )
        except ValidationError as error:
            show_refusal(form, error, conditions=conditions)
            if any(e.code == "changed_meanwhile" for e in getattr(error, "error_list", ())):
                form.saw_current(ChecklistTemplate.objects.get(pk=pk))
        else:
            messages.success(request, f"{saved.name} is saved; the settings apply to checklists created from now on.")
            return redirect("checklists:template_detail", pk=saved.pk)
    template = get_object_or_404(ChecklistTemplate.objects.prefetch_related("conditions"), pk=pk)
    versions = list(template.versions.select_related("published_by").prefetch_related("reviews").order_by("-number"))
    history = TemplateReview.objects.filter(version__template=template).select_related("actor", "version")
    # Each version is compared with the newest older one that was not discarded: a discarded
    # draft is no step between the versions around it (the next draft was copied past it).
    compare_with, previous = {}, None
    for version in reversed(versions):
        compare_with[version.pk] = previous
        if version.status != TemplateVersion.Status.DISCARDED:
            previous = version
    rows = [
        {
            "version": v,
            "previous": compare_with[v.pk],
            "discard": v.is_editable and policy.can_discard(request.user, v),
        }
        for v in versions
    ]
    has_draft = any(v.is_editable for v in versions)
    in_review = any(v.status == TemplateVersion.Status.IN_REVIEW for v in versions)
    return render(
        request,
        "checklists/template_detail.html",
        {
            "template": template,
            "rows": rows,
            "has_draft": has_draft,
            "history": history.order_by("-at", "-pk"),
            "pending_after": {v.pk for v in versions if emergency_review_pending(v)},
            "settings_held": policy.can_change_setting(template, "approver_role", in_review=in_review),
            "form": form,
            "conditions": conditions,
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
    status = TemplateVersion.objects.filter(pk=pk).values_list("status", flat=True).first()
    # An old link to the editor of a draft that is no longer one: say why it does not open, and where to go.
    if status == TemplateVersion.Status.IN_REVIEW:
        messages.info(request, "This draft is in review and cannot be edited; return it to draft to change it.")
        return redirect("checklists:version_review", pk=pk)
    if status == TemplateVersion.Status.DISCARDED:
        messages.info(request, "This draft is discarded and never changes; make a new draft on the template's page.")
        return redirect("checklists:version_detail", pk=pk)
    version = get_draft_or_404(pk)
    return render(
        request,
        "checklists/version_detail.html",
        {
            "version": version,
            "items": _items(version),
            "editable": True,
            "discard": policy.can_discard(request.user, version),
        },
    )


@staff_required
def version_discard(request, pk):
    """Discard a draft, with a reason (a small form of its own, before anything is done)."""
    version = get_object_or_404(TemplateVersion.objects.select_related("template"), pk=pk)
    form = DiscardDraftForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            governance.template_version_discard(version=version, actor=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            show_refusal(form, error)
            version.refresh_from_db()  # submitted or published meanwhile: the page says so
        else:
            messages.success(
                request,
                f"{version.template.name} v{version.number} is discarded; its items and history are kept. "
                "The template has no draft now: make a new one or import a file.",
            )
            return redirect("checklists:template_detail", pk=version.template_id)
    return render(
        request,
        "checklists/version_discard.html",
        {"version": version, "form": form, "offer": policy.can_discard(request.user, version)},
    )


# --- comparison ------------------------------------------------------------------------------


@staff_required
def version_compare(request):
    form = CompareForm(request.GET if {"a", "b"} & set(request.GET) else None)
    diff = None
    if form.is_bound and form.is_valid():
        diff = versions_compare(form.cleaned_data["a"], form.cleaned_data["b"])
    return render(request, "checklists/version_compare.html", {"form": form, "diff": diff})
