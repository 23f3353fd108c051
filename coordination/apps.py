from django.apps import AppConfig


class CoordinationConfig(AppConfig):
    name = "coordination"
    verbose_name = "Coordination"

    def ready(self):
        # The care team hears of a course stopped for good through the patients layer's hook.
        from patients.hooks import register_course_stopped_listener

        from .reminders.services import on_course_stopped

        register_course_stopped_listener(on_course_stopped)
