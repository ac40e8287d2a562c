"""Pages of the plan editor. Views are thin: forms validate, services decide, templates show."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection
from django.db.models import Prefetch
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from common.compiled import CompiledQuery
from common.htmx import forbidden, toast

from . import announcements, lint_data, lint_panel, rows, services, undo, versioning
from .forms import (
    CancelPlanForm,
    CopyPlanForm,
    PlanForm,
    RiskFormSet,
    RollbackActionFormSet,
    StepCellForm,
    StepRisksForm,
)
from .limits import db_datetime_range, parse_int
from .lint_data import checked, lint_step_of, row_marks
from .models import Plan, PlanEvent, PlanService, Step
from .permissions import can_cancel_plan, can_create_plan, edit_refusal
from .selectors import attachments_queryset, plan_history, plan_queryset, steps_queryset


def health(request):
    """Liveness for load balancers and compose: the database and the cache answer."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except DatabaseError:
        checks["database"] = "error"
    try:
        cache.set("okno:health", "1", 10)
        checks["cache"] = "ok" if cache.get("okno:health") == "1" else "error"
    except Exception:  # noqa: BLE001 - any cache backend error means the cache is down
        checks["cache"] = "error"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)


def _bad_request(request, message):
    """400 with the reason: a toast for HTMX, a page otherwise (never a 500 on a forged value)."""
    if request.htmx:
        response = HttpResponse(message, status=400)
        return toast(reswap(response, "none"), message, "danger")
    return render(request, "changeplans/problem.html", {"title": _("Bad request"), "message": message}, status=400)


def _in_range_plans(queryset):
    """Leave out plans stored with dates Python cannot load (before this bound existed): see check_plan_dates."""
    return queryset.filter(db_datetime_range("window_start") & db_datetime_range("window_end"))


def _reset_confirmed(request):
    """The user has seen “this change will reset N signatures” and confirmed (templates/.../confirm_reset.html)."""
    return request.POST.get("confirm_reset") == "1"


def _reset_box(request, exc, *, target, swap="outerHTML", include=True, cancel_url=None, cancel_class=""):
    """Context for confirm_reset.html: the question and a button that repeats the request with the confirmation."""
    vals = {"confirm_reset": "1"}
    if not include:  # a button's request: repeat its own values
        vals.update({key: value for key, value in request.POST.items() if key != "csrfmiddlewaretoken"})
    return {
        "question": exc.args[0],
        "count": exc.count,
        "url": request.path,
        "vals": json.dumps(vals),
        "include": include,
        "target": target,
        "swap": swap,
        "cancel_url": cancel_url,
        "cancel_class": cancel_class,
    }


def _ask_before_reset(request, exc):
    """409 for a button (add, delete, move): the question appears next to the clicked button, nothing is saved."""
    box = _reset_box(request, exc, target="#steps-body", include=False)
    response = render(request, "changeplans/inc/confirm_reset.html", {"reset": box}, status=409)
    return retarget(reswap(response, "afterend"), "this")


@login_required
def plan_create(request):
    if not can_create_plan(request.user):
        raise PermissionDenied(_("Only authors can create plans."))
    form = PlanForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        plan = services.create_plan(
            actor=request.user,
            data=form.header_data(),
            services=form.cleaned_data["services"],
            availability=form.cleaned_data["availability"],
        )
        messages.success(request, _("The plan is created. Add its steps."))
        return redirect("changeplans:plan_detail", pk=plan.pk)
    return render(request, "changeplans/plan_create.html", {"form": form})


# The plan page's plan, compiled once per process (its ORM compilation cost twice its SQL).
_SHOWN_PLAN = CompiledQuery(
    lambda pk: (
        rows.with_rows_token(lint_data.with_generation(_in_range_plans(plan_queryset())))
        .filter(pk=pk)
        .order_by("pk")[:1]
    ),
    stand_in=2_147_480_009,
)


_PLAN_SERVICES = CompiledQuery(
    lambda pk: PlanService.objects.filter(plan_id=pk).select_related("service"), stand_in=2_147_480_017
)


def _shown_plan(plan_id, *, services=True):
    """The plan as its page shows it (author, curator, responsible; `services`: its services, one more query);
    None when its dates are outside what Python can load (see check_plan_dates); 404 when there is no such plan."""
    found = _SHOWN_PLAN.all(plan_id)
    plan = found[0] if found else None
    if plan is None:
        if not Plan.objects.filter(pk=plan_id).exists():
            raise Http404
    elif services:
        # as prefetch_related would, from a query compiled once per process
        plan._prefetched_objects_cache = {"plan_services": _PLAN_SERVICES.all(plan.pk)}
    return plan


