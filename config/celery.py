"""Celery application. The worker and beat processes (docker-compose, `make run`) start from here."""

import os

from celery import Celery
from kombu.transport import redis as redis_transport

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
# Celery 5.7.0 / kombu 5.7.0: when the Redis connection drops while messages are unacknowledged, the
# worker's clean-up restores them through a connection already torn down and dies ("Unrecoverable
# error: AttributeError: 'NoneType' object has no attribute 'hostname'"; seen in
# tests/integration/test_scheduler_faults.py). Due work lives in database rows that the dispatcher
# hands out again, so the broker need not restore those messages at close.
redis_transport.QoS.restore_at_shutdown = False

app = Celery("okno")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_queue_folder(sender, **kwargs):
    # The filesystem transport of the embedded default needs its folder before the first publish.
    from django.conf import settings

    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        os.makedirs(settings.CELERY_QUEUE_DIR, exist_ok=True)
