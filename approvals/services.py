"""Every sign-off operation: submit, approve, reject, acknowledge, reset on a new version, templates.

Each locks the plan row first (then its matrix rows), so an edit that makes a new version and an
approval of the old one are serialised: the plan is never approved on a version someone did not see.
"""

import functools
from collections.abc import Callable, Iterable
from typing import NoReturn, ParamSpec, TypeVar

from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from changeplans import pdf_archive, versioning
from changeplans.choices import EventKind, PlanStatus
from changeplans.history import record_event
from changeplans.models import Plan, PlanVersion
from changeplans.permissions import can_view_plan
from common.names import name_after_for

from . import conditions, emergency, people, waiting
from .choices import ApprovalStatus, RowKind
from .models import ApprovalRow, MatrixTemplate, MatrixTemplateRow

P = ParamSpec("P")
R = TypeVar("R")
# A guard of a decision: (row, the plan's rows) -> (refusal or None, the principal signed for or None).
Guard = Callable[[ApprovalRow, list[ApprovalRow]], tuple[str | None, User | None]]

# Called after commit with (event, plan_id, row_ids): the notifications layer registers e-mail sending here.
listeners: list[Callable[[str, int, list[int]], object]] = []
# Called inside the transaction with (plan, version, rows, actor) when the plan reaches APPROVED: runbooks
# records that the signers approved the automation content of that version (four eyes on code).
on_plan_approved: list[Callable[[Plan, PlanVersion, list[ApprovalRow], User], object]] = []
# Called inside submit_plan's transaction with (plan, rows, actor), the plan and its matrix locked, before the
# matrix is checked: higher apps refuse (raise ValidationError: a freeze, a blocking conflict) or adjust the
# plan and its rows (a standard change that became normal; appended rows must be saved and added to `rows`).
submit_hooks: list[Callable[[Plan, list[ApprovalRow], User], object]] = []


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


class KeptRefusal(ValidationError):
    """A submit hook's refusal that keeps a change all the same: `keep` runs in its own transaction after the
    submit's has rolled back (runbooks.standard: a standard change that became normal stays normal)."""

    def __init__(self, message: str, keep: Callable[[], object]) -> None:
        super().__init__(message)
        self.keep = keep