def _plan_context(request, plan_id, *, after=0, limit=rows.PAGE_ROWS, plan=None):
    """The plan page's context. `steps`: every step as the plan check reads it (lint_data, no model instances),
    for the check, the critical path and the first and last step; `shown_steps`: the rows rendered whole, the
    first `limit` after position `after` (a long plan's rest comes in parts: plan_rows, changeplans/rows.py).
    `plan`: already loaded by _shown_plan (with its generation). The steps and the check are the plan's kept
    check when its generation has not moved (no step is read for it), else loaded light, checked and kept for the
    next save and page (lint_data.current)."""
    if plan is None:
        plan = rows.with_rows_token(
            lint_data.with_generation(
                plan_queryset().prefetch_related(
                    Prefetch("plan_services", queryset=PlanService.objects.select_related("service"))
                )
            )
        ).get(pk=plan_id)
    steps, report = lint_data.current(plan)
    refusal = edit_refusal(request.user, plan)
    return {
        "plan": plan,
        "steps": steps,
        "shown_steps": rows.ShownRows(plan, steps, after=after, limit=limit) if steps else [],
        "report": report,
        "can_edit": refusal is None,
        "can_cancel": can_cancel_plan(request.user, plan),  # the template shows the button by status
        "can_create": can_create_plan(request.user),  # «Copy the plan»
        "edit_refusal": refusal,
    }


@login_required
def plan_detail(request, pk):
    plan = _shown_plan(pk)
    if plan is None:
        message = _(
            "This plan has dates outside the years 2000–2100 and cannot be shown."
            " An administrator can fix it with “manage.py check_plan_dates”."
        )
        return render(
            request, "changeplans/problem.html", {"title": _("Plan cannot be shown"), "message": message}, status=409
        )
    context = _plan_context(request, pk, plan=plan)
    context["events"] = _recent_history(pk)
    context["delivery_problems"] = announcements.delivery_problems(pk)
    context["attachments"] = _ATTACHMENTS.all(pk)
    with timezone.override(context["plan"].tz):
        return render(request, "changeplans/plan_detail.html", context)


@login_required
def plan_rows(request, pk):
    """The next part of a long plan's step table (changeplans/rows.py): the rows after position `after`, then
    the placeholder row that fetches the part after them. A fixed number of queries whatever the plan's size."""
    plan = _shown_plan(pk, services=False)
    if plan is None:
        return HttpResponse(_("Plan cannot be shown"), status=409)  # as plan_detail: dates Python cannot load
    after = parse_int(request.GET.get("after", ""), minimum=0)
    if after is None:
        value = request.GET.get("after", "")[:40]
        return _bad_request(request, _("Invalid step number: “%(value)s”.") % {"value": value})
    context = _plan_context(request, pk, after=after, limit=rows.CHUNK_ROWS, plan=plan)
    with timezone.override(context["plan"].tz):
        return render(request, "changeplans/plan_detail.html#more-steps", context)


PAGE_HISTORY = 50  # the plan page's latest history entries; the history page (views_list) has them all


# The plan page's newest history entries and its files, compiled once per process (common/compiled.py).
_RECENT_HISTORY = CompiledQuery(
    lambda pk: plan_history(pk).order_by("-at", "-id")[:PAGE_HISTORY],
    stand_in=2_147_480_014,
)
_ATTACHMENTS = CompiledQuery(attachments_queryset, stand_in=2_147_480_015)


def _recent_history(plan_id):
    """The plan's newest PAGE_HISTORY history entries, oldest first (one query whatever the history's length)."""
    newest = _RECENT_HISTORY.all(plan_id)
    newest.reverse()
    return newest


def _render_plan_part(request, plan_id, part, extra=None, oob=("lint", "total", "history")):
    """Render a fragment of the plan page, with out-of-band refreshes of the lint panel, total and history."""
    context = _plan_context(request, plan_id)
    context.update(extra or {})
    if "history" in oob:
        context["events"] = _recent_history(plan_id)
    with timezone.override(context["plan"].tz):
        html = [render(request, f"changeplans/plan_detail.html#{part}", context).content.decode()]
        for name in oob:
            context["oob"] = True
            # In a <template>, htmx parses each out-of-band part on its own: after a <tbody> the HTML
            # parser is in table mode and would mangle a <section> holding another table.
            html.append(
                "<template>"
                + render(request, f"changeplans/plan_detail.html#{name}", context).content.decode()
                + "</template>"
            )
    return HttpResponse("".join(html))


