"""A published template version never changes: not through the models, nor bulk queries, nor raw SQL."""

import pytest
from django.db import DatabaseError, connection, transaction

from checklists.models import ItemCondition, PublishedVersionError, TemplateItem, TemplateVersion
from checklists.services import template_version_new_draft, template_version_publish

from .helpers import add_item, publish_template

ITEMS = [
    {"text": "Weigh the patient", "response_kind": "number", "unit": "kg", "min_value": 1, "max_value": 300},
    {"text": "Check the line", "conditions": [("setting", "eq", "home")]},
]


@pytest.fixture
def published(db):
    return publish_template(items=ITEMS, dependencies=[("Check the line", "Weigh the patient")])


@pytest.fixture
def published_item(published):
    return published.items.get(text="Check the line")


def raw_sql(sql, params):
    """Run SQL in a savepoint, so that the test's transaction survives the trigger's refusal."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_saving_an_item_of_a_published_version_is_refused(published_item):
    published_item.text = "Something else"
    with pytest.raises(PublishedVersionError):
        published_item.save()
    assert TemplateItem.objects.get(pk=published_item.pk).text == "Check the line"


def test_deleting_an_item_of_a_published_version_is_refused(published_item):
    with pytest.raises(PublishedVersionError):
        published_item.delete()
    assert TemplateItem.objects.filter(pk=published_item.pk).exists()


def test_adding_an_item_to_a_published_version_is_refused(published):
    with pytest.raises(PublishedVersionError):
        add_item(published, order=99, text="Late addition")


def test_a_bulk_update_of_published_items_is_refused(published):
    with pytest.raises(PublishedVersionError):
        TemplateItem.objects.filter(version=published).update(text="Changed")
    assert not TemplateItem.objects.filter(text="Changed").exists()


def test_a_bulk_delete_of_published_items_is_refused(published):
    with pytest.raises(PublishedVersionError):
        TemplateItem.objects.filter(version=published).delete()
    assert published.items.count() == 2


def test_moving_an_item_out_of_a_published_version_is_refused(published, published_item):
    draft = template_version_new_draft(template=published.template, actor=None)
    published_item.version = draft
    published_item.order = 50
    with pytest.raises(PublishedVersionError):
        published_item.save()


def test_conditions_of_a_published_item_never_change(published_item):
    condition = published_item.conditions.get()
    condition.value = "clinic"
    with pytest.raises(PublishedVersionError):
        condition.save()
    with pytest.raises(PublishedVersionError):
        condition.delete()
    with pytest.raises(PublishedVersionError):
        ItemCondition.objects.filter(pk=condition.pk).update(value="clinic")
    with pytest.raises(PublishedVersionError):
        ItemCondition.objects.create(item=published_item, fact="weight_kg", operator="lt", value="45")
    assert ItemCondition.objects.get(pk=condition.pk).value == "home"


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE checklists_templateitem SET text = 'Changed' WHERE version_id = %(version)s",
        "DELETE FROM checklists_templateitem WHERE version_id = %(version)s",
        'UPDATE checklists_templateitem SET version_id = %(draft)s, "order" = 99 WHERE version_id = %(version)s',
        "UPDATE checklists_itemcondition SET value = 'clinic' WHERE item_id = %(item)s",
        "DELETE FROM checklists_itemcondition WHERE item_id = %(item)s",
        "INSERT INTO checklists_itemcondition (item_id, fact, operator, value) VALUES (%(item)s, 'setting', 'eq', 'x')",
        "DELETE FROM checklists_templateitem_depends_on WHERE from_templateitem_id = %(item)s",
        "UPDATE checklists_templateitem_depends_on SET to_templateitem_id = %(item)s",
    ],
    ids=[
        "update item",
        "delete item",
        "move item to a draft",
        "update condition",
        "delete condition",
        "insert condition",
        "delete dependency",
        "update dependency",
    ],
)
def test_raw_sql_on_a_published_version_is_refused_by_the_database(published, published_item, sql):
    draft = template_version_new_draft(template=published.template, actor=None)
    before = _snapshot(published)
    with pytest.raises(DatabaseError, match="published or retired"):
        raw_sql(sql, {"version": published.pk, "item": published_item.pk, "draft": draft.pk})
    assert _snapshot(published) == before


def _snapshot(version):
    items = TemplateItem.objects.filter(version=version).order_by("order")
    return (
        list(items.values_list("pk", "order", "text")),
        list(ItemCondition.objects.filter(item__version=version).values_list("pk", "fact", "operator", "value")),
        list(TemplateItem.depends_on.through.objects.filter(from_templateitem__version=version).values_list("pk")),
    )


def test_a_published_version_may_be_retired(published):
    published.status = TemplateVersion.Status.RETIRED
    published.save(update_fields=["status"])
    published.refresh_from_db()
    assert published.status == TemplateVersion.Status.RETIRED


def test_a_published_version_keeps_its_other_fields(published):
    published.change_summary = "Rewritten history"
    with pytest.raises(PublishedVersionError):
        published.save()
    published.refresh_from_db()
    published.status = TemplateVersion.Status.RETIRED
    published.change_summary = "Rewritten while retiring"
    with pytest.raises(PublishedVersionError):
        published.save()
    with pytest.raises(PublishedVersionError):
        published.delete()
    assert TemplateVersion.objects.get(pk=published.pk).change_summary == "First version"


def test_raw_sql_may_retire_a_published_version(published):
    raw_sql("UPDATE checklists_templateversion SET status = 'retired' WHERE id = %s", [published.pk])
    assert TemplateVersion.objects.get(pk=published.pk).status == TemplateVersion.Status.RETIRED


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE checklists_templateversion SET change_summary = 'Rewritten' WHERE id = %s",
        "UPDATE checklists_templateversion SET status = 'retired', number = 7 WHERE id = %s",
        "UPDATE checklists_templateversion SET status = 'draft' WHERE id = %s",
        "DELETE FROM checklists_templateversion WHERE id = %s",
    ],
    ids=["change summary", "retire and renumber", "back to draft", "delete"],
)
def test_raw_sql_changes_nothing_else_of_a_published_version(published, sql):
    with pytest.raises(DatabaseError, match="published or retired"):
        raw_sql(sql, [published.pk])
    stored = TemplateVersion.objects.get(pk=published.pk)
    assert (stored.status, stored.number, stored.change_summary) == ("published", 1, "First version")


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE checklists_templateversion SET status = 'published' WHERE id = %s",
        "UPDATE checklists_templateversion SET status = 'draft' WHERE id = %s",
        "DELETE FROM checklists_templateversion WHERE id = %s",
    ],
    ids=["republish", "back to draft", "delete"],
)
def test_a_retired_version_never_changes_again(published, sql):
    raw_sql("UPDATE checklists_templateversion SET status = 'retired' WHERE id = %s", [published.pk])
    with pytest.raises(DatabaseError, match="published or retired"):
        raw_sql(sql, [published.pk])
    assert TemplateVersion.objects.get(pk=published.pk).status == TemplateVersion.Status.RETIRED


def test_a_draft_stays_editable(published):
    draft = template_version_new_draft(template=published.template, actor=None)
    item = draft.items.get(text="Check the line")
    item.text = "Check the line and the pump"
    item.save()
    TemplateItem.objects.filter(version=draft, text="Weigh the patient").update(max_value=250)
    item.conditions.update(value="clinic")
    raw_sql("UPDATE checklists_templateitem SET help_text = 'Raw' WHERE version_id = %s", [draft.pk])
    add_item(draft, order=3, text="Teach the caregiver")
    draft.change_summary = "Pump check added"
    draft.save()
    assert sorted(draft.items.values_list("text", flat=True)) == [
        "Check the line and the pump",
        "Teach the caregiver",
        "Weigh the patient",
    ]
    assert set(draft.items.values_list("help_text", flat=True)) == {"Raw", ""}
    draft.items.get(text="Teach the caregiver").delete()
    assert draft.items.count() == 2
    draft.delete()
    assert not TemplateVersion.objects.filter(pk=draft.pk).exists()


def test_a_new_draft_copies_items_conditions_and_dependencies(published):
    draft = template_version_new_draft(template=published.template, actor=None)
    assert draft.number == 2
    assert draft.status == TemplateVersion.Status.DRAFT
    line = draft.items.get(text="Check the line")
    weigh = draft.items.get(text="Weigh the patient")
    original = published.items.get(text="Check the line")
    assert line.pk != original.pk and line.key == original.key
    assert list(line.conditions.values_list("fact", "operator", "value")) == [("setting", "eq", "home")]
    assert list(line.depends_on.all()) == [weigh]
    assert template_version_new_draft(template=published.template, actor=None) == draft


def test_publishing_retires_the_previous_version(published):
    draft = template_version_new_draft(template=published.template, actor=None)
    template_version_publish(version=draft, actor=None, change_summary="Second")
    published.refresh_from_db()
    draft.refresh_from_db()
    assert (published.status, draft.status) == ("retired", "published")
