"""What the toxicity watch's tests share."""

from patients.models import Interruption
from patients.services import interruption_stop


def crs_grade_3_stop(course, nurse, stopped_at):
    """The infusion stopped for a grade 3 CRS, recorded at its time."""
    return interruption_stop(
        course=course,
        stopped_at=stopped_at,
        cause=Interruption.Cause.ADVERSE_REACTION,
        toxicity_grade=3,
        toxicity_kind=Interruption.ToxicityKind.CRS,
        actor=nurse,
        now=stopped_at,
    )
