"""Importing a plan document: store the upload, read and recognise it (here or in the worker), let the owner
correct the guesses, create the plan on confirmation.

An import belongs to its owner: every function here looks it up with the owner, so anyone else gets
PlanImport.DoesNotExist (the views answer 404). Nothing of the plan is written before `confirm`.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import logging
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from changeplans.models import Plan
from changeplans.permissions import can_create_plan
from common.workers import hand_over

from . import matching
from .apply import check_empty_draft, create_plan_from_import
from .document import Document
from .errors import ImportRefused
from .models import ImportSource, ImportStatus, PlanImport
from .parsed import Overrides, ParsedPlan

logger = logging.getLogger(__name__)

PARSE_TASK = "planio.tasks.parse_import"
PASTED_TEXT = "text/plain"
PASTED_HTML = "text/html"
READ_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": PASTED_HTML,
    "text": PASTED_TEXT,
}
# "Недоступные сервисы" of one plan: a few in practice. 20,000 names made a 65 MB preview (each offers every service).
MAX_SERVICES = 100
# A parse that has said nothing for this long beyond its time limit died with its worker.
STALLED_GRACE_SECONDS = 60


def _refuse_unless_allowed(actor: User, into_plan_id: int | None) -> None:
    if not can_create_plan(actor):
        raise PermissionDenied(_("Only authors can create plans."))
    if into_plan_id is None:
        return
    check_empty_draft(Plan.objects.filter(pk=into_plan_id).first(), actor)


def _refuse_if_too_large(size: int) -> None:
    limit = settings.OKNO_IMPORT_MAX_BYTES
    if size > limit:
        raise ImportRefused(
            _("The file is larger than %(max)s MB: it cannot be imported.") % {"max": f"{limit / 1024 / 1024:g}"}
        )
    if size == 0:
        raise ImportRefused(_("The file is empty: there is nothing to import."))


def _without_nul(value: Any) -> Any:
    """`value` (JSON-native) with NUL characters dropped from every string and key: PostgreSQL stores none."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


def _start(imp: PlanImport) -> PlanImport:
    delete_expired()
    imp.language = translation.get_language() or settings.LANGUAGE_CODE
    imp.sha256 = hashlib.sha256(bytes(imp.data) + imp.pasted_html.encode()).hexdigest()
    imp.save()
    if imp.size > settings.OKNO_IMPORT_WORKER_BYTES:
        # After commit: the worker must find the row.
        transaction.on_commit(functools.partial(hand_over, PARSE_TASK, parse, imp.pk))
    else:
        parse(imp.pk)
        imp.refresh_from_db()
    return imp


def start_file_import(
    *, actor: User, filename: str, data: bytes, content_type: str, into_plan_id: int | None = None
) -> PlanImport:
    """Store an uploaded file and read it: here when small, in the worker when larger than OKNO_IMPORT_WORKER_BYTES."""
    _refuse_unless_allowed(actor, into_plan_id)
    _refuse_if_too_large(len(data))
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()[:255]
    content_type = "".join(ch for ch in content_type or "" if ch.isascii() and ch.isprintable())
    imp = PlanImport(
        owner=actor,
        source=ImportSource.FILE,
        filename=name,
        content_type=content_type[:200],
        data=data,
        size=len(data),
        into_plan_id=into_plan_id,
    )
    return _start(imp)


def start_paste_import(*, actor: User, text: str, html: str = "", into_plan_id: int | None = None) -> PlanImport:
    """Store a pasted text (and the clipboard's HTML, which wins when it holds a table) and read it."""
    _refuse_unless_allowed(actor, into_plan_id)
    # A NUL is no text (and PostgreSQL cannot keep it): dropped, as a browser's clipboard would.
    text, html = (text or "").replace("\x00", ""), (html or "").replace("\x00", "")
    data = text.encode("utf-8")
    size = len(data) + len(html.encode("utf-8"))
    if not text.strip() and not html.strip():
        raise ImportRefused(_("Nothing was pasted: paste the plan's text or table."))
    _refuse_if_too_large(size)
    imp = PlanImport(
        owner=actor,
        source=ImportSource.PASTE,
        content_type=PASTED_HTML if html.strip() else PASTED_TEXT,
        data=data,
        pasted_html=html,
        size=size,
        into_plan_id=into_plan_id,
    )
    return _start(imp)


