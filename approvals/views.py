"""Sign-off pages: the matrix on the plan page, the inbox "awaiting my sign-off" and the diff of versions.

Views are thin: forms check what was posted, approvals.services decides and records, approvals.selectors
reads what the pages show, templates show it.
Each action answers an htmx request with the refreshed part of the page it came from (`part`) and a
toast; a plain form post is redirected back with a message.
"""

from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import reswap

from changeplans.models import Plan
from changeplans.selectors import plan_history
from common.htmx import forbidden, toast
from common.pagination import paginate

from . import selectors, services
from .forms import (
    ApplyTemplateForm,
    CopyMatrixForm,
    DecisionForm,
    DiffForm,
    MatrixRowForm,
    MoveRowForm,
    NewMatrixRowForm,
    SaveTemplateForm,
)
from .models import ApprovalRow

# Re-exported until approvals/templatetags/signoff.py and approvals/extensions.py import them from selectors.

# --- responses -----------------------------------------------------------------------------------


def _oob(template, context, request):
    # In a <template>, htmx parses each out-of-band part on its own (see changeplans.views).
    return "<template>" + render_to_string(template, {**context, "oob": True}, request=request) + "</template>"


def _render_matrix(request, plan_id, *, status=200, extra=None):
    """The matrix section, with out-of-band refreshes of the status badge, the sign-off bar, the inbox badge
    and the history."""
    plan = selectors.signoff_plan(plan_id)
    context = {"plan": plan, "signoff": selectors.matrix_context(plan, request.user), **(extra or {})}
    with timezone.override(plan.tz):
        html = [render_to_string("approvals/inc/matrix.html", context, request=request)]
        for template in (
            "approvals/inc/plan_status.html",
            "approvals/inc/signoff_bar.html",
            "approvals/inc/nav_count.html",
        ):
            html.append(_oob(template, context, request))
        html.append(
            _oob("changeplans/plan_detail.html#history", {"plan": plan, "events": plan_history(plan_id)}, request)
        )
    response = HttpResponse("".join(html), status=status)
    response["Vary"] = "HX-Request"
    return response


def _inbox_context(request, number=None, query=None):
    """The inbox page's entries: one page of the waiting rows (common/pagination.py)."""
    page = paginate(request, selectors.inbox_rows(request.user), number=number, query=query)
    return {"entries": selectors.inbox_entries(request.user, page.items), "page": page}


def _shown_page(request):
    """(page number, parameters) of the inbox page an action came from (htmx sends its address)."""
    current = request.htmx.current_url if request.htmx else None
    query = QueryDict(urlsplit(current).query) if current else QueryDict()
    raw = query.get("page", "")
    return (int(raw) if raw.isdigit() and int(raw) > 0 else 1), query


def _render_inbox(request, *, status=200, extra=None):
    number, query = _shown_page(request)
    context = {**_inbox_context(request, number, query), **(extra or {})}
    html = render_to_string("approvals/inbox.html#inbox", context, request=request) + _oob(
        "approvals/inc/nav_count.html", {}, request
    )
    return HttpResponse(html, status=status)


def _render_diff_actions(request, plan_id, *, status=200, extra=None):
    plan = selectors.signoff_plan(plan_id)
    context = {**selectors.diff_actions_context(plan, request.user), **(extra or {})}
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
        return forbidden(request, exc)
    except services.StaleVersion as exc:
        if not request.htmx:
            messages.warning(request, str(exc))
            return redirect(_diff_url(row.plan_id, seen))
        stale = {"message": str(exc), "url": _diff_url(row.plan_id, seen)}
        return toast(_render_part(request, part, row.plan_id, status=409, extra={"stale": stale}), exc, "warning")
    except ValidationError as exc:
        message = " ".join(exc.messages)
        if not request.htmx:
            messages.error(request, message)
            return redirect(_page_url(part, row.plan_id))
        error = {"row": row.pk, "message": message, "comment": comment}
        return toast(_render_part(request, part, row.plan_id, status=422, extra={"error": error}), message, "danger")
    if not request.htmx:
        messages.success(request, done())
        return redirect(_page_url(part, row.plan_id))
    return toast(_render_part(request, part, row.plan_id), done())


