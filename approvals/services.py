"""Every sign-off operation: submit, approve, reject, acknowledge, reset on a new version, templates.

Each locks the plan row first (then its matrix rows), so an edit that makes a new version and an
approval of the old one are serialised: the plan is never approved on a version someone did not see.
"""

import functools
from collections.abc import Callable, Iterable
from typing import NoReturn, ParamSpec, TypeVar

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from changeplans import versioning
from changeplans.choices import EventKind, PlanStatus
from changeplans.history import record_event
from changeplans.models import Plan, PlanVersion

from . import conditions
from .choices import ApprovalStatus, RowKind
from .models import ApprovalRow, MatrixTemplate

P = ParamSpec("P")
R = TypeVar("R")
# A guard of a decision: (row, the plan's rows) -> (refusal or None, the principal signed for or None).
Guard = Callable[[ApprovalRow, list[ApprovalRow]], tuple[str | None, User | None]]

# Called after commit with (event, plan_id, row_ids): the notifications layer registers e-mail sending here.
listeners: list[Callable[[str, int, list[int]], object]] = []
# Called inside the transaction with (plan, version, rows, actor) when the plan reaches APPROVED: runbooks
# records that the signers approved the automation content of that version (four eyes on code).
on_plan_approved: list[Callable[[Plan, PlanVersion, list[ApprovalRow], User], object]] = []


def _notify(event: str, plan_id: int, row_ids: Iterable[int] = ()) -> None:
    ids = list(row_ids)
    for listener in listeners:
        transaction.on_commit(functools.partial(listener, event, plan_id, list(ids)))


class StaleVersion(Exception):
    """The approver looked at an older version than the current one."""


def _lock(plan_id: int) -> tuple[Plan, list[ApprovalRow]]:
    plan = Plan.objects.select_for_update().get(pk=plan_id)
    rows = list(
        ApprovalRow.objects.select_for_update(of=("self",))
        .filter(plan=plan)
        .select_related("user")
        .order_by("position")
    )
    return plan, rows


class Refused(PermissionDenied):
    """A refused sign-off attempt; recorded after the attempt's transaction has rolled back."""

    def __init__(self, plan_id: int, row_id: int, actor: User, reason: str, via: str) -> None:
        super().__init__(reason)
        self.plan_id, self.row_id, self.actor, self.reason, self.via = plan_id, row_id, actor, reason, via


def _refuse(plan: Plan, actor: User, row: ApprovalRow, reason: str, via: str) -> NoReturn:
    raise Refused(plan.pk, row.pk, actor, reason, via)


