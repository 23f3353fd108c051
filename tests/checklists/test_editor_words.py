"""The template editor speaks like a clinician (issue 20, items 1 to 3 of the brief): due times in
words, dependencies named and chosen from a list, reordering by drag (and ↑/↓), conditions as
sentences with a value field that fits the fact, and each item's source, shown to the person
doing the task."""

import datetime as dt
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from checklists import conditions
from checklists.forms import ItemConditionForm, TemplateItemForm
from checklists.models import ChecklistTemplate, ItemCondition, TemplateItem, TemplateVersion
from checklists.offsets import describe_offset, join_offset, split_offset
from checklists.services import (
    checklists_instantiate,
    template_item_reorder,
    template_item_update,
    template_version_new_draft,
    template_version_publish,
)
from patients.models import CareEvent

from ..accounts.helpers import verified_login
from .helpers import item_form_data, make_event, publish_template

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def template(db):
    template = ChecklistTemplate.objects.create(name="Words", trigger_kind=CareEvent.Kind.CYCLE_START)
    version = TemplateVersion.objects.create(template=template, number=1)
    for order, (text, role) in enumerate(
        [
            ("Line primed", Role.NURSE),
            ("Order verified", Role.PHARMACIST),
            ("Cycle 1 ordered and signed", "oncologist"),
        ],
        start=1,
    ):
        TemplateItem.objects.create(version=version, section="Before", order=order, text=text, role=role)
    template_version_publish(version=version, actor=None, change_summary="First")
    return template


@pytest.fixture
def draft(template, admin_user):
    return template_version_new_draft(template=template, actor=admin_user)


@pytest.fixture
def staff(client, admin_user):
    verified_login(client, admin_user)
    return client


def _item(draft, order: int) -> TemplateItem:
    return draft.items.get(order=order)


def _order(draft) -> list[str]:
    return list(draft.items.order_by("order").values_list("text", flat=True))


# --- times in words ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "words"),
    [
        (0, "at the event"),
        (-2880, "2 days before"),
        (-1800, "1 day 6 hours before"),
        (30, "30 minutes after"),
        (1, "1 minute after"),
        (-60, "1 hour before"),
        (90, "1 hour 30 minutes after"),
        (1441, "1 day 1 minute after"),
        (-43200, "30 days before"),
    ],
)
def test_an_offset_reads_in_words(minutes, words):
    assert describe_offset(minutes) == words


@pytest.mark.parametrize(
    ("minutes", "shown"),
    [
        (0, (0, "hours", "before")),
        (-2880, (2, "days", "before")),
        (-1800, (30, "hours", "before")),
        (-90, (90, "minutes", "before")),
        (120, (2, "hours", "after")),
    ],
)
def test_the_form_shows_an_offset_in_the_largest_unit_that_holds_it_whole(minutes, shown):
    assert split_offset(minutes) == shown
    assert join_offset(*shown) == minutes


def test_every_offset_within_the_limits_survives_the_split_and_join():
    for minutes in range(-43200, 43201, 7):
        assert join_offset(*split_offset(minutes)) == minutes


def _form(draft, item=None, **overrides):
    data = item_form_data(**({"order": str(item.order), "text": item.text} if item else {"order": "4"}), **overrides)
    return TemplateItemForm(data, instance=item, version=draft)


@pytest.mark.parametrize(
    ("amount", "unit", "direction", "minutes"),
    [
        ("2", "days", "before", -2880),
        ("30", "minutes", "after", 30),
        ("0", "hours", "before", 0),
        ("30", "days", "after", 43200),
        ("720", "hours", "before", -43200),
    ],
)
def test_the_item_form_stores_the_amount_unit_and_direction_as_minutes(draft, amount, unit, direction, minutes):
    form = _form(draft, due_amount=amount, due_unit=unit, due_direction=direction)
    assert form.is_valid(), form.errors
    assert form.item_values()["due_offset_minutes"] == minutes


@pytest.mark.parametrize(
    ("amount", "unit", "direction", "message"),
    [
        ("31", "days", "after", "31 days after is too far"),
        ("721", "hours", "before", "30 days 1 hour before is too far"),
        ("43201", "minutes", "before", "at most 30 days before or after its event"),
        ("-2", "days", "before", "Give the amount as 0 or more"),
        ("1.5", "days", "before", "Give a whole number"),
        ("", "days", "before", "Give the amount: 0 for at the event."),
    ],
)
def test_an_offset_beyond_30_days_is_refused_at_the_amount(draft, amount, unit, direction, message):
    form = _form(draft, due_amount=amount, due_unit=unit, due_direction=direction)
    assert not form.is_valid()
    assert any(message in error for error in form.errors["due_amount"]), form.errors


