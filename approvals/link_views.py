"""The page a one-click sign-off link opens: GET shows the plan and asks; only a confirmed POST signs.

Order of checks: the signature and age of the token (no login needed to be told a link is broken),
then login (redirecting back here), then that the signed-in user is the one the link was made for,
then the row (already decided?) and the version (changed since the e-mail?). The sign-off itself is
approvals.services.approve_row / reject_row with via="email": every rule (self-approval, own row,
stage, delegation) is enforced and a refusal recorded there.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from changeplans.roles import display_name
from changeplans.versioning import latest_version

from . import conditions, links, services
from .models import ApprovalRow
from .notify import plan_context


def _message(request, *, title, text, status, plan=None, diff_url=None):
    context = {"title": title, "text": text, "plan": plan, "diff_url": diff_url}
    return render(request, "approvals/link_message.html", context, status=status)


def _stale(request, plan, link_version, current):
    context = {
        "plan": plan,
        "link_version": link_version,
        "current": current.number if current else None,
        "diff_url": links.diff_path(plan.pk),
    }
    return render(request, "approvals/link_stale.html", context, status=409)


def _broken_link(request, bad):
    """An expired or damaged token: said so without a login, and without showing the plan."""
    if isinstance(bad, links.ExpiredLink):
        title = _("The link has expired")
        text = _("Sign-off links are valid for a limited time. Open the plan in Okno and decide there.")
        return _message(request, status=410, title=title, text=text)
    title = _("The link is not valid")
    text = _("The link is damaged or incomplete. Copy the whole link from the e-mail, or open the plan in Okno.")
    return _message(request, status=400, title=title, text=text)


@never_cache
@require_http_methods(["GET", "POST"])
def sign_link(request: HttpRequest, token: str) -> HttpResponse:
    """The checks in the order of the module's docstring; each failing one answers with its own page."""
    try:
        link = links.read_token(token)
    except links.BadLink as bad:
        return _broken_link(request, bad)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    row = _link_row(link)
    if row is None:
        return _message(
            request, status=404, title=_("The link is not valid"), text=_("This sign-off row no longer exists.")
        )
    if request.user.pk != link.user_id:
        return _someone_elses_link(request, row, link)
    with timezone.override(row.plan.tz):
        if row.is_decided:
            return _already_decided(request, row)
        current = latest_version(row.plan)
        if current is None or current.number != link.version:
            return _stale(request, row.plan, link.version, current)
        if request.method != "POST":
            return _confirmation(request, row, link)
        try:
            return _decide(request, row, link)
        except ValidationError as invalid:
            return _confirmation(request, row, link, errors=invalid.messages)


def _link_row(link: links.Link) -> ApprovalRow | None:
    related = ("plan__author", "plan__curator", "user", "decided_by", "on_behalf_of", "version")
    return ApprovalRow.objects.select_related(*related).filter(pk=link.row_id).first()


def _someone_elses_link(request, row, link):
    """Signed in as someone else than the link was made for: said so; a POST is refused and recorded."""
    link_user = get_user_model().objects.filter(pk=link.user_id).first()
    if request.method == "POST":
        links.record_foreign_use(row.pk, actor=request.user, link_user=link_user)
    return _message(
        request,
        status=403,
        title=_("This link is for another person"),
        text=_("The link was sent to %(name)s. Sign in as yourself and open your own link or your inbox.")
        % {"name": display_name(link_user) or "—"},
    )


def _already_decided(request, row):
    """The link works once: who decided the row, and when."""
    text = _("This row was decided by %(who)s on %(when)s; the link works only once.") % {
        "who": display_name(row.decided_by) or row.person_name,
        "when": timezone.localtime(row.decided_at).strftime("%d.%m.%Y %H:%M") if row.decided_at else "—",
    }
    context = {"title": _("Already decided"), "plan": row.plan, "row": row, "text": text}
    return render(request, "approvals/link_message.html", context, status=409)


def _decide(request, row, link):
    """Sign as the confirmation form says, through the services (which enforce every rule and record a refusal).

    Input the services refuse (no decision, a rejection without a reason) raises ValidationError.
    """
    plan = row.plan
    sign = {"approve": services.approve_row, "reject": services.reject_row}.get(request.POST.get("decision"))
    if sign is None:
        raise ValidationError(_("Choose to approve or to reject."))
    try:
        sign(row.pk, actor=request.user, version=link.version, comment=request.POST.get("comment", ""), via="email")
    except services.StaleVersion:
        return _stale(request, plan, link.version, latest_version(plan))
    except PermissionDenied as refused:  # recorded in the plan's history by the service
        return _message(
            request,
            status=403,
            plan=plan,
            title=_("You cannot sign this row"),
            text=getattr(refused, "reason", None) or str(refused),
        )
    row.refresh_from_db()
    return render(
        request,
        "approvals/link_done.html",
        {"plan": plan, "row": row, "plan_url": reverse("changeplans:plan_detail", args=[plan.pk])},
    )


def _confirmation(request, row, link, *, errors=()):
    """The plan as of the link's version and the approve/reject form, or the guard's reason instead of the buttons."""
    plan = row.plan
    rows = list(ApprovalRow.objects.filter(plan=plan).select_related("user"))
    refusal, on_behalf_of = conditions.sign_refusal(row, request.user, rows=rows)
    context = {
        **plan_context(plan, link.version),
        "row": row,
        "refusal": refusal,
        "errors": list(errors),
        "comment": request.POST.get("comment", "") if request.method == "POST" else "",
        "on_behalf_of_name": display_name(on_behalf_of) if on_behalf_of else "",
        "plan_path": reverse("changeplans:plan_detail", args=[plan.pk]),
    }
    return render(request, "approvals/link_confirm.html", context, status=400 if errors else 200)
