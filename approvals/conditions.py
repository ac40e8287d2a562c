"""Guards of the sign-off workflow. Each returns None when allowed, or the translated reason."""

import datetime
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.translation import gettext as _

from changeplans.choices import PlanKind, PlanStatus
from changeplans.roles import is_administrator, is_service_account

from .choices import ApprovalStatus, RowKind

# The matrix is built while the plan is prepared; under sign-off its rows are what is being signed.
MATRIX_EDITABLE_STATUSES = (PlanStatus.DRAFT, PlanStatus.REJECTED)
# An emergency change started before full sign-off: its remaining rows sign while it runs and after it ended.
POST_FACTUM_STATUSES = (
    PlanStatus.IN_PROGRESS,
    PlanStatus.COMPLETED,
    PlanStatus.COMPLETED_WITH_ROLLBACK,
    PlanStatus.FAILED,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    from changeplans.models import Plan

    from .models import ApprovalRow, Delegation


def active_delegation(
    deputy: "User | None", principal: "User | None", on_date: datetime.date | None = None
) -> "Delegation | None":
    """The delegation from `principal` to `deputy` in force on `on_date` (today), if any."""
    from .models import Delegation

    if deputy is None or principal is None:
        return None
    on_date = on_date or timezone.localdate()
    return Delegation.objects.filter(
        deputy=deputy, principal=principal, starts_on__lte=on_date, ends_on__gte=on_date
    ).first()


def open_stage(rows: Iterable["ApprovalRow"]) -> int | None:
    """The lowest stage that still has an undecided approval row (acknowledgements never block stages)."""
    pending = [row.stage for row in rows if row.kind == RowKind.APPROVAL and row.status != ApprovalStatus.APPROVED]
    return min(pending) if pending else None


def is_post_factum(plan: "Plan") -> bool:
    """An emergency change that started before full sign-off (docs/change-types.md): its rows sign afterwards."""
    return (
        plan.kind == PlanKind.EMERGENCY
        and plan.emergency_signoff_due is not None
        and plan.status in POST_FACTUM_STATUSES
    )


def signing_refusal(plan: "Plan") -> str | None:
    """Why no row of the plan can be decided in its state: in review, or an emergency change's post-factum sign-off."""
    if plan.status == PlanStatus.IN_REVIEW or is_post_factum(plan):
        return None
    return _("The plan is not in review (it is “%(status)s”).") % {"status": plan.get_status_display()}


def not_a_person() -> str:
    return _("A service account cannot sign: sign-off is a person's decision.")


def sign_refusal(
    row: "ApprovalRow", actor: "User", *, rows: Iterable["ApprovalRow"], principals: Collection[int] | None = None
) -> tuple[str | None, "User | None"]:
    """Why `actor` may not approve or reject `row` now; None when they may. Returns (reason, on_behalf_of).

    `principals`: the ids of those who delegated to `actor` today, when the caller read them already (a page of
    rows); else each delegation is read here."""
    plan = row.plan
    refusal = signing_refusal(plan)
    if refusal:
        return refusal, None
    if row.kind != RowKind.APPROVAL:
        return _("This row is an acknowledgement, not an approval."), None
    if actor.pk in (plan.author_id, plan.curator_id):
        return _("You cannot approve a plan you authored or curate."), None
    if is_service_account(actor):
        return not_a_person(), None
    on_behalf_of = None
    if row.user_id != actor.pk:
        delegated = (
            row.user_id in principals if principals is not None else active_delegation(actor, row.user) is not None
        )
        if row.user is None or not delegated:
            return _("This row is for %(name)s; you may sign only your own row or one delegated to you.") % {
                "name": row.person_name
            }, None
        on_behalf_of = row.user
        if on_behalf_of.pk in (plan.author_id, plan.curator_id):
            return _("You cannot approve a plan you authored or curate."), None
    if row.status != ApprovalStatus.PENDING:
        return _("This row is already decided."), None
    stage = open_stage(rows)
    if stage is not None and row.stage > stage:
        return _("Stage %(stage)d opens when stage %(open)d is complete.") % {"stage": row.stage, "open": stage}, None
    return None, on_behalf_of


def acknowledge_refusal(row: "ApprovalRow", actor: "User") -> str | None:
    """Why `actor` may not acknowledge `row` now (the row's user or a member of its group may); None when they may."""
    plan = row.plan
    refusal = signing_refusal(plan)
    if refusal:
        return refusal
    if row.kind != RowKind.ACKNOWLEDGEMENT:
        return _("This row is an approval, not an acknowledgement.")
    if is_service_account(actor):
        return not_a_person()
    allowed = row.user_id == actor.pk or (row.group_id and actor.groups.filter(pk=row.group_id).exists())
    if not allowed:
        return _("Only %(name)s acknowledges this plan.") % {"name": row.person_name}
    if actor.pk in (plan.author_id, plan.curator_id):
        # A standard change's acknowledgement is its only sign-off: it must be a second person's.
        return _("The author or curator of the plan cannot acknowledge it: another duty officer must.")
    if row.status != ApprovalStatus.NOT_ACKNOWLEDGED:
        return _("The plan is already acknowledged.")
    return None


def prepares_plan(user: "User | AnonymousUser", plan: "Plan") -> bool:
    """Whether `user` may give `plan` a matrix template and submit it: its author, or an administrator."""
    return user.is_authenticated and (user.pk == plan.author_id or is_administrator(user))


def matrix_locked_refusal(plan: "Plan") -> str | None:
    """Why the plan's matrix cannot be changed in its state (a plan under sign-off keeps its rows); None when it can."""
    if plan.status not in MATRIX_EDITABLE_STATUSES:
        return _(
            "The plan is “%(status)s”: its sign-off matrix can be changed only while it is a draft or rejected."
        ) % {"status": plan.get_status_display()}
    return None


def row_refusal(row: "ApprovalRow", plan: "Plan") -> str | None:
    """Why a row cannot be asked as it is: nobody chosen, or a group asked to approve (only a person signs).

    (The author or curator on an approval row is refused by the matrix builder, and at signing time.)
    """
    if row.user_id is None and row.group_id is None:
        return _("Row %(n)d: choose a person or a group.") % {"n": row.position}
    if row.kind == RowKind.APPROVAL and row.user_id is None:
        return _("Row %(n)d: an approval is given by a person; a group can only acknowledge.") % {"n": row.position}
    return None


def submit_refusal(plan: "Plan", rows: Iterable["ApprovalRow"], *, has_steps: bool | None = None) -> str | None:
    """Why the plan cannot be submitted with these rows (who may submit is the service's check); None when it can.
    `has_steps`: whether the plan has steps, when the caller read it already."""
    if plan.status not in (PlanStatus.DRAFT, PlanStatus.REJECTED):
        return _("Only a draft or a rejected plan can be submitted.")
    if not (plan.steps.exists() if has_steps is None else has_steps):
        return _("The plan has no steps.")
    rows = list(rows)
    # A standard change (runbooks.standard) is pre-approved: the duty officer's acknowledgement is enough.
    standard = plan.kind == PlanKind.STANDARD
    if standard and not any(row.kind == RowKind.ACKNOWLEDGEMENT for row in rows):
        return _("A standard change needs the duty officer's acknowledgement: add an acknowledgement row.")
    if not rows:
        return _("The sign-off matrix has no rows: add the approvers.")
    for row in rows:
        refusal = row_refusal(row, plan)
        if refusal:
            return refusal
    if not standard and not any(row.kind == RowKind.APPROVAL for row in rows):
        return _("The sign-off matrix has no approvers.")
    return None
