"""Logging filters of the project (LOGGING in config/settings/base.py)."""

import logging


class QuietRefusals(logging.Filter):
    """A 403 is a refusal the page explains to the user, not a fault: log it at INFO, without a traceback.

    Django's `django.request` logger reports PermissionDenied as a WARNING with the exception's traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.levelno = logging.INFO
            record.levelname = logging.getLevelName(logging.INFO)
            record.exc_info = None
            record.exc_text = None
        return True
