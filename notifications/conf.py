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
    # A row left in "sending" this long (a worker died mid-send) is tried again.
    "OKNO_EMAIL_SENDING_TIMEOUT_MINUTES": 10,
    # A scheduled notification whose handler keeps failing is given up after this many tries.
    "OKNO_SCHEDULER_MAX_ATTEMPTS": 5,
    "OKNO_SCHEDULER_RETRY_SECONDS": 60,
}
