"""Standard changes (docs/change-types.md, "Standard"): an administrator pre-approves one runbook version.

- Marking: `mark_standard` / `unmark_standard` (runbook page and admin), each kept in StandardMarking. A new
  version of the runbook is not standard until marked again (Runbook.standard_version points to the version).
  Whoever saved the version cannot mark it: the marking is the second pair of eyes on its content.
- A plan made from the marked version (runbooks.instantiate) is STANDARD, its matrix one acknowledgement row
  for the duty officers' group, and PlanOrigin.standard_fingerprint holds `fingerprint(plan)` as made.
- The fingerprint covers what the work is: each step's kind, texts, executor, duration, risks, rollback
  actions and automation (runner, cluster, spec, parameters, timeout), in order. Not the planned dates and
  times (they follow the window), Jira keys, comments or the header.
- Submitting (`on_submit`, an approvals.services.submit_hooks hook) and every new version of a plan under
  sign-off (`on_new_version`) check `standard_problem`: a plan whose steps changed, or whose runbook's
  marking was withdrawn or moved to another version, becomes NORMAL (recorded as KIND_CHANGED) and needs
  approvers; one under sign-off goes back to its author.
- Automation (four eyes, runbooks.four_eyes): when a standard plan is approved, the marking administrator's
  approval of the version covers its automation content, recorded as a sign-off approval
  (`approve_standard_automation`). A plan whose automation differs is not standard, so it never gets it.
"""

import functools
import hashlib
import json
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from approvals import conditions, waiting
from approvals.choices import ApprovalStatus, RowKind
from approvals.models import ApprovalRow
from approvals.services import KeptRefusal
from changeplans import services as plan_services
from changeplans.choices import EventKind, PlanKind, PlanStatus, Role
from changeplans.history import record_event
from changeplans.models import Plan, PlanVersion, RollbackAction, Step
from changeplans.roles import display_name, is_administrator, is_service_account

from .models import ApprovalVia, AutomationApproval, PlanOrigin, Runbook, RunbookVersion, StandardMarking

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User


# --- the fingerprint ------------------------------------------------------------------------------------


def _steps(plan_id: int) -> list[Step]:
    """The plan's steps with all the fingerprint reads: four queries whatever the plan's size."""
    return list(
        Step.objects.filter(plan_id=plan_id)
        .select_related("executor", "automation")
        .prefetch_related(
            "risks",
            Prefetch("rollback_actions", queryset=RollbackAction.objects.order_by("position", "id")),
            "rollback_actions__risks",
        )
        .order_by("position", "id")
    )


def _step_content(step: Step) -> dict[str, Any]:
    automation = getattr(step, "automation", None)
    return {
        "kind": step.kind,
        "name": step.name,
        "description": step.description,
        "expected_result": step.expected_result,
        "risk_mitigation": step.risk_mitigation,
        "affected_systems": step.affected_systems,
        "planned_downtime": step.planned_downtime,
        "executor": step.executor.name if step.executor else "",
        "duration": step.duration_text,
        "no_rollback_needed": step.no_rollback_needed,
        "risks": [[risk.number, risk.description, risk.mitigation] for risk in step.risks.all()],
        "rollback": [
            [action.text, sorted(risk.number for risk in action.risks.all())] for action in step.rollback_actions.all()
        ],
        "automation": None
        if automation is None
        else {
            "kind": automation.kind,
            "cluster": automation.cluster_id,
            "spec": automation.spec,
            "params": automation.params or {},
            "timeout": automation.timeout_seconds,
            "start_at_planned_time": automation.start_at_planned_time,
        },
    }


def fingerprint(plan: Plan) -> str:
    """SHA-256 of the plan's steps as they matter for a standard change (see the module's docstring)."""
    content = [_step_content(step) for step in _steps(plan.pk)]
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# --- is the plan still a standard change --------------------------------------------------------------


def _origin(plan: Plan) -> PlanOrigin | None:
    return (
        PlanOrigin.objects.filter(plan_id=plan.pk)
        .select_related("runbook_version__runbook__standard_version", "runbook_version__runbook__standard_marked_by")
        .first()
    )


def origin_problem(origin: PlanOrigin | None) -> str | None:
    """Why the plan's origin no longer makes it a standard change, without looking at its steps; None: it does."""
    if origin is None or not origin.standard_fingerprint:
        return _("the plan was not made from a runbook version marked as a standard change.")
    runbook = origin.runbook_version.runbook
    if runbook.standard_version is None:
        return _("the standard marking of runbook “%(title)s” was withdrawn.") % {"title": runbook.display_title}
    if runbook.standard_version_id != origin.runbook_version_id:
        return _(
            "runbook “%(title)s” is now standard in version %(new)d, not in version %(old)d the plan came from."
        ) % {
            "title": runbook.display_title,
            "new": runbook.standard_version.number,
            "old": origin.runbook_version.number,
        }
    return None


