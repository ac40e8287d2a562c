"""Pages of an import: the upload form, the preview with its corrections, confirm and discard.

Views are thin: planio.services reads, corrects, creates and discards; the views show what it read.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh

from changeplans.choices import Availability, PlanKind, StepKind
from changeplans.limits import parse_int
from changeplans.models import Plan, Service
from changeplans.permissions import can_create_plan

from . import services
from .errors import ImportRefused
from .forms import ImportForm, SizeLimitUploadHandler
from .matching import person_key
from .models import ImportStatus, PlanImport
from .parsed import EXTRA_STEP_COLUMNS, IGNORED, STEP_COLUMNS, Cell, Overrides, ParsedPlan, PersonRef


def _refuse_unless_author(request: HttpRequest) -> None:
    if not can_create_plan(request.user):
        raise PermissionDenied(_("Only authors can import plans."))


def _own_import(request: HttpRequest, pk: int) -> PlanImport:
    """The import, if it is the user's: anyone else's is not found (404), not forbidden."""
    try:
        return services.get_import(pk, actor=request.user)  # also fails a parse whose worker died
    except PlanImport.DoesNotExist:
        raise Http404 from None


# --- The upload form ---


def _into_plan(request: HttpRequest) -> tuple[int | None, Plan | None]:
    raw = request.POST.get("into") if request.method == "POST" else request.GET.get("into")
    into = parse_int(raw)
    plan = Plan.objects.filter(pk=into).only("pk", "title").first() if into else None
    return (into if plan else None), plan


def _new_page(
    request: HttpRequest, form: ImportForm, into_plan: Plan | None, status: int = 200, refusal: str = ""
) -> HttpResponse:
    context = {
        "form": form,
        "into_plan": into_plan,
        "max_size": filesizeformat(settings.OKNO_IMPORT_MAX_BYTES),
        "refusal": refusal,
    }
    return render(request, "planio/new.html", context, status=status)


@csrf_exempt  # the CSRF check runs in _new_import below, after the upload handlers are set
@login_required
def new_import(request: HttpRequest) -> HttpResponse:
    _refuse_unless_author(request)
    if request.method == "POST":
        # Before anything reads the body: a file over the limit is counted, not kept (planio/forms.py).
        request.upload_handlers.insert(0, SizeLimitUploadHandler(settings.OKNO_IMPORT_MAX_BYTES, request))
        try:
            request.POST  # noqa: B018 - parse the body here, where "too big" can be answered
        except RequestDataTooBig:
            refusal = _("The pasted text is larger than %(limit)s: save the plan as a file and upload the file.") % {
                "limit": filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
            }
            return _new_page(request, ImportForm(), None, status=413, refusal=refusal)
    return _new_import(request)


@csrf_protect
def _new_import(request: HttpRequest) -> HttpResponse:
    into, into_plan = _into_plan(request)
    if request.method != "POST":
        return _new_page(request, ImportForm(initial={"into": into}), into_plan)
    form = ImportForm(request.POST, request.FILES, html_file=request.FILES.get("paste_html_file"))
    if not form.is_valid():
        return _new_page(request, form, into_plan, status=400)
    try:
        upload = form.cleaned_data["file"]
        if upload is not None:
            started = services.start_file_import(
                actor=request.user,
                filename=upload.name or "",
                data=upload.read(),
                content_type=upload.content_type or "",
                into_plan_id=into,
            )
        else:
            started = services.start_paste_import(
                actor=request.user, text=form.cleaned_data["text"], html=form.pasted_html(), into_plan_id=into
            )
    except ImportRefused as exc:
        form.add_error(None, exc)
        return _new_page(request, form, into_plan, status=400)
    except PermissionDenied as exc:
        form.add_error(None, str(exc))
        return _new_page(request, form, into_plan, status=403)
    if started.status == ImportStatus.FAILED:
        # Read here and refused (not a plan, unsafe, …): the form again, with what the user pasted.
        form.add_error(None, started.error)
        services.discard(started.pk, actor=request.user)
        return _new_page(request, form, into_plan, status=400)
    return redirect("planio:preview", pk=started.pk)


# --- The preview ---

_HEADER_ORDER = (
    "title",
    "window",
    "stated_duration_text",
    "downtime_text",
    "goal",
    "services",
    "curator",
    "responsible",
    "responsible_contact",
    "jira_url",
    "mailing_list",
    "announcement_subject",
    "announcement_intro",
    "client_impact",
    "banner_needed",
    "availability",
    "kind",
    "time_zone",
    "banner_text",
    "announcement_from",
)
# Header keys the preview lets the user retype (read as the document's text would be: Overrides.header).
_EDITABLE = frozenset(_HEADER_ORDER) - {"kind", "time_zone"}
_MULTILINE = frozenset({"goal", "announcement_intro", "mailing_list", "banner_text"})
_REQUIRED = ("title", "window")


def _header_label(key: str) -> str:
    if key == "window":
        return _("Date of the work")
    if key == "services":
        return _("Unavailable services")
    if key == "availability":
        return _("Availability of services during the work")
    return capfirst(str(Plan._meta.get_field(key).verbose_name))


def _step_labels() -> dict[str, str]:
    return {
        "position": _("No."),
        "name": _("Activity"),
        "description": _("Short description of the work"),
        "expected_result": _("Expected result"),
        "risks": _("Possible risks"),
        "risk_mitigation": _("Risk mitigation"),
        "affected_systems": _("Affected systems / services / equipment (impact on business processes)"),
        "planned_downtime": _("Planned downtime of systems"),
        "executor": _("Responsible executor"),
        "planned_date": _("Start date"),
        "planned_time": _("Start time"),
        "duration_text": _("Duration"),
        "rollback": _("What to do if something goes wrong"),
        "jira_key": _("Jira issue"),
        "status": _("Status"),
        "kind": pgettext("step", "Kind"),
        "planned_datetime": _("Date and time"),
    }


def _local(value: Any, fmt: str) -> str:
    """A JSON-native date/time/datetime string shown as the plan page shows it; anything else as it is."""
    text = str(value)
    for parse in (datetime.datetime.fromisoformat, datetime.date.fromisoformat):
        try:
            return parse(text).strftime(fmt)
        except ValueError:
            continue
    return text


def _shown(key: str, cell: Cell) -> str:
    """How a header or step cell's value will be saved, as text."""
    value = cell.value
    if value is None or value == "":
        return ""
    if key in ("client_impact", "banner_needed"):
        if key == "client_impact":
            return _("AFFECTS CLIENTS") if value else _("DOES NOT AFFECT CLIENTS")
        return _("BANNER IS UP") if value else _("NO BANNER")
    if key == "availability":
        return str(Availability(value).label) if value in Availability.values else str(value)
    if key == "kind":
        return str(PlanKind(value).label) if value in PlanKind.values else str(value)
    if key == "planned_date":
        return _local(value, "%d.%m.%Y")
    if key in ("window_start", "window_end"):
        return _local(value, "%H:%M %d.%m.%Y")
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


