"""What an item's answer records (`records`: a weight, a pump rate checked against the bag…) is
part of the item as the editor shows it: an admin sees it, sets it, and reads a refusal that
concerns it, instead of a Save that does nothing (found walking the editor)."""

import html

import pytest
from django.urls import reverse

from accounts.models import Role
from checklists.models import ChecklistTemplate, TemplateItem, TemplateVersion
from checklists.services import template_version_new_draft, template_version_publish
from patients.models import CareEvent

from ..accounts.helpers import verified_login
from .helpers import item_form_data


@pytest.fixture
def draft(db, admin_user):
    template = ChecklistTemplate.objects.create(name="Bag words", trigger_kind=CareEvent.Kind.BAG_CHANGE)
    version = TemplateVersion.objects.create(template=template, number=1)
    TemplateItem.objects.create(version=version, section="Pharmacy", order=1, text="Bag ready", role=Role.PHARMACIST)
    TemplateItem.objects.create(
        version=version,
        section="Bag change",
        order=2,
        text="Pump rate entered (mL/h)",
        role=Role.NURSE,
        response_kind=TemplateItem.ResponseKind.NUMBER,
        unit="mL/h",
        min_value=0,
        max_value=20,
        hard_stop=True,
        records=TemplateItem.Records.PUMP_RATE,
    )
    template_version_publish(version=version, actor=None, change_summary="First")
    return template_version_new_draft(template=template, actor=admin_user)


@pytest.fixture
def staff(client, admin_user):
    verified_login(client, admin_user)
    return client


def test_a_refusal_about_what_the_answer_records_is_shown_on_the_page(staff, draft):
    item = draft.items.get(order=2)
    data = item_form_data(order="2", text=item.text, role=Role.NURSE, response_kind="checkbox")
    response = staff.post(reverse("checklists:item_edit", args=[item.pk]), data)
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert "This answer is a number: change the response kind." in page
    item.refresh_from_db()
    assert item.response_kind == TemplateItem.ResponseKind.NUMBER


def test_the_edit_page_shows_and_saves_what_the_answer_records(staff, draft):
    item = draft.items.get(order=2)
    page = html.unescape(staff.get(reverse("checklists:item_edit", args=[item.pk])).content.decode())
    assert 'name="records"' in page
    assert '<option value="pump_rate" selected>' in page
    data = item_form_data(
        order="3", text="Today's weight", role=Role.NURSE, response_kind="number", unit="kg", records="weight"
    )
    assert staff.post(reverse("checklists:item_add", args=[draft.pk]), data).status_code == 302
    assert draft.items.get(text="Today's weight").records == TemplateItem.Records.WEIGHT


def test_the_items_table_says_what_an_answer_records(staff, draft):
    body = html.unescape(staff.get(reverse("checklists:draft_edit", args=[draft.pk])).content.decode())
    assert "Pump rate: checked against the bag's record" in body
