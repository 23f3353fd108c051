import pytest
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import Role, User
from checklists.models import (
    Checklist,
    ChecklistTemplate,
    ItemCondition,
    Task,
    TemplateCondition,
    TemplateItem,
    TemplateVersion,
)
from checklists.services import (
    template_create,
    template_item_create,
    template_item_delete,
    template_item_move,
    template_item_update,
    template_update,
    template_version_new_draft,
    template_version_publish,
)
from checklists.views import editor
from patients.models import CareEvent, CareTeamMember
from patients.services import course_schedule_build

from ..accounts.helpers import verified_login
from ..factories import CourseFactory, PatientFactory
from .helpers import form_with_conditions, item_form_data


@pytest.fixture
def template(db):
    template = ChecklistTemplate.objects.create(name="Test cycle start", trigger_kind=CareEvent.Kind.CYCLE_START)
    TemplateCondition.objects.create(template=template, fact="cycle_number", operator="eq", value="1")
    version = TemplateVersion.objects.create(template=template, number=1)
    TemplateItem.objects.create(version=version, section="Before", order=1, text="Line primed", role=Role.NURSE)
    TemplateItem.objects.create(
        version=version, section="Pharmacy", order=2, text="Order verified", role=Role.PHARMACIST
    )
    template_version_publish(version=version, actor=None, change_summary="First")
    return template


@pytest.fixture
def published(template):
    return template.versions.get(status=TemplateVersion.Status.PUBLISHED)


@pytest.fixture
def draft(template, admin_user):
    return template_version_new_draft(template=template, actor=admin_user)


@pytest.fixture
def staff(client, admin_user):
    verified_login(client, admin_user)
    return client


def _rows():
    return (
        TemplateItem.objects.count(),
        ItemCondition.objects.count(),
        TemplateItem.depends_on.through.objects.count(),
        list(TemplateItem.objects.order_by("pk").values_list("text", "order", "due_offset_minutes", "choices")),
    )


# --- access ------------------------------------------------------------------------------------

PAGES = [
    ("checklists:template_list", None),
    ("checklists:template_detail", "template"),
    ("checklists:version_detail", "published"),
    ("checklists:draft_edit", "draft"),
    ("checklists:item_add", "draft"),
    ("checklists:item_edit", "draft_item"),
    ("checklists:version_review", "draft"),
    ("checklists:version_preview", "published"),
    ("checklists:version_compare", None),
]


def _url(name, target, template, published, draft):
    objects = {
        "template": template,
        "published": published,
        "draft": draft,
        "draft_item": draft.items.first(),
    }
    return reverse(name, args=[objects[target].pk]) if target else reverse(name)


@pytest.mark.parametrize(("name", "target"), PAGES)
def test_anonymous_users_are_sent_to_sign_in(client, template, published, draft, name, target):
    response = client.get(_url(name, target, template, published, draft))
    assert response.status_code == 302
    assert "login" in response["Location"]


@pytest.mark.parametrize(("name", "target"), PAGES)
def test_a_nurse_who_is_not_staff_gets_403(client, nurse, template, published, draft, name, target):
    client.force_login(nurse)
    assert client.get(_url(name, target, template, published, draft)).status_code == 403


@pytest.mark.parametrize(("name", "target"), PAGES)
def test_staff_see_every_page(staff, template, published, draft, name, target):
    assert staff.get(_url(name, target, template, published, draft)).status_code == 200


def test_a_nurse_cannot_post_a_new_draft_or_move_an_item(client, nurse, template, draft):
    client.force_login(nurse)
    item = draft.items.first()
    assert client.post(reverse("checklists:draft_new", args=[template.pk])).status_code == 403
    assert client.post(reverse("checklists:item_move", args=[item.pk]), {"direction": "down"}).status_code == 403
    assert client.post(reverse("checklists:item_delete", args=[item.pk])).status_code == 403
    assert TemplateItem.objects.filter(pk=item.pk, order=1).exists()


def test_the_list_shows_the_templates_and_their_versions(staff, published):
    body = staff.get(reverse("checklists:template_list")).content.decode()
    assert "Test cycle start" in body and "v1" in body and "cycle number is 1" in body


# --- the editing flow --------------------------------------------------------------------------


def test_staff_create_a_draft_that_copies_the_published_version(staff, template, published):
    response = staff.post(reverse("checklists:draft_new", args=[template.pk]))
    draft = template.versions.get(status=TemplateVersion.Status.DRAFT)
    assert response.status_code == 302
    assert response["Location"] == reverse("checklists:draft_edit", args=[draft.pk])
    assert draft.number == 2
    assert list(draft.items.values_list("text", flat=True)) == ["Line primed", "Order verified"]
    assert staff.post(reverse("checklists:draft_new", args=[template.pk])).status_code == 302
    assert template.versions.count() == 2  # a second click finds the same draft


