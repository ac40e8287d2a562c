# The Celery app is loaded with Django, so shared tasks publish through its broker.
from .celery import app as celery_app

__all__ = ("celery_app",)