def _row_marks(report):
    """step id → what its row shows from the plan check: the (derived) start and the highlighted fields."""
    return row_marks(report)


def _last_event_id(plan_id):
    """The plan's newest history entry before a save: the save's answer appends the entries after it."""
    return PlanEvent.objects.filter(plan_id=plan_id).order_by("-pk").values_list("pk", flat=True).first() or 0


def _lint_panel_state(report):
    """What the lint panel and the total show (a step save leaves the window and the positions as they are)."""
    return (
        report.warnings,
        report.end_best,
        report.end_worst,
        report.critical_path,
        report.total_best_minutes,
        report.total_worst_minutes,
    )


def _save_context(request, plan_id, change=None):
    """What a save's answer renders from (not _plan_context: no step is loaded whole but the rows it sends), and
    the plan checks before and after the save when the one before is kept (lint_data.after_save) or None.

    Every step as the plan check reads it and the check's report: updated from the check before the save for the
    edited step alone, else kept by the plan's generation, else loaded light (lint_data.current).
    """
    plan = lint_data.with_generation(plan_queryset()).get(pk=plan_id)
    refusal = edit_refusal(request.user, plan)
    saved = lint_data.after_save(plan, change)
    if saved is not None:
        steps, report = saved[1].steps, saved[1].report
    else:
        steps, report = lint_data.current(plan)
    context = {
        "plan": plan,
        "steps": steps,  # light rows: the move buttons and the critical path need only their ids and positions
        "report": report,
        "can_edit": refusal is None,
        "edit_refusal": refusal,
    }
    return context, saved


def _step_rows_response(request, step_id, plan_id, *, before=None, change=None, events_after=None, close_panel=False):
    """Answer a save of one step with its row, not the whole table (docs/architecture.md, HTMX and Saves).

    The row replaces `#step-<id>` (outerHTML; the risks panel row below it stays). With `change` (what the save
    wrote: services' `lint_change`, on PostgreSQL) or `before` (the saved step as it was, prefetched like
    load_plan's steps) the plan checks of both versions tell which other steps' start time or warning highlights
    changed: their rows come out of band, with the lint panel's changed findings (lint_panel.py) and the total
    when what they show changed; with `events_after`, the history entries after it are appended. Without either
    (Cancel): the row alone. When the check before the save is kept, the check after it is that one updated for
    the step (lint.recheck_step) and only the steps it names are compared; otherwise the check before is that of
    the plan with the step as it was (usually the previous save's or the page's, lint_data.checked).
    A fixed number of queries whatever the plan's size; only the rows sent are loaded whole.
    """
    context, saved = _save_context(request, plan_id, change)
    plan, steps, report = context["plan"], context["steps"], context["report"]
    changed, panels, old = {step_id}, (), None
    if saved is not None:
        was, now, touched = saved
        old = was.report
        changed |= {pk for pk in touched if lint_data.marks_of(was, pk) != lint_data.marks_of(now, pk)}
    elif before is not None or change is not None:
        was = change.was(steps) if change is not None else lint_step_of(before)
        if was is not None:
            # Usually the previous save's "after" or the page's check (lint_data.checked).
            old = checked(plan, [was if step.pk == was.pk else step for step in steps])
            now_marks, old_marks = _row_marks(report), _row_marks(old)
            changed |= {pk for pk, marks in now_marks.items() if old_marks.get(pk) != marks}
    if old is not None and _lint_panel_state(old) != _lint_panel_state(report):
        panels = ("lint", "total")
    sent = list(steps_queryset().filter(plan_id=plan_id, pk__in=changed).order_by("position", "id"))
    context.update(rows=sent, main_id=step_id, oob=True)
    with timezone.override(plan.tz):
        html = [render(request, "changeplans/inc/step_rows.html", context).content.decode()]
        if close_panel:
            html.append(f'<template><td id="risks-{step_id}" hx-swap-oob="innerHTML"></td></template>')
        if old is not None and panels:
            # The findings that changed rather than the whole list (changeplans/lint_panel.py); None: the whole.
            summary_changed = (old.end_best, old.end_worst, old.critical_path) != (
                report.end_best,
                report.end_worst,
                report.critical_path,
            )
            updates = lint_panel.panel_updates(request, context, old, report, summary_changed)
            if updates is not None:
                html += updates
                panels = ("total",)
        # Each out-of-band part in a <template>: after a <tr> the HTML parser would mangle a <section>.
        for name in panels:
            part = render(request, f"changeplans/plan_detail.html#{name}", context).content.decode()
            html.append(f"<template>{part}</template>")
        if events_after is not None:
            context["events"] = list(plan_history(plan_id).filter(pk__gt=events_after))
            if context["events"]:
                entries = render(request, "changeplans/plan_detail.html#history-rows", context).content.decode()
                html.append(f'<template><tbody hx-swap-oob="beforeend:#history tbody">{entries}</tbody></template>')
    return retarget(reswap(HttpResponse("".join(html)), "outerHTML"), f"#step-{step_id}")


