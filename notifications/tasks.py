"""Celery tasks: thin wrappers over the outbox and the scheduler (both harmless when run twice)."""

from celery import shared_task

from . import outbox, scheduler


@shared_task(name="notifications.deliver_due", acks_late=True, ignore_result=True)
def deliver_due():
    return outbox.deliver_due()


@shared_task(name="notifications.run_due", acks_late=True, ignore_result=True)
def run_due():
    return scheduler.run_due()


@shared_task(name="notifications.deliver", acks_late=True, ignore_result=True)
def deliver(email_id):
    return outbox.deliver(email_id)