def _match_label(ref: PersonRef | None) -> dict[str, Any]:
    """What a name will become: a matched user/party/group, a new executor, text, or nothing."""
    if ref is None:
        return {"text": "", "sure": True}
    if ref.match and ref.choice == f"{ref.match['kind']}:{ref.match['id']}":
        return {"text": ref.match["label"], "kind": ref.match["kind"], "sure": ref.sure}
    labels = {"new": _("new executor"), "text": _("kept as text"), "": _("left empty"), "skip": _("skipped")}
    chosen = next((c for c in ref.candidates if f"{c['kind']}:{c['id']}" == ref.choice), None)
    text = chosen["label"] if chosen else labels.get(ref.choice, ref.choice)
    return {"text": text, "kind": ref.choice.partition(":")[0], "sure": ref.sure}


def _original(key: str, cell: Cell | None, overrides: Overrides) -> str | None:
    """The text a header input starts from; None when the user's own text is in it (then it is always sent)."""
    if key in overrides.header:
        return None
    return cell.text if cell is not None else ""


def _header_rows(parsed: ParsedPlan, overrides: Overrides) -> list[dict[str, Any]]:
    header = parsed.header
    rows = []
    for key in _HEADER_ORDER:
        if key == "window":
            start, end = header.get("window_start"), header.get("window_end")
            cells = [c for c in (start, end) if c is not None]
            problem = " ".join(dict.fromkeys(c.problem for c in cells if c.problem))
            text = start.text if start is not None else ""
            if end is not None and end.text and end.text != text:
                text = f"{text} … {end.text}" if text else end.text
            value = ""
            if start is not None and end is not None and start.value and end.value:
                value = _("from %(start)s to %(end)s") % {
                    "start": _shown("window_start", start),
                    "end": _shown("window_end", end),
                }
            where = start.where if start is not None else ""
            cell: Cell | None = Cell(text=text, value=value or None, problem=problem, where=where) if cells else None
        else:
            cell = header.get(key)
            value = _shown(key, cell) if cell is not None else ""
        if cell is None and key not in _REQUIRED and key not in overrides.header:
            continue
        missing = key in _REQUIRED and not value
        problem = cell.problem if cell is not None else ""
        if missing and not problem:
            problem = _("Missing: a plan cannot be created without it.")
        row: dict[str, Any] = {
            "key": key,
            "label": _header_label(key),
            "value": value,
            "text": cell.text if cell is not None else "",
            "where": cell.where if cell is not None else "",
            "problem": problem,
            "editable": key in _EDITABLE,
            "open": bool(problem) or key in overrides.header,
            "input": overrides.header.get(key, cell.text if cell is not None else ""),
            "original": _original(key, cell, overrides),
            "multiline": key in _MULTILINE,
        }
        if key in ("curator", "responsible") and cell is not None and cell.text:
            row["person"] = _match_label(parsed.people.get(person_key(str(cell.value or cell.text))))
            if key == "curator" and row["person"].get("kind") not in ("user", "party"):
                row["person"] = {"text": _("left empty: the curator must be a user of Okno"), "sure": False}
        rows.append(row)
    return rows


