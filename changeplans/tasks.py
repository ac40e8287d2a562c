"""Celery tasks of changeplans: the stored archive PDF (changeplans.pdf_archive, docs/pdf.md)."""

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from celery import shared_task
from django.conf import settings


@contextmanager
def _lower_priority(increment: int) -> Iterator[None]:
    """Run at a lower CPU priority (nice), so pages served on the same cores stay fast during a render."""
    if increment <= 0:
        yield
        return
    before = os.getpriority(os.PRIO_PROCESS, 0)
    os.setpriority(os.PRIO_PROCESS, 0, min(19, before + increment))
    try:
        yield
    finally:
        # Only root may raise it back: otherwise this worker process stays "nice", which costs nothing when idle.
        with suppress(PermissionError):
            os.setpriority(os.PRIO_PROCESS, 0, before)


# Acknowledged on receipt (acks_late off): a plan whose PDF kills its worker (memory) is not handed to the next
# worker for ever; the row is failed as stalled after the time limit and the user may try again.
@shared_task(
    name="changeplans.render_pdf",
    acks_late=False,
    ignore_result=True,
    soft_time_limit=settings.OKNO_PDF_RENDER_SECONDS,
    time_limit=settings.OKNO_PDF_RENDER_SECONDS + 30,
)
def render_pdf_task(pdf_id: int) -> None:
    from .pdf_archive import render_stored

    with _lower_priority(settings.OKNO_PDF_NICE):
        render_stored(pdf_id)
