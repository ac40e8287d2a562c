"""Settings of the notifications app with their defaults (config/settings/base.py may override them)."""

from django.conf import settings


def get(name):
    return getattr(settings, name, DEFAULTS[name])


DEFAULTS = {
    # Absolute links in e-mails start with this (no trailing slash).
    "OKNO_BASE_URL": "http://127.0.0.1:8000",
    # An e-mail is tried at most this many times; waits between tries double from OKNO_EMAIL_RETRY_SECONDS.
    "OKNO_EMAIL_MAX_ATTEMPTS": 5,
    "OKNO_EMAIL_RETRY_SECONDS": 60,
    # A row left in "sending" this long (a worker died mid-send) is tried again; keep it above EMAIL_TIMEOUT.
    "OKNO_EMAIL_SENDING_TIMEOUT_SECONDS": 120,
    # Hand deliveries and due actions to Celery workers (production); False: this process does them.
    "OKNO_USE_WORKER": False,
    # The dispatcher takes rows due within this many seconds and gives each a Celery ETA of its due time.
    "OKNO_SCHEDULER_LOOKAHEAD_SECONDS": 2.0,
    # A row handed to a worker but not done after this long (the worker died, the publish was lost) is handed again.
    "OKNO_SCHEDULER_CLAIM_TIMEOUT_SECONDS": 60,
    # A scheduled notification whose handler keeps failing is given up after this many tries.
    "OKNO_SCHEDULER_MAX_ATTEMPTS": 5,
    "OKNO_SCHEDULER_RETRY_SECONDS": 60,
}
