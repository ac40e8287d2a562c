"""Sign-off pages: the matrix on the plan page, the inbox "awaiting my sign-off" and the diff of versions.

Views are thin: forms check what was posted, approvals.services decides and records, templates show.
Each action answers an htmx request with the refreshed part of the page it came from (`part`) and a
toast; a plain form post is redirected back with a message.
"""

import functools
import operator

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Max, OuterRef, Q, Subquery
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, trigger_client_event

from changeplans import versioning
from changeplans.choices import EventKind, PlanStatus
from changeplans.models import Plan, PlanEvent, PlanVersion
from changeplans.selectors import plan_history

from . import conditions, services
from .choices import ApprovalStatus, RowKind
from .forms import ApplyTemplateForm, DecisionForm, DiffForm
from .models import ApprovalRow, Delegation, MatrixTemplate

DECIDED = (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED, ApprovalStatus.ACKNOWLEDGED)


# --- queries shared by the pages and the navigation badge ------------------------------------------

def waiting_rows(user):
    """Rows waiting for `user`, as services.inbox_rows chooses them, in one query whatever the number of plans.

    Own rows and rows delegated to the user today; approval rows only in the open stage of their plan
    (the lowest stage with a row not yet approved); acknowledgements of the user or of their group.
    """
    today = timezone.localdate()
    principals = Delegation.objects.filter(deputy=user, starts_on__lte=today, ends_on__gte=today).values("principal_id")
    groups = get_user_model().groups.through.objects.filter(user_id=user.pk).values("group_id")
    open_stage = (
        ApprovalRow.objects.filter(plan=OuterRef("plan"), kind=RowKind.APPROVAL)
        .exclude(status=ApprovalStatus.APPROVED).order_by("stage").values("stage")[:1]
    )
    approvals = Q(kind=RowKind.APPROVAL, status=ApprovalStatus.PENDING, stage=Subquery(open_stage)) & (Q(user=user) | Q(user_id__in=principals))
    acknowledgements = Q(kind=RowKind.ACKNOWLEDGEMENT, status=ApprovalStatus.NOT_ACKNOWLEDGED) & (Q(user=user) | Q(group_id__in=groups))
    return ApprovalRow.objects.filter(plan__status=PlanStatus.IN_REVIEW).filter(approvals | acknowledgements)


def last_decided_versions(user, plan_ids):
    """{plan_id: number of the version `user` last approved, rejected or acknowledged on that plan}.

    A new version resets the rows, so the history is the record. A signature and the making of a
    version both hold the plan's row lock, so the version signed is the newest one made before it.
    """
    decided = dict(
        PlanEvent.objects.filter(
            plan_id__in=plan_ids, actor=user, kind=EventKind.TRANSITION, object_type="approvalrow", to_status__in=DECIDED,
        ).order_by().values("plan_id").annotate(last=Max("at")).values_list("plan_id", "last")
    )
    if not decided:
        return {}
    result = {}
    versions = PlanVersion.objects.filter(plan_id__in=decided).order_by("plan_id", "number").values_list("plan_id", "number", "created_at")
    for plan_id, number, created_at in versions:
        if created_at <= decided[plan_id]:
            result[plan_id] = number
    return result


