"""Preview: the tasks that a version would create for a chosen care event, without saving anything."""

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from patients.models import CareEvent

from ..forms import PreviewForm
from ..models import TemplateItem, TemplateVersion
from .access import staff_required


@dataclass
class PreviewRow:
    item: TemplateItem
    due_at: dt.datetime
    unmet: list[str] = field(default_factory=list)

    @property
    def applies(self) -> bool:
        return not self.unmet


def _unmet(conditions, event: CareEvent) -> list[str]:
    unmet = []
    for condition in conditions:
        try:
            if not condition.holds_for(event):
                unmet.append(str(condition))
        except (ValidationError, TypeError, ValueError, AttributeError) as error:
            unmet.append(f"{condition} (cannot be evaluated: {error})")
    return unmet


def version_preview(version: TemplateVersion, event: CareEvent) -> dict:
    """What instantiation would do for this event, computed with the same conditions, nothing saved."""
    template_unmet = _unmet(version.template.conditions.all(), event)
    rows = [
        PreviewRow(
            item=item,
            due_at=timezone.localtime(event.planned_at + dt.timedelta(minutes=item.due_offset_minutes), event.zone),
            unmet=_unmet(item.conditions.all(), event),
        )
        for item in version.items.prefetch_related("conditions", "depends_on").order_by("order")
    ]
    return {
        "event": event,
        "template_applies": not template_unmet,
        "template_unmet": template_unmet,
        "tasks": [row for row in rows if row.applies],
        "skipped": [row for row in rows if not row.applies],
        "event_local": timezone.localtime(event.planned_at, event.zone),
    }


@staff_required
def version_preview_page(request, pk):
    version = get_object_or_404(TemplateVersion.objects.select_related("template"), pk=pk)
    form = PreviewForm(request.GET or None, kind=version.template.trigger_kind, user=request.user)
    preview = None
    if form.is_bound and form.is_valid() and form.cleaned_data.get("event"):
        preview = version_preview(version, form.cleaned_data["event"])
    return render(
        request,
        "checklists/version_preview.html",
        {
            "version": version,
            "form": form,
            "preview": preview,
            # Admins see no patient record unless they are on a care team: say why the lists are
            # empty, and where the version can be read instead.
            "nothing_to_pick": not form.fields["patient"].queryset.exists(),
        },
    )
