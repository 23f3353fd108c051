"""Who may use the template pages, and the one way to fetch a draft for editing."""

from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.permissions import ability_required

from ..models import ChecklistTemplate, TemplateVersion
from ..policy import EDIT_TEMPLATES

# Template pages are for administrators; anonymous users never get here (login middleware).
staff_required = ability_required(EDIT_TEMPLATES)


def get_draft_or_404(pk, *, lock: bool = False) -> TemplateVersion:
    """A draft version, or 404: published and retired versions are never edited here.

    With lock=True (inside a transaction) the template row is locked first, as publishing does,
    so an edit and a publication of the same template never interleave.
    """
    if lock:
        template_ids = TemplateVersion.objects.filter(pk=pk).values("template_id")
        list(ChecklistTemplate.objects.select_for_update(no_key=True).filter(pk__in=template_ids))
    version = get_object_or_404(TemplateVersion.objects.select_related("template"), pk=pk)
    if not version.is_editable:
        raise Http404("Only a draft can be edited; make a new draft.")
    return version
