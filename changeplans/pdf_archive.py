"""Stored archive PDFs (docs/pdf.md): one copy per version of what the PDF shows, made by the worker, served as is.

- `version_of` names a copy: the plan's revision, its newest history entry (the PDF prints the history and the
  execution), the language, the history variant, what the viewer may see of the appendices (the automation
  logs: `audience`) and the PDF's own templates. Two downloads of the same version get the same row.
- `obtain` (the download view) finds or queues the copy; `request_pdf` (submission, approval, completion)
  makes it ahead of time after commit; `render_stored` (the Celery task) renders and stores it, once.
- A copy asked for on approval or on completion is the archive copy: `archived`, never changed or deleted, its
  SHA-256 in the plan's history (an entry about a "planpdf" object, which is itself no new version).
"""

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from common.transactions import after_commit
from common.workers import hand_over

from .choices import EventKind
from .history import record_event
from .models import Plan, PlanEvent, PlanPdf

if TYPE_CHECKING:
    from .pdf import Written

logger = logging.getLogger(__name__)

TASK = "changeplans.tasks.render_pdf_task"
# History entries about a stored PDF: they record a copy, they do not change what the next copy shows.
ARCHIVE_OBJECT_TYPE = "planpdf"
# Asked for on these moments, the copy is the archive copy.
FREEZING_REASONS = {"approved": gettext_noop("on approval"), "finished": gettext_noop("on completion")}
REASONS = ("download", "submitted", "approved", "finished", "retry")
# A first estimate of a render's seconds, before the plan has a stored copy to compare with (measured: about
# 6 s for 100 steps and 43 s for 2000 steps on two busy cores).
_SECONDS_FIXED, _SECONDS_PER_STEP = 2.0, 0.04
# A render still "rendering" this long after its time limit lost its worker.
_STALLED_GRACE_SECONDS = 60
_PDF_FILES = [
    Path(settings.BASE_DIR) / "changeplans" / "pdf.py",
    Path(settings.BASE_DIR) / "static" / "okno" / "pdf.css",
    *sorted((Path(settings.BASE_DIR) / "templates" / "changeplans" / "pdf").glob("*.html")),
]
Status = PlanPdf.Status
IN_PROGRESS = (Status.QUEUED, Status.RENDERING)


@lru_cache(maxsize=1)
def _format_digest() -> str:
    """The PDF's code and templates: a deployment that changes how the PDF looks makes new copies."""
    digest = hashlib.sha256()
    for path in _PDF_FILES:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class Version:
    revision: int
    last_event: int
    language: str
    full_history: bool
    audience: str

    @property
    def key(self) -> str:
        history = "full" if self.full_history else "summary"
        return (
            f"r{self.revision}-e{self.last_event}-{self.language}-{history}-a{self.audience[:16] or 'none'}"
            f"-f{_format_digest()}"
        )


def _audience(plan: Plan, viewer: object, language: str) -> str:
    """A digest of the appendices `viewer` sees (None: the archive, all of them); "" when there are none."""
    from . import pdf

    with translation.override(language):
        parts = [append(plan, viewer=viewer) for append in pdf.appendices]
    if not any(parts):
        return ""
    return hashlib.sha256("\x00".join(str(part) for part in parts).encode()).hexdigest()[:32]


def last_event_id(plan_id: int) -> int:
    events = PlanEvent.objects.filter(plan_id=plan_id).exclude(object_type=ARCHIVE_OBJECT_TYPE)
    return events.aggregate(last=Max("id"))["last"] or 0


def version_of(plan: Plan, *, viewer: object, language: str, full_history: bool = False) -> Version:
    return Version(
        revision=plan.revision,
        last_event=last_event_id(plan.pk),
        language=language,
        full_history=full_history,
        audience=_audience(plan, viewer, language),
    )


