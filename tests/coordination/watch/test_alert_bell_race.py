"""An alert acknowledged while delivery is ringing its bell (issue 14, item 8): the notification
written by that delivery is marked read too. Real PostgreSQL row locks, threads with their own
connections."""

import threading
import time

import pytest
from django.db import connection

from coordination.models import Notification, Reminder
from coordination.reminders import delivery, sweep
from coordination.reminders.delivery import reminders_deliver
from coordination.watch.services import alert_acknowledge

from . import test_alerts

# The roster fixture (onc0 first call, onc1 second, in the night of a clock change) and an assessment.
roster, assess = test_alerts.roster, test_alerts.assess

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_acknowledgement_while_the_bell_rings_leaves_no_notification_unread(
    patient, nurse, coordinator, roster, monkeypatch
):
    monkeypatch.setattr(sweep, "_publish", lambda ids: None)  # this test delivers by itself
    first, _ = roster
    alert = assess(patient, nurse, ice_orientation=1, ice_naming=2).alerts.get()
    rung, acknowledging = threading.Event(), threading.Event()
    ring = delivery.Changes.save

    def ring_then_wait(changes):
        ring(changes)  # the bell is written, the delivery's transaction still open
        rung.set()
        acknowledging.wait(timeout=10)
        time.sleep(0.5)  # the acknowledgement has every chance to finish before this commits

    monkeypatch.setattr(delivery.Changes, "save", ring_then_wait)
    errors = []

    def run(call):
        try:
            call()
        except Exception as error:  # noqa: BLE001 - the test looks at it
            errors.append(error)
        finally:
            connection.close()

    def acknowledge():
        rung.wait(timeout=10)
        acknowledging.set()
        alert_acknowledge(alert=alert, actor=first)

    ids = list(Reminder.objects.filter(alert=alert).values_list("pk", flat=True))
    threads = [
        threading.Thread(target=run, args=(lambda: reminders_deliver(ids=ids),)),
        threading.Thread(target=run, args=(acknowledge,)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads) and not errors, errors
    assert {n.recipient for n in Notification.objects.all()} == {first, coordinator}
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_two_alerts_taken_at_once_leave_no_on_call_grant_open_for_good(patient, nurse, oncologist, roster, monkeypatch):
    """Two open alerts of the patient shared the on-call oncologist's grant. Taken at the same moment
    (the on-call oncologist the first, the patient's own oncologist the second), each saw the other
    still open and left the grant to it: the grant never ended, and the oncologist of another team
    kept the patient's record for good."""
    from coordination.watch import services
    from coordination.watch.services import Signal, alert_raise

    from ...checklists.test_refresh_races import wait_for_a_lock_waiter
    from ...database_helpers import race

    first, _ = roster
    one = assess(patient, nurse, ice_orientation=1, ice_naming=2).alerts.get()
    two = alert_raise(patient=patient, signal=Signal("Home check red flags: fever"), actor=nurse, now=test_alerts.NIGHT)
    grant = first.access_grants.get()
    assert set(one.access_grants.all()) == set(two.access_grants.all()) == {grant}
    decided = threading.Event()
    end = services._end_on_call_access

    def end_then_wait(alert, **kwargs):
        end(alert, **kwargs)
        if alert.pk == two.pk:
            decided.set()
            wait_for_a_lock_waiter()  # the other acknowledgement has decided too, or waits for this one

    monkeypatch.setattr(services, "_end_on_call_access", end_then_wait)

    def take_two():
        return alert_acknowledge(alert=two, actor=oncologist, now=test_alerts.NIGHT)

    def take_one():
        assert decided.wait(timeout=10)
        return alert_acknowledge(alert=one, actor=first, now=test_alerts.NIGHT)

    outcomes = race(take_two, take_one)
    assert not any(isinstance(outcome, Exception) for outcome in outcomes), outcomes
    grant.refresh_from_db()
    # Whoever took the first follows it up for a day; then the grant ends.
    assert grant.ends_at == test_alerts.NIGHT + services.ON_CALL_FOLLOW_UP
