"""Rehearsal: before the window, a dry run of every automated step of the plan (kubectl --dry-run=server,
Ansible check mode, Kubernetes API dryRun=All). Its results belong to the automation they tried: the
fingerprint of the plan's automation is kept, and approvers see whether the version they sign is the one
rehearsed.

Four eyes (runbooks/four_eyes.py): a step runs in a rehearsal only if a second person approved its current
content, or if it is safe by construction (the Kubernetes runner's dryRun=All); the worker checks it right
before each step (execution.execute_run) and records the others as skipped, with the reason."""

import hashlib
import json

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from changeplans.models import NOT_STARTED_PLAN_STATUSES, Plan
from changeplans.roles import is_administrator
from changeplans.versioning import latest_version
from common import workers
from runbooks.runs import RunRefused, describe, execute_run, is_operator

from .choices import ACTIVE_RUN_STATUSES, RunMode, RunStatus
from .four_eyes import SAFE_REHEARSAL_KINDS
from .models import AutomationRun, Rehearsal, StepAutomation


def _automations(plan_id):
    return list(
        StepAutomation.objects.filter(step__plan_id=plan_id)
        .select_related("step", "cluster")
        .order_by("step__position", "step_id")
    )


def automation_digest(plan_id, automations=None):
    """A fingerprint of everything the plan's automation would do (changes when any of it changes)."""
    automations = _automations(plan_id) if automations is None else automations
    data = [
        [a.step_id, a.step.position, a.kind, a.cluster_id, a.spec, a.params, a.timeout_seconds]
        for a in sorted(automations, key=lambda a: (a.step.position, a.step_id))
    ]
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def rehearsal_refusal(user, plan, automations):
    if not (user.is_authenticated and (user.pk == plan.author_id or is_operator(user) or is_administrator(user))):
        return _("Only the plan's author or an operator can rehearse its automation.")
    if plan.status not in NOT_STARTED_PLAN_STATUSES:
        return _("The plan is “%(status)s”: a rehearsal runs before the work.") % {"status": plan.get_status_display()}
    if not automations:
        return _("The plan has no automated steps.")
    if AutomationRun.objects.filter(plan_id=plan.pk, mode=RunMode.REHEARSAL, status__in=ACTIVE_RUN_STATUSES).exists():
        return _("A rehearsal of this plan is already running.")
    return None


@transaction.atomic
def request_rehearsal(plan_id, *, actor):
    plan = Plan.objects.select_for_update().get(pk=plan_id)
    automations = _automations(plan_id)
    refusal = rehearsal_refusal(actor, plan, automations)
    if refusal:
        raise RunRefused(refusal)
    rehearsal = Rehearsal.objects.create(
        plan=plan, version=latest_version(plan), digest=automation_digest(plan_id, automations), requested_by=actor
    )
    AutomationRun.objects.bulk_create(
        [
            AutomationRun(
                plan=plan,
                step=a.step,
                rehearsal=rehearsal,
                mode=RunMode.REHEARSAL,
                kind=a.kind,
                cluster_name=a.cluster.name if a.cluster_id else "",
                command=describe(a),
                timeout_seconds=a.timeout_seconds,
                started_by=actor,
            )
            for a in automations
        ]
    )
    transaction.on_commit(lambda: hand_over(rehearsal.pk), robust=True)
    return rehearsal


def hand_over(rehearsal_id):
    """After commit: a worker runs the rehearsal (production), or this process does (tests without a worker)."""
    workers.hand_over("runbooks.tasks.execute_rehearsal_task", execute_rehearsal, rehearsal_id)


def execute_rehearsal(rehearsal_id):
    """Dry-run each step's automation in step order; one failing step does not stop the others."""
    run_ids = list(
        AutomationRun.objects.filter(rehearsal_id=rehearsal_id, status=RunStatus.QUEUED)
        .order_by("step__position", "step_id")
        .values_list("pk", flat=True)
    )
    for run_id in run_ids:
        execute_run(run_id)
    Rehearsal.objects.filter(pk=rehearsal_id).update(finished_at=timezone.now())


def latest(plan_id):
    """The plan's latest rehearsal with its runs, and whether it rehearsed the automation as it is now."""
    rehearsal = (
        Rehearsal.objects.filter(plan_id=plan_id)
        .select_related("requested_by", "version")
        .order_by("-created_at", "-id")
        .first()
    )
    if rehearsal is None:
        return None
    runs = list(rehearsal.runs.select_related("step").order_by("step__position", "step_id"))
    current = automation_digest(plan_id)
    counts = {}
    for run in runs:
        counts[run.status] = counts.get(run.status, 0) + 1
    # Skipped for want of a second person's approval (four_eyes.run_gate): nothing of it was tried, so the
    # rehearsal did not pass.
    unapproved = [
        run
        for run in runs
        if run.status == RunStatus.SKIPPED and run.approval_id is None and run.kind not in SAFE_REHEARSAL_KINDS
    ]
    return {
        "rehearsal": rehearsal,
        "runs": runs,
        "matches": rehearsal.digest == current,
        "running": any(run.status in ACTIVE_RUN_STATUSES for run in runs),
        "unapproved": len(unapproved),
        "ok": bool(runs)
        and not unapproved
        and all(run.status in (RunStatus.SUCCEEDED, RunStatus.SKIPPED) for run in runs),
        "counts": counts,
    }