def test_staff_add_an_item_with_conditions_and_a_dependency(staff, draft):
    first = draft.items.get(order=1)
    data = item_form_data(
        conditions=[("weight_kg", "lt", "45"), ("setting", "in", "home, clinic")],
        depends_on=str(first.pk),
    )
    response = staff.post(reverse("checklists:item_add", args=[draft.pk]), data)
    assert response.status_code == 302
    item = draft.items.get(order=3)
    assert item.text == "Interaction review done" and item.due_offset_minutes == -60
    assert sorted((c.fact, c.operator, c.value) for c in item.conditions.all()) == [
        ("setting", "in", "home, clinic"),
        ("weight_kg", "lt", "45"),
    ]
    assert list(item.depends_on.all()) == [first]


def test_staff_add_a_choice_item_with_options_one_per_line(staff, draft):
    data = item_form_data(
        response_kind="choice",
        choices="24 h\n48 h\n\n7 days  \n",
        failing_choices="7 days",
        hard_stop="on",
    )
    assert staff.post(reverse("checklists:item_add", args=[draft.pk]), data).status_code == 302
    item = draft.items.get(order=3)
    assert item.choices == ["24 h", "48 h", "7 days"]
    assert item.failing_choices == ["7 days"] and item.hard_stop


def test_staff_edit_an_item_and_its_options_show_one_per_line(staff, draft):
    item = draft.items.get(order=2)
    data = item_form_data(
        order="2", text="Order verified against the protocol", response_kind="choice", choices="Yes\nNo"
    )
    assert staff.post(reverse("checklists:item_edit", args=[item.pk]), data).status_code == 302
    item.refresh_from_db()
    assert (item.text, item.choices, item.order) == ("Order verified against the protocol", ["Yes", "No"], 2)
    page = staff.get(reverse("checklists:item_edit", args=[item.pk])).content.decode()
    assert "Yes\nNo" in page


def test_staff_remove_a_condition_of_an_item(staff, draft):
    item = draft.items.get(order=1)
    condition = ItemCondition.objects.create(item=item, fact="setting", operator="eq", value="home")
    data = item_form_data(order="1", text=item.text, role=Role.NURSE)
    data |= {
        "conditions-INITIAL_FORMS": "1",
        "conditions-0-id": str(condition.pk),
        "conditions-0-fact": "setting",
        "conditions-0-operator": "eq",
        "conditions-0-value": "home",
        "conditions-0-DELETE": "on",
    }
    assert staff.post(reverse("checklists:item_edit", args=[item.pk]), data).status_code == 302
    assert not item.conditions.exists()


def test_staff_move_an_item_up_and_down(staff, draft):
    first, second = draft.items.get(order=1), draft.items.get(order=2)
    assert staff.post(reverse("checklists:item_move", args=[second.pk]), {"direction": "up"}).status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.order, second.order) == (2, 1)
    staff.post(reverse("checklists:item_move", args=[second.pk]), {"direction": "down"})
    assert list(draft.items.order_by("order").values_list("pk", flat=True)) == [first.pk, second.pk]


def test_moving_the_top_item_up_changes_nothing(staff, draft):
    first = draft.items.get(order=1)
    staff.post(reverse("checklists:item_move", args=[first.pk]), {"direction": "up"})
    first.refresh_from_db()
    assert first.order == 1


def test_staff_remove_an_item_from_a_draft(staff, draft, published):
    item = draft.items.get(order=2)
    assert staff.post(reverse("checklists:item_delete", args=[item.pk])).status_code == 302
    assert not TemplateItem.objects.filter(pk=item.pk).exists()
    assert published.items.count() == 2


