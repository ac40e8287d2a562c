"""Operations on a step's automation. Views, tests and the demo call these; each is one transaction.

Who may edit the plan may edit its automation, only while the plan is editable. A saved change is an
edit of the plan (changeplans.services.edit_plan_part): a history event naming the step, a new plan
revision, and under sign-off a new version that resets the approvals (runbooks/versioning.py puts the
automation into the version). An editor opened before someone else saved the automation is refused
with EditConflict instead of overwriting their change.
"""

import hashlib
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.translation import gettext as _

from changeplans.models import Plan, Step
from changeplans.services import PlanPartEdit, edit_plan_part

from .models import StepAutomation
from .versioning import automation_text


def current_automation(step_id: int) -> StepAutomation | None:
    return StepAutomation.objects.select_related("cluster").filter(step_id=step_id).first()


def automation_stamp(automation: StepAutomation | None) -> str:
    """The automation as the editor shows it, as a fingerprint (empty: no automation): the editor carries
    the stamp it was opened with, and a save conflicts only if the automation itself changed since."""
    if automation is None:
        return ""
    return hashlib.sha256(automation_text(automation).encode()).hexdigest()


def _read_step(step_id: int) -> Callable[[Plan], tuple[Step, str]]:
    def read(plan: Plan) -> tuple[Step, str]:
        step = Step.objects.get(pk=step_id, plan=plan)
        return step, automation_stamp(current_automation(step_id))

    return read


def _changed(edit: PlanPartEdit[Step], *, before: str, after: str) -> None:
    step = edit.owner
    comment = _("Automation of step %(n)s “%(name)s”") % {"n": step.position, "name": step.name}
    edit.changed(comment=comment, changes={"automation": [before, after]})


def save_step_automation(
    plan_id: int,
    step_id: int,
    *,
    actor: User,
    data: dict[str, Any],
    revision: int | None = None,
    original: str | None = None,
) -> StepAutomation:
    """Create or change the step's automation from a StepAutomationForm's cleaned data.

    `revision` and `original`: the plan revision and automation stamp the editor was opened at
    (EditConflict when someone else changed the automation since); None for a script's save.
    """
    with edit_plan_part(plan_id, actor=actor, read=_read_step(step_id), revision=revision, original=original) as edit:
        automation = current_automation(step_id)
        before = automation_text(automation) if automation else ""
        automation = automation or StepAutomation(step=edit.owner)
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
            _changed(edit, before=before, after=after)
    return automation


def delete_step_automation(
    plan_id: int,
    step_id: int,
    *,
    actor: User,
    revision: int | None = None,
    original: str | None = None,
) -> bool:
    """Remove the step's automation; False when it has none. `revision`, `original`: as for saving."""
    with edit_plan_part(plan_id, actor=actor, read=_read_step(step_id), revision=revision, original=original) as edit:
        automation = current_automation(step_id)
        if automation is None:
            return False
        before = automation_text(automation)
        automation.delete()
        _changed(edit, before=before, after="")
    return True


def copy_automation(source: Plan, copy: Plan, step_ids: dict[int, int]) -> None:
    """changeplans.services.on_plan_copied: the copied steps get the same automation, never its approvals.

    An approval covers content someone checked on one plan; the copy's author saves it as theirs, and a
    second person approves it again (four_eyes) before a rehearsal or the copy's sign-off runs it.
    """
    copies = [
        StepAutomation(
            step_id=step_ids[automation.step_id],
            kind=automation.kind,
            cluster_id=automation.cluster_id,
            spec=automation.spec,
            params=automation.params,
            timeout_seconds=automation.timeout_seconds,
            start_at_planned_time=automation.start_at_planned_time,
            updated_by=copy.author,
            updated_at=timezone.now(),
        )
        for automation in StepAutomation.objects.filter(step__plan=source)
        if automation.step_id in step_ids
    ]
    StepAutomation.objects.bulk_create(copies)
