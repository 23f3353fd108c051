"""Handoffs between units: prepare, send, acknowledge, accept, return, cancel, complete, and the
coordinator's review (comment, flag, sign off).

    draft ──send──▶ sent ──acknowledge──▶ acknowledged ──accept──▶ accepted ──complete──▶ completed
      ▲               │                        │
      └──(edit)── returned ◀──return (reason)──┘            cancel (reason): draft, sent,
                                                             acknowledged or returned → cancelled

- The sending side (a case manager, nurse or oncologist on the patient's care team) prepares,
  edits, sends and cancels. The receiving side (a nurse, case manager or coordinator of the
  receiving unit, who sees the patient through the handoff's access grant) acknowledges,
  accepts with a synthesis, returns with a reason, works the actions and completes when the
  first home visit is done. The sending unit's coordinator comments, flags and signs off.
- A handoff cannot be sent while its event's checklist (the hospital-to-home transition) has a
  required item open, or is otherwise not ready.
- Sending opens an `AccessGrant` for the receiving unit (patients.services); returning or
  cancelling revokes it at once; after completion it lasts while the receiving side's actions are
  open and the infusion runs at home (to its cycle's end, moved with it), and ends
  `access_hours_after_completion()` after; a readmission taken over by the hospital ends it at once.
- Accepting turns the action list into tasks of the receiving side: each action, until then a
  proposal, becomes open for its owning role, with its due time.
- Every step locks the handoff row: of two people acting at once (or one double click), one
  wins and the other gets a `HandoffConflict` saying who did what, and when.

The package has the shape of every coordination package:
- models.py: the handoff, its actions, comments and history; the I-PASS fields, declared once;
- policy.py: who may take each step, and when (the flow's table and its conflict wording);
- services.py: the steps themselves, each enforcing its policy function; one function runs the table;
- selectors.py: the reads, with their relations loaded, and the facts from the record;
- forms.py, views/: the pages (templates/coordination/handoffs/), which ask the policy what to offer.
"""
