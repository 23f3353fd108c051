"""Urgent alerts through a killed worker (issue 13): each alert reminder is sent exactly once.

A night on the ward: many patients are found with ICANS grade 2, and each alert goes to the
first-call oncologist on the ward's roster (who switched email reminders off: an urgent alert is
emailed anyway) and to the ward's three coordinators (none is on the roster: all of them). The
alerts are raised in this process, whose commits hand their reminder ids to this test's Redis,
as the web process's commits do. A real worker takes them and is killed with SIGKILL in the
middle of a batch (bells rung, emails still to go: it is frozen with SIGSTOP at such an instant,
then killed), then started again. In the end every alert reminder is sent once: one bell
notification each, one email each, a repeat only for an email in flight at the kill, which the
ledger marks `in_doubt` (coordination/reminders/delivery.py).

The harness (the test's own redis-server, worker and beat, email written to files, the counts)
is the one of tests/coordination/reminders/test_delivery_service.py.
"""

import datetime as dt
import time
from collections import Counter

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import Role
from config.celery import app
from coordination.models import Notification, Reminder, ReminderPreference
from coordination.reminders import sweep
from coordination.tasks import reminders_deliver
from coordination.watch.services import ShiftInput, Signal, alert_raise, roster_replace

from ...factories import PatientFactory, UserFactory
from ..reminders import test_delivery_service as harness

# The harness's fixtures (a test's own redis-server; its worker and beats; the email files) and counts.
broker, celery_processes, maildir = harness.broker, harness.celery_processes, harness.maildir
TIMEOUT, sent, wait_for = harness.TIMEOUT, harness.sent, harness.wait_for
assert_delivered_exactly_once = harness.assert_delivered_exactly_once

pytestmark = [pytest.mark.service, pytest.mark.django_db(transaction=True)]

ALERTS = 50
COORDINATORS = 3
ALERT = Reminder.Kind.TOXICITY_ALERT


@pytest.fixture
def commits_hand_over_to_the_test_broker(broker, settings, monkeypatch):
    """This process plays the web process: what its commits hand to delivery goes to this test's
    Redis, in the batches sweep.dispatch makes; and it hands over again after the worker's lease."""
    settings.REMINDER_REDISPATCH_SECONDS = harness.LEASE_SECONDS  # the worker's and beat's (celery_processes)

    def publish(ids: list[int]) -> None:
        size = settings.REMINDER_BATCH_SIZE
        with app.connection_for_write(broker.url) as connection:
            for start in range(0, len(ids), size):
                reminders_deliver.apply_async([ids[start : start + size]], connection=connection)

    monkeypatch.setattr(sweep, "_publish", publish)


@pytest.fixture
def night_on_the_ward(ward, patient, nurse, oncologist, coordinator):
    """The oncologist is first call on the ward's roster; the ward has three coordinators, none
    on call; ALERTS patients in all."""
    now = timezone.now()
    roster_replace(
        unit=ward,
        role=Role.ONCOLOGIST,
        rank=1,
        period_start=now - dt.timedelta(hours=2),
        period_end=now + dt.timedelta(hours=2),
        shifts=[ShiftInput(oncologist, now - dt.timedelta(hours=2), now + dt.timedelta(hours=2))],
        actor=coordinator,
    )
    ReminderPreference.objects.create(user=oncologist, email=False)
    for _ in range(COORDINATORS - 1):
        UserFactory(role=Role.COORDINATOR, unit=ward)
    return [patient, *PatientFactory.create_batch(ALERTS - 1, unit=ward)]


def test_a_worker_killed_mid_delivery_and_restarted_sends_every_alert_reminder_once(
    night_on_the_ward,
    nurse,
    oncologist,
    commits_hand_over_to_the_test_broker,
    broker,
    celery_processes,
    maildir,
    capsys,
):
    for patient in night_on_the_ward:
        alert_raise(patient=patient, signal=Signal("ICANS grade 2"), actor=nurse)
    expected = ALERTS * (1 + COORDINATORS)
    reminders = Reminder.objects.filter(kind=ALERT)
    assert reminders.count() == expected
    assert broker.queued() == ALERTS, "each alert's commit handed its reminders to the broker"

    worker = celery_processes.worker()
    celery_processes.beat()
    # In the middle of a batch: its bells have rung, and some of its emails are still to go.
    mid_batch = reminders.filter(state=Reminder.State.PENDING, notified_at__isnull=False)
    at_kill = celery_processes.freeze_mid_batch(worker, mid_batch, after=expected // 4)
    celery_processes.kill(worker)
    unfinished = reminders.exclude(state=Reminder.State.SENT).count()
    rung_not_sent = mid_batch.count()
    assert 0 < unfinished < expected, "the kill came too late"
    assert rung_not_sent > 0, "the kill did not land in the middle of a batch"

    celery_processes.worker("worker-again")
    wait_for(lambda: sent() == expected, timeout=TIMEOUT, what="every alert reminder sent after the restart")
    time.sleep(3)  # what a late or repeated message would do, it does now
    # Sent once in the ledger, one bell and one email each, a repeat only where the ledger says in doubt.
    counts = assert_delivered_exactly_once(expected, maildir, kinds=(ALERT,))
    # At most the one email in flight in each sending lane of the 2 killed pool processes.
    assert counts["in_doubt"] <= 2 * settings.REMINDER_SEND_LANES
    bells = Counter(Notification.objects.values_list("recipient_id", "link"))
    assert len(bells) == expected and set(bells.values()) == {1}, "one bell per alert and recipient"
    assert Counter(Notification.objects.values_list("title", flat=True)) == {"URGENT: ICANS grade 2": expected}
    # By email whatever the reminder settings: first call has email reminders switched off.
    first_call = reminders.filter(recipient=oncologist)
    assert first_call.count() == ALERTS and all("email" in r.channels for r in first_call)
    with capsys.disabled():
        print(
            f"\n[alerts, kill -9] {ALERTS} alerts, {expected} reminders; {at_kill} sent at the kill, {unfinished} "
            f"unfinished ({rung_not_sent} rung, email not sent yet); after the restart {expected} sent once; "
            f"emails {counts['emails']}, in doubt {counts['in_doubt']}, repeated {counts['repeated']}; "
            f"handed over again {reminders.filter(dispatch_count__gt=1).count()}"
        )
