from django.urls import path

from .handoffs.views import actions as handoff_actions
from .handoffs.views import pages as handoffs
from .handoffs.views import review as handoff_review
from .reminders.views import notifications
from .reminders.views import pages as reminders
from .watch import views as watch
from .worklist.views import board, event, my_work, patient, task_actions

urlpatterns = [
    path("", my_work.my_work_view, name="home"),
    path("patients/<int:pk>/", patient.patient_detail, name="patient_detail"),
    path("cycles/<int:pk>/events/", patient.cycle_events, name="cycle_events"),
    path("events/<int:pk>/", event.event_detail, name="event_detail"),
    path("events/<int:pk>/override/", event.event_override, name="event_override"),
    path("tasks/<int:pk>/claim/", task_actions.task_claim, name="task_claim"),
    path("tasks/<int:pk>/release/", task_actions.task_release, name="task_release"),
    path("tasks/<int:pk>/complete/", task_actions.task_complete, name="task_complete"),
    path("tasks/<int:pk>/not-applicable/", task_actions.task_not_applicable, name="task_not_applicable"),
    path("tasks/<int:pk>/verify/", task_actions.task_verify, name="task_verify"),
    path("tasks/<int:pk>/undo/", task_actions.task_undo, name="task_undo"),
    path("tasks/<int:pk>/reassign/", task_actions.task_reassign, name="task_reassign"),
    path("tasks/<int:pk>/close/", task_actions.task_close, name="task_close"),
    path("board/", board.coordinator_board, name="board"),
    path("board/not-ready/", board.board_not_ready, name="board_not_ready"),
    path("board/overdue/", board.board_overdue, name="board_overdue"),
    path("board/left-open/", board.board_left_open, name="board_left_open"),
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/read/", notifications.notifications_read, name="notifications_read"),
    path("notifications/bell/", notifications.notification_bell, name="notification_bell"),
    # Handoffs between units (coordination/handoffs/).
    path("handoffs/", handoffs.handoff_list, name="handoff_list"),
    path("handoffs/review/", handoff_review.handoff_review, name="handoff_review"),
    path("patients/<int:pk>/handoffs/new/", handoffs.handoff_new, name="handoff_new"),
    path("handoffs/<int:pk>/", handoffs.handoff_detail, name="handoff_detail"),
    path("handoffs/<int:pk>/edit/", handoffs.handoff_edit, name="handoff_edit"),
    path("handoffs/<int:pk>/print/", handoffs.handoff_print, name="handoff_print"),
    path("handoffs/<int:pk>/send/", handoff_actions.handoff_send, name="handoff_send"),
    path("handoffs/<int:pk>/cancel/", handoff_actions.handoff_cancel, name="handoff_cancel"),
    path("handoffs/<int:pk>/acknowledge/", handoff_actions.handoff_acknowledge, name="handoff_acknowledge"),
    path("handoffs/<int:pk>/accept/", handoff_actions.handoff_accept, name="handoff_accept"),
    path("handoffs/<int:pk>/return/", handoff_actions.handoff_return, name="handoff_return"),
    path("handoffs/<int:pk>/complete/", handoff_actions.handoff_complete, name="handoff_complete"),
    path("handoffs/<int:pk>/comment/", handoff_actions.handoff_comment, name="handoff_comment"),
    path("handoffs/<int:pk>/flag/", handoff_actions.handoff_flag, name="handoff_flag"),
    path("handoffs/<int:pk>/sign-off/", handoff_actions.handoff_sign_off, name="handoff_sign_off"),
    path("handoff-actions/<int:pk>/done/", handoff_actions.handoff_action_done, name="handoff_action_done"),
    # Reminders (coordination/reminders/): the ledger, one's settings, an event's reminders, snoozing.
    path("reminders/", reminders.reminder_ledger, name="reminder_ledger"),
    path("reminders/summary/", reminders.reminder_ledger_summary, name="reminder_ledger_summary"),
    path("reminders/settings/", reminders.reminder_settings, name="reminder_settings"),
    path("events/<int:pk>/reminders/", reminders.event_reminders, name="event_reminders"),
    path("tasks/<int:pk>/snooze/", reminders.task_snooze_view, name="task_snooze"),
    # The toxicity watch (coordination/watch/): urgent alerts and the on-call roster.
    path("alerts/", watch.alert_list, name="alert_list"),
    path("alerts/<int:pk>/", watch.alert_detail, name="alert_detail"),
    path("alerts/<int:pk>/acknowledge/", watch.alert_acknowledge, name="alert_acknowledge"),
    path("roster/", watch.roster, name="roster"),
]
