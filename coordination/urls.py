from django.urls import path

from .views import board, event, my_work, notifications, patient, task_actions

urlpatterns = [
    path("", my_work.my_work_view, name="home"),
    path("patients/<int:pk>/", patient.patient_detail, name="patient_detail"),
    path("events/<int:pk>/", event.event_detail, name="event_detail"),
    path("events/<int:pk>/override/", event.event_override, name="event_override"),
    path("tasks/<int:pk>/claim/", task_actions.task_claim, name="task_claim"),
    path("tasks/<int:pk>/release/", task_actions.task_release, name="task_release"),
    path("tasks/<int:pk>/complete/", task_actions.task_complete, name="task_complete"),
    path("tasks/<int:pk>/not-applicable/", task_actions.task_not_applicable, name="task_not_applicable"),
    path("tasks/<int:pk>/verify/", task_actions.task_verify, name="task_verify"),
    path("tasks/<int:pk>/undo/", task_actions.task_undo, name="task_undo"),
    path("tasks/<int:pk>/reassign/", task_actions.task_reassign, name="task_reassign"),
    path("board/", board.coordinator_board, name="board"),
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/read/", notifications.notifications_read, name="notifications_read"),
    path("notifications/bell/", notifications.notification_bell, name="notification_bell"),
]
