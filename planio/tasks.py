"""Celery tasks: reading a large upload away from the web process, and forgetting old unconfirmed imports."""

from celery import shared_task
from django.conf import settings


# Acknowledged on receipt (acks_late off): a file that kills its worker is not handed to the next one.
# A parse that dies so is reported failed by planio.services.get_import.
@shared_task(
    name="planio.parse_import",
    acks_late=False,
    ignore_result=True,
    soft_time_limit=settings.OKNO_IMPORT_PARSE_SECONDS,
    time_limit=settings.OKNO_IMPORT_PARSE_SECONDS + 30,
)
def parse_import(import_id):
    from .services import parse

    parse(import_id)


@shared_task(name="planio.delete_expired", ignore_result=True)
def delete_expired():
    from .services import delete_expired

    return delete_expired()
