from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"
    verbose_name = "Clinical record"

    def ready(self):
        # Where a user's work is, for the admin that keeps them in its organisation (accounts.hooks).
        from accounts.hooks import register_work_organisations

        from .selectors import work_organisations

        register_work_organisations(work_organisations)
