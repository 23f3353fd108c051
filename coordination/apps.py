from django.apps import AppConfig


class CoordinationConfig(AppConfig):
    name = "coordination"
    verbose_name = "Coordination"

    def ready(self):
        # The care team hears of a course stopped for good through the patients layer's hook.
        from accounts.credentials import register_credentials_revoker
        from accounts.security_sections import register_security_section
        from checklists.hooks import register_hard_stop_listener
        from patients.hooks import (
            register_course_stopped_listener,
            register_events_listener,
            register_transfer_listener,
            register_watch_alerted_query,
            register_watch_listener,
        )

        from .feeds.services import feed_keys_revoke
        from .feeds.views import security_section
        from .handoffs.services import handoffs_follow_transfer
        from .handoffs.services import on_events_changed as withdraw_handoffs_of_cancelled_events
        from .reminders.services import on_course_stopped, on_hard_stop_failed, on_transfer
        from .reminders.services import on_events_changed as retire_notifications_of_moved_events
        from .watch.selectors import alerted_for
        from .watch.services import alerts_follow_transfer, on_watch_signal

        register_course_stopped_listener(on_course_stopped)
        # Both coordinators hear of a transfer between their units.
        register_transfer_listener(on_transfer)
        # Open urgent alerts move with a transferred patient to the new unit's board and roster.
        register_transfer_listener(alerts_follow_transfer)
        # Handoffs under way move with a transferred patient to the new unit's review and board.
        register_transfer_listener(handoffs_follow_transfer)
        # A grade, a seizure or a home check's red flag sets off an urgent alert (coordination/watch/).
        register_watch_listener(on_watch_signal)
        # The same assessment sent twice is answered as the first was: alerted, or not (watch_alerted).
        register_watch_alerted_query(alerted_for)
        # A failed hard stop blocks its event: the oncologist hears it at once.
        register_hard_stop_listener(on_hard_stop_failed)
        # The Security page shows the user's calendar links, and renews them (coordination/feeds/).
        register_security_section(security_section)
        # A deactivated account, or one that may be in other hands, loses its calendar links.
        register_credentials_revoker(feed_keys_revoke)
        # A handoff whose discharge is called off (or whose course stopped for good) is withdrawn.
        register_events_listener(withdraw_handoffs_of_cancelled_events)
        # A moved event's reminders named its old times, a cancelled one's warned of a start that
        # no longer comes: their unread notifications leave the bell.
        register_events_listener(retire_notifications_of_moved_events)