def test_one_admin_publishes_from_the_pages_only_in_an_emergency_with_a_reason(staff, draft, published):
    url = reverse("checklists:version_review", args=[draft.pk])
    shown = staff.get(url).context["forms"]["emergency"]
    response = staff.post(
        url,
        {
            "action": "emergency",
            "emergency-change_summary": "Pharmacy item reworded",
            "emergency-comment": "The old wording names the wrong bag; the night shift needs this now.",
            "emergency-seen": shown.initial["seen"],
        },
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    published.refresh_from_db()
    assert draft.status == TemplateVersion.Status.PUBLISHED and draft.change_summary == "Pharmacy item reworded"
    assert draft.published_by.username == "admin"
    assert published.status == TemplateVersion.Status.RETIRED


def test_a_submission_without_a_summary_is_refused_at_the_field(staff, draft):
    url = reverse("checklists:version_review", args=[draft.pk])
    response = staff.post(url, {"action": "submit", "submit-change_summary": ""})
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == TemplateVersion.Status.DRAFT


def test_a_draft_that_fails_validation_is_not_submitted_and_says_why(staff, draft):
    draft.items.all().delete()
    url = reverse("checklists:version_review", args=[draft.pk])
    response = staff.post(url, {"action": "submit", "submit-change_summary": "x"})
    assert "at least one item" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == TemplateVersion.Status.DRAFT


def test_compare_lists_items_added_removed_and_changed(staff, admin_user, published, draft):
    draft.items.filter(order=1).delete()
    changed = draft.items.get(order=2)
    changed.text = "Order and dose band verified"
    changed.due_offset_minutes = -120
    changed.save()
    ItemCondition.objects.create(item=changed, fact="weight_kg", operator="lt", value="45")
    TemplateItem.objects.create(
        version=draft, section="Pharmacy", order=3, text="Interactions reviewed", role="pharmacist"
    )
    template_version_publish(version=draft, actor=admin_user, change_summary="Reworked")
    body = staff.get(reverse("checklists:version_compare"), {"a": published.pk, "b": draft.pk}).content.decode()
    assert "Items added (1)" in body and "Interactions reviewed" in body
    assert "Items removed (1)" in body and "Line primed" in body
    assert "Items changed (1)" in body
    assert "<del>Order verified</del>" in body and "<ins>Order and dose band verified</ins>" in body
    assert "<del>at the event</del>" in body and "<ins>2 hours before</ins>" in body
    assert "weight (kg) is less than 45" in body


def test_compare_refuses_an_unknown_version_at_the_field(staff, published):
    response = staff.get(reverse("checklists:version_compare"), {"a": published.pk, "b": 999999})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


# --- bad input ---------------------------------------------------------------------------------

BAD_INPUT = [
    pytest.param(
        {"conditions": [("weight_kg", "lt", "heavy")]}, "Weight (kg) needs a number, not “heavy”.", id="condition-value"
    ),
    pytest.param(
        {"conditions": [("setting", "lt", "home")]},
        "Setting can only be compared with is, is not or is one of.",
        id="condition-operator",
    ),
    pytest.param(
        {"conditions": [("setting", "eq", "garden")]},
        "Setting is one of inpatient, clinic, home",
        id="condition-choice",
    ),
    pytest.param(
        {"due_amount": "31", "due_unit": "days", "due_direction": "after"},
        "at most 30 days before or after its event; 31 days after is too far",
        id="offset-after",
    ),
    pytest.param(
        {"due_amount": "721", "due_unit": "hours", "due_direction": "before"},
        "30 days 1 hour before is too far",
        id="offset-before",
    ),
    pytest.param({"due_amount": "-2"}, "Give the amount as 0 or more", id="offset-negative"),
    pytest.param({"response_kind": "choice", "choices": ""}, "needs at least two options", id="choice-without-options"),
    pytest.param({"order": "1"}, "Item 1 already exists in this draft", id="same-order"),
    pytest.param({"depends_on": "published-item"}, "Only items of this draft can be chosen", id="other-version"),
    pytest.param({"text": ""}, "This field is required", id="no-text"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_INPUT)
def test_bad_input_is_refused_at_the_field_and_nothing_is_saved(staff, draft, published, overrides, message):
    overrides = dict(overrides)
    if overrides.get("depends_on") == "published-item":
        overrides["depends_on"] = str(published.items.first().pk)
    conditions = overrides.pop("conditions", ())
    before = _rows()
    response = staff.post(reverse("checklists:item_add", args=[draft.pk]), item_form_data(conditions, **overrides))
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body
    assert "invalid-feedback" in body  # shown next to its field
    assert _rows() == before


def test_a_bad_edit_leaves_the_item_and_its_conditions_as_they_were(staff, draft):
    item = draft.items.get(order=2)
    before = _rows()
    data = item_form_data(conditions=[("cycle_number", "ge", "three")], order="2", text="Changed")
    response = staff.post(reverse("checklists:item_edit", args=[item.pk]), data)
    assert response.status_code == 200
    assert "Cycle number needs a number" in response.content.decode()
    assert _rows() == before


def test_a_dependency_circle_is_refused(staff, draft):
    first, second = draft.items.get(order=1), draft.items.get(order=2)
    second.depends_on.add(first)
    data = item_form_data(order="1", text=first.text, role=Role.NURSE, depends_on=str(second.pk))
    response = staff.post(reverse("checklists:item_edit", args=[first.pk]), data)
    assert response.status_code == 200
    assert "circle" in response.content.decode()
    assert not first.depends_on.exists()


# --- published versions never change from these pages ------------------------------------------


def test_a_published_version_cannot_be_edited_from_the_pages(staff, published):
    item = published.items.get(order=1)
    before = _rows()
    assert staff.get(reverse("checklists:draft_edit", args=[published.pk])).status_code == 404
    assert staff.get(reverse("checklists:item_add", args=[published.pk])).status_code == 404
    assert staff.post(reverse("checklists:item_add", args=[published.pk]), item_form_data()).status_code == 404
    assert staff.get(reverse("checklists:item_edit", args=[item.pk])).status_code == 404
    assert staff.post(reverse("checklists:item_edit", args=[item.pk]), item_form_data(order="1")).status_code == 404
    assert staff.post(reverse("checklists:item_delete", args=[item.pk])).status_code == 404
    assert staff.post(reverse("checklists:item_move", args=[item.pk]), {"direction": "down"}).status_code == 404
    review = reverse("checklists:version_review", args=[published.pk])
    refused = staff.post(review, {"action": "submit", "submit-change_summary": "x"})
    assert "Only a draft can be submitted" in refused.content.decode()
    assert _rows() == before
    page = staff.get(reverse("checklists:version_detail", args=[published.pk])).content.decode()
    assert "never changes" in page and reverse("checklists:item_edit", args=[item.pk]) not in page


# --- every change goes through the services -----------------------------------------------------


def _item_values(**overrides):
    return {"section": "Pharmacy", "text": "Interaction review done", "role": Role.PHARMACIST, **overrides}


def test_the_create_service_adds_an_item_at_the_end_with_its_conditions_and_dependency(draft, admin_user):
    first = draft.items.get(order=1)
    item = template_item_create(
        version=draft,
        values=_item_values(),
        depends_on=[first],
        conditions=[("weight_kg", "lt", " 45 ")],
        actor=admin_user,
    )
    assert item.order == 3 and item.version == draft
    assert [(c.fact, c.operator, c.value) for c in item.conditions.all()] == [("weight_kg", "lt", "45")]
    assert list(item.depends_on.all()) == [first]


def test_the_update_service_gives_the_item_exactly_the_conditions_given(draft, admin_user):
    item = draft.items.get(order=1)
    kept = ItemCondition.objects.create(item=item, fact="setting", operator="eq", value="home")
    ItemCondition.objects.create(item=item, fact="weight_kg", operator="lt", value="45")
    template_item_update(
        item=item,
        values={"text": "Line primed and labelled"},
        conditions=[("setting", "eq", "home"), ("cycle_number", "le", "2")],
        actor=admin_user,
    )
    item.refresh_from_db()
    assert item.text == "Line primed and labelled" and item.role == Role.NURSE  # the rest as it was
    rows = sorted((c.pk == kept.pk, c.fact, c.value) for c in item.conditions.all())
    assert rows == [(False, "cycle_number", "2"), (True, "setting", "home")]


def test_the_update_service_leaves_what_the_answer_records_when_not_given(draft, admin_user):
    item = draft.items.get(order=1)
    template_item_update(
        item=item, values={"response_kind": "number", "unit": "kg", "records": "weight"}, actor=admin_user
    )
    template_item_update(item=item, values={"text": "Weigh the patient"}, actor=admin_user)
    item.refresh_from_db()
    assert (item.text, item.records) == ("Weigh the patient", "weight")


def _changes(draft, admin_user):
    item = draft.items.get(order=1)
    return {
        "create": lambda: template_item_create(version=draft, values=_item_values(), actor=admin_user),
        "update": lambda: template_item_update(item=item, values={"text": "Changed"}, actor=admin_user),
        "delete": lambda: template_item_delete(item=item, actor=admin_user),
        "move": lambda: template_item_move(item=item, direction="down", actor=admin_user),
    }


@pytest.mark.parametrize("change", ["create", "update", "delete", "move"])
def test_each_editing_service_refuses_a_version_published_meanwhile(draft, admin_user, change):
    run = _changes(draft, admin_user)[change]
    template_version_publish(version=draft, actor=admin_user, change_summary="Published first")
    before = _rows()
    with pytest.raises(ValidationError) as refused:
        run()
    assert refused.value.messages == ["Only a draft can be edited; make a new draft."]
    assert _rows() == before


@pytest.mark.parametrize("change", ["create", "update", "delete", "move"])
def test_each_editing_service_refuses_a_published_version(published, admin_user, change):
    before = _rows()
    with pytest.raises(ValidationError, match="Only a draft can be edited"):
        _changes(published, admin_user)[change]()
    assert _rows() == before


SERVICE_REFUSALS = [
    pytest.param({"values": {"order": 2}}, "order", "Item 2 already exists in this draft", id="order-taken"),
    pytest.param({"values": {"due_offset_minutes": 50000}}, "due_offset_minutes", "at most 30 days", id="offset"),
    pytest.param({"values": {"response_kind": "choice"}}, "choices", "at least two options", id="choice"),
    pytest.param({"depends_on": "itself"}, "depends_on", "would be a circle", id="itself"),
    pytest.param({"depends_on": "published"}, "depends_on", "Only items of this draft", id="other-version"),
    pytest.param({"conditions": [("weight_kg", "lt", "heavy")]}, "__all__", "Condition 1: Weight (kg)", id="condition"),
]


@pytest.mark.parametrize(("change", "field", "message"), SERVICE_REFUSALS)
def test_the_update_service_refuses_bad_input_and_saves_none_of_it(
    draft, published, admin_user, change, field, message
):
    item = draft.items.get(order=1)
    depends_on = {"itself": [item], "published": [published.items.first()]}.get(change.get("depends_on"))
    arguments = {"values": {"text": "Half saved?", **change.get("values", {})}, "conditions": change.get("conditions")}
    before = _rows()
    with pytest.raises(ValidationError) as refused:
        template_item_update(item=item, depends_on=depends_on, actor=admin_user, **arguments)
    said = ValidationError(refused.value.update_error_dict({})[field]).messages  # "__all__": not at a field
    assert any(message in sentence for sentence in said)
    assert _rows() == before


def test_the_move_service_says_when_there_is_no_neighbour(draft, admin_user):
    assert template_item_move(item=draft.items.get(order=1), direction="up", actor=admin_user) is False
    with pytest.raises(ValidationError):
        template_item_move(item=draft.items.get(order=1), direction="sideways", actor=admin_user)


@pytest.mark.parametrize(
    ("view", "service", "post"),
    [
        ("checklists:item_add", "template_item_create", lambda draft: item_form_data()),
        ("checklists:item_edit", "template_item_update", lambda draft: item_form_data(order="1", role=Role.NURSE)),
        ("checklists:item_delete", "template_item_delete", lambda draft: {}),
        ("checklists:item_move", "template_item_move", lambda draft: {"direction": "down"}),
    ],
)
def test_each_editor_action_calls_its_service_as_the_signed_in_user(
    staff, draft, admin_user, monkeypatch, view, service, post
):
    real, calls = getattr(editor, service), []

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(editor, service, spy)
    target = draft if view == "checklists:item_add" else draft.items.get(order=1)
    assert staff.post(reverse(view, args=[target.pk]), post(draft)).status_code == 302
    assert len(calls) == 1 and calls[0]["actor"] == admin_user


@pytest.fixture
def published_meanwhile(monkeypatch, draft, admin_user):
    """The draft is published between the page's check that it is a draft and the save."""
    monkeypatch.setattr(editor, "get_draft_or_404", lambda pk: TemplateVersion.objects.get(pk=pk))
    template_version_publish(version=draft, actor=admin_user, change_summary="Published meanwhile")
    return draft


@pytest.mark.parametrize("view", ["checklists:item_add", "checklists:item_edit"])
def test_the_item_page_shows_the_services_refusal_of_a_version_published_meanwhile(staff, published_meanwhile, view):
    item = published_meanwhile.items.get(order=1)
    target, data = (
        (published_meanwhile, item_form_data())
        if view == "checklists:item_add"
        else (item, item_form_data(conditions=[("setting", "eq", "home")], order="1", text="Changed", role=Role.NURSE))
    )
    before = _rows()
    response = staff.post(reverse(view, args=[target.pk]), data)
    assert response.status_code == 200
    assert "alert-danger" in response.content.decode()
    assert "Only a draft can be edited; make a new draft." in response.content.decode()
    assert _rows() == before


@pytest.mark.parametrize(
    ("view", "data"), [("checklists:item_delete", {}), ("checklists:item_move", {"direction": "down"})]
)
def test_removing_or_moving_an_item_of_a_version_published_meanwhile_is_refused_with_a_message(
    staff, published_meanwhile, view, data
):
    item = published_meanwhile.items.get(order=1)
    before = _rows()
    response = staff.post(reverse(view, args=[item.pk]), data, follow=True)
    assert response.redirect_chain[-1][0] == reverse("checklists:version_detail", args=[published_meanwhile.pk])
    assert "Only a draft can be edited; make a new draft." in response.content.decode()
    assert _rows() == before


def test_a_refusal_that_names_a_field_is_shown_at_that_field(staff, draft, monkeypatch):
    def refuse(**kwargs):
        raise ValidationError({"text": "Refused by the service."})

    monkeypatch.setattr(editor, "template_item_create", refuse)
    response = staff.post(reverse("checklists:item_add", args=[draft.pk]), item_form_data())
    assert response.status_code == 200
    body = response.content.decode()
    assert "Refused by the service." in body
    assert body.index("invalid-feedback") < body.index("Refused by the service.")


# --- a template's settings: made and changed in the editor, through the services ------------------


def _settings_data(conditions=(), **overrides):
    data = {"name": "Neuro check", "trigger_kind": CareEvent.Kind.BAG_CHANGE, "description": "", "is_active": "on"}
    return form_with_conditions(data, conditions, overrides)


def _templates():
    return list(
        ChecklistTemplate.objects.order_by("pk").values_list("name", "trigger_kind", "is_active", "conditions__value")
    )


def test_staff_create_a_template_with_its_conditions_from_the_list(staff, template):
    data = _settings_data(conditions=[("setting", "eq", "home")])
    response = staff.post(reverse("checklists:template_list"), data, follow=True)
    created = ChecklistTemplate.objects.get(name="Neuro check")
    assert response.redirect_chain[-1][0] == reverse("checklists:template_detail", args=[created.pk])
    assert "Neuro check is created. Make its first draft to add items." in response.content.decode()
    assert created.trigger_kind == CareEvent.Kind.BAG_CHANGE and created.is_active
    assert [(c.fact, c.operator, c.value) for c in created.conditions.all()] == [("setting", "eq", "home")]
    assert not created.versions.exists()


def test_staff_change_a_templates_settings_and_conditions(staff, template, published):
    condition = template.conditions.get()
    data = _settings_data(name="Cycle start, renamed", trigger_kind=CareEvent.Kind.CYCLE_START, is_active=None)
    data |= {
        "conditions-INITIAL_FORMS": "1",
        "conditions-0-id": str(condition.pk),
        "conditions-0-fact": "cycle_number",
        "conditions-0-operator": "le",
        "conditions-0-value": "2",
    }
    response = staff.post(reverse("checklists:template_detail", args=[template.pk]), data)
    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.name, template.is_active) == ("Cycle start, renamed", False)
    assert [(c.fact, c.operator, c.value) for c in template.conditions.all()] == [("cycle_number", "le", "2")]
    published.refresh_from_db()
    assert published.status == TemplateVersion.Status.PUBLISHED  # settings are not versioned


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"name": "Test cycle start"}, "already exists", id="name-taken"),
        pytest.param({"name": ""}, "This field is required", id="no-name"),
        pytest.param({"trigger_kind": "picnic"}, "Select a valid choice", id="trigger"),
        pytest.param({"conditions": [("weight_kg", "lt", "heavy")]}, "Weight (kg) needs a number", id="condition"),
    ],
)
@pytest.mark.parametrize("page", ["create", "change"])
def test_bad_settings_are_refused_at_the_field_and_nothing_is_saved(staff, template, overrides, message, page):
    overrides = dict(overrides)
    data = _settings_data(overrides.pop("conditions", ()), **overrides)
    if page == "change" and overrides.get("name") == "Test cycle start":
        ChecklistTemplate.objects.create(name="Neuro check", trigger_kind=CareEvent.Kind.BAG_CHANGE)
        data["name"] = "Neuro check"
    url = (
        reverse("checklists:template_list")
        if page == "create"
        else reverse("checklists:template_detail", args=[template.pk])
    )
    before = _templates()
    response = staff.post(url, data)
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body and "invalid-feedback" in body
    assert '<details class="mb-3" open>' in body  # the form stays open with its messages
    assert _templates() == before


