"""Filters for the log: what an operator reads at night should be worth reading."""

import logging


class NoTracebackForRefusals(logging.Filter):
    """A 403 or a 404 is the app refusing on purpose (a role without the right, a patient of
    another team): its one line is kept, without the traceback Django attaches to it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) in (403, 404):
            record.exc_info = None
            record.exc_text = None
        return True
