"""A read-only token sent with a change is filed in the audit log as a refused write (denied), not
as a failed sign-in: the token was good, for reading. The audit log's action filter finds it."""

import datetime as dt
import json

from django.urls import reverse
from django.utils import timezone

from checklists.models import Task
from checklists.services import checklists_instantiate

from ..accounts.helpers import verified_login
from ..checklists.helpers import make_event, publish_template
from .helpers import READ, bearer, token_for


def test_a_refused_write_is_offered_and_found_by_the_audit_logs_action_filter(client, admin_user, nurse, patient):
    publish_template(items=[{"text": "Pump programmed and locked"}])
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))
    checklists_instantiate(events=[event])
    task = Task.objects.get(event=event)
    claim = client.post(
        reverse("api:task-claim", args=[task.pk]),
        json.dumps({}),
        content_type="application/json",
        **bearer(token_for(nurse, scope=READ)),
    )
    assert claim.status_code == 403

    verified_login(client, admin_user)
    page = client.get(reverse("audit:log"))
    assert '<option value="token_write_refused">Write refused (read-only token)</option>' in page.text
    refused = client.get(reverse("audit:log"), {"user": "nurse", "action": "token_write_refused"})
    rows = list(refused.context["page"])
    assert [(row.detail["event"], row.outcome) for row in rows] == [("token_read_only", "denied")]
    assert "Write refused (read-only token)" in refused.text
    failed = client.get(reverse("audit:log"), {"user": "nurse", "action": "login_failed"})
    assert list(failed.context["page"]) == []
