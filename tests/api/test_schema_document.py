"""What the served schema says beyond drf-spectacular's defaults (coordination.api.schema)."""

import re

import pytest

from coordination.api.schema import NO_NUL_CHARACTER, closed_request_bodies


@pytest.fixture
def schemas(client):
    return client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["components"]["schemas"]


def test_request_text_says_it_takes_no_nul_character_as_the_api_refuses_one(schemas):
    """DRF refuses a NUL character in text with a 400: a schema that allowed one described a valid
    request that the API rejects (the schema test found it with a handoff's contingency plan)."""
    plan = schemas["HandoffInRequest"]["properties"]["contingency_plan"]
    action_text = schemas["HandoffActionInRequest"]["properties"]["text"]
    for field in (plan, action_text):
        assert not re.search(field["pattern"], "Fever\x00 38")
        assert re.search(field["pattern"], "Fever of 38.0 °C or more: call the ward")


def test_a_string_with_a_format_or_choices_keeps_them_and_gets_no_pattern(schemas):
    action = schemas["HandoffActionInRequest"]["properties"]
    assert action["due_at"] == {"type": "string", "format": "date-time"}
    # Choices written in place, as a component without ENUM_NAME_OVERRIDES would be:
    choices = {"type": "string", "enum": ["stable", "watcher", "unstable"]}
    component = {"type": "object", "properties": {"kind": dict(choices), "text": {"type": "string"}}}
    result = closed_request_bodies({"components": {"schemas": {"MadeUpRequest": component}}}, None, None, True)
    made_up = result["components"]["schemas"]["MadeUpRequest"]["properties"]
    assert made_up["kind"] == choices
    assert made_up["text"]["pattern"] == NO_NUL_CHARACTER


def test_request_bodies_stay_closed(schemas):
    assert schemas["HandoffInRequest"]["additionalProperties"] is False


def test_a_text_query_parameter_says_it_is_never_empty_as_the_api_refuses_one(client):
    """`?cursor=` and `?mrn=` are 400s (filters.KnownParameters); the schema says so."""
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    parameters = {
        parameter["name"]: parameter["schema"] for parameter in paths["/api/v1/patients/"]["get"]["parameters"]
    }
    assert parameters["cursor"]["minLength"] == 1
    assert parameters["mrn"]["minLength"] == 1
    assert "minLength" not in parameters["page_size"]