# --- reading (here or in the worker) -------------------------------------------------------------------------


def _set(import_id: int, **fields: Any) -> None:
    PlanImport.objects.filter(pk=import_id).update(updated_at=timezone.now(), **fields)


def _read(imp: PlanImport) -> Document:
    from .readers import read_file, read_paste

    if imp.source == ImportSource.PASTE:
        return read_paste(bytes(imp.data).decode("utf-8"), imp.pasted_html)
    return read_file(imp.filename, bytes(imp.data))


def _recognize(document: Document, overrides: Overrides) -> ParsedPlan:
    from .recognize import recognize

    parsed = recognize(document, overrides=overrides, default_time_zone=Plan._meta.get_field("time_zone").get_default())
    if len(parsed.steps) > settings.OKNO_IMPORT_MAX_STEPS:
        raise ImportRefused(
            _("The plan has %(n)d steps; at most %(max)d can be imported at once.")
            % {"n": len(parsed.steps), "max": settings.OKNO_IMPORT_MAX_STEPS}
        )
    if len(parsed.services) > MAX_SERVICES:  # the preview offers every service of Okno for each of them
        raise ImportRefused(
            _("The plan lists %(n)d unavailable services; at most %(max)d can be imported at once.")
            % {"n": len(parsed.services), "max": MAX_SERVICES}
        )
    matching.annotate(parsed, overrides)
    return parsed


def _failure(exc: BaseException) -> str:
    if isinstance(exc, ImportRefused):
        return " ".join(exc.messages)
    if isinstance(exc, SoftTimeLimitExceeded):
        return _(
            "Reading the file took longer than %(seconds)d s and was stopped. Split the document or remove"
            " what is not the plan, and import it again."
        ) % {"seconds": settings.OKNO_IMPORT_PARSE_SECONDS}
    return _("The file could not be read because of an error in Okno. It has been logged; try again later.")


def parse(import_id: int) -> None:
    """Read and recognise a queued import: status parsing → ready (or failed, with the reason in its language).

    Harmless when run twice: only a queued import is read.
    """
    claimed = PlanImport.objects.filter(pk=import_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.PARSING, progress=10, updated_at=timezone.now()
    )
    if not claimed:
        return
    imp = PlanImport.objects.get(pk=import_id)
    with translation.override(imp.language):
        try:
            stored = _without_nul(_read(imp).to_json())  # a NUL in a cell or in the "okno" property
            document = Document.from_json(stored)
            _set(import_id, progress=50, document=stored)
            parsed = _recognize(document, Overrides.from_json(imp.overrides))
            _set(import_id, progress=90)
            _set(import_id, status=ImportStatus.READY, progress=100, result=parsed.to_json(), error="")
        except (ImportRefused, SoftTimeLimitExceeded) as exc:
            _set(import_id, status=ImportStatus.FAILED, progress=100, error=_failure(exc))
        except Exception as exc:  # any bug in a reader must end the import, not leave it "parsing"
            logger.exception("Import %s could not be read", import_id)
            _set(import_id, status=ImportStatus.FAILED, progress=100, error=_failure(exc))


# --- the owner's actions -------------------------------------------------------------------------------------


def get_import(import_id: int, *, actor: User) -> PlanImport:
    """The owner's import (PlanImport.DoesNotExist for anyone else); a parse whose worker died is failed here."""
    # Not the upload itself: the page polls this while the worker reads.
    imp = PlanImport.objects.defer("data", "pasted_html").get(pk=import_id, owner_id=actor.pk)
    stalled = timezone.now() - datetime.timedelta(seconds=settings.OKNO_IMPORT_PARSE_SECONDS + STALLED_GRACE_SECONDS)
    if imp.status == ImportStatus.PARSING and imp.updated_at < stalled:
        with translation.override(imp.language):
            message = _("Reading the file stopped unexpectedly. Import it again.")
        if PlanImport.objects.filter(pk=imp.pk, status=ImportStatus.PARSING).update(
            status=ImportStatus.FAILED, error=message
        ):
            imp.status, imp.error = ImportStatus.FAILED, message
    return imp


