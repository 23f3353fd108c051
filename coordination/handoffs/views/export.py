"""The handoff lists as CSV (coordination.exports): the list and the coordinator's review."""

from ...exports import csv_download, local

HEADER = ["Direction", "Patient", "MRN", "Kind", "Status", "From", "To", "Sent", "Acknowledge by"]
HEADER += ["Acknowledged", "Accepted", "Completed", "Acknowledgement overdue", "Flagged", "Signed off"]


def handoffs_csv(request, what: str, handoffs, *, zone, now, filters=()):
    """`handoffs`: (direction, handoff) pairs, as the page lists them; `filters`: the names of the
    query parameters the list filters by (coordination.exports.csv_download)."""

    def row(direction, handoff):
        patient = handoff.patient
        return [
            direction,
            f"{patient.family_name}, {patient.given_name}",
            patient.mrn,
            handoff.get_kind_display(),
            handoff.get_status_display(),
            handoff.from_unit,
            handoff.to_unit,
            *(local(moment, zone) for moment in (handoff.sent_at, handoff.acknowledge_by, handoff.acknowledged_at)),
            *(local(moment, zone) for moment in (handoff.accepted_at, handoff.completed_at)),
            "yes" if handoff.acknowledgement_overdue(now) else "",
            "yes" if handoff.flagged else "",
            local(handoff.signed_off_at, zone),
        ]

    header = [f"{name} ({zone.key})" if name in TIMES else name for name in HEADER]
    return csv_download(
        request,
        what=what,
        header=header,
        rows=[row(direction, handoff) for direction, handoff in handoffs],
        patient_ids=[handoff.patient_id for _, handoff in handoffs],
        filters=filters,
        handoffs=sorted(handoff.pk for _, handoff in handoffs),
    )


TIMES = {"Sent", "Acknowledge by", "Acknowledged", "Accepted", "Completed", "Signed off"}