def matrix_context(plan, user):
    """The sign-off parts of a plan page for `user`: rows with what the user may do, the version, submit state."""
    rows = list(
        ApprovalRow.objects.filter(plan=plan)
        .select_related("user", "group", "decided_by", "on_behalf_of", "version").order_by("position")
    )
    version = versioning.latest_version(plan)
    for row in rows:
        row.plan = plan
        row.mine = row.can_sign = row.can_acknowledge = False
        row.refusal = row.for_principal = None
    if rows and user.is_authenticated:
        today = timezone.localdate()
        principals = set(Delegation.objects.filter(deputy=user, starts_on__lte=today, ends_on__gte=today).values_list("principal_id", flat=True))
        group_ids = set(user.groups.values_list("pk", flat=True))
        for row in rows:
            if row.kind == RowKind.APPROVAL:
                row.mine = row.user_id is not None and (row.user_id == user.pk or row.user_id in principals)
            else:
                row.mine = (row.user_id is not None and row.user_id == user.pk) or (row.group_id is not None and row.group_id in group_ids)
            if not row.mine or plan.status != PlanStatus.IN_REVIEW or row.is_decided:
                continue
            # The guards the services apply: a refusal is shown as a hint instead of the buttons.
            if row.kind == RowKind.APPROVAL:
                row.refusal, row.for_principal = conditions.sign_refusal(row, user, rows=rows)
                row.can_sign = row.refusal is None
            else:
                row.refusal = conditions.acknowledge_refusal(row, user)
                row.can_acknowledge = row.refusal is None
    is_author = user.is_authenticated and (user.pk == plan.author_id or user.is_superuser)
    can_submit = is_author and plan.status in (PlanStatus.DRAFT, PlanStatus.REJECTED)
    approvals = [row for row in rows if row.kind == RowKind.APPROVAL]
    acknowledgements = [row for row in rows if row.kind == RowKind.ACKNOWLEDGEMENT]
    return {
        "rows": rows,
        "version": version,
        "can_submit": can_submit,
        "submit_refusal": conditions.submit_refusal(plan, rows) if can_submit else None,
        "templates": list(MatrixTemplate.objects.all()) if can_submit else [],
        "rejected_rows": [row for row in rows if row.status == ApprovalStatus.REJECTED] if plan.status == PlanStatus.REJECTED else [],
        "approved_count": sum(row.status == ApprovalStatus.APPROVED for row in approvals),
        "approval_count": len(approvals),
        "acknowledged_count": sum(row.status == ApprovalStatus.ACKNOWLEDGED for row in acknowledgements),
        "acknowledgement_count": len(acknowledgements),
        "staged": len({row.stage for row in rows}) > 1,
        "my_rows": [row for row in rows if row.mine],
        "waiting_for_me": any(row.can_sign or row.can_acknowledge for row in rows),
        # Edits of a plan under sign-off make versions and reset rows: the page refreshes the matrix after them.
        "live": plan.status in (PlanStatus.IN_REVIEW, PlanStatus.APPROVED),
    }


def inbox_entries(user):
    """What the inbox shows: each waiting row with its plan, the version to sign and what changed since
    the version the user last decided on. A fixed number of queries, however many plans wait."""
    latest = PlanVersion.objects.filter(plan=OuterRef("plan")).order_by("-number").values("number")[:1]
    rows = list(
        waiting_rows(user).select_related("plan", "user", "group")
        .annotate(latest_version=Subquery(latest)).order_by("plan__window_start", "plan_id", "position")
    )
    plan_ids = {row.plan_id for row in rows}
    last = last_decided_versions(user, plan_ids) if plan_ids else {}
    # Only the two snapshots each changed plan needs, in one query.
    wanted = [
        Q(plan_id=row.plan_id, number__in=(last[row.plan_id], row.latest_version))
        for row in rows if last.get(row.plan_id) and row.latest_version and last[row.plan_id] < row.latest_version
    ]
    snapshots = {}
    if wanted:
        found = PlanVersion.objects.filter(functools.reduce(operator.or_, wanted)).values_list("plan_id", "number", "snapshot")
        snapshots = {(plan_id, number): snapshot for plan_id, number, snapshot in found}
    entries = []
    for row in rows:
        refusal = None
        if row.kind == RowKind.APPROVAL:
            # The query already chose the open stage, so the guard needs no other rows; acknowledgements
            # need no guard here: the query checks all that acknowledge_refusal does.
            refusal, row.for_principal = conditions.sign_refusal(row, user, rows=[])
        row.mine, row.refusal = True, refusal
        row.can_sign = row.kind == RowKind.APPROVAL and refusal is None
        row.can_acknowledge = row.kind == RowKind.ACKNOWLEDGEMENT
        before = last.get(row.plan_id)
        changes = None
        if (row.plan_id, before) in snapshots and (row.plan_id, row.latest_version) in snapshots:
            changes = len(versioning.diff(snapshots[(row.plan_id, before)], snapshots[(row.plan_id, row.latest_version)]))
        entries.append({
            "row": row,
            "plan": row.plan,
            "version": row.latest_version,
            "principal": row.user if row.kind == RowKind.APPROVAL and row.user_id != user.pk else None,
            "last_decided": before,
            "changes": changes,
        })
    return entries


# --- responses -----------------------------------------------------------------------------------

def _toast(response, text, level="success"):
    return trigger_client_event(response, "okno:toast", {"text": str(text), "level": level})


def _forbidden(request, reason):
    """403 with the reason: as a toast for htmx (nothing swapped), as the error page otherwise."""
    if request.htmx:
        return _toast(reswap(HttpResponse(status=403), "none"), reason, "danger")
    raise PermissionDenied(reason)


