"""Exceptions to a freeze: a plan asks, the freeze's owner signs a row of its matrix (docs/calendar.md).

- `request_exception`: the plan's author (or an administrator) asks while the matrix can change (draft, rejected);
  a FreezeException is made (once: asking again keeps it and updates the reason) and the owner's approval row is
  added (or an approval row the owner already has is used).
- `refuse_frozen_submission` (an approvals submit hook): a plan whose window overlaps a freeze that applies to it
  is refused unless it has the freeze's exception; when the owner's row is gone (a template replaced the matrix)
  the row is added back, so the owner is asked again.
- A plan whose window moves out of the freeze no longer needs the exception: the row stays (the author may
  delete it from the matrix like any other row).
"""

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from approvals import conditions
from approvals import services as approvals
from approvals.choices import RowKind
from approvals.models import ApprovalRow
from changeplans.choices import EventKind
from changeplans.history import record_event
from changeplans.models import Plan

from .freezes import freezes_of
from .models import Freeze, FreezeException

REASON_MAX = 2000


def job_title(freeze: Freeze) -> str:
    """The owner's row names the freeze: "Исключение из моратория «Новый год»"."""
    return (_("Exception to the freeze “%(title)s”") % {"title": freeze.title})[:200]


def ask_refusal(user: User, plan: Plan) -> str | None:
    """Why `user` may not ask for an exception for the plan now; None when they may."""
    if not conditions.prepares_plan(user, plan):
        return _("Only the author of the plan or an administrator asks for an exception to a freeze.")
    return conditions.matrix_locked_refusal(plan)


def _owner_row(rows: list[ApprovalRow], exception: FreezeException, owner_id: int) -> ApprovalRow | None:
    """The row that decides the exception: its own row if still in the matrix, else an approval row of the owner."""
    for row in rows:
        if row.pk == exception.approval_row_id:
            return row
    for row in rows:
        if row.user_id == owner_id and row.kind == RowKind.APPROVAL:
            return row
    return None


def _check_owner(plan: Plan, freeze: Freeze, rows: list[ApprovalRow]) -> None:
    if freeze.owner_id in (plan.author_id, plan.curator_id):
        raise ValidationError(
            _(
                "%(owner)s owns the freeze “%(title)s” and is the author or curator of this plan, so cannot sign"
                " its exception: ask an administrator to name another owner of the freeze."
            )
            % {"owner": freeze.owner.get_full_name() or freeze.owner.get_username(), "title": freeze.title}
        )
    if any(row.user_id == freeze.owner_id and row.kind != RowKind.APPROVAL for row in rows):
        raise ValidationError(
            _(
                "The owner of the freeze “%(title)s” only acknowledges this plan in its matrix: make their row an"
                " approval, or delete it, and ask again."
            )
            % {"title": freeze.title}
        )


def _ensure_row(plan: Plan, freeze: Freeze, exception: FreezeException, rows: list[ApprovalRow], actor: User) -> bool:
    """Give the exception its owner's row (an existing one or a new one); True when a row was added."""
    row = _owner_row(rows, exception, freeze.owner_id)
    added = False
    if row is None:
        _check_owner(plan, freeze, rows)
        row = approvals.add_matrix_row(plan.pk, actor=actor, job_title=job_title(freeze), person=freeze.owner)
        rows.append(row)
        added = True
    if exception.approval_row_id != row.pk:
        exception.approval_row_id = row.pk
        exception.save(update_fields=["approval_row_id"])
    return added


@transaction.atomic
def request_exception(plan_id: int, freeze_id: int, *, actor: User, reason: str) -> FreezeException:
    """The author asks to work in the freeze: the exception and its owner's row (idempotent)."""
    plan = Plan.objects.select_for_update().get(pk=plan_id)
    refusal = ask_refusal(actor, plan)
    if refusal:
        raise PermissionDenied(refusal)
    freeze = Freeze.objects.select_related("owner").filter(pk=freeze_id).first()
    if freeze is None or freeze.pk not in {f.pk for f in freezes_of(plan)}:
        raise ValidationError(_("This freeze does not apply to the plan's window (any more): nothing to ask."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the work cannot wait until the freeze ends.")})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": _("At most %(n)d characters.") % {"n": REASON_MAX}})
    rows = list(ApprovalRow.objects.select_for_update(of=("self",)).filter(plan=plan).order_by("position"))
    exception, created = FreezeException.objects.get_or_create(
        plan=plan, freeze=freeze, defaults={"reason": reason, "requested_by": actor}
    )
    if not created and exception.reason != reason:
        exception.reason, exception.requested_by, exception.requested_at = reason, actor, timezone.now()
        exception.save(update_fields=["reason", "requested_by", "requested_at"])
    _ensure_row(plan, freeze, exception, rows, actor)
    if created:
        record_event(
            plan,
            actor=actor,
            kind=EventKind.EDITED,
            obj=exception,
            comment=_("Exception to the freeze “%(title)s” asked: %(reason)s")
            % {"title": freeze.title, "reason": reason},
        )
    return exception


def refuse_frozen_submission(plan: Plan, rows: list[ApprovalRow], actor: User) -> None:
    """approvals.services.submit_hooks: refuse a plan in a freeze without an exception; re-add a lost owner row."""
    freezes = freezes_of(plan)
    if not freezes:
        return
    exceptions = {e.freeze_id: e for e in FreezeException.objects.filter(plan=plan, freeze__in=freezes)}
    missing = [freeze for freeze in freezes if freeze.pk not in exceptions]
    if missing:
        url = reverse("changeplans:plan_detail", args=[plan.pk]) + "#freeze-checks"
        raise ValidationError(
            _(
                "The window falls into the change freeze “%(title)s” (%(start)s – %(end)s, owner %(owner)s). Move the"
                " window out of it, or ask for an exception on the plan page (%(url)s): the owner of the freeze"
                " then signs the plan too."
            )
            % {
                "title": missing[0].title,
                "start": f"{timezone.localtime(missing[0].starts_at, plan.tz):%d.%m.%Y %H:%M}",
                "end": f"{timezone.localtime(missing[0].ends_at, plan.tz):%d.%m.%Y %H:%M}",
                "owner": missing[0].owner.get_full_name() or missing[0].owner.get_username(),
                "url": url,
            }
        )
    for freeze in freezes:
        exception = exceptions[freeze.pk]
        if _ensure_row(plan, freeze, exception, rows, actor):
            record_event(
                plan,
                actor=actor,
                kind=EventKind.EDITED,
                obj=exception,
                comment=_("The owner of the freeze “%(title)s” was added back to the matrix to sign its exception.")
                % {"title": freeze.title},
            )
