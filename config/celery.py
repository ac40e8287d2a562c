"""Celery application. The worker and beat processes of docker-compose start from here."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
app = Celery("okno")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