@login_required
def plan_header(request, pk):
    """GET ?edit=1 → the header form; POST → save it; otherwise the header card."""
    plan = get_object_or_404(Plan, pk=pk)
    if request.method == "GET" and not request.GET.get("edit"):
        return _render_plan_part(request, pk, "header", oob=())
    refusal = edit_refusal(request.user, plan)
    if refusal:
        return forbidden(request, refusal)
    with timezone.override(plan.tz):
        form = PlanForm(request.POST or None, instance=Plan.objects.get(pk=pk) if request.method == "POST" else plan)
        conflict = reset = None
        if request.method == "POST" and form.is_valid():
            try:
                with versioning.confirm_resets(_reset_confirmed(request)):
                    services.update_plan_header(
                        pk,
                        actor=request.user,
                        data=form.header_data(),
                        revision=form.cleaned_data["revision"],
                        services=form.cleaned_data["services"],
                        availability=form.cleaned_data["availability"],
                    )
            except services.EditConflict as exc:
                conflict = exc
            except versioning.ResetNotConfirmed as exc:
                reset = _reset_box(request, exc, target="#plan-header")
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return toast(
                    _render_plan_part(request, pk, "header", oob=("lint", "announcement", "history")), _("Saved")
                )
        if conflict:
            data = request.POST.copy()
            data["revision"] = conflict.current.revision
            form = PlanForm(data, instance=Plan.objects.get(pk=pk))
            form.is_valid()
        return render(
            request,
            "changeplans/plan_detail.html#header-form",
            {"plan": plan, "form": form, "conflict": conflict, "reset": reset},
            status=409 if reset else 200,
        )


def _cell_response(request, step, field, form, conflict=None, status=200, reset=None):
    response = render(
        request,
        "changeplans/inc/cell_form.html",
        {"step": step, "field": field, "form": form, "conflict": conflict, "reset": reset},
        status=status,
    )
    if request.method == "POST":
        response = retarget(reswap(response, "innerHTML"), f"#cell-{step.pk}-{field}")
    return response


