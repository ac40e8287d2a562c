"""Emergency changes (docs/change-types.md): the early start's signatures and the post-factum sign-off.

- `start_refusal(plan)` (registered in execution.transitions.emergency_start_checks): an emergency change in
  review may start when every acknowledgement row is acknowledged and an approval on the current version was
  given by a member of the emergency group (settings.OKNO_EMERGENCY_GROUP) who is neither the author, the
  curator nor the one who acknowledged.
- `schedule(plan)` (execution.transitions.on_emergency_started, in the start's transaction): durable rows for a
  reminder to the rows still waiting at half time and at the due time, and the escalation at the due time.
- `after_decision(...)` (approvals.services, in the decision's transaction): a post-factum rejection is recorded
  and escalated at once; the last signature records "post-factum sign-off complete" and cancels the rows.
The e-mails and the scheduled handlers are in approvals/emergency_mail.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import User
from django.utils.translation import gettext as _

from changeplans import versioning
from changeplans.choices import EventKind
from changeplans.history import on_event_recorded
from changeplans.models import Plan, PlanEvent
from common.transactions import after_commit
from notifications import scheduler

from . import conditions
from .choices import ApprovalStatus, RowKind
from .models import ApprovalRow

if TYPE_CHECKING:
    from collections.abc import Iterable

REMINDER = "approvals.emergency_reminder"
ESCALATION = "approvals.emergency_escalation"
ALERT_OVERDUE = "emergency_signoff_overdue"
ALERT_REJECTED = "emergency_rejected"
SIGNOFF_OBJECT = "post_factum"  # PlanEvent.object_type of "post-factum sign-off complete"


def group_name() -> str:
    return str(settings.OKNO_EMERGENCY_GROUP)


def group_member_ids() -> set[int]:
    return set(User.objects.filter(groups__name=group_name(), is_active=True).values_list("pk", flat=True))


def prefix(plan_id: int) -> str:
    return f"emergency:plan:{plan_id}:"


def _subject(plan_id: int) -> str:
    return f"plan:{plan_id}:emergency"


def start_refusal(plan: Plan) -> str | None:
    """Why the emergency change cannot start yet, or None (two signatures: the duty officer's and the group's)."""
    rows = list(ApprovalRow.objects.filter(plan=plan).order_by("position"))
    acknowledgements = [row for row in rows if row.kind == RowKind.ACKNOWLEDGEMENT]
    if not acknowledgements:
        return _("The sign-off matrix has no duty officer's acknowledgement: an emergency change needs it to start.")
    if any(row.status != ApprovalStatus.ACKNOWLEDGED for row in acknowledgements):
        return _("The duty officer has not acknowledged the plan yet.")
    current = versioning.latest_version(plan)
    members = group_member_ids()
    conflicted = ({plan.author_id, plan.curator_id} | {row.decided_by_id for row in acknowledgements}) - {None}
    for row in rows:
        if (
            row.kind == RowKind.APPROVAL
            and row.status == ApprovalStatus.APPROVED
            and current is not None
            and row.version_id == current.pk
            and row.decided_by_id in members
            and not ({row.decided_by_id, row.on_behalf_of_id} & conflicted)
        ):
            return None
    return _(
        "No member of the emergency group “%(group)s” other than the author and the duty officer has approved the"
        " plan yet."
    ) % {"group": group_name()}


def waiting_rows(rows: Iterable[ApprovalRow]) -> list[ApprovalRow]:
    """The rows not signed yet (any stage): who the reminders and the escalation name."""
    return [row for row in rows if row.status in (ApprovalStatus.PENDING, ApprovalStatus.NOT_ACKNOWLEDGED)]


def schedule(plan: Plan) -> None:
    """After an emergency start: a reminder at half time and at the due time, the escalation at the due time."""
    due = plan.emergency_signoff_due
    started = plan.started_at
    if due is None or started is None:
        return
    half: datetime = started + (due - started) / 2
    key = prefix(plan.pk)
    payload = {"plan_id": plan.pk}
    scheduler.schedule(f"{key}reminder:half", half, REMINDER, {**payload, "at": "half"}, subject=_subject(plan.pk))
    scheduler.schedule(f"{key}reminder:due", due, REMINDER, {**payload, "at": "due"}, subject=_subject(plan.pk))
    scheduler.schedule(f"{key}escalation", due, ESCALATION, payload, subject=_subject(plan.pk))


def _record(plan: Plan, actor: User | None, kind: str, comment: str, changes: dict, object_type: str) -> PlanEvent:
    event = PlanEvent.objects.create(
        plan=plan,
        actor=actor,
        kind=kind,
        object_type=object_type,
        object_id=plan.pk,
        object_label=str(plan)[:300],
        comment=comment,
        changes=changes,
    )
    for listener in on_event_recorded:
        after_commit(listener, plan.pk, event.pk)
    return event


def after_decision(plan: Plan, rows: list[ApprovalRow], row: ApprovalRow, actor: User) -> None:
    """A row of a post-factum sign-off was decided (the plan and its rows locked by the caller)."""
    if not conditions.is_post_factum(plan):
        return
    if row.status == ApprovalStatus.REJECTED:
        from . import emergency_mail

        with_name = _("Rejected after the emergency start by %(name)s: %(reason)s") % {
            "name": row.person_name,
            "reason": row.comment,
        }
        _record(plan, actor, EventKind.ALERT, with_name, {"alert": ALERT_REJECTED, "row_id": row.pk}, "plan")
        emergency_mail.escalate_rejection(plan, row)
        return
    if not waiting_rows(rows) and not any(r.status == ApprovalStatus.REJECTED for r in rows):
        _record(
            plan,
            actor,
            EventKind.TRANSITION,
            _("Post-factum sign-off complete"),
            {"post_factum": "complete"},
            SIGNOFF_OBJECT,
        )
        scheduler.cancel(prefix(plan.pk))


def connect() -> None:
    """Called from ApprovalsConfig.ready(): the start check and the scheduling after an emergency start."""
    from execution import transitions

    from . import emergency_mail  # noqa: F401  (registers the scheduled handlers)

    if start_refusal not in transitions.emergency_start_checks:
        transitions.emergency_start_checks.append(start_refusal)
    if schedule not in transitions.on_emergency_started:
        transitions.on_emergency_started.append(schedule)