def _expected_seconds(plan: Plan) -> tuple[int, float]:
    steps = plan.steps.count()
    last = (
        PlanPdf.objects.filter(plan=plan, status=Status.READY, layout_seconds__isnull=False)
        .order_by("-finished_at")
        .values("steps", "html_seconds", "layout_seconds", "write_seconds")
        .first()
    )
    if last and last["steps"]:
        seconds = sum(last[part] or 0.0 for part in ("html_seconds", "layout_seconds", "write_seconds"))
        return steps, max(1.0, seconds * steps / last["steps"])
    return steps, _SECONDS_FIXED + _SECONDS_PER_STEP * steps


def _get_or_create(plan: Plan, version: Version, *, viewer: object, reason: str) -> tuple[PlanPdf, bool]:
    # With its bytes: a ready copy is served from this very row (one query fewer on every download).
    existing = PlanPdf.objects.filter(plan=plan, key=version.key).first()
    if existing is not None:
        return existing, False
    steps, expected = _expected_seconds(plan)
    defaults = {
        "revision": version.revision,
        "last_event": version.last_event,
        "language": version.language,
        "full_history": version.full_history,
        "audience": version.audience,
        "viewer": viewer,
        "reason": reason,
        "freeze": reason in FREEZING_REASONS,
        "steps": steps,
        "expected_seconds": expected,
    }
    # Two requests for one version: the unique (plan, key) lets one insert; the other reads that row.
    try:
        with transaction.atomic():
            return PlanPdf.objects.create(plan=plan, key=version.key, **defaults), True
    except IntegrityError:
        return PlanPdf.objects.defer("data").get(plan=plan, key=version.key), False


def _hand_over(pdf_id: int) -> None:
    hand_over(TASK, render_stored, pdf_id)


def obtain(plan: Plan, *, viewer: object, language: str, full_history: bool = False) -> PlanPdf:
    """The stored copy of the plan's current version as `viewer` sees it: ready, or queued for the worker now.

    Called outside a transaction (the download view): the row is committed before the worker looks for it.
    Without a worker (OKNO_USE_WORKER off) the copy is made here, in this request.
    """
    version = version_of(plan, viewer=viewer, language=language, full_history=full_history)
    # The viewer is kept: the worker renders what they may see (None would be the archive, every appendix).
    pdf, created = _get_or_create(plan, version, viewer=viewer, reason="download")
    if pdf.status == Status.READY:
        return pdf
    if created or (pdf.status == Status.QUEUED and not settings.OKNO_USE_WORKER):
        _hand_over(pdf.pk)
    else:
        _revive(pdf)
    return PlanPdf.objects.defer("data").get(pk=pdf.pk)


def _revive(pdf: PlanPdf) -> None:
    """A queued copy whose message was lost is handed over again; a render whose worker died is failed."""
    now = timezone.now()
    if pdf.status == Status.QUEUED and pdf.enqueued_at < now - timedelta(seconds=settings.OKNO_PDF_REQUEUE_SECONDS):
        # One poller re-queues it (a second message is harmless: only one render claims the row).
        if PlanPdf.objects.filter(pk=pdf.pk, status=Status.QUEUED, enqueued_at=pdf.enqueued_at).update(enqueued_at=now):
            _hand_over(pdf.pk)
    elif pdf.status == Status.RENDERING and pdf.started_at is not None:
        limit = settings.OKNO_PDF_RENDER_SECONDS + _STALLED_GRACE_SECONDS
        if pdf.started_at < now - timedelta(seconds=limit):
            with translation.override(pdf.language):
                message = _("Making the PDF stopped unexpectedly. Try again.")
            PlanPdf.objects.filter(pk=pdf.pk, status=Status.RENDERING).update(
                status=Status.FAILED, error=message, finished_at=now
            )


def status_of(pdf_id: int, plan_id: int) -> PlanPdf:
    """A copy for the progress page (its bytes left in the database); stalled ones are dealt with first."""
    pdf = PlanPdf.objects.defer("data").get(pk=pdf_id, plan_id=plan_id)
    if pdf.status in IN_PROGRESS:
        _revive(pdf)
        pdf = PlanPdf.objects.defer("data").get(pk=pdf_id)
    return pdf


