"""Who is on a patient's care team, read the same everywhere: the API, the FHIR CareTeam and the
patient page leave out the members who no longer count (CareTeamMemberQuerySet.who_count)."""

import re

from django.urls import reverse

from accounts.models import Role

from ..accounts.helpers import verified_login
from .helpers import bearer, token_for


def test_the_api_the_fhir_care_team_and_the_patient_page_list_the_same_members(
    client, patient, nurse, nurse2, case_manager
):
    """Review: with nurse2 deactivated and the case manager made a nurse, the API listed all three
    as the care team, and FHIR one."""
    nurse2.is_active = False
    nurse2.save(update_fields=["is_active"])
    case_manager.role = Role.NURSE
    case_manager.save(update_fields=["role"])

    body = client.get(f"/api/v1/patients/{patient.pk}/", **bearer(token_for(nurse))).json()
    in_the_api = {member["user"]["username"] for member in body["care_team"]}

    verified_login(client, nurse)
    team = client.get(f"/fhir/R4/CareTeam/{patient.pk}").json()
    in_fhir = {participant["member"]["identifier"]["value"] for participant in team["participant"]}
    page = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    listed = re.search(r"Care team</dt>\s*<dd[^>]*>(.*?)</dd>", page, re.S).group(1).split(" · ")[0].split(", ")
    people = (nurse, nurse2, case_manager)
    on_the_page = {user.username for user in people if any(entry.startswith(f"{user} (") for entry in listed)}

    assert in_the_api == in_fhir == on_the_page == {"nurse"}
