"""Peak Python memory of the reminder ledger's CSV download: streamed a chunk at a time (the view's,
coordination.exports.csv_stream) against every row read and built in memory first (the view as it
was), measured with tracemalloc (docs/performance.md, "The reminder ledger's CSV, streamed").

Point DATABASE_URL at a throwaway copy of a migrated database: `--fill N` tops the ledger up to N
synthetic reminders (sent, about no task, to one user) first. The times include tracemalloc's own
cost, several times the download's: compare the memory, not them.
"""

import argparse
import datetime as dt
import time
import tracemalloc


def _fill(rows: int) -> None:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from coordination.models import Reminder

    user, _ = get_user_model().objects.get_or_create(username="bench-ledger", defaults={"role": "nurse"})
    now, batch = timezone.now(), []
    for n in range(Reminder.objects.count(), rows):
        at = now - dt.timedelta(minutes=n)
        batch.append(
            Reminder(
                kind="overdue",
                target=f"task:{n}",
                recipient=user,
                due_at=at,
                fire_at=at,
                dispatch_after=at,
                state="sent",
                sent_at=at,
                channels=["in_app"],
            )
        )
        if len(batch) == 10_000:
            Reminder.objects.bulk_create(batch)
            batch = []
    Reminder.objects.bulk_create(batch)


def _measure(name: str, respond) -> None:
    tracemalloc.start()
    start = time.perf_counter()
    size = sum(len(part) for part in respond().streaming_content)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"{name:9} {size / 1e6:6.1f} MB of CSV   peak Python memory {peak / 1e6:6.1f} MB   {seconds:5.1f} s")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench ledger_csv")
    parser.add_argument("--fill", type=int, default=0, help="top the ledger up to this many reminders first")
    args = parser.parse_args(argv)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory

    from accounts.csv_export import csv_response
    from coordination.models import Reminder
    from coordination.reminders.selectors import ledger_rows
    from coordination.reminders.views.pages import LEDGER_CSV_HEADER, _ledger_csv_row, ledger_csv

    if args.fill:
        _fill(args.fill)
    print(f"{Reminder.objects.count():,} reminders in the ledger")
    request = RequestFactory().get("/reminders/", {"format": "csv"})
    request.user = get_user_model().objects.get(username="bench-ledger")

    def in_memory():  # the view as it was: every row read and built, then written
        reminders = list(ledger_rows(Reminder.objects.all()))
        return csv_response("reminder-ledger", LEDGER_CSV_HEADER, [_ledger_csv_row(r) for r in reminders])

    _measure("in memory", in_memory)
    _measure("streamed", lambda: ledger_csv(request, ledger_rows(Reminder.objects.all())))
