"""The waiting marker: `ApprovalRow.waiting`, what the navigation badge and the inbox read (issue 16).

A row waits when its plan is in review (or an emergency change signs post factum) and the row is asked now: an
approval pending in the open stage (the lowest stage with an approval row not yet approved), or an acknowledgement
not yet given. The marker depends
only on the plan's status and its rows, never on who reads it: the row's person, today's deputies and group
members are matched when the badge or the inbox asks, so a delegation or a group change needs no update here.

Every service that changes a row's status, a plan's status into or out of review, or the rows of a plan in
review calls `sync()` in its transaction, under the plan's lock (approvals.services, the admin); a plan
cancelled (changeplans.services.cancel_plan, a lower layer) is cleared by `clear()` through its
`on_plan_cancelling` hook, in the same transaction. `drifted()` recomputes the marker from the rows and plans
themselves (the query the badge ran before the marker existed): tests walk every transition against it.
"""

from collections.abc import Iterable

from django.db.models import OuterRef, Q, QuerySet, Subquery

from changeplans.choices import PlanKind, PlanStatus
from changeplans.models import Plan

from . import conditions
from .choices import ApprovalStatus, RowKind
from .models import ApprovalRow


def asked(plan: Plan, rows: Iterable[ApprovalRow]) -> list[ApprovalRow]:
    """The rows of `plan` (all of its rows) that wait for a decision now."""
    return open_rows(rows) if plan.status == PlanStatus.IN_REVIEW or conditions.is_post_factum(plan) else []


def open_rows(rows: Iterable[ApprovalRow]) -> list[ApprovalRow]:
    """Of a plan's rows (all of them), those a review asks now: the open stage's approvals, the acknowledgements."""
    rows = list(rows)
    stage = conditions.open_stage(rows)
    return [
        row
        for row in rows
        if (row.kind == RowKind.APPROVAL and row.status == ApprovalStatus.PENDING and row.stage == stage)
        or (row.kind == RowKind.ACKNOWLEDGEMENT and row.status == ApprovalStatus.NOT_ACKNOWLEDGED)
    ]


def sync(plan: Plan, rows: Iterable[ApprovalRow]) -> None:
    """Set the marker of `rows` (every row of `plan`, as the service left them) in memory and in the database.

    At most two UPDATEs, none when nothing changed; a later save() of one of these rows writes the same value."""
    rows = list(rows)
    waiting = {row.pk for row in asked(plan, rows)}
    on = [row.pk for row in rows if row.pk in waiting and not row.waiting]
    off = [row.pk for row in rows if row.pk not in waiting and row.waiting]
    for row in rows:
        row.waiting = row.pk in waiting
    if on:
        ApprovalRow.objects.filter(pk__in=on).update(waiting=True)
    if off:
        ApprovalRow.objects.filter(pk__in=off).update(waiting=False)


def lock_plan(plan_id: int) -> Plan:
    """The plan's row lock, as every sign-off service takes it first (inside the caller's transaction)."""
    return Plan.objects.select_for_update().only("pk", "status", "kind", "emergency_signoff_due").get(pk=plan_id)


def sync_plan(plan_id: int) -> None:
    """sync() for a plan read here, under its lock (inside the caller's transaction): the admin's edits."""
    plan = lock_plan(plan_id)
    sync(plan, ApprovalRow.objects.filter(plan_id=plan_id).only("pk", "kind", "status", "stage", "waiting"))


def clear(plan: Plan) -> None:
    """A plan cancelled in review (changeplans.services.on_plan_cancelling, in its transaction): none of its rows
    waits any more."""
    ApprovalRow.objects.filter(plan=plan, waiting=True).update(waiting=False)


def truth() -> Q:
    """Which rows wait, from the rows and their plan alone (no marker): what `waiting` must equal."""
    open_stage = (
        ApprovalRow.objects.filter(plan=OuterRef("plan"), kind=RowKind.APPROVAL)
        .exclude(status=ApprovalStatus.APPROVED)
        .order_by("stage")
        .values("stage")[:1]
    )
    approvals = Q(kind=RowKind.APPROVAL, status=ApprovalStatus.PENDING, stage=Subquery(open_stage))
    acknowledgements = Q(kind=RowKind.ACKNOWLEDGEMENT, status=ApprovalStatus.NOT_ACKNOWLEDGED)
    post_factum = Q(  # conditions.is_post_factum: an emergency change signed after its start
        plan__kind=PlanKind.EMERGENCY,
        plan__emergency_signoff_due__isnull=False,
        plan__status__in=conditions.POST_FACTUM_STATUSES,
    )
    return (Q(plan__status=PlanStatus.IN_REVIEW) | post_factum) & (approvals | acknowledgements)


def drifted() -> QuerySet[ApprovalRow]:
    """Rows whose marker differs from truth(): none, unless something changed rows behind the services' back."""
    waiting_wrongly = ApprovalRow.objects.filter(waiting=True).exclude(pk__in=ApprovalRow.objects.filter(truth()))
    missing = ApprovalRow.objects.filter(truth()).filter(waiting=False)
    return ApprovalRow.objects.filter(Q(pk__in=waiting_wrongly.values("pk")) | Q(pk__in=missing.values("pk")))


def mark_all() -> int:
    """Set every row's marker from truth() (rows written without the services: bench/scale_data.py's COPY).

    Returns how many rows wait."""
    ApprovalRow.objects.filter(waiting=True).exclude(pk__in=ApprovalRow.objects.filter(truth()).values("pk")).update(
        waiting=False
    )
    return ApprovalRow.objects.filter(pk__in=ApprovalRow.objects.filter(truth()).values("pk")).update(waiting=True)
