"""Template files in and out: a version's JSON download, and the import page (checklists.interchange)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from ..forms import TemplateImportForm
from ..interchange import MEDIA_TYPE, export_filename, export_logged, template_import, template_version_export_json
from ..models import TemplateVersion
from .access import staff_required


@staff_required
def version_export(request, pk):
    """The version as a file of the template format; the download is logged as an export."""
    version = get_object_or_404(TemplateVersion.objects.select_related("template"), pk=pk)
    text = template_version_export_json(version)
    export_logged(version, request=request)
    response = HttpResponse(text.encode("utf-8"), content_type=f"{MEDIA_TYPE}; charset=utf-8")
    name = export_filename(version).removesuffix(".json")
    response["Content-Disposition"] = f'attachment; filename="{name}-v{version.number}.json"'
    return response


@staff_required
def template_import_page(request):
    """Upload a template file: a draft when it is sound, its problems at the file field when not."""
    form = TemplateImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            draft = template_import(form.cleaned_data["file"].read(), actor=request.user)
        except ValidationError as error:
            form.add_error("file", error.messages)
        else:
            said = f"{draft.template.name} v{draft.number} is imported as a draft: review it, then submit it."
            if draft.settings_kept:
                said += (
                    f" The template's own settings here are kept; the file's differ ({', '.join(draft.settings_kept)}):"
                    " change them on the template's page if they should."
                )
            messages.success(request, said)
            return redirect("checklists:draft_edit", pk=draft.pk)
    return render(request, "checklists/template_import.html", {"form": form})