def _field_choices() -> list[tuple[str, str]]:
    labels = _step_labels()
    return [(key, labels[key]) for key in (*STEP_COLUMNS, *EXTRA_STEP_COLUMNS)] + [(IGNORED, _("Do not import"))]


def _columns(parsed: ParsedPlan, overrides: Overrides) -> list[dict[str, Any]]:
    return [
        {
            "key": column.key,
            "number": column.index + 1,
            "table": column.table + 1,
            "header": column.header,
            "field": column.field,
            "sure": column.sure or column.key in overrides.columns,
            "original": None if column.key in overrides.columns else column.field,
        }
        for column in parsed.columns
    ]


def _role_label(role: str) -> str:
    labels = {
        "executor": _("executor"),
        "curator": _("curator"),
        "responsible": _("responsible for the work"),
        "signoff": _("sign-off"),
    }
    return labels.get(role, role)


def _person_rows(refs: dict[str, PersonRef], overrides: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for key, ref in refs.items():
        options: list[tuple[str, str]] = []
        for found in ([ref.match] if ref.match else []) + ref.candidates:
            value = f"{found['kind']}:{found['id']}"
            if all(value != option for option, _label in options):
                options.append((value, found["label"]))
        options.append(("new", _("New executor named as written")))
        options.append(("text", _("Keep as text")))
        if "curator" in ref.roles or ref.choice == "":
            options.append(("", _("Leave empty")))
        if ref.choice not in [value for value, _label in options]:
            options.append((ref.choice, ref.choice))
        rows.append(
            {
                "key": key,
                "name": ref.name,
                "roles": [_role_label(role) for role in ref.roles],
                "options": options,
                "choice": ref.choice,
                "sure": ref.sure,
                "original": None if key in overrides else ref.choice,
            }
        )
    return rows


def _service_rows(refs: dict[str, PersonRef], overrides: dict[str, str]) -> list[dict[str, Any]]:
    if not refs:
        return []
    every = [(f"service:{s.pk}", f"{s.name} ({s.display_name})") for s in Service.objects.order_by("name")]
    rows = []
    for key, ref in refs.items():
        options = [*every, ("skip", _("Skip"))]
        if ref.choice not in [value for value, _label in options]:
            options.append((ref.choice, ref.choice))
        rows.append(
            {
                "key": key,
                "name": ref.name,
                "options": options,
                "choice": ref.choice,
                "sure": ref.sure,
                "original": None if key in overrides else ref.choice,
            }
        )
    return rows


def _ties(numbers: list[int]) -> str:
    if not numbers:
        return ""
    return ngettext("risk %(numbers)s", "risks %(numbers)s", len(numbers)) % {
        "numbers": ", ".join(str(number) for number in numbers)
    }


_STEP_TEXT_KEYS = (
    "name",
    "description",
    "expected_result",
    "affected_systems",
    "planned_downtime",
    "executor",
    "planned_date",
    "planned_time",
    "duration_text",
    "jira_key",
    "status",
)


def _step_rows(parsed: ParsedPlan, overrides: Overrides) -> list[dict[str, Any]]:
    kinds = StepKind.choices
    rows = []
    for step in parsed.steps:
        cells: dict[str, dict[str, Any]] = {}
        for key in (*_STEP_TEXT_KEYS, "risks", "risk_mitigation", "rollback", "position"):
            cell = step.cells.get(key)
            cells[key] = {
                "value": _shown(key, cell) if cell is not None else "",
                "text": cell.text if cell is not None else "",
                "problem": cell.problem if cell is not None else "",
                "where": cell.where if cell is not None else "",
            }
        executor = step.cells.get("executor")
        if executor is not None and executor.text:
            ref = parsed.people.get(person_key(str(executor.value or executor.text)))
            cells["executor"]["person"] = _match_label(ref)
        mitigation = step.cells.get("risk_mitigation")
        free = ""
        if mitigation is not None:
            free = str(mitigation.value) if isinstance(mitigation.value, str) else mitigation.text
            if any(risk.mitigation for risk in step.risks) and not isinstance(mitigation.value, str):
                free = ""
        rows.append(
            {
                "row": step.row,
                "number": cells["position"]["text"] or str(step.row),
                "kind": step.kind,
                "kind_label": str(StepKind(step.kind).label) if step.kind in StepKind.values else step.kind,
                "kind_sure": step.kind_sure or str(step.row) in overrides.kinds,
                "kind_original": None if str(step.row) in overrides.kinds else step.kind,
                "kinds": kinds,
                "cells": cells,
                "risks": step.risks,
                "mitigation_free": free,
                "mitigations": [risk for risk in step.risks if risk.mitigation],
                "actions": [{"text": action.text, "ties": _ties(action.risks)} for action in step.actions],
                "no_rollback_needed": step.no_rollback_needed,
                "problems": sum(1 for cell in step.cells.values() if cell.problem),
            }
        )
    return rows


def _signoff_rows(parsed: ParsedPlan) -> list[dict[str, Any]]:
    return [
        {
            "position": row.position,
            "job_title": row.job_title,
            "person_name": row.person_name,
            "person": _match_label(parsed.people.get(person_key(row.person_name))) if row.person_name else None,
            "status_text": row.status_text,
            "kind": row.kind,
            "stage": row.stage,
        }
        for row in parsed.signoff
    ]


def _preview_context(imported: PlanImport, errors: list[str] | None = None) -> dict[str, Any]:
    context: dict[str, Any] = {"imported": imported, "errors": errors or [], "ImportStatus": ImportStatus}
    if imported.status != ImportStatus.READY or not imported.result:
        return context
    parsed = ParsedPlan.from_json(imported.result)
    overrides = Overrides.from_json(imported.overrides)
    header = _header_rows(parsed, overrides)
    # As the page shows them: the window's two cells are one row; a missing title or window is a problem too.
    problems = sum(1 for row in header if row["problem"])
    problems += sum(1 for step in parsed.steps for cell in step.cells.values() if cell.problem)
    context.update(
        {
            "parsed": parsed,
            "header": header,
            "columns": _columns(parsed, overrides),
            "field_choices": _field_choices(),
            "step_labels": _step_labels(),
            "people": _person_rows(parsed.people, overrides.people),
            "services": _service_rows(parsed.services, overrides.services),
            "steps": _step_rows(parsed, overrides),
            "signoff": _signoff_rows(parsed),
            "notes": parsed.notes,
            "problem_count": problems,
            "step_kinds": StepKind.choices,
        }
    )
    return context


def _preview_page(request: HttpRequest, imported: PlanImport, errors: list[str] | None = None, status: int = 200):
    template = "planio/preview.html#preview" if request.htmx and not request.htmx.boosted else "planio/preview.html"
    response = render(request, template, _preview_context(imported, errors), status=status)
    response["Vary"] = "HX-Request"
    return response


@login_required
def preview(request: HttpRequest, pk: int) -> HttpResponse:
    imported = _own_import(request, pk)
    if imported.status == ImportStatus.CONFIRMED and imported.plan_id:
        return redirect("changeplans:plan_detail", pk=imported.plan_id)
    if request.htmx and request.GET.get("poll"):
        if imported.is_finished:
            return HttpResponseClientRefresh()  # the whole page changes: preview or failure
        return render(request, "planio/preview.html#progress", {"imported": imported})
    return _preview_page(request, imported)


# --- Corrections, confirm, discard ---


def _same(a: str, b: str) -> bool:
    return a.replace("\r\n", "\n").strip() == b.replace("\r\n", "\n").strip()


def _posted(request: HttpRequest, prefix: str, existing: dict[str, str]) -> dict[str, str] | None:
    """The overrides of one kind after this form: `prefix:key` holds the chosen value, `prefix_guess:key` the
    recognizer's guess (only sent while the user has not overridden the key). None: the form has none of them."""
    found = False
    result = dict(existing)
    for name, value in request.POST.items():
        kind, _sep, key = name.partition(":")
        if kind != prefix or not key:
            continue
        found = True
        guess = request.POST.get(f"{prefix}_guess:{key}")
        if guess is not None and _same(value, guess):
            result.pop(key, None)
        else:
            result[key] = value.replace("\r\n", "\n") if prefix == "header" else value
    return result if found else None


def _apply_posted(request: HttpRequest, imported: PlanImport) -> PlanImport:
    current = Overrides.from_json(imported.overrides)
    changes = {
        "columns": _posted(request, "column", current.columns),
        "people": _posted(request, "person", current.people),
        "kinds": _posted(request, "kind", current.kinds),
        "services": _posted(request, "service", current.services),
        "header": _posted(request, "header", current.header),
    }
    changes = {name: value for name, value in changes.items() if value is not None}
    if not changes or all(getattr(current, name) == value for name, value in changes.items()):
        return imported
    return services.update_overrides(imported.pk, actor=request.user, **changes)


@require_POST
@login_required
def overrides(request: HttpRequest, pk: int) -> HttpResponse:
    imported = _own_import(request, pk)
    errors: list[str] = []
    try:
        imported = _apply_posted(request, imported)
    except ImportRefused as exc:
        errors = list(exc.messages)
        imported.refresh_from_db()
    if request.htmx:
        return _preview_page(request, imported, errors)  # htmx swaps only a 2xx answer
    if errors:
        return _preview_page(request, imported, errors, status=400)
    return redirect("planio:preview", pk=imported.pk)


@require_POST
@login_required
def confirm(request: HttpRequest, pk: int) -> HttpResponse:
    imported = _own_import(request, pk)
    if imported.status == ImportStatus.CONFIRMED and imported.plan_id:
        return redirect("changeplans:plan_detail", pk=imported.plan_id)
    try:
        imported = _apply_posted(request, imported)  # what the form shows is what is created
        plan = services.confirm(imported.pk, actor=request.user)
    except ImportRefused as exc:
        imported.refresh_from_db()
        return _preview_page(request, imported, list(exc.messages), status=400)
    except PermissionDenied as exc:
        imported.refresh_from_db()
        return _preview_page(request, imported, [str(exc)], status=403)
    messages.success(
        request,
        _("The draft plan is created from “%(source)s”. Check it and send it for sign-off.")
        % {"source": imported.filename or _("the pasted text")},
    )
    url = reverse("changeplans:plan_detail", kwargs={"pk": plan.pk})
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@require_POST
@login_required
def discard(request: HttpRequest, pk: int) -> HttpResponse:
    imported = _own_import(request, pk)
    into = imported.into_plan_id
    services.discard(imported.pk, actor=request.user)
    messages.info(request, _("The import is cancelled: nothing was created."))
    url = reverse("changeplans:plan_detail", kwargs={"pk": into}) if into else reverse("changeplans:plan_list")
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