def keeps_changes(function: Callable[P, R]) -> Callable[P, R]:
    """Run a service; a KeptRefusal's change is made after the service's transaction rolled back."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except KeptRefusal as refusal:
            with transaction.atomic():
                refusal.keep()
            raise

    return wrapper


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


# --- building the matrix (the author, while the plan is a draft or rejected) -----------------------------


class MatrixLocked(Exception):
    """The plan is under sign-off (or later): its matrix is what is being signed and cannot be changed."""


def _lock_for_matrix(plan_id: int, actor: User) -> tuple[Plan, list[ApprovalRow]]:
    """Lock the plan and its rows, then check who (PermissionDenied) and when (MatrixLocked)."""
    plan, rows = _lock(plan_id)
    if not conditions.prepares_plan(actor, plan):
        raise PermissionDenied(_("Only the author of the plan can change its sign-off matrix."))
    refusal = conditions.matrix_locked_refusal(plan)
    if refusal:
        raise MatrixLocked(refusal)
    return plan, rows


def _row_of(rows: list[ApprovalRow], row_id: int) -> ApprovalRow:
    for row in rows:
        if row.pk == row_id:
            return row
    raise ValidationError(_("This row is no longer in the matrix: the page shows it again as it is."))


def _plan_of_row(row_id: int) -> int:
    plan_id = ApprovalRow.objects.filter(pk=row_id).values_list("plan_id", flat=True).first()
    if plan_id is None:
        raise ValidationError(_("This row is no longer in the matrix: the page shows it again as it is."))
    return plan_id


def _renumber(rows: list[ApprovalRow]) -> None:
    """Give `rows` the positions 1..n in their list order (the unique (plan, position) holds at every step)."""
    moved = [(row, number) for number, row in enumerate(rows, start=1) if row.position != number]
    if not moved:
        return
    # First out of the way (above any position in use), then into place.
    ApprovalRow.objects.filter(pk__in=[row.pk for row, _number in moved]).update(position=F("position") + 100_000)
    for row, number in moved:
        ApprovalRow.objects.filter(pk=row.pk).update(position=number)
        row.position = number


def _check_person(
    plan: Plan, rows: list[ApprovalRow], row: ApprovalRow | None, kind: str, person: "people.Person | None"
) -> None:
    """Refuse a row that could never be decided: a group asked to approve, the author or curator approving,
    a person who already has a row."""
    if person is None:
        return
    if kind == RowKind.APPROVAL and isinstance(person, Group):
        raise ValidationError(_("An approval is given by a person; a group can only acknowledge."))
    if kind == RowKind.APPROVAL and person.pk in (plan.author_id, plan.curator_id):
        raise ValidationError(_("The author and the curator do not approve their own plan: choose another approver."))
    for other in rows:
        if other is row:
            continue
        same = other.group_id == person.pk if isinstance(person, Group) else other.user_id == person.pk
        if same:
            raise ValidationError(
                _("%(name)s is already in the matrix (row %(n)d).")
                % {"name": people.label(person), "n": other.position}
            )


def _describe(row: ApprovalRow) -> str:
    """A row as the history tells it: "Иванов П.С., согласование, этап 1"."""
    parts = [row.person_name or _("nobody chosen yet"), row.get_kind_display().lower()]
    parts.append(_("stage %(n)d") % {"n": row.stage})
    if row.job_title:
        parts.insert(0, row.job_title)
    return ", ".join(parts)


def _initial_status(kind: str) -> str:
    return ApprovalStatus.NOT_ACKNOWLEDGED if kind == RowKind.ACKNOWLEDGEMENT else ApprovalStatus.PENDING


@transaction.atomic
def add_matrix_row(
    plan_id: int,
    *,
    actor: User,
    job_title: str = "",
    person: "people.Person | None" = None,
    kind: str = RowKind.APPROVAL,
    stage: int | None = None,
) -> ApprovalRow:
    """Add a row at the end of the matrix (the stage of the last row unless given)."""
    plan, rows = _lock_for_matrix(plan_id, actor)
    _check_person(plan, rows, None, kind, person)
    row = ApprovalRow.objects.create(
        plan=plan,
        position=max((r.position for r in rows), default=0) + 1,
        kind=kind,
        job_title=job_title.strip(),
        person_name=people.label(person),
        user=person if isinstance(person, User) else None,
        group=person if isinstance(person, Group) else None,
        stage=stage or (rows[-1].stage if rows else 1),
        status=_initial_status(kind),
    )
    _renumber([*rows, row])
    record_event(
        plan,
        actor=actor,
        kind=EventKind.EDITED,
        obj=row,
        comment=_("Sign-off matrix: row %(n)d added (%(row)s)") % {"n": row.position, "row": _describe(row)},
    )
    return row


@transaction.atomic
def update_matrix_row(
    row_id: int,
    *,
    actor: User,
    job_title: str,
    person: "people.Person | None",
    kind: str,
    stage: int,
) -> ApprovalRow:
    """Change a row's position title, person or group, kind and stage; an unchanged row records nothing."""
    plan, rows = _lock_for_matrix(_plan_of_row(row_id), actor)
    row = _row_of(rows, row_id)
    _check_person(plan, rows, row, kind, person)
    job_title = job_title.strip()
    user = person if isinstance(person, User) else None
    group = person if isinstance(person, Group) else None
    changes = []
    if row.job_title != job_title:
        changes.append(_("Position: “%(old)s” → “%(new)s”") % {"old": row.job_title, "new": job_title})
    if (row.user_id, row.group_id) != (user and user.pk, group and group.pk):
        new_name = people.label(person)
        changes.append(_("Full name: %(old)s → %(new)s") % {"old": row.person_name or "—", "new": new_name or "—"})
        row.user, row.group, row.person_name = user, group, new_name
    if row.kind != kind:
        old_kind = row.get_kind_display().lower()
        row.kind = kind
        changes.append(_("Kind: %(old)s → %(new)s") % {"old": old_kind, "new": row.get_kind_display().lower()})
        # A new kind starts undecided in its own workflow (the status is protected: set through the table).
        ApprovalRow.objects.filter(pk=row.pk).update(status=_initial_status(kind))
    if row.stage != stage:
        changes.append(_("Stage: %(old)d → %(new)d") % {"old": row.stage, "new": stage})
        row.stage = stage
    if not changes:
        return row
    row.job_title = job_title
    ApprovalRow.objects.filter(pk=row.pk).update(
        job_title=row.job_title,
        user_id=row.user_id,
        group_id=row.group_id,
        person_name=row.person_name,
        kind=row.kind,
        stage=row.stage,
    )
    record_event(
        plan,
        actor=actor,
        kind=EventKind.EDITED,
        obj=row,
        comment=_("Sign-off matrix, row %(n)d: %(changes)s") % {"n": row.position, "changes": "; ".join(changes)},
    )
    return row