@pytest.mark.parametrize("service", ["template_create", "template_update"])
def test_the_template_services_refuse_a_bad_condition_and_save_nothing(template, admin_user, service):
    values = {"name": "Renamed", "trigger_kind": CareEvent.Kind.CYCLE_START}
    before = _templates()
    with pytest.raises(ValidationError, match="Condition 1: Cycle number needs a number"):
        if service == "template_create":
            template_create(values=values, conditions=[("cycle_number", "ge", "three")], actor=admin_user)
        else:
            template_update(
                template=template, values=values, conditions=[("cycle_number", "ge", "three")], actor=admin_user
            )
    assert _templates() == before


def test_a_nurse_cannot_create_or_change_a_template(client, nurse, template):
    client.force_login(nurse)
    before = _templates()
    assert client.post(reverse("checklists:template_list"), _settings_data()).status_code == 403
    assert client.post(reverse("checklists:template_detail", args=[template.pk]), _settings_data()).status_code == 403
    assert _templates() == before


# --- preview -----------------------------------------------------------------------------------


@pytest.fixture
def cycle_1_start(patient, template, admin_user):
    # The access policy holds for staff too: this admin is a pharmacist (a pharmacy admin), and the
    # patient's; a membership counts in the role its user holds now.
    User.objects.filter(pk=admin_user.pk).update(role=Role.PHARMACIST)
    CareTeamMember.objects.create(patient=patient, user=admin_user, role=Role.PHARMACIST)
    course = CourseFactory(patient=patient)
    course_schedule_build(course=course)
    return CareEvent.objects.get(cycle__course=course, cycle__number=1, kind=CareEvent.Kind.CYCLE_START)


