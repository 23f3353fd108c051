"""Hardening: the deploy check, HTTPS, the Content-Security-Policy, escaping and oversized input."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from checklists.models import Task

from .checklists.helpers import checklist_for, make_event, publish_template

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = "<script>alert('x')</script>"


def test_production_settings_pass_the_deploy_check_with_no_warning():
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "k7#Qz!p2W@r9xT$v4Ls8&Nd1Yh6^Jc3Fm5Bg0Ke-pR2sV8wX4yZ1aB3cD5eF7gH9",
        "DJANGO_ALLOWED_HOSTS": "tracker.example.org",
        "DJANGO_STATIC_MANIFEST": "false",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_plain_http_is_sent_to_https_with_hsts(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get(reverse("login"))
    assert response.status_code == 301 and response["Location"].startswith("https://")
    secure = client.get(reverse("login"), secure=True)
    assert "max-age=31536000" in secure["Strict-Transport-Security"]


def test_every_page_carries_a_policy_without_inline_script_or_eval(client):
    policy = client.get(reverse("login"))["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert "unsafe" not in policy
    assert directives["frame-ancestors"] == "'none'"


def test_no_template_holds_an_inline_script_or_event_handler():
    offenders = []
    for template in (ROOT / "templates").rglob("*.html"):
        html = template.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) or re.search(r"\son[a-z]+\s*=", html):
            offenders.append(str(template.relative_to(ROOT)))
    assert offenders == []


def test_html_in_free_text_is_shown_escaped(client, nurse, patient):
    publish_template(items=[{"text": "Line flushed"}])
    line = Task.objects.get(checklist=checklist_for(make_event(patient)))
    client.force_login(nurse)
    client.post(reverse("task_not_applicable", args=[line.pk]), {f"na-{line.pk}-reason": SCRIPT})
    page = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert SCRIPT not in page
    assert "&lt;script&gt;" in page


def test_oversized_input_is_refused_with_400_and_changes_nothing(client, nurse, patient):
    publish_template(items=[{"text": "Line flushed"}])
    line = Task.objects.get(checklist=checklist_for(make_event(patient)))
    client.force_login(nurse)
    response = client.post(reverse("task_not_applicable", args=[line.pk]), {f"na-{line.pk}-reason": "x" * 2_000_000})
    assert response.status_code == 400
    line.refresh_from_db()
    assert line.status == Task.Status.OPEN


@pytest.mark.parametrize("length", [501, 5000])
def test_a_reason_longer_than_its_limit_gets_a_message_at_the_field(client, nurse, patient, length):
    publish_template(items=[{"text": "Line flushed"}])
    line = Task.objects.get(checklist=checklist_for(make_event(patient)))
    client.force_login(nurse)
    data = {f"na-{line.pk}-reason": "x" * length}
    response = client.post(reverse("task_not_applicable", args=[line.pk]), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "500 characters" in response.content.decode()
    line.refresh_from_db()
    assert line.status == Task.Status.OPEN


def test_every_table_that_scrolls_sideways_can_be_scrolled_from_the_keyboard():
    """A table wider than a tablet scrolls inside its box (Bootstrap's .table-responsive): without
    the focus, a keyboard user cannot scroll it to its last columns (WCAG 2.1.1; axe's
    scrollable-region-focusable). The box takes the focus and says what it holds."""
    offenders = []
    for template in (ROOT / "templates").rglob("*.html"):
        for box in re.findall(r'<div class="table-responsive"[^>]*>', template.read_text()):
            if not ('tabindex="0"' in box and 'role="region"' in box and "aria-label=" in box):
                offenders.append(str(template.relative_to(ROOT)))
    assert offenders == []