def test_an_unknown_unit_is_refused_at_the_unit(draft):
    form = _form(draft, due_amount="2", due_unit="weeks")
    assert not form.is_valid() and "due_unit" in form.errors


def test_the_edit_page_shows_the_stored_offset_as_amount_unit_and_direction_and_saves_it_unchanged(staff, draft):
    item = _item(draft, 2)
    template_item_update(item=item, values={"due_offset_minutes": -1800}, actor=None)
    page = staff.get(reverse("checklists:item_edit", args=[item.pk])).content.decode()
    assert re.search(r'name="due_amount" value="30"', page)
    assert re.search(r'<option value="hours" selected>', page)
    assert re.search(r'<option value="before" selected>', page)
    data = item_form_data(order="2", text=item.text, due_amount="30", due_unit="hours", due_direction="before")
    assert staff.post(reverse("checklists:item_edit", args=[item.pk]), data).status_code == 302
    item.refresh_from_db()
    assert item.due_offset_minutes == -1800


def test_the_items_table_says_when_each_item_is_due_in_words(staff, draft):
    template_item_update(item=_item(draft, 1), values={"due_offset_minutes": -2880}, actor=None)
    template_item_update(item=_item(draft, 3), values={"due_offset_minutes": 30}, actor=None)
    body = staff.get(reverse("checklists:draft_edit", args=[draft.pk])).content.decode()
    assert "2 days before" in body and "at the event" in body and "30 minutes after" in body
    assert " min<" not in body


# --- dependencies in words ---------------------------------------------------------------------


def test_done_after_lists_the_drafts_other_items_as_checkboxes_named_by_number_and_text(staff, draft):
    item = _item(draft, 1)
    page = staff.get(reverse("checklists:item_edit", args=[item.pk])).content.decode()
    assert 'type="checkbox" name="depends_on"' in page
    assert "#2 Order verified" in page and "#3 Cycle 1 ordered and signed" in page
    assert "#1 Line primed" not in page  # not itself
    assert "data-dependency-filter" in page  # the box that filters them, shown by the script
    assert "<select" not in page.split('name="depends_on"')[0].rsplit("<fieldset", 1)[-1]


def test_the_items_table_says_what_an_item_is_done_after(staff, draft):
    template_item_update(item=_item(draft, 1), values={}, depends_on=[_item(draft, 3)], actor=None)
    body = staff.get(reverse("checklists:draft_edit", args=[draft.pk])).content.decode()
    assert "after #3 Cycle 1 ordered and signed" in body


def test_a_direct_circle_is_refused_at_the_field_naming_the_item(staff, draft):
    first, second = _item(draft, 1), _item(draft, 2)
    second.depends_on.add(first)
    data = item_form_data(order="1", text=first.text, role=Role.NURSE, depends_on=str(second.pk))
    response = staff.post(reverse("checklists:item_edit", args=[first.pk]), data)
    form = response.context["form"]
    assert "Choosing #2 Order verified would make a circle" in " ".join(form.errors["depends_on"])
    assert not first.depends_on.exists()


def test_a_circle_through_another_item_names_every_item_on_the_way(draft):
    first, second, third = _item(draft, 1), _item(draft, 2), _item(draft, 3)
    third.depends_on.add(second)
    second.depends_on.add(first)
    with pytest.raises(ValidationError) as refused:
        template_item_update(item=first, values={}, depends_on=[third], actor=None)
    said = " ".join(refused.value.message_dict["depends_on"])
    assert "Choosing #3 Cycle 1 ordered and signed would make a circle" in said
    assert "(through #2 Order verified)" in said
    assert not first.depends_on.exists()


def test_a_chain_that_is_no_circle_is_accepted(draft):
    first, second, third = _item(draft, 1), _item(draft, 2), _item(draft, 3)
    second.depends_on.add(first)
    template_item_update(item=third, values={}, depends_on=[second, first], actor=None)
    assert set(third.depends_on.all()) == {first, second}


# --- reordering --------------------------------------------------------------------------------