@login_required
@require_POST
def plan_submit(request, pk):
    """The author sends the plan (a draft or a rejected one) for sign-off."""
    plan = get_object_or_404(Plan.objects.only("pk"), pk=pk)
    try:
        version = services.submit_plan(plan.pk, actor=request.user)
    except PermissionDenied as exc:
        return forbidden(request, exc)
    except ValidationError as exc:
        message = " ".join(exc.messages)
        if not request.htmx:
            messages.error(request, message)
            return redirect("changeplans:plan_detail", pk=pk)
        return toast(_render_matrix(request, pk, status=422, extra={"submit_error": message}), message, "danger")
    message = _("Sent for sign-off as version %(n)d") % {"n": version.number}
    if not request.htmx:
        messages.success(request, message)
        return redirect("changeplans:plan_detail", pk=pk)
    return toast(_render_matrix(request, pk), message)


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
            return forbidden(request, exc)
        except ValidationError as exc:
            error = " ".join(exc.messages)
    else:
        error = " ".join(" ".join(errors) for errors in form.errors.values())
    if error:
        if not request.htmx:
            messages.error(request, error)
            return redirect("changeplans:plan_detail", pk=pk)
        return toast(_render_matrix(request, pk, status=422, extra={"matrix_error": error}), error, "danger")
    message = _("The sign-off matrix is taken from the template “%(name)s”") % {"name": template.name}
    if not request.htmx:
        messages.success(request, message)
        return redirect("changeplans:plan_detail", pk=pk)
    return toast(_render_matrix(request, pk), message)


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
    """ "Awaiting my sign-off": the rows the user is asked to decide on now."""
    if not selectors.may_sign(request.user):
        raise PermissionDenied(_("Nobody asks you to sign: this page is for approvers and duty officers."))
    context = _inbox_context(request)
    partial = request.htmx and not request.htmx.boosted
    response = render(request, "approvals/inbox.html#inbox" if partial else "approvals/inbox.html", context)
    response["Vary"] = "HX-Request"
    return response


@login_required
def plan_diff(request, pk):
    """What changed between two versions (default: since the version the user last decided on, to the latest)."""
    plan = get_object_or_404(Plan.objects.select_related("author", "curator"), pk=pk)
    versions = selectors.plan_versions(plan)
    form = DiffForm(request.GET, numbers=[version.number for version in versions])
    form.is_valid()  # a wrong number falls back to the default
    chosen = {"from_version": form.cleaned_data.get("from"), "to_version": form.cleaned_data.get("to")}
    context = {"plan": plan, "form": form, **selectors.diff_context(plan, request.user, versions, **chosen)}
    partial = request.htmx and not request.htmx.boosted
    with timezone.override(plan.tz):
        response = render(request, "approvals/plan_diff.html#diff" if partial else "approvals/plan_diff.html", context)
    response["Vary"] = "HX-Request"
    return response


# --- the matrix builder (the author, while the plan is a draft or rejected) ------------------------


def _matrix_refused(request, exc, plan_id):
    """403 for someone who may not build the matrix; 409 with the reason when the plan is under sign-off."""
    if isinstance(exc, PermissionDenied):
        return forbidden(request, exc)
    message = str(exc)
    if not request.htmx:
        messages.error(request, message)
        return redirect(_page_url("matrix", plan_id))
    return toast(_render_matrix(request, plan_id, status=409, extra={"matrix_error": message}), message, "danger")


def _matrix_done(request, plan_id, message, *, status=200, extra=None, level="success"):
    if not request.htmx:
        (messages.success if status < 400 else messages.error)(request, message)
        return redirect(_page_url("matrix", plan_id))
    return toast(_render_matrix(request, plan_id, status=status, extra=extra), message, level)


def _form_error(form):
    return " ".join(" ".join(errors) for errors in form.errors.values())


