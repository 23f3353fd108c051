"""An admin acts on what their page showed them: a removal removes the item as it was shown.
Each test failed before its fix."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import Role
from checklists.models import TemplateItem
from checklists.services import (
    template_item_delete,
    template_item_fingerprint,
    template_item_update,
)

from ..accounts.helpers import verified_login
from ..factories import UserFactory

THIRTY_DAYS_BEFORE = -30 * 24 * 60


@pytest.fixture
def colleague(db):
    """Another admin, editing the same draft meanwhile."""
    return UserFactory(username="colleague", is_staff=True, role=Role.ONCOLOGIST)


def _pump_check(draft) -> TemplateItem:
    return draft.items.get(text="Pump rate checked")


# --- a removal removes the item as it was shown ----------------------------------------------------


def test_an_item_changed_since_it_was_shown_is_not_removed(draft, author, colleague):
    item = _pump_check(draft)
    seen = template_item_fingerprint(item)
    template_item_update(item=item, values={"due_offset_minutes": THIRTY_DAYS_BEFORE}, actor=colleague)

    with pytest.raises(ValidationError, match="it is not removed") as refused:
        template_item_delete(item=item, actor=author, seen=seen)
    assert refused.value.code == "changed_meanwhile"
    assert TemplateItem.objects.filter(pk=item.pk).exists()

    template_item_delete(item=item, actor=author, seen=template_item_fingerprint(_pump_check(draft)))
    assert not TemplateItem.objects.filter(pk=item.pk).exists()


def _remove_button_seen(page: str, item: TemplateItem) -> str:
    """The fingerprint that the editor's Remove button of `item` sends."""
    action = re.escape(reverse("checklists:item_delete", args=[item.pk]))
    return re.search(rf'action="{action}">.*?name="seen" value="([0-9a-f]+)"', page, re.DOTALL)[1]


def test_the_editors_remove_button_does_not_remove_an_item_changed_since_the_page_showed_it(
    client, draft, author, colleague
):
    item = _pump_check(draft)
    editor = reverse("checklists:draft_edit", args=[draft.pk])
    verified_login(client, author)
    seen = _remove_button_seen(client.get(editor).content.decode(), item)
    template_item_update(item=item, values={"due_offset_minutes": THIRTY_DAYS_BEFORE}, actor=colleague)

    response = client.post(reverse("checklists:item_delete", args=[item.pk]), {"seen": seen}, follow=True)
    assert response.redirect_chain[-1][0].startswith(editor)
    text = response.content.decode()
    assert "changed this item after you opened the page; it is not removed" in text
    assert TemplateItem.objects.filter(pk=item.pk).exists()

    # From the page as it is now, the removal is a choice made knowingly.
    client.post(reverse("checklists:item_delete", args=[item.pk]), {"seen": _remove_button_seen(text, item)})
    assert not TemplateItem.objects.filter(pk=item.pk).exists()
