"""Celery application. The worker and beat processes (docker-compose, `make run`) start from here."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
app = Celery("okno")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_queue_folder(sender, **kwargs):
    # The filesystem transport of the embedded default needs its folder before the first publish.
    from django.conf import settings

    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        os.makedirs(settings.CELERY_QUEUE_DIR, exist_ok=True)