def _oob(template, context, request):
    # In a <template>, htmx parses each out-of-band part on its own (see changeplans.views).
    return "<template>" + render_to_string(template, {**context, "oob": True}, request=request) + "</template>"


def _render_matrix(request, plan_id, *, status=200, extra=None):
    """The matrix section, with out-of-band refreshes of the status badge, the sign-off bar, the inbox badge and the history."""
    plan = Plan.objects.select_related("author", "curator").get(pk=plan_id)
    context = {"plan": plan, "signoff": matrix_context(plan, request.user), **(extra or {})}
    with timezone.override(plan.tz):
        html = [render_to_string("approvals/inc/matrix.html", context, request=request)]
        for template in ("approvals/inc/plan_status.html", "approvals/inc/signoff_bar.html", "approvals/inc/nav_count.html"):
            html.append(_oob(template, context, request))
        html.append(_oob("changeplans/plan_detail.html#history", {"plan": plan, "events": plan_history(plan_id)}, request))
    response = HttpResponse("".join(html), status=status)
    response["Vary"] = "HX-Request"
    return response


def _render_inbox(request, *, status=200, extra=None):
    context = {"entries": inbox_entries(request.user), **(extra or {})}
    html = render_to_string("approvals/inbox.html#inbox", context, request=request) + _oob("approvals/inc/nav_count.html", {}, request)
    return HttpResponse(html, status=status)


def _diff_actions_context(plan, user):
    signoff = matrix_context(plan, user)
    return {"plan": plan, "signoff": signoff, "my_rows": signoff["my_rows"]}


def _render_diff_actions(request, plan_id, *, status=200, extra=None):
    plan = Plan.objects.select_related("author", "curator").get(pk=plan_id)
    context = {**_diff_actions_context(plan, request.user), **(extra or {})}
    with timezone.override(plan.tz):
        html = render_to_string("approvals/plan_diff.html#diff-actions", context, request=request)
    return HttpResponse(html + _oob("approvals/inc/nav_count.html", {}, request), status=status)


def _render_part(request, part, plan_id, **kwargs):
    if part == "inbox":
        return _render_inbox(request, **kwargs)
    if part == "diff":
        return _render_diff_actions(request, plan_id, **kwargs)
    return _render_matrix(request, plan_id, **kwargs)


def _page_url(part, plan_id):
    if part == "inbox":
        return reverse("approvals:inbox")
    if part == "diff":
        return reverse("approvals:plan_diff", args=[plan_id])
    return reverse("changeplans:plan_detail", args=[plan_id]) + "#approval-matrix"


def _diff_url(plan_id, from_version=None):
    url = reverse("approvals:plan_diff", args=[plan_id])
    return f"{url}?from={from_version}" if from_version else url


# --- actions ---------------------------------------------------------------------------------------

DECISIONS = {
    "approve": (services.approve_row, lambda: _("Approved")),
    "reject": (services.reject_row, lambda: _("Rejected: the plan is returned to its author")),
    "acknowledge": (services.acknowledge_row, lambda: _("Acknowledged")),
}


@login_required
@require_POST
def row_decide(request, pk, action):
    """Approve, reject or acknowledge one row for the version the user saw."""
    if action not in DECISIONS:
        raise Http404
    row = get_object_or_404(ApprovalRow.objects.only("pk", "plan_id"), pk=pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("The form is incomplete: reload the page and try again."))
    part, seen, comment = form.cleaned_data["part"], form.cleaned_data["version"], form.cleaned_data["comment"]
    service, done = DECISIONS[action]
    try:
        service(row.pk, actor=request.user, version=seen, comment=comment)
    except PermissionDenied as exc:
        # A Refused is already written to the plan's history by the service.
        return _forbidden(request, exc)
    except services.StaleVersion as exc:
        if not request.htmx:
            messages.warning(request, str(exc))
            return redirect(_diff_url(row.plan_id, seen))
        stale = {"message": str(exc), "url": _diff_url(row.plan_id, seen)}
        return _toast(_render_part(request, part, row.plan_id, status=409, extra={"stale": stale}), exc, "warning")
    except ValidationError as exc:
        message = " ".join(exc.messages)
        if not request.htmx:
            messages.error(request, message)
            return redirect(_page_url(part, row.plan_id))
        error = {"row": row.pk, "message": message, "comment": comment}
        return _toast(_render_part(request, part, row.plan_id, status=422, extra={"error": error}), message, "danger")
    if not request.htmx:
        messages.success(request, done())
        return redirect(_page_url(part, row.plan_id))
    return _toast(_render_part(request, part, row.plan_id), done())


