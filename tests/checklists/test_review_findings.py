"""Findings of the review of template authoring (issue 20): each test failed before its fix."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Role
from checklists.interchange import template_import
from checklists.models import ChecklistTemplate
from checklists.starter import LIBRARY

from ..accounts.helpers import verified_login
from ..factories import UserFactory


@pytest.fixture
def author(db):
    return UserFactory(username="author", is_staff=True, role=Role.PHARMACIST)


# --- import: a file that is JSON but not text ------------------------------------------------------


def _with_lone_surrogate() -> bytes:
    """The library's bag change, renamed with a JSON escape of half a character (\\ud800): valid
    JSON in ASCII bytes, but no text PostgreSQL (or a page) can hold."""
    data = json.loads((LIBRARY / "bag-change.json").read_text(encoding="utf-8"))
    data["template"]["name"] = "Bag change \ud800"
    return json.dumps(data).encode("ascii")


def test_an_import_with_a_lone_surrogate_escape_is_refused_and_creates_nothing(db, author):
    with pytest.raises(ValidationError, match="not text"):
        template_import(_with_lone_surrogate(), actor=author)
    assert not ChecklistTemplate.objects.exists()


def test_the_import_page_answers_a_lone_surrogate_at_the_file_field(client, author):
    verified_login(client, author)
    upload = SimpleUploadedFile("bag-change.json", _with_lone_surrogate(), content_type="application/json")
    response = client.post(reverse("checklists:template_import"), {"file": upload})
    assert response.status_code == 200
    assert any("not text" in error for error in response.context["form"].errors["file"])
    assert not ChecklistTemplate.objects.exists()
