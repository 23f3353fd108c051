"""The draft editor: add, edit, remove and reorder the items of a draft, through the services."""

import re

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Max
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.signin import redirect_to

from ..forms import CONDITION_PREFIX, ItemConditionForm, ItemConditionFormSet, TemplateItemForm, show_refusal
from ..models import TemplateItem, TemplateVersion
from ..services import (
    template_item_create,
    template_item_delete,
    template_item_move,
    template_item_reorder,
    template_item_update,
)
from .access import get_draft_or_404, staff_required

ROW_PREFIX = re.compile(rf"{CONDITION_PREFIX}-[0-9]{{1,2}}")


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
    return redirect_to(request, reverse("checklists:version_detail", args=[item.version_id]))


def _items_table(request, version: TemplateVersion) -> HttpResponse:
    """The draft's items table, for htmx to swap in place after a move, with the page's messages
    (this request's outcome) out of band."""
    items = version.items.prefetch_related("conditions", "depends_on").order_by("order")
    html = render_to_string(
        "checklists/partials/items_table.html", {"version": version, "items": items, "editable": True}, request
    )
    html += render_to_string("partials/messages_oob.html", request=request)
    return HttpResponse(html)


def _item_page(request, *, version, item):
    data = request.POST if request.method == "POST" else None
    next_order = (version.items.aggregate(top=Max("order"))["top"] or 0) + 1
    initial = {} if item else {"order": next_order}
    form = TemplateItemForm(data, instance=item, version=version, initial=initial)
    conditions = ItemConditionFormSet(data, instance=form.instance, prefix=CONDITION_PREFIX)
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
                saved = template_item_update(item=item, seen=form.cleaned_data["seen"] or None, **change)
        except ValidationError as error:
            show_refusal(form, error)
            if item is not None and any(e.code == "changed_meanwhile" for e in getattr(error, "error_list", ())):
                form.saw_current(TemplateItem.objects.get(pk=item.pk))
        else:
            messages.success(request, f"Item {saved.order} is saved.")
            return redirect(_back_to(saved))
    return render(
        request,
        "checklists/item_form.html",
        {"version": version, "item": item, "form": form, "conditions": conditions},
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
        template_item_delete(item=item, actor=request.user, seen=request.POST.get("seen") or None)
    except ValidationError as error:
        if any(e.code == "changed_meanwhile" for e in getattr(error, "error_list", ())):
            # Still a draft: back to the item in the editor, which shows it as it is now.
            messages.error(request, " ".join(error.messages))
            return redirect(_back_to(item))
        return _refused(request, item, error)
    messages.success(request, f"Item “{item.text}” is removed from the draft.")
    return redirect(_back_to(item.version))


@require_POST
@staff_required
def item_move(request, pk):
    """Move an item one place up or down (the keyboard's way to reorder; with htmx the table is
    answered in place)."""
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
    elif request.htmx:
        item.refresh_from_db(fields=["order"])
        messages.success(request, f"“{item.text}” is now item {item.order}.")
    if request.htmx:
        return _items_table(request, item.version)
    return redirect(_back_to(item))


@require_POST
@staff_required
def items_reorder(request, pk):
    """The draft's items in a new order, as the page lists them after a drag (`item`: their ids,
    first to last); the table comes back renumbered."""
    version = get_draft_or_404(pk)
    posted = request.POST.getlist("item")
    try:
        # An id is a bigint, at most 19 digits: Python refuses to read a number of thousands (a 500).
        item_ids = [int(value) for value in posted if value.isascii() and value.isdigit() and len(value) <= 19]
        if len(item_ids) != len(posted):
            raise ValidationError("The new order names something that is not an item of this draft.")
        template_item_reorder(version=version, item_ids=item_ids, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        if not TemplateVersion.objects.filter(pk=pk, status=TemplateVersion.Status.DRAFT).exists():
            # Published (or sent for review) meanwhile: it has no editor any more.
            return redirect_to(request, reverse("checklists:version_detail", args=[pk]))
    else:
        messages.success(request, "The new order is saved.")
    if request.htmx:
        return _items_table(request, version)
    return redirect(_back_to(version))


@require_GET
@staff_required
def condition_value(request):
    """The value field of one condition row, fitting the fact and operator chosen (htmx, when
    either changes): a list of the fact's values, a number field, or a text field."""
    prefix = request.GET.get("prefix", "")
    if not ROW_PREFIX.fullmatch(prefix):
        raise Http404("Not a condition row.")
    initial = {name: request.GET.get(f"{prefix}-{name}", "") for name in ("fact", "operator")}
    values = request.GET.getlist(f"{prefix}-value")
    initial["value"] = ", ".join(value.strip() for value in values if value.strip())
    form = ItemConditionForm(prefix=prefix, initial=initial)
    return render(request, "checklists/partials/condition_value.html", {"form": form})
