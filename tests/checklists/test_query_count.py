"""The template pages read as many times for many rows as for few: the template list, a
template's versions and history, a version's items (read, edited, previewed on an event, compared,
exported)."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from checklists.models import ChecklistTemplate, TemplateCondition
from checklists.services import template_version_new_draft, template_version_publish

from ..accounts.helpers import verified_login
from ..factories import CareTeamMemberFactory, UserFactory
from ..query_count import queries_of
from .helpers import make_event, publish_template


@pytest.fixture(autouse=True)
def _still_clock(time_machine):
    time_machine.move_to(timezone.now(), tick=False)


@pytest.fixture
def staff(client, db):
    """A pharmacist who administers the templates, signed in with both steps."""
    user = UserFactory(username="templates", is_staff=True, role=Role.PHARMACIST)
    verified_login(client, user)
    return user


def _items(count: int) -> list[dict]:
    """Items with a condition each and, after the first, done after the one before."""
    return [
        {
            "text": f"Check {n}",
            "conditions": [("setting", "in", "inpatient,home")],
            "role": ("nurse", "pharmacist")[n % 2],
        }
        for n in range(count)
    ]


def _version(count: int, name: str):
    items = _items(count)
    dependencies = [(f"Check {n}", f"Check {n - 1}") for n in range(1, count)]
    return publish_template(items=items, dependencies=dependencies, name=name)


def _template_with_a_draft(n: int, actor) -> None:
    version = _version(2, f"Template {n}")
    TemplateCondition.objects.create(template=version.template, fact="setting", operator="in", value="inpatient")
    template_version_new_draft(template=version.template, actor=actor)


def test_the_template_list_reads_as_many_times_for_20_templates_as_for_1(client, staff):
    url = reverse("checklists:template_list")
    _template_with_a_draft(0, staff)
    client.get(url)
    one = queries_of(client, url)
    for n in range(1, 20):
        _template_with_a_draft(n, UserFactory(is_staff=True, role=Role.PHARMACIST))
    assert queries_of(client, url) == one


def test_a_templates_page_reads_as_many_times_for_20_versions_as_for_1(client, staff):
    version = _version(2, "Cycle start")
    url = reverse("checklists:template_detail", args=[version.template_id])
    client.get(url)
    one = queries_of(client, url)
    for _ in range(19):
        author = UserFactory(is_staff=True, role=Role.PHARMACIST)
        draft = template_version_new_draft(template=version.template, actor=author)
        template_version_publish(version=draft, actor=author, change_summary="Again")
    assert version.template.versions.count() == 20
    assert queries_of(client, url) == one


@pytest.mark.parametrize("page", ["version_detail", "draft_edit", "version_export", "version_preview"])
def test_a_versions_pages_read_as_many_times_for_30_items_as_for_2(client, staff, patient, page):
    CareTeamMemberFactory(patient=patient, user=staff, role=Role.PHARMACIST)  # a patient to preview on
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(days=1))
    counted = []
    for count in (2, 30):
        version = _version(count, f"Cycle start {count}")
        if page == "draft_edit":
            version = template_version_new_draft(template=version.template, actor=staff)
        query = f"?event={event.pk}" if page == "version_preview" else ""
        url = reverse(f"checklists:{page}", args=[version.pk]) + query
        client.get(url)
        counted.append(queries_of(client, url))
    assert counted[0] == counted[1]
    assert "Check 29" in client.get(url).content.decode()  # every item is read


def test_comparing_versions_reads_as_many_times_for_30_items_as_for_2(client, staff):
    counted = []
    for count in (2, 30):
        older = _version(count, f"Cycle start {count}")
        newer = template_version_new_draft(template=older.template, actor=staff)
        newer.items.filter(order=1).update(text="Changed")
        url = reverse("checklists:version_compare") + f"?a={older.pk}&b={newer.pk}"
        client.get(url)
        counted.append(queries_of(client, url))
    assert counted[0] == counted[1]
    assert ChecklistTemplate.objects.count() == 2
