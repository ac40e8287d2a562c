"""The editor of one step's automation (kind, cluster, spec, parameters, timeout, start at planned time).

The page only: saving and deleting are runbooks/services.py. The form carries the plan revision and the
automation stamp it was opened at; a save over someone else's newer change answers 409 with what the
user typed kept and their version shown, like the cell editor of the step table.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from changeplans import versioning
from changeplans.models import Step
from changeplans.permissions import edit_refusal
from changeplans.services import EditConflict

from . import services
from .automation_forms import OpenedAtForm, StepAutomationForm, preview


@login_required
def step_automation(request: HttpRequest, plan_id: int, step_id: int) -> HttpResponse:
    """GET: the form (read-only for who may not edit). POST: save; POST with "delete": remove it."""
    step = get_object_or_404(Step.objects.select_related("plan"), pk=step_id, plan_id=plan_id)
    plan = step.plan
    automation = services.current_automation(step.pk)
    refusal = edit_refusal(request.user, plan)
    plan_url = reverse("changeplans:plan_detail", args=[plan.pk]) + f"#step-{step.pk}"
    status, conflict, reset = 200, None, None
    if request.method == "POST":
        if refusal:
            raise PermissionDenied(refusal)
        form = StepAutomationForm(request.POST)
        try:
            with versioning.confirm_resets(request.POST.get("confirm_reset") == "1"):
                response = _save_or_delete(request, plan, step, form, plan_url)
            if response is not None:
                return response
            status = 422
        except versioning.ResetNotConfirmed as exc:
            # Nothing is saved: the page comes back with what the user typed and asks (templates: reset_question).
            form.is_valid()
            status, reset = 409, {"question": str(exc), "delete": "delete" in request.POST}
        except EditConflict as exc:
            # Keep what the user typed; the new revision and stamp let a second save overwrite deliberately.
            automation = services.current_automation(step.pk)
            data = request.POST.copy()
            data["revision"], data["original"] = str(exc.current.revision), services.automation_stamp(automation)
            form = StepAutomationForm(data)
            form.is_valid()
            theirs = preview(automation.kind, automation.spec, automation.params) if automation else ""
            status, conflict = 409, {"error": exc, "theirs": theirs}
        line = form.preview
    else:
        initial = {
            **StepAutomationForm.initial_for(automation),
            "revision": plan.revision,
            "original": services.automation_stamp(automation),
        }
        form = StepAutomationForm(initial=initial)
        line = preview(automation.kind, automation.spec, automation.params) if automation else ""
    if refusal:
        for field in form.fields.values():
            field.disabled = True
    context = {
        "plan": plan,
        "step": step,
        "automation": automation,
        "form": form,
        "preview": line,
        "conflict": conflict,
        "reset": reset,
        "refusal": refusal,
        "can_edit": refusal is None,
        "plan_url": plan_url,
    }
    return render(request, "runbooks/automation_edit.html", context, status=status)


def _save_or_delete(request, plan, step, form, plan_url):
    """The redirect after a save or a delete, or None when the form has errors (the page shows them)."""
    if "delete" in request.POST:
        opened = OpenedAtForm(request.POST)
        if opened.is_valid():
            if services.delete_step_automation(plan.pk, step.pk, actor=request.user, **opened.cleaned_data):
                messages.success(request, _("The automation of step %(n)s is deleted.") % {"n": step.position})
            return redirect(plan_url)
        form.is_valid()  # shows why (an editor page from before the revision was carried)
        return None
    if not form.is_valid():
        return None
    services.save_step_automation(
        plan.pk,
        step.pk,
        actor=request.user,
        data=form.cleaned_data,
        revision=form.cleaned_data["revision"],
        original=form.cleaned_data["original"],
    )
    messages.success(request, _("The automation of step %(n)s is saved.") % {"n": step.position})
    return redirect(reverse("automation_editor:step_automation", args=[plan.pk, step.pk]))