def test_preview_shows_the_tasks_that_a_draft_would_create_and_saves_nothing(staff, draft, cycle_1_start):
    item = draft.items.get(order=2)
    ItemCondition.objects.create(item=item, fact="weight_kg", operator="lt", value="45")  # the patient weighs 70
    TemplateItem.objects.create(version=draft, section="Home", order=3, text="Teach the caregiver", role="nurse")
    before = (Checklist.objects.count(), Task.objects.count(), TemplateItem.objects.count())
    url = reverse("checklists:version_preview", args=[draft.pk])
    response = staff.get(url, {"patient": cycle_1_start.patient_id, "event": cycle_1_start.pk})
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('class="preview-task"') == 2
    assert "Line primed" in body and "Teach the caregiver" in body
    assert f"{cycle_1_start.local_planned_at:%Y-%m-%d %H:%M}" in body  # due times in the unit's zone
    assert "Items that do not apply (1)" in body and "weight (kg) is less than 45" in body
    assert (Checklist.objects.count(), Task.objects.count(), TemplateItem.objects.count()) == before


def test_preview_offers_no_event_of_a_patient_the_admin_may_not_see(staff, published, foreign_patient):
    course = CourseFactory(patient=foreign_patient)
    course_schedule_build(course=course)
    event = CareEvent.objects.filter(cycle__course=course, kind=CareEvent.Kind.CYCLE_START).first()
    response = staff.get(reverse("checklists:version_preview", args=[published.pk]), {"event": event.pk})
    assert 'class="preview-task"' not in response.content.decode()
    assert foreign_patient.mrn not in response.content.decode()


