"""An assessment sent twice (a double click, or a form posted again whose answer was lost): the
same nurse's identical assessment is answered as the first was, and the oncologist on call is paged
once. Found by a concurrency review: two assessments, each with its open alert; once one was
acknowledged, the other went on down the roster to second call."""

import datetime as dt

import pytest

from coordination.models import Reminder
from coordination.watch.models import ToxicityAlert
from patients.models import Assessment

from ...database_helpers import race
from .test_alerts import NIGHT, assess, roster  # noqa: F401 - the roster is a fixture


@pytest.mark.django_db(transaction=True)
def test_a_double_click_records_one_assessment_and_pages_once(patient, nurse, coordinator, roster):  # noqa: F811 (the fixtures imported above)
    def post():
        return assess(patient, nurse, ice_orientation=1, ice_naming=2)  # ICANS grade 2

    outcomes = race(post, post)
    assert all(isinstance(outcome, Assessment) for outcome in outcomes), outcomes
    assessment = Assessment.objects.get()
    assert [outcome.pk for outcome in outcomes] == [assessment.pk, assessment.pk]
    # Both pages tell the nurse what the first did: the oncologist on call is alerted.
    assert [outcome.alerted for outcome in outcomes] == [True, True]
    alert = ToxicityAlert.objects.get()
    assert alert.assessment == assessment
    paged = Reminder.objects.filter(alert=alert, kind=Reminder.Kind.TOXICITY_ALERT)
    assert sorted(paged.values_list("recipient__username", flat=True)) == sorted(["onc0", coordinator.username])


def test_sent_again_within_the_minute_it_is_the_same_assessment(patient, nurse, roster, time_machine):  # noqa: F811 (the fixtures imported above)
    first = assess(patient, nurse, ice_orientation=1, ice_naming=2)
    time_machine.move_to(NIGHT + dt.timedelta(seconds=40), tick=False)
    again = assess(patient, nurse, ice_orientation=1, ice_naming=2)
    assert again.pk == first.pk and again.alerted
    assert Assessment.objects.count() == 1 and ToxicityAlert.objects.count() == 1


def test_a_quiet_assessment_sent_again_says_nobody_is_alerted(patient, nurse, roster):  # noqa: F811 (the fixtures imported above)
    first = assess(patient, nurse)
    again = assess(patient, nurse)
    assert again.pk == first.pk and not again.alerted
    assert Assessment.objects.count() == 1


def test_other_findings_another_nurse_or_a_later_round_are_kept(patient, nurse, nurse2, roster, time_machine):  # noqa: F811 (the fixtures imported above)
    """Only the very same record is a repeat: what differs is a new assessment, and pages as one."""
    assess(patient, nurse, ice_orientation=1, ice_naming=2)
    assess(patient, nurse, ice_orientation=1, ice_naming=1)  # worse a moment later: its own
    assess(patient, nurse2, ice_orientation=1, ice_naming=2)  # the other nurse's own check
    time_machine.move_to(NIGHT + dt.timedelta(minutes=2), tick=False)
    assess(patient, nurse, ice_orientation=1, ice_naming=2)  # the same findings, sent minutes later
    assert Assessment.objects.count() == 4 and ToxicityAlert.objects.count() == 4