def test_the_reorder_service_puts_the_items_in_the_order_given_numbered_from_1(draft, admin_user):
    first, second, third = _item(draft, 1), _item(draft, 2), _item(draft, 3)
    TemplateItem.objects.filter(pk=third.pk).update(order=7)  # gaps are closed
    template_item_reorder(version=draft, item_ids=[third.pk, first.pk, second.pk], actor=admin_user)
    assert list(draft.items.order_by("order").values_list("pk", "order")) == [
        (third.pk, 1),
        (first.pk, 2),
        (second.pk, 3),
    ]
    assert admin_user in draft.authors.all()


@pytest.mark.parametrize(
    "change",
    ["one missing", "one twice", "one of another version", "one unknown", "none"],
)
def test_the_reorder_service_refuses_a_list_that_is_not_exactly_the_drafts_items(draft, template, change, admin_user):
    ids = list(draft.items.order_by("order").values_list("pk", flat=True))
    published = template.versions.get(status=TemplateVersion.Status.PUBLISHED)
    wrong = {
        "one missing": ids[:-1],
        "one twice": [*ids[:-1], ids[0]],
        "one of another version": [*ids[:-1], published.items.first().pk],
        "one unknown": [*ids, 999_999],
        "none": [],
    }[change]
    with pytest.raises(ValidationError, match="must list every item of the draft once"):
        template_item_reorder(version=draft, item_ids=wrong, actor=admin_user)
    assert list(draft.items.order_by("order").values_list("pk", flat=True)) == ids


def test_the_reorder_service_refuses_a_version_published_meanwhile(draft, admin_user):
    ids = list(draft.items.order_by("-order").values_list("pk", flat=True))
    template_version_publish(version=draft, actor=admin_user, change_summary="Published first")
    with pytest.raises(ValidationError, match="Only a draft can be edited"):
        template_item_reorder(version=draft, item_ids=ids, actor=admin_user)