def test_preview_says_when_the_template_does_not_apply(staff, published, patient, template, cycle_1_start):
    course = CourseFactory(patient=patient)
    course_schedule_build(course=course)
    cycle_2 = CareEvent.objects.get(cycle__course=course, cycle__number=2, kind=CareEvent.Kind.CYCLE_START)
    body = staff.get(reverse("checklists:version_preview", args=[published.pk]), {"event": cycle_2.pk}).content.decode()
    assert "would create no checklist" in body and "cycle number is 1" in body


def test_preview_refuses_an_event_of_another_patient(staff, published, cycle_1_start, ward):
    other = PatientFactory(unit=ward)
    response = staff.get(
        reverse("checklists:version_preview", args=[published.pk]),
        {"patient": other.pk, "event": cycle_1_start.pk},
    )
    assert response.status_code == 200
    assert 'class="preview-task"' not in response.content.decode()
    assert "Select a valid choice" in response.content.decode()


# Checklists, tasks and their activity are patient records: not in the admin (tests/patients/test_care_team.py).
@pytest.mark.parametrize("model", ["checklisttemplate", "templateversion", "templateitem", "itemcondition"])
def test_the_admin_lists_open_with_search_and_filters(staff, published, draft, model):
    url = reverse(f"admin:checklists_{model}_changelist")
    assert staff.get(url, {"q": "line"}).status_code == 200


