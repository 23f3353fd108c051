from django.urls import path

from .views import course, pump, registration, team, toxicity

app_name = "patients"
urlpatterns = [
    path("", registration.patient_list, name="list"),
    path("new/", registration.patient_create, name="create"),
    path("<int:pk>/edit/", registration.patient_edit, name="edit"),
    # Who cares for the patient, and where (patients/views/team.py).
    path("<int:pk>/care-team/", team.care_team, name="care_team"),
    path("<int:pk>/transfer/", team.patient_transfer, name="transfer"),
    # The course plan (patients/views/course.py).
    path("<int:pk>/courses/new/", course.course_plan, name="course_plan"),
    path("courses/<int:pk>/cycles/", course.course_cycles, name="course_cycles"),
    path("courses/<int:pk>/stop/", course.course_stop, name="course_stop"),
    path("courses/<int:pk>/stop-for-good/", course.course_stop_for_good, name="course_stop_for_good"),
    path("cycles/<int:pk>/next-start/", course.cycle_next_start, name="cycle_next_start"),
    path("interruptions/<int:pk>/restart/", course.interruption_restart, name="interruption_restart"),
    path("interruptions/<int:pk>/restart/move/", course.interruption_restart_move, name="interruption_restart_move"),
    path("events/<int:pk>/bag/", course.event_bag, name="event_bag"),
    path("bags/<int:pk>/reuse/", course.bag_reuse, name="bag_reuse"),
    path("bags/<int:pk>/dispose/", course.bag_dispose, name="bag_dispose"),
    path("<int:pk>/pump-events/new/", pump.pump_event_new, name="pump_event_new"),
    # The toxicity watch (patients/views/toxicity.py).
    path("<int:pk>/assessments/", toxicity.assessment_list, name="assessments"),
    path("<int:pk>/assessments/new/", toxicity.assessment_new, name="assessment_new"),
    path("<int:pk>/check-ins/new/", toxicity.check_in_new, name="check_in_new"),
    path("assessments/<int:pk>/confirm/", toxicity.assessment_confirm, name="assessment_confirm"),
]