def test_a_drop_posts_the_new_order_and_gets_the_renumbered_table(staff, draft):
    first, second, third = _item(draft, 1), _item(draft, 2), _item(draft, 3)
    url = reverse("checklists:items_reorder", args=[draft.pk])
    response = staff.post(url, {"item": [second.pk, third.pk, first.pk]}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.strip().startswith('<div id="items-table">')
    rows = re.findall(r'data-item-id="(\d+)">.*?<td class="item-number">(\d+)</td>', body, re.S)
    assert rows == [(str(second.pk), "1"), (str(third.pk), "2"), (str(first.pk), "3")]
    assert "The new order is saved." in body  # the page's messages, out of band
    assert _order(draft) == ["Order verified", "Cycle 1 ordered and signed", "Line primed"]


def test_without_htmx_the_new_order_goes_back_to_the_draft(staff, draft):
    ids = list(draft.items.order_by("-order").values_list("pk", flat=True))
    response = staff.post(reverse("checklists:items_reorder", args=[draft.pk]), {"item": ids})
    assert response.status_code == 302 and response["Location"] == reverse("checklists:draft_edit", args=[draft.pk])
    assert _order(draft) == ["Cycle 1 ordered and signed", "Order verified", "Line primed"]


# A number of 5,000 digits: Python refuses to read it (a ValueError, once a server error).
@pytest.mark.parametrize("posted", [["1", "x"], ["", ""], ["-5"], ["9" * 5000]])
def test_a_drop_with_garbage_is_refused_and_changes_nothing(staff, draft, posted):
    before = _order(draft)
    response = staff.post(reverse("checklists:items_reorder", args=[draft.pk]), {"item": posted}, **HTMX)
    assert response.status_code == 200
    assert "is not an item of this draft" in response.content.decode()
    assert _order(draft) == before


def test_a_stale_drop_says_to_load_the_page_again_and_changes_nothing(staff, draft):
    ids = list(draft.items.order_by("-order").values_list("pk", flat=True))
    _item(draft, 2).delete()  # another admin removed an item meanwhile
    response = staff.post(reverse("checklists:items_reorder", args=[draft.pk]), {"item": ids}, **HTMX)
    body = response.content.decode()
    assert "Load the page again" in body
    assert _order(draft) == ["Line primed", "Cycle 1 ordered and signed"]


def test_a_drop_on_a_version_published_meanwhile_goes_to_the_version(staff, draft, admin_user, monkeypatch):
    from checklists.views import editor

    monkeypatch.setattr(editor, "get_draft_or_404", lambda pk: TemplateVersion.objects.get(pk=pk))
    template_version_publish(version=draft, actor=admin_user, change_summary="Meanwhile")
    ids = list(draft.items.order_by("-order").values_list("pk", flat=True))
    response = staff.post(reverse("checklists:items_reorder", args=[draft.pk]), {"item": ids}, **HTMX)
    assert response["HX-Redirect"] == reverse("checklists:version_detail", args=[draft.pk])
    assert _order(draft) == ["Line primed", "Order verified", "Cycle 1 ordered and signed"]


def test_a_nurse_cannot_reorder(client, nurse, draft):
    client.force_login(nurse)
    ids = list(draft.items.order_by("-order").values_list("pk", flat=True))
    assert client.post(reverse("checklists:items_reorder", args=[draft.pk]), {"item": ids}).status_code == 403
    assert _order(draft) == ["Line primed", "Order verified", "Cycle 1 ordered and signed"]


def test_the_draft_page_offers_dragging_and_labelled_move_buttons(staff, draft):
    body = staff.get(reverse("checklists:draft_edit", args=[draft.pk])).content.decode()
    assert f'data-reorder-url="{reverse("checklists:items_reorder", args=[draft.pk])}"' in body
    assert "vendor/sortablejs/Sortable.min.js" in body and "js/template-editor.js" in body
    assert 'aria-label="Move item 2 up"' in body and 'aria-label="Move item 2 down"' in body
    assert "drag a row by its" in body


def test_a_published_version_offers_no_dragging(staff, template):
    published = template.versions.get(status=TemplateVersion.Status.PUBLISHED)
    body = staff.get(reverse("checklists:version_detail", args=[published.pk])).content.decode()
    assert "data-reorder-url" not in body and "Sortable.min.js" not in body
    ids = list(published.items.order_by("-order").values_list("pk", flat=True))
    assert staff.post(reverse("checklists:items_reorder", args=[published.pk]), {"item": ids}).status_code == 404
    assert list(published.items.order_by("order").values_list("pk", flat=True)) == ids[::-1]


def test_a_move_with_htmx_answers_the_table_in_place(staff, draft):
    second = _item(draft, 2)
    response = staff.post(reverse("checklists:item_move", args=[second.pk]), {"direction": "up"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and body.strip().startswith('<div id="items-table">')
    assert "“Order verified” is now item 1." in body
    assert _order(draft)[0] == "Order verified"


# --- conditions as sentences -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "words"),
    [
        ("eq", "is"),
        ("ne", "is not"),
        ("lt", "is less than"),
        ("le", "is at most"),
        ("gt", "is more than"),
        ("ge", "is at least"),
        ("in", "is one of"),
    ],
)
def test_operators_are_worded(operator, words):
    assert conditions.OPERATORS[operator][0] == words
    assert dict(conditions.OPERATOR_CHOICES)[operator] == words


def test_conditions_read_as_one_sentence():
    rows = [("weight_kg", "lt", "45"), ("setting", "eq", "home")]
    assert conditions.describe_all(rows) == "Applies when weight (kg) is less than 45 and setting is home"
    assert conditions.describe_all([]) == "Always applies"
    assert conditions.describe("indication", "in", "mrd_positive, consolidation") == (
        "indication is one of MRD-positive or consolidation"
    )


def test_the_items_table_and_the_template_settings_say_when_an_item_applies(staff, draft, template):
    item = _item(draft, 1)
    ItemCondition.objects.create(item=item, fact="weight_kg", operator="lt", value="45")
    ItemCondition.objects.create(item=item, fact="setting", operator="eq", value="home")
    body = staff.get(reverse("checklists:draft_edit", args=[draft.pk])).content.decode()
    assert "Applies when weight (kg) is less than 45 and setting is home" in body
    assert "Always applies" in body  # the other items
    template.conditions.create(fact="cycle_number", operator="eq", value="1")
    page = staff.get(reverse("checklists:template_detail", args=[template.pk])).content.decode()
    assert "Applies when cycle number is 1" in page


def _conditions_fieldset(page: str) -> str:
    return page.split('<fieldset class="border rounded p-3 mb-3 condition-rows">', 1)[1].split("</fieldset>", 1)[0]


def test_empty_condition_rows_look_optional_and_are_not_required(staff, draft):
    page = staff.get(reverse("checklists:item_add", args=[draft.pk])).content.decode()
    rows = _conditions_fieldset(page)
    assert "asteriskField" not in rows and "*" not in rows and " required" not in rows
    assert rows.count('class="condition-row') == 2
    assert re.findall(r"condition-joiner[^>]*>(\w+)<", rows) == ["When", "and"]
    response = staff.post(reverse("checklists:item_add", args=[draft.pk]), item_form_data(order="4"))  # rows empty
    assert response.status_code == 302
    assert not draft.items.get(order=4).conditions.exists()


def test_a_half_filled_row_says_what_is_missing_at_its_fields(staff, draft):
    data = item_form_data(order="4")
    data |= {"conditions-0-fact": "weight_kg"}
    response = staff.post(reverse("checklists:item_add", args=[draft.pk]), data)
    row = response.context["conditions"].forms[0]
    assert row.errors["operator"] == ["Choose how to compare."]
    assert row.errors["value"] == ["Give a value."]
    assert "fact" not in row.errors


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (("weight_kg", "lt", "heavy"), "Weight (kg) needs a number, not “heavy”."),
        (("setting", "eq", "garden"), "Setting is one of inpatient, clinic, home; not “garden”."),
        (("cycle_number", "in", "1, two"), "Cycle number needs a number, not “two”."),
    ],
)
def test_a_value_is_checked_against_its_fact_at_the_value_field(staff, draft, condition, message):
    response = staff.post(reverse("checklists:item_add", args=[draft.pk]), item_form_data([condition], order="4"))
    assert response.status_code == 200
    assert response.context["conditions"].forms[0].errors["value"] == [message]
    assert draft.items.count() == 3


