"""Fixtures of the API's handoff tests (tests/api/test_handoffs.py, test_handoff_edit.py)."""

import pytest

from ..checklists.helpers import publish_template
from ..coordination.handoff_helpers import make_agency, make_discharge


@pytest.fixture
def agency(ward):
    return make_agency(ward)


@pytest.fixture
def discharge(patient):
    publish_template(
        items=[{"text": "Caregiver teach-back done"}], name="Hospital-to-home", trigger_kind="discharge_home"
    )
    return make_discharge(patient, with_bag_changes=False)