@login_required
@require_POST
def plan_submit(request, pk):
    """The author sends the plan (a draft or a rejected one) for sign-off."""
    plan = get_object_or_404(Plan.objects.only("pk"), pk=pk)
    try:
        version = services.submit_plan(plan.pk, actor=request.user)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    except ValidationError as exc:
        message = " ".join(exc.messages)
        if not request.htmx:
            messages.error(request, message)
            return redirect("changeplans:plan_detail", pk=pk)
        return _toast(_render_matrix(request, pk, status=422, extra={"submit_error": message}), message, "danger")
    message = _("Sent for sign-off as version %(n)d") % {"n": version.number}
    if not request.htmx:
        messages.success(request, message)
        return redirect("changeplans:plan_detail", pk=pk)
    return _toast(_render_matrix(request, pk), message)


@login_required
@require_POST
def plan_apply_template(request, pk):
    """Replace the matrix of a draft (or rejected) plan with a template's rows."""
    plan = get_object_or_404(Plan.objects.only("pk"), pk=pk)
    form = ApplyTemplateForm(request.POST)
    error = None
    if form.is_valid():
        template = form.cleaned_data["template"]
        try:
            services.apply_template(plan.pk, actor=request.user, template_id=template.pk)
        except PermissionDenied as exc:
            return _forbidden(request, exc)
        except ValidationError as exc:
            error = " ".join(exc.messages)
    else:
        error = " ".join(" ".join(errors) for errors in form.errors.values())
    if error:
        if not request.htmx:
            messages.error(request, error)
            return redirect("changeplans:plan_detail", pk=pk)
        return _toast(_render_matrix(request, pk, status=422, extra={"matrix_error": error}), error, "danger")
    message = _("The sign-off matrix is taken from the template “%(name)s”") % {"name": template.name}
    if not request.htmx:
        messages.success(request, message)
        return redirect("changeplans:plan_detail", pk=pk)
    return _toast(_render_matrix(request, pk), message)


# --- pages -----------------------------------------------------------------------------------------

@login_required
def plan_matrix(request, pk):
    """The matrix section alone (htmx refresh); a plain request goes to the plan page."""
    get_object_or_404(Plan.objects.only("pk"), pk=pk)
    if not request.htmx:
        return redirect(reverse("changeplans:plan_detail", args=[pk]) + "#approval-matrix")
    return _render_matrix(request, pk)


@login_required
def inbox(request):
    """"Awaiting my sign-off": the rows the user is asked to decide on now."""
    context = {"entries": inbox_entries(request.user)}
    partial = request.htmx and not request.htmx.boosted
    response = render(request, "approvals/inbox.html#inbox" if partial else "approvals/inbox.html", context)
    response["Vary"] = "HX-Request"
    return response


@login_required
def plan_diff(request, pk):
    """What changed between two versions (default: since the version the user last decided on, to the latest)."""
    plan = get_object_or_404(Plan.objects.select_related("author", "curator"), pk=pk)
    versions = list(plan.versions.select_related("created_by").defer("snapshot").order_by("number"))
    numbers = [version.number for version in versions]
    form = DiffForm(request.GET, numbers=numbers)
    form.is_valid()  # a wrong number falls back to the default below
    context = {"plan": plan, "versions": versions, "form": form, "changes": [], "from_version": None, "to_version": None}
    if versions:
        latest = numbers[-1]
        to_version = form.cleaned_data.get("to") or latest
        default_from = last_decided_versions(request.user, [plan.pk]).get(plan.pk) or 1
        from_version = form.cleaned_data.get("from") or min(default_from, to_version)
        if from_version != to_version:
            snapshots = dict(PlanVersion.objects.filter(plan=plan, number__in=(from_version, to_version)).values_list("number", "snapshot"))
            context["changes"] = versioning.diff(snapshots[from_version], snapshots[to_version])
        context.update(from_version=from_version, to_version=to_version, latest=latest)
        context.update(_diff_actions_context(plan, request.user))
    partial = request.htmx and not request.htmx.boosted
    with timezone.override(plan.tz):
        response = render(request, "approvals/plan_diff.html#diff" if partial else "approvals/plan_diff.html", context)
    response["Vary"] = "HX-Request"
    return response