@login_required
@require_POST
def matrix_row_add(request, pk):
    """Add a row at the end of the matrix (optionally already filled in)."""
    plan = get_object_or_404(Plan.objects.only("pk"), pk=pk)
    form = NewMatrixRowForm(request.POST)
    if not form.is_valid():
        error = _form_error(form)
        return _matrix_done(request, pk, error, status=422, extra={"matrix_error": error}, level="danger")
    data = form.cleaned_data
    try:
        row = services.add_matrix_row(
            plan.pk,
            actor=request.user,
            job_title=data["job_title"],
            person=data["who"],
            kind=data["kind"],
            stage=data["stage"],
        )
    except (PermissionDenied, services.MatrixLocked) as exc:
        return _matrix_refused(request, exc, pk)
    except ValidationError as exc:
        error = " ".join(exc.messages)
        return _matrix_done(request, pk, error, status=422, extra={"matrix_error": error}, level="danger")
    return _matrix_done(request, pk, _("Row %(n)d added") % {"n": row.position}, extra={"focus_row": row.pk})


def _row_saved_response(request, row_id, plan_id, *, status=200, error=None):
    """A saved (or refused) row: its note, the sign-off bar (submit) and the history, out of band; the row's
    fields stay as the author typed them."""
    plan = selectors.signoff_plan(plan_id)
    signoff = selectors.matrix_context(plan, request.user)
    row = next((row for row in signoff["rows"] if row.pk == row_id), None)
    context = {"plan": plan, "signoff": signoff, "row": row, "row_id": row_id, "row_error": error, "oob": True}
    with timezone.override(plan.tz):
        html = [
            render_to_string("approvals/inc/matrix_row_note.html", context, request=request),
            render_to_string("approvals/inc/signoff_bar.html", context, request=request),
            _oob("changeplans/plan_detail.html#history", {"plan": plan, "events": plan_history(plan_id)}, request),
        ]
    response = HttpResponse("".join(html), status=status)
    return reswap(response, "none")


@login_required
@require_POST
def matrix_row_update(request, pk):
    """Save one row's position title, person or group, kind and stage (posted on every change)."""
    row = get_object_or_404(ApprovalRow.objects.only("pk", "plan_id"), pk=pk)
    form = MatrixRowForm(request.POST)
    if not form.is_valid():
        error = _form_error(form)
        if not request.htmx:
            messages.error(request, error)
            return redirect(_page_url("matrix", row.plan_id))
        return toast(_row_saved_response(request, row.pk, row.plan_id, status=422, error=error), error, "danger")
    data = form.cleaned_data
    try:
        services.update_matrix_row(
            row.pk,
            actor=request.user,
            job_title=data["job_title"],
            person=data["who"],
            kind=data["kind"],
            stage=data["stage"],
        )
    except (PermissionDenied, services.MatrixLocked) as exc:
        return _matrix_refused(request, exc, row.plan_id)
    except ValidationError as exc:
        error = " ".join(exc.messages)
        if not request.htmx:
            messages.error(request, error)
            return redirect(_page_url("matrix", row.plan_id))
        return toast(_row_saved_response(request, row.pk, row.plan_id, status=422, error=error), error, "danger")
    if not request.htmx:
        messages.success(request, _("Saved"))
        return redirect(_page_url("matrix", row.plan_id))
    return _row_saved_response(request, row.pk, row.plan_id)


@login_required
@require_POST
def matrix_row_delete(request, pk):
    row = get_object_or_404(ApprovalRow.objects.only("pk", "plan_id", "position"), pk=pk)
    try:
        services.delete_matrix_row(row.pk, actor=request.user)
    except (PermissionDenied, services.MatrixLocked) as exc:
        return _matrix_refused(request, exc, row.plan_id)
    except ValidationError as exc:
        error = " ".join(exc.messages)
        return _matrix_done(request, row.plan_id, error, status=422, extra={"matrix_error": error}, level="danger")
    return _matrix_done(request, row.plan_id, _("Row %(n)d removed") % {"n": row.position})