def retry(pdf: PlanPdf) -> PlanPdf:
    """Queue a failed copy again."""
    if PlanPdf.objects.filter(pk=pdf.pk, status=Status.FAILED, archived=False).update(
        status=Status.QUEUED, error="", progress=0, enqueued_at=timezone.now(), started_at=None, finished_at=None
    ):
        _hand_over(pdf.pk)
    return PlanPdf.objects.defer("data").get(pk=pdf.pk)


def progress(pdf: PlanPdf) -> int:
    """Per cent for the progress bar: the stages the worker reports, the layout's share estimated by time."""
    if pdf.status == Status.READY:
        return 100
    if pdf.status != Status.RENDERING or pdf.started_at is None:
        return 0
    if pdf.progress >= 90:
        return pdf.progress
    elapsed = (timezone.now() - pdf.started_at).total_seconds()
    return max(pdf.progress, min(90, 10 + int(80 * elapsed / max(pdf.expected_seconds, 1.0))))


def stored_bytes(pdf: PlanPdf) -> bytes:
    if "data" not in pdf.get_deferred_fields():
        return bytes(pdf.data)
    return bytes(PlanPdf.objects.filter(pk=pdf.pk).values_list("data", flat=True).get())


# --- ahead of time: submission, approval, completion -------------------------------------------------------------


def request_pdf(plan_id: int, reason: str) -> None:
    """Make the archive copy of the plan's version after the current transaction commits (never in it).

    "approved" and "finished" freeze that copy. Without a worker nothing is rendered here: the first download
    makes the copy (and freezes it), as nobody should wait for a PDF while approving or finishing.
    """
    if reason not in REASONS:
        raise ValueError(f"Unknown reason for a PDF: {reason}")
    after_commit(_prepare, plan_id, reason)


def _prepare(plan_id: int, reason: str) -> None:
    plan = Plan.objects.get(pk=plan_id)
    version = version_of(plan, viewer=None, language=settings.LANGUAGE_CODE)
    pdf, created = _get_or_create(plan, version, viewer=None, reason=reason)
    if not created and reason in FREEZING_REASONS:
        with transaction.atomic():
            pdf = PlanPdf.objects.select_for_update().defer("data").get(pk=pdf.pk)
            if not pdf.freeze:
                PlanPdf.objects.filter(pk=pdf.pk).update(freeze=True, reason=reason)
                pdf.freeze, pdf.reason = True, reason
            if pdf.status == Status.READY and not pdf.archived:
                _archive(pdf)
        if pdf.status == Status.FAILED:
            retry(pdf)
    if created and settings.OKNO_USE_WORKER:
        _hand_over(pdf.pk)


def _archive(pdf: PlanPdf) -> None:
    """Freeze a ready copy (inside a transaction that holds its row lock) and write its hash into the history."""
    PlanPdf.objects.filter(pk=pdf.pk).update(archived=True)
    pdf.archived = True
    plan = Plan.objects.get(pk=pdf.plan_id)
    with translation.override(settings.LANGUAGE_CODE):
        moment = FREEZING_REASONS.get(pdf.reason, "on approval")
        comment = _("Archive copy of the PDF, made %(moment)s: %(pages)s pages, SHA-256 %(sha)s") % {
            "moment": _(moment),
            "pages": pdf.pages,
            "sha": pdf.sha256,
        }
        record_event(
            plan,
            actor=None,
            kind=EventKind.CREATED,
            obj=pdf,
            comment=comment,
            changes={"sha256": pdf.sha256, "pages": pdf.pages, "size": pdf.size, "key": pdf.key},
        )


# --- the worker ----------------------------------------------------------------------------------------------


def _set(pdf_id: int, **fields: object) -> None:
    PlanPdf.objects.filter(pk=pdf_id, status=Status.RENDERING).update(**fields)