def standard_problem(plan: Plan, origin: PlanOrigin | None = None) -> str | None:
    """Why `plan` is not (any more) a standard change; None when it still is one."""
    origin = origin if origin is not None else _origin(plan)
    problem = origin_problem(origin)
    if problem:
        return problem
    assert origin is not None
    if fingerprint(plan) != origin.standard_fingerprint:
        return _("its steps were changed after it was made from the runbook.")
    return None


def _downgrade(plan_id: int, actor: "User | None", problem: str) -> Plan:
    reason = _("Not a standard change any more: %(problem)s") % {"problem": problem}
    return plan_services.change_plan_kind(plan_id, actor=actor, kind=PlanKind.NORMAL, reason=reason)


def _sync_kind(plan: Plan, changed: Plan) -> None:
    """The caller's locked plan object gets the kind (and revision) the downgrade wrote, so its save keeps them."""
    plan.kind, plan.revision, plan.updated_at = changed.kind, changed.revision, changed.updated_at


def on_submit(plan: Plan, rows: list[ApprovalRow], actor: "User") -> None:
    """approvals.services.submit_hooks: a standard plan that is not one any more is submitted as a normal change."""
    if plan.kind != PlanKind.STANDARD:
        return
    problem = standard_problem(plan)
    if problem is None:
        return
    _sync_kind(plan, _downgrade(plan.pk, actor, problem))
    refusal = conditions.submit_refusal(plan, rows)
    if refusal:
        # the refusal rolls the submit back; the plan stays normal all the same (KeptRefusal)
        raise KeptRefusal(
            _(
                "This is no longer a standard change: %(problem)s It is now a normal change, which needs approvers:"
                " add them to the sign-off matrix or apply a matrix template. (%(refusal)s)"
            )
            % {"problem": problem, "refusal": refusal},
            keep=functools.partial(_downgrade, plan.pk, actor, problem),
        )


def on_new_version(plan: Plan, version: PlanVersion, actor: "User") -> None:
    """changeplans.versioning.on_new_version: a standard plan under sign-off whose steps changed becomes normal and
    goes back to its author (it has no approvers: the acknowledgement alone must not approve it)."""
    if plan.kind != PlanKind.STANDARD or plan.status not in (PlanStatus.IN_REVIEW, PlanStatus.APPROVED):
        return
    problem = standard_problem(plan)
    if problem is None:
        return
    rows = list(ApprovalRow.objects.select_for_update(of=("self",)).filter(plan=plan).order_by("position"))
    before = plan.status
    if plan.status == PlanStatus.APPROVED:
        plan.return_to_review()
    plan.reject()
    plan.save()
    record_event(
        plan,
        actor=actor,
        kind=EventKind.TRANSITION,
        from_status=before,
        to_status=plan.status,
        comment=_(
            "Not a standard change any more: %(problem)s The plan goes back to its author: add approvers and submit"
            " it again as a normal change."
        )
        % {"problem": problem},
    )
    waiting.sync(plan, rows)
    _sync_kind(plan, _downgrade(plan.pk, actor, problem))


# --- the light matrix and the automation approval --------------------------------------------------------


def add_duty_acknowledgement(plan: Plan) -> ApprovalRow:
    """A standard plan's matrix: the duty officers' acknowledgement (any member of the group acknowledges)."""
    group, _created = Group.objects.get_or_create(name=Role.DUTY_OFFICER.value)
    # The status is a protected FSM field: given at construction.
    return ApprovalRow.objects.create(
        plan=plan,
        position=1,
        kind=RowKind.ACKNOWLEDGEMENT,
        person_name=str(Role.DUTY_OFFICER.label),
        group=group,
        status=ApprovalStatus.NOT_ACKNOWLEDGED,
    )