@login_required
@require_POST
def matrix_row_move(request, pk):
    row = get_object_or_404(ApprovalRow.objects.only("pk", "plan_id"), pk=pk)
    form = MoveRowForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("The form is incomplete: reload the page and try again."))
    try:
        services.move_matrix_row(row.pk, actor=request.user, offset=form.offset)
    except (PermissionDenied, services.MatrixLocked) as exc:
        return _matrix_refused(request, exc, row.plan_id)
    except ValidationError as exc:
        error = " ".join(exc.messages)
        return _matrix_done(request, row.plan_id, error, status=422, extra={"matrix_error": error}, level="danger")
    if not request.htmx:
        return redirect(_page_url("matrix", row.plan_id))
    return _render_matrix(
        request, row.plan_id, extra={"focus_row": row.pk, "focus_move": form.cleaned_data["direction"]}
    )


@login_required
@require_POST
def matrix_copy(request, pk):
    """Replace the matrix with another plan's rows."""
    plan = get_object_or_404(Plan.objects.only("pk"), pk=pk)
    form = CopyMatrixForm(request.POST)
    query = request.POST.get("q", "")[:200]  # the search typed stays on an error
    if not form.is_valid():
        error = _form_error(form)
        extra = {"copy_error": error, "copy_query": query}
        return _matrix_done(request, pk, error, status=422, extra=extra, level="danger")
    source = form.cleaned_data["source"]
    try:
        count = services.copy_matrix(plan.pk, actor=request.user, source_plan_id=source)
    except (PermissionDenied, services.MatrixLocked) as exc:
        return _matrix_refused(request, exc, pk)
    except ValidationError as exc:
        error = " ".join(exc.messages)
        extra = {"copy_error": error, "copy_query": query}
        return _matrix_done(request, pk, error, status=422, extra=extra, level="danger")
    return _matrix_done(
        request,
        pk,
        _("The sign-off matrix is copied from plan No. %(n)d: %(count)d rows") % {"n": source, "count": count},
    )


@login_required
def matrix_sources(request, pk):
    """The plans to copy a matrix from, matching ?q= (number or title): the options of the copy form."""
    plan = get_object_or_404(Plan.objects.only("pk", "author_id", "status"), pk=pk)
    if not selectors.may_edit_matrix(plan, request.user):
        return forbidden(request, _("Only the author of the plan can change its sign-off matrix."))
    context = {"copy_sources": selectors.matrix_sources(plan, request.GET.get("q", "")[:200])}
    return render(request, "approvals/inc/matrix_sources.html", context)


@login_required
def matrix_templates(request, pk):
    """The matrix templates to apply: the options of the builder's template form, asked when the author opens it
    (the plan page does not read them)."""
    plan = get_object_or_404(Plan.objects.only("pk", "author_id", "status"), pk=pk)
    if not selectors.may_edit_matrix(plan, request.user):
        return forbidden(request, _("Only the author of the plan can change its sign-off matrix."))
    return render(request, "approvals/inc/matrix_templates.html", {"templates": selectors.matrix_templates()})


@login_required
@require_POST
def matrix_save_template(request, pk):
    """Save the current matrix as a new named template."""
    plan = get_object_or_404(Plan.objects.only("pk"), pk=pk)
    form = SaveTemplateForm(request.POST)
    name = request.POST.get("name", "")[:200]
    if not form.is_valid():
        error = _form_error(form)
        extra = {"template_error": error, "template_name": name}
        return _matrix_done(request, pk, error, status=422, extra=extra, level="danger")
    try:
        template = services.save_matrix_as_template(plan.pk, actor=request.user, name=form.cleaned_data["name"])
    except PermissionDenied as exc:
        return forbidden(request, exc)
    except ValidationError as exc:
        error = " ".join(exc.messages)
        extra = {"template_error": error, "template_name": name}
        return _matrix_done(request, pk, error, status=422, extra=extra, level="danger")
    return _matrix_done(
        request, pk, _("The sign-off matrix is saved as the template “%(name)s”") % {"name": template.name}
    )
