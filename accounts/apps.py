from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and units"

    def ready(self):
        from . import audit, database_roles, signin  # noqa: F401 (signin: the session clock starts at sign-in)

        # After every migration (sent once all apps' migrations are in), the application's role
        # gets its rights on the tables: those of the audit log read and insert only.
        post_migrate.connect(database_roles.on_post_migrate, sender=self, dispatch_uid="grant_application_role")

        # Write statements carry the audit context to the triggers from the first connection on.
        audit.install_on_open_connections()
        if apps.is_installed("axes"):  # django-axes says when it locks someone out
            from axes.signals import user_locked_out

            user_locked_out.connect(audit.log_lockout, dispatch_uid="audit_lockout")
