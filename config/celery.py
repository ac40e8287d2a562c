"""Celery application. The worker and beat processes (docker-compose, `make run`) start from here."""

import os
import sys

from celery import Celery
from kombu.transport import redis as redis_transport

from config import fsbroker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
# The embedded default's broker is a folder shared by the web, beat and worker processes.
fsbroker.install()


def _exit_with_parent():
    # `make run` sets OKNO_EXIT_WITH_PARENT: its worker, beat and web processes get SIGTERM when the
    # shell that started them dies, even by SIGKILL, so none is left behind (an orphaned beat plus
    # the next `make run`'s beat would be two beats).
    if os.environ.get("OKNO_EXIT_WITH_PARENT") != "1" or not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() == 1:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


_exit_with_parent()

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