# --- the admin shows templates; the editor edits them ------------------------------------------

TEMPLATE_MODELS = [ChecklistTemplate, TemplateVersion, TemplateItem, ItemCondition]


def _admin_objects(template, draft):
    item = draft.items.get(order=1)
    condition = ItemCondition.objects.create(item=item, fact="setting", operator="eq", value="home")
    return {"checklisttemplate": template, "templateversion": draft, "templateitem": item, "itemcondition": condition}


@pytest.mark.parametrize("model", TEMPLATE_MODELS, ids=lambda model: model.__name__)
def test_the_admin_offers_no_add_change_or_delete_of_templates(rf, admin_user, template, published, draft, model):
    _admin_objects(template, draft)  # a condition too
    request = rf.get("/")
    request.user = admin_user
    model_admin = admin.site._registry[model]
    objects = list(model._default_manager.all())
    assert objects
    assert not model_admin.has_add_permission(request)
    for obj in [None, *objects]:
        assert not model_admin.has_change_permission(request, obj)
        assert not model_admin.has_delete_permission(request, obj)
        for inline in model_admin.get_inline_instances(request, obj):
            assert not inline.has_add_permission(request, obj)
            assert not inline.has_change_permission(request, obj)
            assert not inline.has_delete_permission(request, obj)
    assert model_admin.has_view_permission(request, objects[0])


