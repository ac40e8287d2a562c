"""The plan page's Jira parts (changeplans.jira, docs/jira.md): cached summaries and statuses, never a Jira call."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from . import jira
from .models import Plan, Step
from .permissions import can_view_plan

TRIES = 5  # while issues are still being fetched, the part asks again this many times (2 s apart), then waits


@login_required
@require_GET
def plan_jira(request: HttpRequest, pk: int) -> HttpResponse:
    """`?part=plan`: the plan's issue, next to its link; otherwise the table of the steps' issues."""
    if not jira.enabled():
        return HttpResponse("")
    plan = Plan.objects.filter(pk=pk).only("pk", "jira_url").first()
    if plan is None:
        raise Http404(_("There is no such plan."))
    if not can_view_plan(request.user, plan):
        raise PermissionDenied
    tries = min(int(request.GET["try"]) if request.GET.get("try", "").isdigit() else 0, TRIES)
    if request.GET.get("part") == "plan":
        key = jira.plan_key(plan.jira_url)
        keys = [key] if key else []
        template = "changeplans/inc/jira_plan_issue.html"
        items = []
    else:
        steps = Step.objects.filter(plan_id=pk).exclude(jira_key="").order_by("position", "id")
        items = [
            (position, key)
            for position, text in steps.values_list("position", "jira_key")[: jira.MAX_KEYS]
            if (key := jira.normalize_key(text))
        ]
        if not items:
            return HttpResponse("")
        keys = [key for _position, key in items]
        template = "changeplans/inc/jira_issues.html"
    found = jira.issues_for_page(keys)
    pending = any(key not in found for key in keys)
    context = {
        "plan": plan,
        "issue": found.get(keys[0]) if keys and not items else None,
        "key": keys[0] if keys else "",
        "rows": [(position, key, jira.browse_url(key), found.get(key)) for position, key in items],
        "next_try": tries + 1 if pending and tries < TRIES else None,
    }
    return render(request, template, context)
