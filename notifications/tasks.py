"""Celery tasks: thin wrappers over the outbox, the webhooks and the scheduler (all harmless when run twice).

acks_late: a message is acknowledged after the task ran. Whether it ran or not, the database row is
the truth: a task lost with its worker is handed out again by the dispatcher or the sweeper.
"""

from celery import shared_task

from . import outbox, scheduler


@shared_task(name="notifications.dispatch", acks_late=True, ignore_result=True)
def dispatch():
    return scheduler.dispatch()


@shared_task(name="notifications.execute", acks_late=True, ignore_result=True)
def execute(row_id):
    return scheduler.execute(row_id)


@shared_task(name="notifications.deliver_due", acks_late=True, ignore_result=True)
def deliver_due():
    from . import subscriptions, webhooks

    return {
        "email": outbox.deliver_due(),
        "webhooks": webhooks.deliver_due(),
        "subscriptions": subscriptions.release_due(),
    }


@shared_task(name="notifications.deliver", acks_late=True, ignore_result=True)
def deliver(email_id):
    return outbox.deliver(email_id)


@shared_task(name="notifications.deliver_webhook", acks_late=True, ignore_result=True)
def deliver_webhook(delivery_id):
    from . import webhooks

    return webhooks.deliver(delivery_id)


@shared_task(name="notifications.run_due", acks_late=True, ignore_result=True)
def run_due():
    """Kept for beat schedules written before `dispatch`: runs due rows inside the worker."""
    return scheduler.run_due()