ADMIN_POSTS = {
    "checklisttemplate": {"name": "Renamed", "trigger_kind": "bag_change", "is_active": "on"},
    "templateversion": {"change_summary": "Changed in the admin"},
    "templateitem": {"section": "x", "order": "9", "text": "Changed in the admin", "role": "nurse"},
    "itemcondition": {"fact": "setting", "operator": "eq", "value": "clinic"},
}


@pytest.mark.parametrize("model", ADMIN_POSTS)
def test_posts_to_the_admins_change_add_and_delete_pages_change_nothing(staff, template, draft, model):
    target = _admin_objects(template, draft)[model]
    before = (_rows(), _templates(), list(TemplateVersion.objects.values_list("pk", "status", "change_summary")))
    change = staff.post(reverse(f"admin:checklists_{model}_change", args=[target.pk]), ADMIN_POSTS[model])
    add = staff.post(reverse(f"admin:checklists_{model}_add"), ADMIN_POSTS[model])
    delete = staff.post(reverse(f"admin:checklists_{model}_delete", args=[target.pk]), {"post": "yes"})
    assert (change.status_code, add.status_code, delete.status_code) == (403, 403, 403)
    assert (
        _rows(),
        _templates(),
        list(TemplateVersion.objects.values_list("pk", "status", "change_summary")),
    ) == before


@pytest.mark.parametrize("model", ADMIN_POSTS)
def test_the_admin_shows_each_template_object_read_only_with_a_link_to_the_editor(staff, template, draft, model):
    target = _admin_objects(template, draft)[model]
    page = staff.get(reverse(f"admin:checklists_{model}_change", args=[target.pk])).content.decode()
    expected = {
        "checklisttemplate": reverse("checklists:template_detail", args=[template.pk]),
        "templateversion": reverse("checklists:draft_edit", args=[draft.pk]),
        "templateitem": reverse("checklists:item_edit", args=[draft.items.get(order=1).pk]),
        "itemcondition": reverse("checklists:item_edit", args=[draft.items.get(order=1).pk]),
    }[model]
    assert f'href="{expected}"' in page
    assert "changed in the template editor" in page
    assert 'name="_save"' not in page and 'name="text"' not in page and 'name="value"' not in page


def test_the_admin_links_a_published_item_to_its_versions_page(staff, published):
    item = published.items.get(order=1)
    page = staff.get(reverse("admin:checklists_templateitem_change", args=[item.pk])).content.decode()
    assert f'href="{reverse("checklists:version_detail", args=[published.pk])}#item-{item.pk}"' in page


def test_the_admin_new_draft_action_calls_the_service_and_points_to_the_editor(staff, template, published):
    response = staff.post(
        reverse("admin:checklists_checklisttemplate_changelist"),
        {"action": "make_new_draft", "_selected_action": [template.pk]},
        follow=True,
    )
    draft = template.versions.get(status=TemplateVersion.Status.DRAFT)
    assert list(draft.items.values_list("text", flat=True)) == ["Line primed", "Order verified"]
    body = response.content.decode()
    assert f'draft v2 is ready; <a href="{reverse("checklists:draft_edit", args=[draft.pk])}">' in body


def test_the_list_offers_a_new_template_in_the_editor_not_the_admin(staff, template):
    body = staff.get(reverse("checklists:template_list")).content.decode()
    assert "New template" in body and 'name="name"' in body
    assert reverse("admin:checklists_checklisttemplate_add") not in body


def test_preview_says_why_there_is_no_event_to_pick_for_an_admin_who_sees_no_patient(staff, published, foreign_patient):
    # Admins see no patient record unless they are on a care team: the pickers would be empty,
    # with nothing saying why nor how to preview instead.
    course = CourseFactory(patient=foreign_patient)
    course_schedule_build(course=course)
    body = staff.get(reverse("checklists:version_preview", args=[published.pk])).content.decode()
    assert "You see no patient with a cycle start to preview on" in body
