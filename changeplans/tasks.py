"""Celery tasks of changeplans: the stored archive PDF (changeplans.pdf_archive, docs/pdf.md)."""

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from celery import Task, shared_task
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


# Jira (changeplans.jira, docs/jira.md). A fetch is harmless twice; a lost one is asked again by the next page.
@shared_task(name="changeplans.jira_fetch_issues", acks_late=True, ignore_result=True)
def jira_fetch_issues_task(keys: list[str]) -> None:
    from .jira import fetch_issues

    fetch_issues(keys)


# The comment is found by its marker before it is added, so a redelivery adds none twice.
@shared_task(name="changeplans.jira_comment", bind=True, acks_late=True, ignore_result=True, max_retries=6)
def jira_comment_task(self: Task, plan_id: int, event_id: int) -> None:
    from common.retry import backoff

    from .jira import JiraUnavailable, comment_on_finish

    try:
        comment_on_finish(plan_id, event_id)
    except JiraUnavailable as error:
        raise self.retry(exc=error, countdown=backoff(30, self.request.retries + 1).total_seconds()) from error