def approve_standard_automation(plan: Plan, version: PlanVersion, rows: list[ApprovalRow], actor: "User") -> None:
    """approvals.services.on_plan_approved: a standard plan approved with its steps as made from the marked version
    carries that version's automation, which the marking administrator approved (unless they wrote the plan)."""
    from . import four_eyes

    if plan.kind != PlanKind.STANDARD:
        return
    origin = _origin(plan)
    if origin is None or standard_problem(plan, origin):
        return
    runbook = origin.runbook_version.runbook
    marker = runbook.standard_marked_by
    if marker is None:
        return
    for automation in four_eyes._automations(plan.pk):
        if marker.pk in four_eyes.writer_ids(automation, plan):
            continue
        digest = four_eyes.content_hash(automation)
        if AutomationApproval.objects.filter(
            automation=automation, content_hash=digest, via=ApprovalVia.SIGN_OFF
        ).exists():
            continue
        approval = AutomationApproval.objects.create(
            automation=automation,
            content_hash=digest,
            via=ApprovalVia.SIGN_OFF,
            approved_by=marker,
            signers=(
                _("%(name)s: runbook “%(title)s” v%(number)d marked as a standard change")
                % {
                    "name": display_name(marker),
                    "title": runbook.display_title,
                    "number": origin.runbook_version.number,
                }
            )[:1000],
            version=version,
        )
        record_event(
            plan,
            actor=actor,
            kind=EventKind.TRANSITION,
            obj=approval,
            to_status=four_eyes.ApprovalState.APPROVED,
            comment=_("Step %(n)s: approved by the standard marking of runbook version %(v)d, fingerprint %(hash)s")
            % {"n": automation.step.position, "v": origin.runbook_version.number, "hash": digest[:12]},
        )


# --- marking -----------------------------------------------------------------------------------------------


def mark_refusal(
    user: "AbstractBaseUser | AnonymousUser", runbook: Runbook, version: RunbookVersion | None
) -> str | None:
    """Why `user` may not mark `version` (the runbook's current one) as a standard change now; None when they may."""
    if not is_administrator(user):
        return _("Only an administrator marks a runbook as a standard change.")
    if is_service_account(user):
        return _("A service account cannot mark a standard change: a person does.")
    if runbook.archived:
        return _("The runbook is archived.")
    if version is None:
        return _("The runbook has no versions.")
    if runbook.standard_version_id == version.pk:
        return _("Version %(n)d is already marked as a standard change.") % {"n": version.number}
    if version.created_by_id == user.pk:
        return _("You saved version %(n)d: another administrator marks it as a standard change.") % {
            "n": version.number
        }
    return None


def unmark_refusal(user: "AbstractBaseUser | AnonymousUser", runbook: Runbook) -> str | None:
    if not is_administrator(user):
        return _("Only an administrator withdraws a standard change marking.")
    if runbook.standard_version_id is None:
        return _("The runbook is not marked as a standard change.")
    return None


def _clean_comment(comment: str) -> str:
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError({"comment": _("Give a reason: it is kept in the runbook's marking history.")})
    return comment


@transaction.atomic
def mark_standard(runbook_id: int, *, actor: "User", number: int, comment: str) -> StandardMarking:
    """Mark version `number` (it must be the current one: what the administrator looked at) as a standard change."""
    runbook = Runbook.objects.select_for_update().get(pk=runbook_id)
    version = runbook.versions.order_by("-number").first()
    refusal = mark_refusal(actor, runbook, version)
    if refusal:
        raise PermissionDenied(refusal)
    assert version is not None
    if version.number != number:
        raise ValidationError(
            _("The runbook has a newer version (%(n)d) than the one you looked at: look at it and mark it again.")
            % {"n": version.number}
        )
    comment = _clean_comment(comment)
    runbook.standard_version, runbook.standard_marked_by, runbook.standard_marked_at = version, actor, timezone.now()
    runbook.save(update_fields=["standard_version", "standard_marked_by", "standard_marked_at"])
    return StandardMarking.objects.create(runbook=runbook, version=version, marked=True, actor=actor, comment=comment)


@transaction.atomic
def unmark_standard(runbook_id: int, *, actor: "User", comment: str) -> StandardMarking:
    """Withdraw the marking: plans made from it are submitted as normal changes from now on."""
    runbook = Runbook.objects.select_for_update().get(pk=runbook_id)
    refusal = unmark_refusal(actor, runbook)
    if refusal:
        raise PermissionDenied(refusal)
    comment = _clean_comment(comment)
    version = runbook.standard_version
    assert version is not None
    runbook.standard_version = runbook.standard_marked_by = runbook.standard_marked_at = None
    runbook.save(update_fields=["standard_version", "standard_marked_by", "standard_marked_at"])
    return StandardMarking.objects.create(runbook=runbook, version=version, marked=False, actor=actor, comment=comment)


def plan_state(plan: Plan) -> dict[str, Any] | None:
    """What the plan page tells the author about a standard change; None for other plans."""
    if plan.kind != PlanKind.STANDARD:
        return None
    origin = _origin(plan)
    problem = standard_problem(plan, origin)
    return {
        "origin": origin,
        "runbook": origin.runbook_version.runbook if origin else None,
        "problem": problem,
    }
