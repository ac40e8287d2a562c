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
    "OKNO_SCHEDULER_CLAIM_TIMEOUT_SECONDS": 15,
    # A scheduled notification whose handler keeps failing is given up after this many tries.
    "OKNO_SCHEDULER_MAX_ATTEMPTS": 5,
    "OKNO_SCHEDULER_RETRY_SECONDS": 60,
}
DEFAULTS.update({
    # Banner webhooks: only these hosts ("hooks.example.org", "*.example.org") are called; empty: none is.
    "OKNO_WEBHOOK_ALLOWED_HOSTS": [],
    "OKNO_WEBHOOK_TIMEOUT_SECONDS": 5,
    # A webhook is tried at most this many times; waits between tries double from OKNO_WEBHOOK_RETRY_SECONDS.
    "OKNO_WEBHOOK_MAX_ATTEMPTS": 6,
    "OKNO_WEBHOOK_RETRY_SECONDS": 30,
    # A webhook row left in "sending" this long (a worker died mid-call) is tried again; keep it above the timeout.
    "OKNO_WEBHOOK_SENDING_TIMEOUT_SECONDS": 120,
    # Public banner JSON: Cache-Control max-age for browsers and proxies.
    "OKNO_BANNER_CACHE_SECONDS": 15,
    # The server keeps each service's banner state this long in Django's cache (dropped on every show/hide).
    "OKNO_BANNER_SERVER_CACHE_SECONDS": 300,
    # The embeddable script (/banners/embed.js): Cache-Control max-age.
    "OKNO_BANNER_SCRIPT_CACHE_SECONDS": 3600,
})
