"""The editor of one step's automation (kind, cluster, spec, parameters, timeout, start at planned time).

Who may edit the plan may edit its automation, only while the plan is editable. A saved change is an
edit of the plan: a history event naming the step, and under sign-off a new version that resets the
approvals (runbooks/versioning.py puts the automation into the version).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from changeplans import versioning as plan_versioning
from changeplans.choices import EventKind
from changeplans.models import Plan, Step
from changeplans.permissions import edit_refusal
from changeplans.history import record_event

from .automation_forms import StepAutomationForm, preview
from .models import StepAutomation
from .versioning import automation_text


# --- operations (views, tests and the API call these; each is one transaction) --------------------

def _lock(plan_id, step_id, actor):
    # The plan row is the lock every plan edit takes (changeplans.services): edits of one plan queue up.
    plan = Plan.objects.select_for_update().get(pk=plan_id)
    refusal = edit_refusal(actor, plan)
    if refusal:
        raise PermissionDenied(refusal)
    step = Step.objects.get(pk=step_id, plan=plan)
    automation = StepAutomation.objects.select_related("cluster").filter(step=step).first()
    return plan, step, automation


def _finish_edit(plan, step, *, actor, before, after):
    record_event(plan, actor=actor, kind=EventKind.EDITED, obj=step, comment=_("Automation of step %(n)s “%(name)s”") % {"n": step.position, "name": step.name},
                 changes={"automation": [before, after]})
    Plan.objects.filter(pk=plan.pk).update(revision=F("revision") + 1)
    plan_versioning.after_edit(plan, actor=actor)


@transaction.atomic
def save_step_automation(plan_id, step_id, *, actor, data):
    """Create or change the step's automation from a StepAutomationForm's cleaned data."""
    plan, step, automation = _lock(plan_id, step_id, actor)
    before = automation_text(automation) if automation else ""
    automation = automation or StepAutomation(step=step)
    automation.kind = data["kind"]
    automation.cluster = data.get("cluster")
    automation.spec = data["spec"]
    automation.params = data.get("params") or {}
    automation.timeout_seconds = data["timeout_seconds"]
    automation.start_at_planned_time = bool(data.get("start_at_planned_time"))
    after = automation_text(automation)
    if before != after or automation.pk is None:
        # Who last saved the content may not be its second pair of eyes (runbooks/four_eyes.py).
        automation.updated_by, automation.updated_at = actor, timezone.now()
    automation.save()
    if before != after:
        _finish_edit(plan, step, actor=actor, before=before, after=after)
    return automation


@transaction.atomic
def delete_step_automation(plan_id, step_id, *, actor):
    plan, step, automation = _lock(plan_id, step_id, actor)
    if automation is None:
        return False
    before = automation_text(automation)
    automation.delete()
    _finish_edit(plan, step, actor=actor, before=before, after="")
    return True


# --- the page ---------------------------------------------------------------------------------------

@login_required
def step_automation(request, plan_id, step_id):
    """GET: the form (read-only for who may not edit). POST: save; POST with "delete": remove it."""
    step = get_object_or_404(Step.objects.select_related("plan"), pk=step_id, plan_id=plan_id)
    plan = step.plan
    automation = StepAutomation.objects.select_related("cluster").filter(step=step).first()
    refusal = edit_refusal(request.user, plan)
    plan_url = reverse("changeplans:plan_detail", args=[plan.pk]) + f"#step-{step.pk}"
    status = 200
    if request.method == "POST":
        if refusal:
            raise PermissionDenied(refusal)
        if "delete" in request.POST:
            if delete_step_automation(plan.pk, step.pk, actor=request.user):
                messages.success(request, _("The automation of step %(n)s is deleted.") % {"n": step.position})
            return redirect(plan_url)
        form = StepAutomationForm(request.POST)
        if form.is_valid():
            automation = save_step_automation(plan.pk, step.pk, actor=request.user, data=form.cleaned_data)
            messages.success(request, _("The automation of step %(n)s is saved.") % {"n": step.position})
            return redirect(reverse("automation_editor:step_automation", args=[plan.pk, step.pk]))
        status = 422
        line = form.preview
    else:
        form = StepAutomationForm(initial=StepAutomationForm.initial_for(automation))
        line = preview(automation.kind, automation.spec, automation.params) if automation else ""
    if refusal:
        for field in form.fields.values():
            field.disabled = True
    context = {
        "plan": plan, "step": step, "automation": automation, "form": form, "preview": line,
        "refusal": refusal, "can_edit": refusal is None, "plan_url": plan_url,
    }
    return render(request, "runbooks/automation_edit.html", context, status=status)
