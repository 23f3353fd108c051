"""Reminders and escalations, and the bell (DESIGN.md: "The database is the source of truth for
reminders").

The package has the shape of every coordination package:
- models.py: each unit's rules, each person's preferences, task snoozes, the ledger of every
  reminder (`Reminder`) and the bell's messages (`Notification`);
- policy.py: who may snooze a task's reminders;
- services.py: snoozing and ending a snooze, each person's preferences, marking the bell read,
  telling the care team of a course stopped for good (the patients layer's hook);
- selectors.py: the ledger's counts and lags, an event's open tasks with their reminders, the bell;
- forms.py, views/: the ledger, one's settings, an event's reminders and snoozes, the
  notifications (templates/coordination/reminders/), which ask the policy what to offer.

And the machinery that sends them:
- `rules`: what is due now and who hears about it (the unit's `ReminderRule`);
- `sweep`: run every minute by beat; writes `Reminder` rows and hands them to delivery after
  the commit, and hands over again what is left unsent;
- `delivery`: claims a batch under a row lock, checks that each reminder still matters, rings
  the bell, sends the other channels, records failures with retries and backoff;
- `channels`: the bell's companions (email; SMS or a pager would go here) and the email helper;
- `content`: what a reminder says, with the least patient information that works.

The Celery tasks (`coordination.tasks`) only pass ids to `sweep.reminders_sweep` and
`delivery.reminders_deliver`.
"""
