from django.apps import AppConfig, apps


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and units"

    def ready(self):
        from . import audit, signin  # noqa: F401 (signin: the session clock starts at sign-in)

        # Write statements carry the audit context to the triggers from the first connection on.
        audit.install_on_open_connections()
        if apps.is_installed("axes"):  # django-axes says when it locks someone out
            from axes.signals import user_locked_out

            user_locked_out.connect(audit.log_lockout, dispatch_uid="audit_lockout")
