"""Domain operations on the clinical record, one module per subject:

- `schedule`: plan a course on its regimen, build and move its cycles and events;
- `course_status`: a course's status follows its events (active, completed);
- `interruptions`: stops, restarts and a stop for good, which move the plan;
- `bags`: the bag the pharmacy prepared, checked against the bag options and today's weight;
- `weighings`: weighings, the newest of which is the patient's current weight;
- `regimens`: regimen versions (drafts, publishing) and the starter library;
- `grants`: a receiving unit's time-boxed window on a patient;
- `checkins`: the home nurse's daily check and its red flags;
- `pump`: pump and line events, whose stops open interruptions;
- `toxicity`: CRS and ICANS assessments, graded by the ASTCT consensus and confirmed by the oncologist;
- `team`: the care team, and transfers between units (the unit coordinator's).
"""

from ..weights import weight_shown
from .bags import (
    bag_decision_urgency,
    bag_expiry_warning,
    bag_for_event,
    bag_option_for_hours,
    bags_awaiting_decision,
    bags_moved_from,
    bags_waiting,
    infusion_bag_dispose,
    infusion_bag_record,
    infusion_bag_reuse,
    next_change_after,
    replacing_event,
    reuse_targets,
    weighing_warning,
)
from .checkins import check_in_record
from .course_status import courses_follow_their_events
from .grants import access_grant_close, access_grant_end_move, access_grant_open
from .interruptions import (
    course_stop_for_good,
    interruption_restart,
    interruption_restart_move,
    interruption_stop,
    neurotoxicity_stops_for_good,
)
from .pump import pump_event_record
from .regimens import regimen_library_seed, regimen_version_new_draft, regimen_version_publish
from .schedule import (
    ScheduleChanges,
    course_extend,
    course_plan,
    course_schedule_build,
    cycle_planned_events,
    cycle_postpone,
    cycle_set_next_start,
    event_cancel,
    event_move,
    event_schedule,
    low_dose_at,
)
from .team import care_team_add, care_team_candidates, care_team_remove, patient_transfer
from .toxicity import UNCONFIRMED_LOW_SYSTOLIC, assessment_confirm, assessment_record
from .weighings import (
    FACT_FIELDS,
    UNCONFIRMED_WEIGHT_CHANGE,
    latest_weighing,
    parse_weight,
    patient_facts_changed,
    weighing_record,
    weight_change_question,
)

__all__ = [
    "ScheduleChanges",
    "access_grant_close",
    "access_grant_end_move",
    "access_grant_open",
    "assessment_confirm",
    "assessment_record",
    "care_team_add",
    "care_team_candidates",
    "care_team_remove",
    "bag_expiry_warning",
    "bag_for_event",
    "bag_decision_urgency",
    "bag_option_for_hours",
    "bags_awaiting_decision",
    "bags_moved_from",
    "bags_waiting",
    "check_in_record",
    "course_extend",
    "course_plan",
    "courses_follow_their_events",
    "course_schedule_build",
    "course_stop_for_good",
    "cycle_planned_events",
    "cycle_postpone",
    "cycle_set_next_start",
    "event_cancel",
    "event_move",
    "event_schedule",
    "infusion_bag_dispose",
    "infusion_bag_record",
    "infusion_bag_reuse",
    "interruption_restart",
    "interruption_restart_move",
    "interruption_stop",
    "FACT_FIELDS",
    "latest_weighing",
    "patient_facts_changed",
    "low_dose_at",
    "neurotoxicity_stops_for_good",
    "next_change_after",
    "parse_weight",
    "patient_transfer",
    "pump_event_record",
    "regimen_library_seed",
    "regimen_version_new_draft",
    "regimen_version_publish",
    "replacing_event",
    "reuse_targets",
    "weighing_record",
    "weight_change_question",
    "weight_shown",
    "UNCONFIRMED_WEIGHT_CHANGE",
    "UNCONFIRMED_LOW_SYSTOLIC",
    "weighing_warning",
]
