"""The draft editor: add, edit, remove and reorder the items of a draft, through the services."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Max
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ..forms import ItemConditionFormSet, TemplateItemForm, condition_form_helper, show_refusal
from ..models import TemplateItem
from ..services import template_item_create, template_item_delete, template_item_move, template_item_update
from .access import get_draft_or_404, staff_required


def _draft_item_or_404(pk) -> TemplateItem:
    version_id = get_object_or_404(TemplateItem.objects.values_list("version_id", flat=True), pk=pk)
    version = get_draft_or_404(version_id)
    item = get_object_or_404(TemplateItem, pk=pk, version=version)
    item.version = version
    return item


def _back_to(item_or_version) -> str:
    version_id = getattr(item_or_version, "version_id", None) or item_or_version.pk
    anchor = f"#item-{item_or_version.pk}" if isinstance(item_or_version, TemplateItem) else ""
    return reverse("checklists:draft_edit", args=[version_id]) + anchor


def _refused(request, item: TemplateItem, error: ValidationError):
    """A refusal of a removal or a move: said on the version's page (a draft published meanwhile
    has no editor any more)."""
    for message in error.messages:
        messages.error(request, message)
    return redirect("checklists:version_detail", pk=item.version_id)


def _item_page(request, *, version, item):
    data = request.POST if request.method == "POST" else None
    next_order = (version.items.aggregate(top=Max("order"))["top"] or 0) + 1
    initial = {} if item else {"order": next_order}
    form = TemplateItemForm(data, instance=item, version=version, initial=initial)
    conditions = ItemConditionFormSet(data, instance=form.instance, prefix="conditions")
    if request.method == "POST" and form.is_valid() and conditions.is_valid():
        change = {
            "values": form.item_values(),
            "depends_on": form.cleaned_data["depends_on"],
            "conditions": conditions.rows(),
            "actor": request.user,
        }
        try:
            if item is None:
                saved = template_item_create(version=version, **change)
            else:
                saved = template_item_update(item=item, **change)
        except ValidationError as error:
            show_refusal(form, error)
        else:
            messages.success(request, f"Item {saved.order} is saved.")
            return redirect(_back_to(saved))
    return render(
        request,
        "checklists/item_form.html",
        {
            "version": version,
            "item": item,
            "form": form,
            "conditions": conditions,
            "condition_helper": condition_form_helper(),
        },
    )


@staff_required
def item_add(request, pk):
    return _item_page(request, version=get_draft_or_404(pk), item=None)


@staff_required
def item_edit(request, pk):
    item = _draft_item_or_404(pk)
    return _item_page(request, version=item.version, item=item)


@require_POST
@staff_required
def item_delete(request, pk):
    item = _draft_item_or_404(pk)
    try:
        template_item_delete(item=item, actor=request.user)
    except ValidationError as error:
        return _refused(request, item, error)
    messages.success(request, f"Item “{item.text}” is removed from the draft.")
    return redirect(_back_to(item.version))


@require_POST
@staff_required
def item_move(request, pk):
    """Move an item one place up or down."""
    item = _draft_item_or_404(pk)
    direction = request.POST.get("direction")
    if direction not in ("up", "down"):
        raise Http404("Move up or down.")
    try:
        moved = template_item_move(item=item, direction=direction, actor=request.user)
    except ValidationError as error:
        return _refused(request, item, error)
    if not moved:
        messages.info(request, "The item is already at the " + ("top." if direction == "up" else "bottom."))
    return redirect(_back_to(item))
