"""The receiving side that every handoff test sends to: a home-health agency of the ward's
organisation, and its nurse."""

import pytest

from ..handoff_helpers import make_agency, make_home_nurse


@pytest.fixture
def agency(ward):
    return make_agency(ward)


@pytest.fixture
def home_nurse(agency):
    return make_home_nurse(agency)