def records_refusals(function: Callable[P, R]) -> Callable[P, R]:
    """Run a sign-off service; a refusal (self-approval, someone else's row …) is written to the history."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except Refused as refused:
            with transaction.atomic():
                plan = Plan.objects.get(pk=refused.plan_id)
                row = ApprovalRow.objects.get(pk=refused.row_id)
                record_event(
                    plan,
                    actor=refused.actor,
                    kind=EventKind.REFUSED,
                    obj=row,
                    comment=f"{refused.reason} ({refused.via})",
                )
            raise

    return wrapper


@transaction.atomic
def apply_template(plan_id: int, *, actor: User, template_id: int) -> None:
    """Replace the plan's matrix with a template's rows (the author adjusts them afterwards)."""
    plan, rows = _lock(plan_id)
    if plan.status not in (PlanStatus.DRAFT, PlanStatus.REJECTED):
        raise ValidationError(_("The matrix of a plan under sign-off cannot be replaced."))
    if not conditions.prepares_plan(actor, plan):
        raise PermissionDenied(_("Only the author of the plan can edit it."))
    template = MatrixTemplate.objects.get(pk=template_id)
    ApprovalRow.objects.filter(plan=plan).delete()
    for row in template.rows.all():
        ApprovalRow.objects.create(
            plan=plan,
            position=row.position,
            stage=row.stage,
            kind=row.kind,
            job_title=row.job_title,
            person_name=row.person_name,
            user=row.user,
            group=row.group,
            status=ApprovalStatus.NOT_ACKNOWLEDGED if row.kind == RowKind.ACKNOWLEDGEMENT else ApprovalStatus.PENDING,
        )
    record_event(
        plan,
        actor=actor,
        kind=EventKind.EDITED,
        comment=_("Sign-off matrix from template “%(name)s”") % {"name": template.name},
    )


@transaction.atomic
def submit_plan(plan_id: int, *, actor: User) -> PlanVersion:
    """The author (or an administrator) sends the plan for sign-off: it freezes a version and tells the open stage."""
    plan, rows = _lock(plan_id)
    if not conditions.prepares_plan(actor, plan):
        raise PermissionDenied(_("Only the author submits the plan."))
    refusal = conditions.submit_refusal(plan, rows)
    if refusal:
        raise ValidationError(refusal)
    before = plan.status
    if plan.status == PlanStatus.REJECTED:
        plan.rework()
    plan.submit()
    plan.save()
    version = versioning.freeze_version(plan, actor=actor)
    _reset_rows(rows)
    record_event(
        plan,
        actor=actor,
        kind=EventKind.TRANSITION,
        from_status=before,
        to_status=plan.status,
        comment=_("Submitted as version %(n)d") % {"n": version.number},
    )
    _notify("submitted", plan.pk, [row.pk for row in _rows_to_ask(rows)])
    return version


def _rows_to_ask(rows: list[ApprovalRow]) -> list[ApprovalRow]:
    stage = conditions.open_stage(rows)
    return [
        row
        for row in rows
        if (row.kind == RowKind.APPROVAL and row.status == ApprovalStatus.PENDING and row.stage == stage)
        or (row.kind == RowKind.ACKNOWLEDGEMENT and row.status == ApprovalStatus.NOT_ACKNOWLEDGED)
    ]


def _reset_rows(rows: list[ApprovalRow]) -> None:
    for row in rows:
        changed = False
        if row.status in (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED):
            row.reset()
            changed = True
        elif row.status == ApprovalStatus.ACKNOWLEDGED:
            row.reset_acknowledgement()
            changed = True
        if changed or row.decided_at:
            row.decided_at = row.decided_by = row.on_behalf_of = row.version = None
            row.save()


def reset_for_new_version(plan: Plan, version: PlanVersion, actor: User) -> None:
    """A material edit: every signature covers the whole plan, so every decided row is reset."""
    rows = list(
        ApprovalRow.objects.select_for_update(of=("self",))
        .filter(plan=plan)
        .select_related("user")
        .order_by("position")
    )
    touched = [row for row in rows if row.is_decided]
    for row in touched:
        record_event(
            plan,
            actor=actor,
            kind=EventKind.TRANSITION,
            obj=row,
            from_status=row.status,
            to_status=ApprovalStatus.NOT_ACKNOWLEDGED
            if row.kind == RowKind.ACKNOWLEDGEMENT
            else ApprovalStatus.PENDING,
            comment=_("Reset by version %(n)d") % {"n": version.number},
        )
    _reset_rows(rows)
    if plan.status == PlanStatus.APPROVED:
        plan.return_to_review()
        plan.save()
        record_event(
            plan,
            actor=actor,
            kind=EventKind.TRANSITION,
            from_status=PlanStatus.APPROVED,
            to_status=plan.status,
            comment=_("Version %(n)d changes the approved plan") % {"n": version.number},
        )
    _notify("new_version", plan.pk, [row.pk for row in _rows_to_ask(rows)])


def _current_version(plan: Plan, seen_version: int) -> PlanVersion:
    version = versioning.latest_version(plan)
    if version is None or version.number != seen_version:
        raise StaleVersion(
            _("The plan has changed since you opened it (now version %(n)s). Look at the changes and decide again.")
            % {"n": version.number if version else "—"}
        )
    return version


def _open_decision(
    row_id: int,
    *,
    actor: User,
    version: int,
    via: str,
    guard: Guard,
) -> tuple[Plan, list[ApprovalRow], ApprovalRow, User | None, PlanVersion]:
    """Lock the plan and its matrix, check `guard` and the version the actor saw.

    Returns (plan, rows, row, on_behalf_of, current version)."""
    plan_id = ApprovalRow.objects.values_list("plan_id", flat=True).get(pk=row_id)
    plan, rows = _lock(plan_id)
    row = next(r for r in rows if r.pk == row_id)
    row.plan = plan
    reason, on_behalf_of = guard(row, rows)
    if reason:
        _refuse(plan, actor, row, reason, via)
    return plan, rows, row, on_behalf_of, _current_version(plan, version)


def _record_decision(
    plan: Plan,
    row: ApprovalRow,
    *,
    actor: User,
    from_status: str,
    on_behalf_of: User | None,
    current: PlanVersion,
    comment: str,
    via: str,
) -> None:
    row.decided_at, row.decided_by, row.on_behalf_of, row.version, row.comment = (
        timezone.now(),
        actor,
        on_behalf_of,
        current,
        comment.strip(),
    )
    row.save()
    record_event(
        plan,
        actor=actor,
        kind=EventKind.TRANSITION,
        obj=row,
        from_status=from_status,
        to_status=row.status,
        comment=_signature_comment(row, via),
        changes={"version": current.number},
    )


@records_refusals
@transaction.atomic
def approve_row(row_id: int, *, actor: User, version: int, comment: str = "", via: str = "web") -> ApprovalRow:
    """Approve one row (own or delegated today) as of the version the approver saw; the last one approves the plan."""
    plan, rows, row, on_behalf_of, current = _open_decision(
        row_id,
        actor=actor,
        version=version,
        via=via,
        guard=lambda row, rows: conditions.sign_refusal(row, actor, rows=rows),
    )
    stage_before = conditions.open_stage(rows)
    row.approve()
    _record_decision(
        plan,
        row,
        actor=actor,
        from_status=ApprovalStatus.PENDING,
        on_behalf_of=on_behalf_of,
        current=current,
        comment=comment,
        via=via,
    )
    _maybe_approve_plan(plan, rows, actor)
    stage_after = conditions.open_stage(rows)
    if stage_after is not None and stage_after != stage_before:
        _notify("stage_opened", plan.pk, [r.pk for r in _rows_to_ask(rows) if r.kind == RowKind.APPROVAL])
    return row


def _signature_comment(row: ApprovalRow, via: str) -> str:
    parts = [_("version %(n)d") % {"n": row.version.number}] if row.version else []
    if row.on_behalf_of:
        parts.append(_("for %(name)s") % {"name": row.person_name})
    if via != "web":
        parts.append(via)
    text = ", ".join(parts)
    return f"{text}: {row.comment}" if row.comment else text


@records_refusals
@transaction.atomic
def reject_row(row_id: int, *, actor: User, version: int, comment: str, via: str = "web") -> ApprovalRow:
    """Reject one row with a reason: the plan goes back to its author."""
    if not (comment or "").strip():
        raise ValidationError(_("Give the reason for rejecting: the author needs it to fix the plan."))
    plan, rows, row, on_behalf_of, current = _open_decision(
        row_id,
        actor=actor,
        version=version,
        via=via,
        guard=lambda row, rows: conditions.sign_refusal(row, actor, rows=rows),
    )
    row.reject()
    _record_decision(
        plan,
        row,
        actor=actor,
        from_status=ApprovalStatus.PENDING,
        on_behalf_of=on_behalf_of,
        current=current,
        comment=comment,
        via=via,
    )
    plan.reject()
    plan.save()
    record_event(
        plan,
        actor=actor,
        kind=EventKind.TRANSITION,
        from_status=PlanStatus.IN_REVIEW,
        to_status=plan.status,
        comment=comment.strip(),
    )
    _notify("rejected", plan.pk, [row.pk])
    return row


@records_refusals
@transaction.atomic
def acknowledge_row(row_id: int, *, actor: User, version: int, comment: str = "", via: str = "web") -> ApprovalRow:
    """The duty officer (or a member of the row's group) acknowledges the plan as of the version they saw."""
    plan, rows, row, _, current = _open_decision(
        row_id,
        actor=actor,
        version=version,
        via=via,
        guard=lambda row, rows: (conditions.acknowledge_refusal(row, actor), None),
    )
    row.acknowledge()
    _record_decision(
        plan,
        row,
        actor=actor,
        from_status=ApprovalStatus.NOT_ACKNOWLEDGED,
        on_behalf_of=None,
        current=current,
        comment=comment,
        via=via,
    )
    _maybe_approve_plan(plan, rows, actor)
    return row


def _maybe_approve_plan(plan: Plan, rows: list[ApprovalRow], actor: User) -> None:
    """The plan is approved when every approval row and every acknowledgement is given on the current version."""
    current = versioning.latest_version(plan)
    conflicted = {plan.author_id, plan.curator_id} - {None}
    complete = all(
        row.version_id == current.pk
        and row.status in (ApprovalStatus.APPROVED, ApprovalStatus.ACKNOWLEDGED)
        # A signer made curator after signing (the curator is not material) does not count.
        and not (row.kind == RowKind.APPROVAL and {row.decided_by_id, row.on_behalf_of_id} & conflicted)
        for row in rows
    )
    if rows and complete and plan.status == PlanStatus.IN_REVIEW:
        plan.approve()
        plan.save()
        record_event(
            plan,
            actor=actor,
            kind=EventKind.TRANSITION,
            from_status=PlanStatus.IN_REVIEW,
            to_status=plan.status,
            comment=_("All sign-offs given on version %(n)d") % {"n": current.number},
        )
        for callback in on_plan_approved:
            callback(plan, current, rows, actor)
        _notify("approved", plan.pk)