@login_required
def step_cell(request, pk, field):
    """One cell of the step table: GET → its editor; POST → save and return the row (and the rows it changed)."""
    # A save tells the step as it was (lint_change; without generations, SQLite: the step prefetched like the page's
    # steps) to find which other rows it changes.
    light = request.method != "POST" or lint_data.generations()
    queryset = Step.objects.select_related("executor") if light else steps_queryset()
    step = get_object_or_404(queryset.select_related("plan"), pk=pk)
    if field not in services.STEP_CELL_FIELDS:
        return forbidden(request, _("This column cannot be edited here."))
    refusal = edit_refusal(request.user, step.plan)
    if refusal:
        return forbidden(request, refusal)
    if request.method == "GET":
        value = getattr(step, field)
        initial = {
            "revision": step.revision,
            "original": services.cell_text(step, field),
            "value": value.name if field == "executor" and value else value,
        }
        return _cell_response(request, step, field, StepCellForm(field, initial=initial))
    form = StepCellForm(field, request.POST)
    if not form.is_valid():
        return _cell_response(request, step, field, form, status=422)
    last_event = _last_event_id(step.plan_id)
    try:
        with versioning.confirm_resets(_reset_confirmed(request)):
            saved = services.update_step_cell(
                pk,
                actor=request.user,
                field=field,
                value=form.cleaned_data["value"],
                revision=form.cleaned_data["revision"],
                original=form.cleaned_data["original"],
                comment=_("Undo (Ctrl+Z)") if request.POST.get("undo") == "1" else "",
            )
    except versioning.ResetNotConfirmed as exc:
        # Nothing saved; the editor keeps what the user typed and asks (confirm_reset.html).
        reset = _reset_box(
            request,
            exc,
            target=f"#step-{step.pk}",
            cancel_url=reverse("changeplans:step_row", args=[step.pk]),
            cancel_class="okno-cell-cancel",
        )
        return _cell_response(request, step, field, StepCellForm(field, request.POST), status=409, reset=reset)
    except services.EditConflict as exc:
        # Keep what the user typed; the new revision and original let a second save overwrite deliberately.
        data = request.POST.copy()
        data["revision"] = exc.current.revision
        data["original"] = services.cell_text(exc.current, field)
        theirs = getattr(exc.current, field)
        return _cell_response(
            request, step, field, StepCellForm(field, data), conflict={"error": exc, "theirs": theirs}, status=409
        )
    except ValidationError as exc:
        form.add_error("value", exc)
        return _cell_response(request, step, field, form, status=422)
    response = _step_rows_response(
        request,
        step.pk,
        step.plan_id,
        before=None if light else step,
        change=getattr(saved, "lint_change", None),
        events_after=last_event,
    )
    return undo.mark_cell_edit(response, saved, field, request.POST.get("value"))  # Ctrl+Z (static/okno/grid.js)


@login_required
def step_row(request, pk):
    """The step's row as it is (an editor's Cancel): nothing changed, so nothing else is sent."""
    step = get_object_or_404(Step, pk=pk)
    return _step_rows_response(request, step.pk, step.plan_id)


@login_required
@require_POST
def step_add(request, pk):
    plan = get_object_or_404(Plan, pk=pk)
    after = request.POST.get("after")
    after_position = parse_int(after, minimum=0) if after else None
    if after and after_position is None:
        return _bad_request(
            request, _("Invalid number of the step to insert after: “%(value)s”.") % {"value": after[:40]}
        )
    try:
        with versioning.confirm_resets(_reset_confirmed(request)):
            step = services.add_step(plan.pk, actor=request.user, after_position=after_position)
    except PermissionDenied as exc:
        return forbidden(request, exc)
    except versioning.ResetNotConfirmed as exc:
        return _ask_before_reset(request, exc)
    return toast(
        _render_plan_part(request, pk, "steps", extra={"highlight": step.pk}),
        _("Step %(n)d added") % {"n": step.position},
    )


@login_required
@require_POST
def step_delete(request, pk):
    step = get_object_or_404(Step, pk=pk)
    try:
        with versioning.confirm_resets(_reset_confirmed(request)):
            services.delete_step(pk, actor=request.user)
    except PermissionDenied as exc:
        return forbidden(request, exc)
    except versioning.ResetNotConfirmed as exc:
        return _ask_before_reset(request, exc)
    return toast(_render_plan_part(request, step.plan_id, "steps"), _("Step “%(name)s” deleted") % {"name": step.name})


@login_required
@require_POST
def step_move(request, pk):
    step = get_object_or_404(Step, pk=pk)
    offset = -1 if request.POST.get("direction") == "up" else 1
    try:
        with versioning.confirm_resets(_reset_confirmed(request)):
            services.move_step(pk, actor=request.user, offset=offset)
    except PermissionDenied as exc:
        return forbidden(request, exc)
    except versioning.ResetNotConfirmed as exc:
        return _ask_before_reset(request, exc)
    return _render_plan_part(request, step.plan_id, "steps", extra={"highlight": step.pk})


@login_required
@require_POST
def steps_reorder(request, pk):
    ids = [parse_int(x) for x in request.POST.getlist("step")]
    if None in ids:
        return _bad_request(request, _("Invalid list of steps."))
    try:
        services.reorder_steps(pk, actor=request.user, step_ids=ids)
    except PermissionDenied as exc:
        return forbidden(request, exc)
    except services.EditConflict:
        response = _render_plan_part(request, pk, "steps")
        return toast(response, _("The steps changed meanwhile; the table is refreshed, please repeat."), "warning")
    return _render_plan_part(request, pk, "steps")