@transaction.atomic
def delete_matrix_row(row_id: int, *, actor: User) -> None:
    """Remove a row; the rows after it move up."""
    plan, rows = _lock_for_matrix(_plan_of_row(row_id), actor)
    row = _row_of(rows, row_id)
    record_event(
        plan,
        actor=actor,
        kind=EventKind.EDITED,
        obj=row,
        comment=_("Sign-off matrix: row %(n)d removed (%(row)s)") % {"n": row.position, "row": _describe(row)},
    )
    remaining = [r for r in rows if r.pk != row_id]
    row.delete()
    _renumber(remaining)


@transaction.atomic
def move_matrix_row(row_id: int, *, actor: User, offset: int) -> None:
    """Move a row up (offset -1) or down (+1); at either end nothing moves and nothing is recorded."""
    plan, rows = _lock_for_matrix(_plan_of_row(row_id), actor)
    row = _row_of(rows, row_id)
    index = rows.index(row)
    target = index + offset
    if offset not in (-1, 1) or not 0 <= target < len(rows):
        return
    old = row.position
    rows[index], rows[target] = rows[target], rows[index]
    _renumber(rows)
    record_event(
        plan,
        actor=actor,
        kind=EventKind.EDITED,
        obj=row,
        comment=_("Sign-off matrix: row “%(name)s” moved from %(old)d to %(new)d")
        % {"name": row.person_name or row.job_title or "—", "old": old, "new": row.position},
    )


def _replace_rows(plan: Plan, sources: Iterable) -> int:
    ApprovalRow.objects.filter(plan=plan).delete()
    created = ApprovalRow.objects.bulk_create(
        ApprovalRow(
            plan=plan,
            position=position,
            stage=source.stage,
            kind=source.kind,
            job_title=source.job_title,
            person_name=source.person_name,
            user_id=source.user_id,
            group_id=source.group_id,
            status=_initial_status(source.kind),
        )
        for position, source in enumerate(sources, start=1)
    )
    return len(created)


@transaction.atomic
def copy_matrix(plan_id: int, *, actor: User, source_plan_id: int) -> int:
    """Replace the matrix with a copy of another plan's rows (who and what, never their decisions)."""
    plan, rows = _lock_for_matrix(plan_id, actor)
    source = Plan.objects.filter(pk=source_plan_id).first()
    if source is None or not can_view_plan(actor, source):
        raise ValidationError(_("Choose a plan to copy the sign-off matrix from."))
    if source.pk == plan.pk:
        raise ValidationError(_("This is the same plan: choose another one."))
    sources = list(ApprovalRow.objects.filter(plan=source).order_by("position", "id"))
    if not sources:
        raise ValidationError(
            _("Plan No. %(n)d “%(title)s” has no sign-off matrix to copy.") % {"n": source.pk, "title": source.title}
        )
    count = _replace_rows(plan, sources)
    record_event(
        plan,
        actor=actor,
        kind=EventKind.EDITED,
        comment=_("Sign-off matrix copied from plan No. %(n)d “%(title)s”: %(count)d rows")
        % {"n": source.pk, "title": source.title, "count": count},
    )
    return count


