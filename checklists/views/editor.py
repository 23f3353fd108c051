"""The draft editor: add, edit, remove and reorder the items of a draft."""

from django.contrib import messages
from django.db import transaction
from django.db.models import Max
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ..forms import ItemConditionFormSet, TemplateItemForm, condition_form_helper
from ..models import TemplateItem
from .access import get_draft_or_404, staff_required


def _draft_item_or_404(pk, *, lock: bool = False) -> TemplateItem:
    version_id = get_object_or_404(TemplateItem.objects.values_list("version_id", flat=True), pk=pk)
    version = get_draft_or_404(version_id, lock=lock)
    item = get_object_or_404(TemplateItem, pk=pk, version=version)
    item.version = version
    return item


def _back_to(item_or_version) -> str:
    version_id = getattr(item_or_version, "version_id", None) or item_or_version.pk
    anchor = f"#item-{item_or_version.pk}" if isinstance(item_or_version, TemplateItem) else ""
    return reverse("checklists:draft_edit", args=[version_id]) + anchor


def _item_page(request, *, version, item):
    data = request.POST if request.method == "POST" else None
    next_order = (version.items.aggregate(top=Max("order"))["top"] or 0) + 1
    initial = {} if item else {"order": next_order}
    form = TemplateItemForm(data, instance=item, version=version, initial=initial)
    conditions = ItemConditionFormSet(data, instance=form.instance, prefix="conditions")
    if request.method == "POST" and form.is_valid() and conditions.is_valid():
        with transaction.atomic():
            # Lock as publishing does, and check again that the version is still a draft.
            get_draft_or_404(version.pk, lock=True)
            saved = form.save()
            conditions.instance = saved
            conditions.save()
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
@transaction.atomic
def item_delete(request, pk):
    item = _draft_item_or_404(pk, lock=True)
    version = item.version
    item.delete()
    messages.success(request, f"Item “{item.text}” is removed from the draft.")
    return redirect(_back_to(version))


@require_POST
@staff_required
@transaction.atomic
def item_move(request, pk):
    """Swap an item with its neighbour above or below, through a free position (order is unique)."""
    item = _draft_item_or_404(pk, lock=True)
    direction = request.POST.get("direction")
    siblings = item.version.items.exclude(pk=item.pk)
    if direction == "up":
        neighbour = siblings.filter(order__lt=item.order).order_by("-order").first()
    elif direction == "down":
        neighbour = siblings.filter(order__gt=item.order).order_by("order").first()
    else:
        raise Http404("Move up or down.")
    if neighbour is None:
        messages.info(request, "The item is already at the " + ("top." if direction == "up" else "bottom."))
        return redirect(_back_to(item))
    free = (item.version.items.aggregate(top=Max("order"))["top"] or 0) + 1
    mine, theirs = item.order, neighbour.order
    item.order = free
    item.save(update_fields=["order"])
    neighbour.order = mine
    neighbour.save(update_fields=["order"])
    item.order = theirs
    item.save(update_fields=["order"])
    return redirect(_back_to(item))
