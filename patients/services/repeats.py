"""A record sent twice: a double click, or a form posted again whose answer was lost.

The same person's identical record within the minute is a repeat of the first, answered as the
first was, with no second row (and no second alert), as a task's completion or a handoff's step is
(checklists.services, coordination.handoffs). Asked under the lock that makes such records take
turns (the patient's row, or the event's for a bag): the second of two sent at once waits for the
first to commit, then finds it. Two records that differ in anything entered are both kept.
"""

import datetime as dt
from collections.abc import Iterable

from django.db.models import Model

# How long after a record the same one sent again is taken for a repeat: a double click, a retry.
REPEAT_WITHIN = dt.timedelta(minutes=1)


def repeat_of(record: Model, *, entered: Iterable[str], now: dt.datetime, by: str = "recorded_by") -> Model | None:
    """The row that `record` (built, not saved) repeats, or None: the same patient's, recorded by
    the same person (`by`: who recorded it) at most REPEAT_WITHIN before `now`, with the same value
    at each of `entered` (the fields the form sent: the time entered and the findings, a bag's
    event and label)."""
    model = type(record)
    fields = [model._meta.get_field(name) for name in entered]
    candidates = model.objects.filter(
        patient_id=record.patient_id,
        **{f"{by}_id": getattr(record, f"{by}_id")},
        recorded_at__gte=now - REPEAT_WITHIN,
        recorded_at__lte=now,
    ).order_by("pk")
    for row in candidates:
        # As the database keeps them: "38.6" typed is the 38.6 stored.
        if all(_kept(field, row) == _kept(field, record) for field in fields):
            return row
    return None


def _kept(field, record: Model):
    return field.to_python(getattr(record, field.attname))