def _risk_initial(step):
    risks = [
        {"id": r.pk, "number": r.number, "description": r.description, "mitigation": r.mitigation}
        for r in step.risks.all()
    ]
    actions = [{"id": a.pk, "text": a.text, "risk_numbers": a.label()} for a in step.rollback_actions.all()]
    return risks, actions


@login_required
def step_risks(request, pk):
    """The risks and rollback panel of one step (a formset for each); a save answers with the row, panel closed."""
    step = get_object_or_404(steps_queryset().select_related("plan"), pk=pk)
    refusal = edit_refusal(request.user, step.plan)
    if refusal:
        return forbidden(request, refusal)
    if request.method == "GET":
        risks, actions = _risk_initial(step)
        form = StepRisksForm(
            initial={
                "revision": step.revision,
                "risk_mitigation": step.risk_mitigation,
                "no_rollback_needed": step.no_rollback_needed,
            }
        )
        risk_set = RiskFormSet(initial=risks, prefix="risk")
        action_set = RollbackActionFormSet(initial=actions, prefix="action")
        return render(
            request,
            "changeplans/inc/risks_form.html",
            {"step": step, "form": form, "risk_set": risk_set, "action_set": action_set},
        )
    form = StepRisksForm(request.POST)
    risk_set = RiskFormSet(request.POST, prefix="risk")
    action_set = RollbackActionFormSet(request.POST, prefix="action")
    error = reset = None
    if form.is_valid() and risk_set.is_valid() and action_set.is_valid():
        risks = [f.cleaned_data for f in risk_set.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        numbers = [r["number"] for r in risks]
        actions = [f.cleaned_data for f in action_set.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        if len(numbers) != len(set(numbers)):
            error = _("Two risks have the same number.")
        else:
            last_event = _last_event_id(step.plan_id)
            try:
                with versioning.confirm_resets(_reset_confirmed(request)):
                    saved = services.save_step_risks(
                        pk,
                        actor=request.user,
                        revision=form.cleaned_data["revision"],
                        risks=risks,
                        rollback_actions=actions,
                        risk_mitigation=form.cleaned_data["risk_mitigation"],
                        no_rollback_needed=form.cleaned_data["no_rollback_needed"],
                    )
            except versioning.ResetNotConfirmed as exc:
                reset = _reset_box(request, exc, target=f"#step-{step.pk}")
            except services.EditConflict as exc:
                error = exc
                data = request.POST.copy()
                data["revision"] = exc.current.revision
                form = StepRisksForm(data)
                form.is_valid()
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                response = _step_rows_response(
                    request,
                    step.pk,
                    step.plan_id,
                    before=step,
                    change=getattr(saved, "lint_change", None),
                    events_after=last_event,
                    close_panel=True,
                )
                return toast(response, _("Risks and rollback saved"))
    response = render(
        request,
        "changeplans/inc/risks_form.html",
        {"step": step, "form": form, "risk_set": risk_set, "action_set": action_set, "error": error, "reset": reset},
        status=409 if reset else 422,
    )
    return retarget(reswap(response, "innerHTML"), f"#risks-{step.pk}")


@login_required
def plan_cancel(request, pk):
    plan = get_object_or_404(Plan, pk=pk)
    form = CancelPlanForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.cancel_plan(pk, actor=request.user, comment=form.cleaned_data["comment"])
        except PermissionDenied as exc:
            return forbidden(request, exc)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The plan is cancelled."))
            url = reverse("changeplans:plan_detail", args=[pk])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    return render(request, "changeplans/plan_cancel.html", {"plan": plan, "form": form})


@login_required
def plan_copy(request, pk):
    if not can_create_plan(request.user):
        raise PermissionDenied(_("Only authors can create plans."))
    plan = get_object_or_404(Plan, pk=pk)
    form = CopyPlanForm(request.POST or None, plan=plan)
    if request.method == "POST" and form.is_valid():
        try:
            copy = services.copy_plan(
                pk,
                actor=request.user,
                window_start=form.cleaned_data["window_start"],
                window_end=form.cleaned_data["window_end"],
                kind=form.cleaned_data.get("kind") or None,
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, _("The copy is created. Build its sign-off matrix before submitting it."))
            return redirect("changeplans:plan_detail", pk=copy.pk)
    with timezone.override(plan.tz):
        return render(request, "changeplans/plan_copy.html", {"plan": plan, "form": form})