def test_an_ordering_operator_on_a_fact_with_choices_is_refused_at_the_operator(staff, draft):
    data = item_form_data([("setting", "lt", "home")], order="4")
    response = staff.post(reverse("checklists:item_add", args=[draft.pk]), data)
    errors = response.context["conditions"].forms[0].errors
    assert errors["operator"] == ["Setting can only be compared with is, is not or is one of."]


def _value_html(form) -> str:
    return str(form["value"])


def test_the_value_field_fits_the_fact():
    choice = ItemConditionForm(prefix="conditions-0", initial={"fact": "setting", "operator": "eq", "value": "home"})
    html = _value_html(choice)
    assert "<select" in html and '<option value="home" selected>Home</option>' in html
    assert '<option value="clinic">Infusion clinic</option>' in html
    several = ItemConditionForm(
        prefix="conditions-0", initial={"fact": "setting", "operator": "in", "value": "home, clinic"}
    )
    html = _value_html(several)
    assert html.count('type="checkbox"') == 3 and html.count("checked") == 2
    number = ItemConditionForm(prefix="conditions-0", initial={"fact": "weight_kg", "operator": "lt", "value": "45"})
    assert 'type="number"' in _value_html(number) and 'step="any"' in _value_html(number)
    numbers = ItemConditionForm(prefix="conditions-0", initial={"fact": "cycle_number", "operator": "in"})
    assert 'type="text"' in _value_html(numbers) and "separated by commas" in _value_html(numbers)
    nothing_yet = ItemConditionForm(prefix="conditions-0")
    assert 'type="text"' in _value_html(nothing_yet)


def test_several_values_ticked_are_kept_as_one_condition(staff, draft):
    data = item_form_data(order="4")
    data |= {"conditions-0-fact": "setting", "conditions-0-operator": "in", "conditions-0-value": ["home", "clinic"]}
    assert staff.post(reverse("checklists:item_add", args=[draft.pk]), data).status_code == 302
    condition = draft.items.get(order=4).conditions.get()
    assert (condition.fact, condition.operator, condition.value) == ("setting", "in", "home, clinic")
    page = staff.get(reverse("checklists:item_edit", args=[draft.items.get(order=4).pk])).content.decode()
    assert re.search(r'type="checkbox" name="conditions-0-value" value="home"[^>]*checked', page)


def test_a_change_of_fact_brings_the_value_field_that_fits_it(staff):
    url = reverse("checklists:condition_value")
    body = staff.get(
        url, {"prefix": "conditions-1", "conditions-1-fact": "setting", "conditions-1-operator": "in"}
    ).content.decode()
    assert body.count('type="checkbox" name="conditions-1-value"') == 3
    body = staff.get(
        url, {"prefix": "conditions-1", "conditions-1-fact": "weight_kg", "conditions-1-operator": "ge"}
    ).content.decode()
    assert 'type="number" name="conditions-1-value"' in body
    assert "invalid-feedback" not in body  # an unfinished row is not yet refused