def render_stored(pdf_id: int) -> None:
    """Render a queued copy and store it (the Celery task; without a worker, the download's request).

    Harmless when run twice or at once: only the call that moves the row from queued to rendering renders.
    """
    from celery.exceptions import SoftTimeLimitExceeded
    from weasyprint.urls import FatalURLFetchingError  # a BaseException: WeasyPrint's "stop the rendering"

    from .pdf import render_plan_html, write_document

    claimed = PlanPdf.objects.filter(pk=pdf_id, status=Status.QUEUED).update(
        status=Status.RENDERING, started_at=timezone.now(), progress=5, attempts=F("attempts") + 1, error=""
    )
    if not claimed:
        return
    pdf = PlanPdf.objects.defer("data").select_related("viewer").get(pk=pdf_id)
    try:
        started = time.monotonic()
        html = render_plan_html(pdf.plan_id, language=pdf.language, viewer=pdf.viewer, full_history=pdf.full_history)
        html_seconds = time.monotonic() - started
        _set(pdf_id, progress=10, html_seconds=html_seconds)
        written = write_document(html, on_laid_out=partial(_set, pdf_id, progress=90))
    except SoftTimeLimitExceeded:
        with translation.override(pdf.language):
            _fail(pdf_id, _("Making the PDF took longer than %(n)s s.") % {"n": settings.OKNO_PDF_RENDER_SECONDS})
        return
    except (Exception, FatalURLFetchingError):  # any failure ends the render with a message, not "rendering"
        logger.exception("PDF %s of plan %s could not be made", pdf_id, pdf.plan_id)
        with translation.override(pdf.language):
            _fail(pdf_id, _("The PDF could not be made. Try again; if it fails again, tell an administrator."))
        return
    _store(pdf_id, html_seconds, written)


def _fail(pdf_id: int, message: str) -> None:
    _set(pdf_id, status=Status.FAILED, error=message, progress=0, finished_at=timezone.now())


def _store(pdf_id: int, html_seconds: float, written: "Written") -> None:
    data = written.data
    with transaction.atomic():
        pdf = PlanPdf.objects.select_for_update().defer("data").get(pk=pdf_id)
        if pdf.status != Status.RENDERING:  # failed as stalled meanwhile: its retry renders again
            return
        pdf.status, pdf.progress, pdf.finished_at = Status.READY, 100, timezone.now()
        pdf.sha256, pdf.size, pdf.pages = hashlib.sha256(data).hexdigest(), len(data), written.pages
        pdf.html_seconds = html_seconds
        pdf.layout_seconds = written.layout_seconds
        pdf.write_seconds = written.write_seconds
        pdf.data = data
        pdf.save(
            update_fields=[
                "status",
                "progress",
                "finished_at",
                "sha256",
                "size",
                "pages",
                "html_seconds",
                "layout_seconds",
                "write_seconds",
                "data",
            ]
        )
        if pdf.freeze and not pdf.archived:
            _archive(pdf)
        _sweep(pdf)
    logger.info(
        "PDF %s of plan %s: %s pages, %s bytes in %.1f s",
        pdf_id,
        pdf.plan_id,
        pdf.pages,
        pdf.size,
        html_seconds + (pdf.layout_seconds or 0) + (pdf.write_seconds or 0),
    )


def _sweep(pdf: PlanPdf) -> None:
    """Retention: older copies of the same kind are superseded; other copies go after OKNO_PDF_KEEP_DAYS.
    Archive copies and copies still being made stay."""
    kept = PlanPdf.objects.filter(archived=False).exclude(status__in=IN_PROGRESS).exclude(pk=pdf.pk)
    kept.filter(
        plan_id=pdf.plan_id,
        language=pdf.language,
        full_history=pdf.full_history,
        audience=pdf.audience,
        created_at__lt=pdf.created_at,
    ).delete()
    kept.filter(created_at__lt=timezone.now() - timedelta(days=settings.OKNO_PDF_KEEP_DAYS)).delete()
