"""The API against its own schema (schemathesis): every operation, a bounded number of generated
requests each, made as a nurse with patients, tasks and notifications. No answer may be a 5xx,
and every answer must be one the schema describes (status, content type, body)."""

import datetime as dt

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings

from checklists.services import checklists_instantiate
from coordination.reminders.models import Notification

from ..checklists.helpers import make_event, publish_template
from .helpers import token_for

# Made in this process, as /api/schema/ serves it: no request, so none of the database at import.
schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))


class ServedApp:
    """The app as served (its middleware included), made at the first request: with the tests'
    settings (no HTTPS redirect), which are not yet in place when this module is imported."""

    handler = None

    def __call__(self, environ, start_response):
        if self.handler is None:
            self.handler = WSGIHandler()
        return self.handler(environ, start_response)


schema.app = ServedApp()

EXAMPLES = 4  # per operation: some 40 operations stay well under a minute


@pytest.fixture
def _connection_kept():
    """As Django's test client does: a request's start and end must not close the connection that
    holds the test's transaction."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def nurses_token(nurse, patient, _connection_kept):
    publish_template(items=[{"text": "Weight", "response_kind": "number", "min_value": 1, "max_value": 300}])
    checklists_instantiate(events=[make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))])
    Notification.objects.create(recipient=nurse, title="Bag change due")
    return token_for(nurse)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_api_answers_within_its_schema_and_never_with_a_server_error(case, nurses_token):
    case.call_and_validate(headers={"Authorization": f"Bearer {nurses_token}"})