@transaction.atomic
def save_matrix_as_template(plan_id: int, *, actor: User, name: str, description: str = "") -> MatrixTemplate:
    """A new named template from the plan's current matrix (the plan itself is not changed)."""
    plan, rows = _lock(plan_id)
    if not conditions.prepares_plan(actor, plan):
        raise PermissionDenied(_("Only the author of the plan can save its sign-off matrix as a template."))
    name = " ".join(name.split())
    if not name:
        raise ValidationError(_("Give the template a name."))
    if not rows:
        raise ValidationError(_("The sign-off matrix has no rows: there is nothing to save."))
    if MatrixTemplate.objects.filter(name__iexact=name).exists():
        raise ValidationError(_("A template named “%(name)s” already exists: choose another name.") % {"name": name})
    template = MatrixTemplate.objects.create(name=name, description=description.strip())
    MatrixTemplateRow.objects.bulk_create(
        MatrixTemplateRow(
            template=template,
            position=row.position,
            stage=row.stage,
            kind=row.kind,
            job_title=row.job_title,
            person_name=row.person_name,
            user_id=row.user_id,
            group_id=row.group_id,
        )
        for row in rows
    )
    record_event(
        plan,
        actor=actor,
        kind=EventKind.EDITED,
        comment=_("Sign-off matrix saved as the template “%(name)s” (%(count)d rows)")
        % {"name": template.name, "count": len(rows)},
    )
    return template


@keeps_changes
@transaction.atomic
def submit_plan(plan_id: int, *, actor: User) -> PlanVersion:
    """The author (or an administrator) sends the plan for sign-off: it freezes a version and tells the open stage."""
    plan, rows = _lock(plan_id)
    if not conditions.prepares_plan(actor, plan):
        raise PermissionDenied(_("Only the author submits the plan."))
    for hook in submit_hooks:
        hook(plan, rows, actor)
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
    waiting.sync(plan, rows)
    record_event(
        plan,
        actor=actor,
        kind=EventKind.TRANSITION,
        from_status=before,
        to_status=plan.status,
        comment=_("Submitted as version %(n)d") % {"n": version.number},
    )
    _notify("submitted", plan.pk, [row.pk for row in _rows_to_ask(rows)])
    pdf_archive.request_pdf(plan.pk, "submitted")
    return version


def _rows_to_ask(rows: list[ApprovalRow]) -> list[ApprovalRow]:
    return waiting.open_rows(rows)


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
    waiting.sync(plan, rows)
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
    emergency.after_decision(plan, rows, row, actor)  # an emergency change signed post factum
    waiting.sync(plan, rows)
    stage_after = conditions.open_stage(rows)
    if stage_after is not None and stage_after != stage_before:
        _notify("stage_opened", plan.pk, [r.pk for r in _rows_to_ask(rows) if r.kind == RowKind.APPROVAL])
    return row


def _signature_comment(row: ApprovalRow, via: str) -> str:
    parts = [_("version %(n)d") % {"n": row.version.number}] if row.version else []
    if row.on_behalf_of:
        parts.append(_("for %(name)s") % {"name": name_after_for(row.person_name)})
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
    if conditions.is_post_factum(plan):
        # An emergency change already started keeps its status: the rejection is recorded and escalated.
        emergency.after_decision(plan, rows, row, actor)
        waiting.sync(plan, rows)
        _notify("rejected", plan.pk, [row.pk])
        return row
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
    waiting.sync(plan, rows)
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
    emergency.after_decision(plan, rows, row, actor)
    waiting.sync(plan, rows)
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
        pdf_archive.request_pdf(plan.pk, "approved")