def test_the_fact_and_operator_ask_for_the_fitting_value_field(staff, draft):
    page = staff.get(reverse("checklists:item_add", args=[draft.pk])).content.decode()
    assert f'data-hx-get="{reverse("checklists:condition_value")}"' in page
    assert 'data-hx-target="#conditions-0-value-slot"' in page and 'id="conditions-0-value-slot"' in page


@pytest.mark.parametrize("prefix", ["", "items-0", "conditions-0-x", "conditions-123"])
def test_the_value_field_answers_only_for_a_condition_row(staff, prefix):
    assert staff.get(reverse("checklists:condition_value"), {"prefix": prefix}).status_code == 404


def test_the_value_field_is_for_staff_only(client, nurse):
    client.force_login(nurse)
    assert client.get(reverse("checklists:condition_value"), {"prefix": "conditions-0"}).status_code == 403


# --- source --------------------------------------------------------------------------------------


def test_the_item_form_keeps_the_source_and_the_table_shows_it(staff, draft):
    item = _item(draft, 2)
    source = "Blincyto label 2024, section 2.2"
    data = item_form_data(order="2", text=item.text, source="Blincyto label 2024,\r\n section 2.2 ")
    assert staff.post(reverse("checklists:item_edit", args=[item.pk]), data).status_code == 302
    item.refresh_from_db()
    assert item.source == source
    assert f"Source: {source}" in staff.get(reverse("checklists:draft_edit", args=[draft.pk])).content.decode()
    page = staff.get(reverse("checklists:item_edit", args=[item.pk])).content.decode()
    assert f"\n{source}</textarea>" in page and "the institution's policy this item rests on" in page


def test_the_person_doing_the_task_sees_its_source_beside_its_help(client, nurse, patient):
    publish_template(
        items=[
            {"text": "Pump programmed", "help_text": "28 mcg/day over 24 h.", "source": "Unit policy ONC-12"},
            {"text": "Line primed"},
        ]
    )
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))
    checklists_instantiate(events=[event])
    client.force_login(nurse)
    for url in (reverse("home"), reverse("event_detail", args=[event.pk])):
        body = client.get(url).content.decode()
        help_at = body.index("28 mcg/day over 24 h.")
        assert body.index("Source: Unit policy ONC-12") > help_at
        assert body.count("Source:") == 1  # an item without a source says none


def test_a_hard_stop_in_the_editor_is_a_neutral_badge_not_red(client, admin_user):
    """A hard stop is how an item is set up, not something late or unsafe: red stays for those
    (README: Red only for what is due). The bedside row shows the same badge in grey."""
    version = publish_template(
        items=[{"text": "Weight", "response_kind": "number", "unit": "kg", "min_value": 1, "hard_stop": True}]
    )
    verified_login(client, admin_user)
    body = client.get(reverse("checklists:version_detail", args=[version.pk])).content.decode()
    badge = re.search(r'<span class="badge ([^"]*)">hard stop</span>', body)
    assert badge is not None, body
    assert "danger" not in badge.group(1)


def test_the_template_pages_ask_for_a_choice_in_words(client, admin_user, template, draft):
    """Found by a walk through the pages: Django's "---------" was the first option of "Triggered
    by", "Approved by" (where empty means any other admin), the versions to compare, an item's
    role and verifier role (where empty means the task's own role) and the preview's choices."""
    verified_login(client, admin_user)
    item = client.get(reverse("checklists:item_add", args=[draft.pk])).content.decode()
    assert "---------" not in item
    assert "Choose the role…</option>" in item and "The task&#x27;s own role</option>" in item
    preview = client.get(reverse("checklists:version_preview", args=[draft.pk])).content.decode()
    assert "---------" not in preview and "Any patient</option>" in preview
    settings = client.get(reverse("checklists:template_list")).content.decode()
    assert "---------" not in settings
    assert "Choose the kind of event…</option>" in settings and "Any other admin</option>" in settings
    compare = client.get(reverse("checklists:version_compare")).content.decode()
    assert "---------" not in compare and "Choose a version…" in compare
