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
    context = {"plan": plan, "link_version": link_version, "current": current.number if current else None, "diff_url": links.diff_path(plan.pk)}
    return render(request, "approvals/link_stale.html", context, status=409)


@never_cache
@require_http_methods(["GET", "POST"])
def sign_link(request, token):
    try:
        link = links.read_token(token)
    except links.ExpiredLink:
        return _message(request, status=410, title=_("The link has expired"),
                        text=_("Sign-off links are valid for a limited time. Open the plan in Okno and decide there."))
    except links.BadLink:
        return _message(request, status=400, title=_("The link is not valid"),
                        text=_("The link is damaged or incomplete. Copy the whole link from the e-mail, or open the plan in Okno."))
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())

    row = ApprovalRow.objects.select_related("plan__author", "plan__curator", "user", "decided_by", "on_behalf_of", "version").filter(pk=link.row_id).first()
    if row is None:
        return _message(request, status=404, title=_("The link is not valid"), text=_("This sign-off row no longer exists."))
    plan = row.plan
    if request.user.pk != link.user_id:
        link_user = get_user_model().objects.filter(pk=link.user_id).first()
        if request.method == "POST":
            links.record_foreign_use(row.pk, actor=request.user, link_user=link_user)
        return _message(request, status=403, title=_("This link is for another person"),
                        text=_("The link was sent to %(name)s. Sign in as yourself and open your own link or your inbox.") % {"name": display_name(link_user) or "—"})

    with timezone.override(plan.tz):
        if row.is_decided:
            return render(request, "approvals/link_message.html", {
                "title": _("Already decided"), "plan": plan, "row": row,
                "text": _("This row was decided by %(who)s on %(when)s; the link works only once.") % {
                    "who": display_name(row.decided_by) or row.person_name,
                    "when": timezone.localtime(row.decided_at).strftime("%d.%m.%Y %H:%M") if row.decided_at else "—",
                },
            }, status=409)
        current = latest_version(plan)
        if current is None or current.number != link.version:
            return _stale(request, plan, link.version, current)

        comment = request.POST.get("comment", "") if request.method == "POST" else ""
        errors = []
        if request.method == "POST":
            decision = request.POST.get("decision")
            try:
                if decision == "approve":
                    services.approve_row(row.pk, actor=request.user, version=link.version, comment=comment, via="email")
                elif decision == "reject":
                    services.reject_row(row.pk, actor=request.user, version=link.version, comment=comment, via="email")
                else:
                    raise ValidationError(_("Choose to approve or to reject."))
            except services.StaleVersion:
                return _stale(request, plan, link.version, latest_version(plan))
            except PermissionDenied as refused:  # recorded in the plan's history by the service
                return _message(request, status=403, plan=plan, title=_("You cannot sign this row"),
                                text=getattr(refused, "reason", None) or str(refused))
            except ValidationError as invalid:
                errors = invalid.messages
            else:
                row.refresh_from_db()
                return render(request, "approvals/link_done.html", {"plan": plan, "row": row, "plan_url": reverse("changeplans:plan_detail", args=[plan.pk])})

        rows = list(ApprovalRow.objects.filter(plan=plan).select_related("user"))
        refusal, on_behalf_of = conditions.sign_refusal(row, request.user, rows=rows)
        context = {
            **plan_context(plan, link.version), "row": row, "refusal": refusal, "comment": comment, "errors": errors,
            "on_behalf_of_name": display_name(on_behalf_of) if on_behalf_of else "",
            "plan_path": reverse("changeplans:plan_detail", args=[plan.pk]),
        }
        return render(request, "approvals/link_confirm.html", context, status=400 if errors else 200)
