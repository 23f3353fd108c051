from django.apps import AppConfig


class ChecklistsConfig(AppConfig):
    name = "checklists"
    verbose_name = "Checklists"

    def ready(self):
        # Checklists follow their care events: the patients layer calls us through its hook.
        from accounts.hooks import register_standing_listener, register_work_organisations
        from patients.hooks import (
            register_bag_listener,
            register_care_team_left_listener,
            register_events_listener,
            register_restart_moved_listener,
        )

        from .selectors import work_organisations
        from .services import (
            on_bag_recorded,
            on_events_changed,
            on_restart_moved,
            tasks_let_go,
            tasks_let_go_of_patient,
        )

        register_events_listener(on_events_changed)
        register_bag_listener(on_bag_recorded)
        # A planned restart moved: the history says who moved it, from when to when.
        register_restart_moved_listener(on_restart_moved)
        # A user deactivated or given another role gives back the tasks they can no longer work.
        register_standing_listener(tasks_let_go)
        # So does one taken off a patient's care team, for that patient.
        register_care_team_left_listener(tasks_let_go_of_patient)
        # The tasks a user holds say where their work is (accounts.hooks).
        register_work_organisations(work_organisations)