def update_overrides(
    import_id: int,
    *,
    actor: User,
    columns: dict[str, str] | None = None,
    people: dict[str, str] | None = None,
    kinds: dict[str, str] | None = None,
    services: dict[str, str] | None = None,
    header: dict[str, str] | None = None,
) -> PlanImport:
    """Add the owner's corrections (each dict merged over the earlier ones) and recognise the stored document again.

    The file is not read again: the reader's output is kept in PlanImport.document.
    """
    typed = [
        str(text)
        for part in (columns, people, kinds, services, header)
        for pair in (part or {}).items()
        for text in pair
    ]
    if any("\x00" in text for text in typed):  # PostgreSQL keeps no NUL; a browser never sends one
        raise ImportRefused(_("The correction contains a NUL character, which is not allowed: remove it."))
    with transaction.atomic():
        imp = PlanImport.objects.select_for_update().defer("data", "pasted_html").get(pk=import_id, owner_id=actor.pk)
        if imp.status not in (ImportStatus.READY, ImportStatus.FAILED) or imp.document is None:
            raise ImportRefused(_("This import cannot be changed any more."))
        overrides = Overrides.from_json(imp.overrides)
        for part, given in (
            (overrides.columns, columns),
            (overrides.people, people),
            (overrides.kinds, kinds),
            (overrides.services, services),
            (overrides.header, header),
        ):
            part.update({str(key): str(value) for key, value in (given or {}).items()})
        imp.overrides = overrides.to_json()
        try:
            parsed = _recognize(Document.from_json(imp.document), overrides)
        except ImportRefused as exc:
            imp.status, imp.error = ImportStatus.FAILED, _failure(exc)
        else:
            imp.status, imp.error, imp.result = ImportStatus.READY, "", parsed.to_json()
        imp.save(update_fields=["overrides", "status", "error", "result", "updated_at"])
    return imp


def _attachment(imp: PlanImport) -> tuple[bytes, str]:
    """The bytes kept with the plan: the file, or the pasted text (its HTML when that is what was read)."""
    if imp.source == ImportSource.PASTE:
        if imp.pasted_html and (imp.document or {}).get("source") == "html":
            return imp.pasted_html.encode("utf-8"), PASTED_HTML
        return bytes(imp.data), PASTED_TEXT
    # The type of what was read, not the one the browser sent (a .docx announced as text/html stays a .docx).
    source = (imp.document or {}).get("source")
    return bytes(imp.data), READ_TYPES.get(str(source), "application/octet-stream")


def confirm(import_id: int, *, actor: User) -> Plan:
    """Create the plan the preview shows (one transaction). Confirming again returns the same plan."""
    with transaction.atomic():
        imp = PlanImport.objects.select_for_update().get(pk=import_id, owner_id=actor.pk)
        if imp.status == ImportStatus.CONFIRMED and imp.plan_id is not None:
            return Plan.objects.get(pk=imp.plan_id)
        if imp.status != ImportStatus.READY or imp.result is None:
            raise ImportRefused(_("The document has not been read yet, or could not be: there is nothing to confirm."))
        data, content_type = _attachment(imp)
        plan = create_plan_from_import(
            ParsedPlan.from_json(imp.result),
            actor=actor,
            filename=imp.filename,
            data=data,
            content_type=content_type,
            into_plan_id=imp.into_plan_id,
            kinds=Overrides.from_json(imp.overrides).kinds,
        )
        # The file now lives with the plan (changeplans.PlanAttachment).
        imp.status, imp.plan, imp.data, imp.pasted_html = ImportStatus.CONFIRMED, plan, b"", ""
        imp.save(update_fields=["status", "plan", "data", "pasted_html", "updated_at"])
    return plan


def discard(import_id: int, *, actor: User) -> None:
    """Forget the import and its file (a plan it created stays)."""
    PlanImport.objects.get(pk=import_id, owner_id=actor.pk).delete()


def delete_expired() -> int:
    """Delete unconfirmed imports older than OKNO_IMPORT_KEEP_HOURS; returns how many."""
    cutoff = timezone.now() - datetime.timedelta(hours=settings.OKNO_IMPORT_KEEP_HOURS)
    deleted, _by_model = (
        PlanImport.objects.filter(created_at__lt=cutoff).exclude(status=ImportStatus.CONFIRMED).delete()
    )
    return deleted
