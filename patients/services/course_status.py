"""A course's status follows its events: planned until its first cycle starts, active from then,
completed once the pump came off at the end of its last planned cycle; stopped for good is set by
the stop (`interruptions.course_stop_for_good`) and never changes again.

Events get their outcome from the beat (checklists.services.events_settle) and a rebuild of the
schedule may add cycles after the last end: both call `courses_follow_their_events`.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from ..models import CareEvent, TreatmentCourse

Status = TreatmentCourse.Status

# The last cycle's pump-off has happened: done, or missed when its checklist was left open at the
# time (the beat's outcome for a gate that was not ready). Either way the infusion is over and
# nothing turns a missed event into a done one later; counting only "done" would leave a course
# whose last checklist had an open item under way for ever, blocking the patient's next course.
ENDED = (CareEvent.Status.DONE, CareEvent.Status.MISSED)
BEGUN = (CareEvent.Status.IN_PROGRESS, CareEvent.Status.DONE, CareEvent.Status.MISSED)

LAST_END_PASSED = Exists(
    CareEvent.objects.filter(
        cycle__course=OuterRef("pk"),
        cycle__number=OuterRef("planned_cycles"),
        kind=CareEvent.Kind.CYCLE_END,
        status__in=ENDED,
    )
)
FIRST_START_BEGUN = Exists(
    CareEvent.objects.filter(
        cycle__course=OuterRef("pk"), cycle__number=1, kind=CareEvent.Kind.CYCLE_START, status__in=BEGUN
    )
)


def course_status_from_events(*, status: str, last_end_passed: bool, first_start_begun: bool) -> str:
    """The status a course's events give it. A completed course given more cycles (the marrow
    and MRD results after its last end call for them) is active again; an active one never goes
    back to planned (the schedule also makes a course active on its first day)."""
    if status == Status.STOPPED:
        return status
    if last_end_passed:
        return Status.COMPLETED
    if first_start_begun or status != Status.PLANNED:
        return Status.ACTIVE
    return Status.PLANNED


@transaction.atomic
def courses_follow_their_events(*, course_ids: Iterable[int] | None = None) -> dict[int, str]:
    """Give the courses of `course_ids` (without, every course under way: the beat's round) whose
    status their events contradict the status they give them; returns the new status by course.
    A course locked by another transaction (its schedule being rebuilt) is left for that rebuild,
    which calls this again, or the next beat. Only a rebuild reopens a completed course, so the
    beat's round reads live courses only, however many have completed."""
    disagreeing = (
        Q(LAST_END_PASSED, ~Q(status=Status.COMPLETED))
        | Q(~LAST_END_PASSED, status=Status.COMPLETED)
        | Q(FIRST_START_BEGUN, status=Status.PLANNED)
    )
    courses = TreatmentCourse.objects.exclude(status=Status.STOPPED).filter(disagreeing)
    if course_ids is None:
        courses = courses.filter(status__in=TreatmentCourse.UNDER_WAY)
    else:
        courses = courses.filter(pk__in=list(course_ids))
    found = (
        courses.select_for_update(no_key=True, skip_locked=True)
        .annotate(last_end_passed=LAST_END_PASSED, first_start_begun=FIRST_START_BEGUN)
        .values_list("pk", "status", "last_end_passed", "first_start_begun")
    )
    changed, by_status = {}, defaultdict(list)
    for pk, status, ended, begun in found:
        new = course_status_from_events(status=status, last_end_passed=ended, first_start_begun=begun)
        if new != status:
            changed[pk] = new
            by_status[new].append(pk)
    for status, pks in by_status.items():
        TreatmentCourse.objects.filter(pk__in=pks).update(status=status)
    return changed
