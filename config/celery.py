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


def _unless_channel_closed(method):
    # Same versions: a task received before Redis went away and finished after the worker reconnected is
    # acknowledged on its old channel, whose connection is gone, and the worker dies ("Unrecoverable error:
    # AttributeError: 'NoneType' object has no attribute 'client'"; seen once in CI in
    # test_redis_restarted_while_actions_are_due). That channel's deliveries died with it: nothing to ack.
    def guarded(self, delivery_tag, *args, **kwargs):
        if self.channel.connection is None:
            return None
        return method(self, delivery_tag, *args, **kwargs)

    return guarded


redis_transport.QoS.ack = _unless_channel_closed(redis_transport.QoS.ack)
redis_transport.QoS.reject = _unless_channel_closed(redis_transport.QoS.reject)

app = Celery("okno")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_queue_folder(sender, **kwargs):
    # The filesystem transport of the embedded default needs its folder before the first publish.
    from django.conf import settings

    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        os.makedirs(settings.CELERY_QUEUE_DIR, exist_ok=True)
