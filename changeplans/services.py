"""Every user-visible operation on plans and steps. Views, the API, the admin and tasks call these."""

import functools
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Generic, NotRequired, TypedDict, TypeVar, cast

from django.contrib.auth.models import Group, User
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Max, Model
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from common.text import clean_text
from common.transactions import after_commit

from . import invitations, lint_data, people, versioning
from .change_types import copied_kind, kind_refusal
from .choices import EventKind, PartyKind, PlanKind, StepStatus
from .history import record_event
from .limits import MAX_SMALL_NUMBER, date_in_range, validate_date_in_range
from .models import Party, Plan, PlanEvent, PlanService, Risk, RollbackAction, Service, Step, default_announcement_intro
from .permissions import can_cancel_plan, can_create_plan, edit_refusal

HEADER_FIELDS = (
    "title",
    "goal",
    "kind",
    "time_zone",
    "window_start",
    "window_end",
    "downtime_text",
    "stated_duration_text",
    "client_impact",
    "banner_needed",
    "curator",
    "responsible",
    "responsible_contact",
    "jira_url",
    "mailing_list",
    "announcement_subject",
    "announcement_intro",
    "announcement_from",
    "banner_text",
)
STEP_CELL_FIELDS = (
    "name",
    "description",
    "expected_result",
    "risk_mitigation",
    "affected_systems",
    "planned_downtime",
    "executor",
    "planned_date",
    "planned_time",
    "duration_text",
    "jira_key",
    "kind",
)


# Called after commit with the plan id when a plan is cancelled (approvals cancels its reminders).
on_plan_cancelled: list[Callable[[int], object]] = []
# Called inside the cancelling transaction with the plan (approvals clears its rows' waiting marker).
on_plan_cancelling: list[Callable[[Plan], object]] = []


class RiskInput(TypedDict):
    """One risk of a step as `save_step_risks` takes it (a RiskForm's cleaned data)."""

    id: NotRequired[int | None]  # a risk the step has; absent or None: a new one
    number: int
    description: str
    mitigation: NotRequired[str]


class RollbackActionInput(TypedDict):
    """One rollback action of a step as `save_step_risks` takes it (a RollbackActionForm's cleaned data)."""

    id: NotRequired[int | None]  # an action the step has; absent or None: a new one
    text: str
    risk_numbers: NotRequired[list[int]]


class EditConflict(Exception):
    """Someone else saved the same object after the editor loaded it."""

    def __init__(self, current: Plan | Step, last_event: PlanEvent | None) -> None:
        self.current = current
        self.last_event = last_event
        who = (
            last_event.actor.get_full_name() or last_event.actor.username
            if last_event and last_event.actor
            else _("someone")
        )
        when = last_event.at if last_event else None
        self.who, self.when = who, when
        super().__init__(
            _(
                "%(who)s has changed this since you opened it."
                " Check their version; save again to overwrite it with yours."
            )
            % {"who": who}
        )


def cell_text(step: Step, field: str) -> str:
    """A cell's value as the editor shows it, to tell whether someone else changed this cell."""
    value = getattr(step, field)
    if field == "executor":
        return value.name if value else ""
    if field == "planned_time":
        return value.strftime("%H:%M") if value else ""
    if field == "planned_date":
        return value.isoformat() if value else ""
    return clean_text(str(value or ""))


def history_value(value: object) -> object:
    """A value as a history entry keeps it (PlanEvent.changes is JSON)."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "pk"):
        return str(value)
    return value


def _lock_editable_plan(plan_id: int, actor: User) -> Plan:
    plan = Plan.objects.select_for_update().get(pk=plan_id)
    refusal = edit_refusal(actor, plan)
    if refusal:
        raise PermissionDenied(refusal)
    return plan


def _last_event(obj_type: str, obj_id: int) -> PlanEvent | None:
    return (
        PlanEvent.objects.filter(object_type=obj_type, object_id=obj_id)
        .select_related("actor")
        .order_by("-at", "-id")
        .first()
    )


def _bump_plan_revision(plan: Plan) -> None:
    Plan.objects.filter(pk=plan.pk).update(revision=F("revision") + 1)


# What a plan's calendar invitation shows of it (changeplans/ics.py): a change sends an update.
ICS_FIELDS = frozenset({"title", "kind", "time_zone", "window_start", "window_end"})


def bump_ics_sequence(plan: Plan, changed: Iterable[str] = ICS_FIELDS) -> None:
    """Raise the SEQUENCE of the plan's invitations (the caller saves the locked plan) if `changed` names a field
    they show; without `changed` (a cancel) always. Calendar programs keep only the highest SEQUENCE of a UID."""
    if not ICS_FIELDS.isdisjoint(changed):
        plan.ics_sequence += 1
        after_commit(invitations.send_updates, plan.pk)


def get_or_create_party(given: "str | people.Typed | None", pick: "people.Pick | None" = None) -> Party | None:
    """The party of this name (shared by every plan: only ever linked to its user here), made when new.

    `pick` (or a picker's Typed value) names a user (→ the party standing for them), a party, or a group
    (→ the party of the group's name). A name that is one user's surname and initials ("Иванов П.С.",
    changeplans.people.match_user) is that user's party: an unlinked party of that name gets linked.
    """
    if isinstance(given, people.Typed):
        pick = given.pick
        given = given.text
    name = (given or "").strip()
    if pick and pick.kind == "user":
        user = User.objects.filter(pk=pick.id, is_active=True).first()
        if user:
            # «Is this the user …?» under a name typed as text: that very party gets linked.
            typed = Party.objects.filter(name__iexact=name, user__isnull=True).first() if name else None
            if typed and not Party.objects.filter(user=user).exists() and user in people.users_matching(name):
                typed.user = user
                typed.save(update_fields=["user"])
                return typed
            return people.party_for_user(user)
    elif pick and pick.kind == "party":
        chosen = Party.objects.filter(pk=pick.id).first()
        if chosen:
            return chosen
    elif pick and pick.kind == "group":
        group = Group.objects.filter(pk=pick.id).first()
        if group:
            name = people.role_label(group.name)
            return Party.objects.filter(name__iexact=name).first() or Party.objects.create(
                name=name, kind=PartyKind.TEAM
            )
    if not name:
        return None
    party = Party.objects.filter(name__iexact=name).first()
    if party and party.user_id is not None:
        return party
    user = people.match_user(name)
    if user is None:
        return party or Party.objects.create(name=name)
    if party:
        party.user = user
        party.save(update_fields=["user"])
        return party
    return people.party_for_user(user)


def _resolve_responsible(data: Mapping[str, Any], plan: Plan | None = None) -> dict[str, Any]:
    """Turn the typed responsible's name into a party; the contact stays in the plan (responsible_contact).

    Another plan with the same responsible is never touched: an author once rewrote other authors'
    approved announcements by typing a new contact here (issue 11, finding 5).
    """
    data = dict(data)
    if "responsible_name" not in data:
        return data
    party = get_or_create_party(data.pop("responsible_name"))
    data["responsible"] = party
    contact = (data.get("responsible_contact") or "").strip()
    changed_party = plan is None or plan.responsible_id != (party.pk if party else None)
    if party and not contact and changed_party:
        contact = party.contact  # a copy: the plan starts from the party's usual contact
    data["responsible_contact"] = contact if party else ""
    return data


@transaction.atomic
def create_plan(
    *,
    actor: User,
    data: Mapping[str, Any],
    services: Iterable[Service] = (),
    availability: str | None = None,
    comment: str = "",
) -> Plan:
    """`data`: the header's fields by name (PlanForm.header_data()); a `responsible_name` becomes a party."""
    if not can_create_plan(actor):
        raise PermissionDenied(_("Only authors can create plans."))
    data = _resolve_responsible(data)
    if "announcement_intro" not in data:  # the model's default is Russian; a new plan speaks its creator's language
        data = {**data, "announcement_intro": default_announcement_intro()}
    plan = Plan(author=actor, **{k: v for k, v in data.items() if k in HEADER_FIELDS})
    plan.full_clean(exclude=["status"])
    plan.save()
    _set_services(plan, services, availability)
    record_event(plan, actor=actor, kind=EventKind.CREATED, to_status=plan.status, comment=comment)
    return plan


def _set_services(plan: Plan, services: Iterable[Service], availability: str | None) -> None:
    wanted = {service.pk: service for service in services}
    existing = {ps.service_id: ps for ps in plan.plan_services.all()}
    PlanService.objects.filter(plan=plan).exclude(service_id__in=wanted).delete()
    for service_id in wanted:
        if service_id not in existing:
            PlanService.objects.create(
                plan=plan, service_id=service_id, **({"availability": availability} if availability else {})
            )
        elif availability and existing[service_id].availability != availability:
            PlanService.objects.filter(pk=existing[service_id].pk).update(availability=availability)


@transaction.atomic
def update_plan_header(
    plan_id: int,
    *,
    actor: User,
    data: Mapping[str, Any],
    revision: int | None,
    services: Collection[Service] | None = None,
    availability: str | None = None,
) -> Plan:
    """Save the plan's header; raises EditConflict when the header changed since `revision`.

    Only the fields in `data` are written: a form passes the fields it shows (PlanForm.header_data()),
    and every other field of the plan keeps its value.
    """
    plan = _lock_editable_plan(plan_id, actor)
    if plan.revision != revision:
        raise EditConflict(plan, _last_event("plan", plan.pk))
    data = _resolve_responsible(data, plan)
    kind_changed = "kind" in data and _change_kind(
        plan, actor=actor, kind=data["kind"], reason=str(data.get("kind_reason") or "")
    )
    changes: dict[str, list[object]] = {}
    for field, value in data.items():
        if field == "kind":
            continue  # recorded as KIND_CHANGED above
        if field in HEADER_FIELDS and getattr(plan, field) != value:
            changes[field] = [history_value(getattr(plan, field)), history_value(value)]
            setattr(plan, field, value)
    plan.full_clean(exclude=["status"])
    bump_ics_sequence(plan, changes)
    if services is not None:
        before = sorted(plan.plan_services.values_list("service__display_name", flat=True))
        _set_services(plan, services, availability)
        after = sorted(s.display_name for s in services)
        if before != after:
            changes["services"] = [before, after]
    plan.revision += 1
    plan.save()
    if changes:
        record_event(plan, actor=actor, kind=EventKind.EDITED, changes=changes)
    if changes or kind_changed:
        versioning.after_edit(plan, actor=actor)
    return plan


@transaction.atomic
def update_step_cell(
    step_id: int,
    *,
    actor: User,
    field: str,
    value: object,
    revision: int | None,
    original: str | None = None,
    comment: str = "",
) -> Step:
    """Save one cell of the step table (`comment` goes to the history, e.g. that the edit is an undo).

    Raises EditConflict when the step changed since `revision` and this very cell no longer holds
    `original` (the text the editor was opened with): edits of other cells of the step do not conflict.
    """
    if field not in STEP_CELL_FIELDS:
        raise ValidationError(_("This column cannot be edited here."))
    step = Step.objects.select_for_update(of=("self",)).select_related("executor").get(pk=step_id)
    plan = _lock_editable_plan(step.plan_id, actor)
    generation = lint_data.lock_generation(plan.pk)  # no other write to the plan's steps until this one commits
    was = lint_data.columns_of(step)
    if step.revision != revision and (original is None or cell_text(step, field) != clean_text(original)):
        raise EditConflict(step, _last_event("step", step.pk))
    if field == "executor":
        value = get_or_create_party(value) if isinstance(value, str | people.Typed) else value
    if field == "planned_date":
        validate_date_in_range(value)
    if field == "kind" and value != step.kind and step.status != StepStatus.PENDING:
        # An announcement that went out stays one: its deliveries and history name it.
        raise ValidationError(_("The step has already run: its kind can no longer change."))
    old = getattr(step, field)
    if field == "duration_text":
        step.set_duration(value)
    else:
        setattr(step, field, value)
    step.revision += 1
    step.save()
    if old != getattr(step, field):
        record_event(
            plan,
            actor=actor,
            kind=EventKind.EDITED,
            obj=step,
            comment=comment,
            changes={field: [history_value(old), history_value(getattr(step, field))]},
        )
        _bump_plan_revision(plan)
        versioning.after_edit(plan, actor=actor)
    _note_lint_change(step, generation, was)
    return step


def _note_lint_change(
    step: Step,
    before: int | None,
    was: tuple[Any, ...],
    parts: tuple[list[Any], list[Any], Sequence[RiskInput], Sequence[RollbackActionInput]] | None = None,
) -> None:
    """Tell the save's answer what changed for the plan check (lint_data.after_save): `step.lint_change`.

    `was`: the step's columns before the save; `parts`: a risks save's risks and rollback actions before it (as the
    check reads them) and after it (as saved)."""
    if before is None:
        return
    was_risks = risks = was_actions = actions = None
    if parts is not None:
        was_risks, was_actions, new_risks, new_actions = parts
        risks = sorted(lint_data.LintRisk(r["number"], r.get("mitigation", "")) for r in new_risks)
        actions = [lint_data.LintAction(a["text"]) for a in new_actions]
    step.lint_change = lint_data.LintChange(  # type: ignore[attr-defined]
        before,
        cast(int, lint_data.generation(step.plan_id)),
        was,
        lint_data.columns_of(step),
        was_risks,
        risks,
        was_actions,
        actions,
    )


@transaction.atomic
def add_step(plan_id: int, *, actor: User, after_position: int | None = None, name: str | None = None) -> Step:
    """Insert a new step after `after_position` (at the end when None); later steps move down."""
    plan = _lock_editable_plan(plan_id, actor)
    last = plan.steps.aggregate(m=Max("position"))["m"] or 0
    position = last + 1 if after_position is None else min(max(after_position, 0) + 1, last + 1)
    plan.steps.filter(position__gte=position).update(position=F("position") + 1)
    previous = plan.steps.filter(position=position - 1).first()
    step = Step.objects.create(
        plan=plan,
        position=position,
        name=name or _("New step"),
        planned_date=previous.planned_date if previous else plan.window_start.astimezone(plan.tz).date(),
    )
    record_event(plan, actor=actor, kind=EventKind.STEP_ADDED, obj=step)
    _bump_plan_revision(plan)
    versioning.after_edit(plan, actor=actor)
    return step


@transaction.atomic
def delete_step(step_id: int, *, actor: User) -> None:
    step = Step.objects.select_for_update().get(pk=step_id)
    plan = _lock_editable_plan(step.plan_id, actor)
    record_event(plan, actor=actor, kind=EventKind.STEP_DELETED, obj=step, changes={"name": step.name})
    position = step.position
    step.delete()
    plan.steps.filter(position__gt=position).update(position=F("position") - 1)
    _bump_plan_revision(plan)
    versioning.after_edit(plan, actor=actor)


@transaction.atomic
def reorder_steps(plan_id: int, *, actor: User, step_ids: Sequence[int]) -> None:
    """Put the plan's steps in the given order; refuses a list that misses or adds steps."""
    plan = _lock_editable_plan(plan_id, actor)
    steps = {step.pk: step for step in plan.steps.all()}
    if sorted(steps) != sorted(step_ids):
        raise EditConflict(plan, _last_event("plan", plan.pk))
    before = [steps[pk].position for pk in step_ids]
    if before == list(range(1, len(step_ids) + 1)):
        return  # dropped where it was: nothing to record
    for position, pk in enumerate(step_ids, start=1):
        if steps[pk].position != position:
            Step.objects.filter(pk=pk).update(position=position)
    record_event(
        plan,
        actor=actor,
        kind=EventKind.STEPS_REORDERED,
        changes={"order": [before, list(range(1, len(step_ids) + 1))]},
    )
    _bump_plan_revision(plan)
    versioning.after_edit(plan, actor=actor)


def move_step(step_id: int, *, actor: User, offset: int) -> None:
    """Move a step up (offset -1) or down (+1)."""
    step = Step.objects.get(pk=step_id)
    order = list(Step.objects.filter(plan_id=step.plan_id).order_by("position", "id").values_list("pk", flat=True))
    index = order.index(step.pk)
    target = max(0, min(len(order) - 1, index + offset))
    order.insert(target, order.pop(index))
    reorder_steps(step.plan_id, actor=actor, step_ids=order)


@transaction.atomic
def save_step_risks(
    step_id: int,
    *,
    actor: User,
    revision: int | None,
    risks: Sequence[RiskInput],
    rollback_actions: Sequence[RollbackActionInput],
    risk_mitigation: str | None = None,
    no_rollback_needed: bool | None = None,
) -> Step:
    """Replace a step's risks and rollback actions (the actions in the given order)."""
    step = Step.objects.select_for_update().get(pk=step_id)
    plan = _lock_editable_plan(step.plan_id, actor)
    generation = lint_data.lock_generation(plan.pk)  # no other write to the plan's steps until this one commits
    was = lint_data.columns_of(step)
    if step.revision != revision:
        raise EditConflict(step, _last_event("step", step.pk))
    numbers = [r["number"] for r in risks] + [n for a in rollback_actions for n in a.get("risk_numbers", [])]
    if any(not 0 < n <= MAX_SMALL_NUMBER for n in numbers):
        raise ValidationError(_("Risk numbers run from 1 to %(max)d.") % {"max": MAX_SMALL_NUMBER})
    existing_risks = {risk.pk: risk for risk in step.risks.all()}
    was_risks = sorted(lint_data.LintRisk(r.number, r.mitigation) for r in existing_risks.values())
    kept = [risk_id for r in risks if (risk_id := r.get("id")) is not None and risk_id in existing_risks]
    step.risks.exclude(pk__in=kept).delete()
    # Renumbering may swap numbers between rows: park kept rows out of the unique range first.
    Risk.objects.filter(pk__in=kept).update(number=F("number") + 100000)
    by_number = {}
    for data in risks:
        risk = existing_risks.get(data.get("id")) or Risk(step=step)
        risk.number, risk.description, risk.mitigation = data["number"], data["description"], data.get("mitigation", "")
        risk.save()
        by_number[risk.number] = risk
    existing_actions = {action.pk: action for action in step.rollback_actions.all()}
    was_actions = [
        lint_data.LintAction(a.text) for a in sorted(existing_actions.values(), key=lambda a: (a.position, a.pk))
    ]
    kept_actions = [
        action_id for a in rollback_actions if (action_id := a.get("id")) is not None and action_id in existing_actions
    ]
    step.rollback_actions.exclude(pk__in=kept_actions).delete()
    for position, item in enumerate(rollback_actions, start=1):
        action = existing_actions.get(item.get("id")) or RollbackAction(step=step)
        action.position, action.text = position, item["text"]
        action.save()
        unknown = [n for n in item.get("risk_numbers", []) if n not in by_number]
        if unknown:
            raise ValidationError(
                _("Rollback action %(n)d names risks that do not exist: %(numbers)s.")
                % {"n": position, "numbers": ", ".join(map(str, unknown))}
            )
        action.risks.set([by_number[n] for n in item.get("risk_numbers", [])])
    if risk_mitigation is not None:
        step.risk_mitigation = risk_mitigation
    if no_rollback_needed is not None:
        step.no_rollback_needed = no_rollback_needed
    step.revision += 1
    step.save()
    record_event(
        plan,
        actor=actor,
        kind=EventKind.EDITED,
        obj=step,
        changes={
            "risks": [len(existing_risks), len(risks)],
            "rollback_actions": [len(existing_actions), len(rollback_actions)],
        },
    )
    _bump_plan_revision(plan)
    versioning.after_edit(plan, actor=actor)
    _note_lint_change(step, generation, was, (was_risks, was_actions, risks, rollback_actions))
    return step


# --- a part of a plan that another app keeps (a step's automation: runbooks/services.py) ------------------


OwnerT = TypeVar("OwnerT", bound=Model)


class PlanPartEdit(Generic[OwnerT]):
    """The plan, locked for an edit of one of its parts; the caller tells what changed with `changed`."""

    def __init__(self, plan: Plan, owner: OwnerT) -> None:
        self.plan = plan
        self.owner = owner  # the plan's row the part belongs to (a step): the history event names it
        self.event: dict[str, Any] | None = None

    def changed(self, *, changes: dict[str, Any], comment: str = "") -> None:
        self.event = {"changes": changes, "comment": comment}


@contextmanager
def edit_plan_part(
    plan_id: int,
    *,
    actor: User,
    read: Callable[[Plan], tuple[OwnerT, str]],
    revision: int | None,
    original: str | None = None,
) -> Iterator[PlanPartEdit[OwnerT]]:
    """Edit a part of a plan that another app keeps the way the plan's own editors edit theirs.

    One transaction: the plan row is locked (the lock every plan edit takes, so edits of one plan queue
    up) and who may not edit the plan is refused. `read(plan)` returns the row the part belongs to and
    the part's stamp (a text that changes whenever the part does). EditConflict when the plan changed
    since `revision` (the plan revision the editor was opened at) and the stamp is no longer `original`
    (the stamp the editor was opened with): edits elsewhere in the plan do not conflict, as in
    `update_step_cell`. `revision` None skips the check (a script, not an editor).
    Inside the block the caller changes its rows and calls `changed(...)` if the part changed; leaving
    the block then writes the history event, bumps the plan revision and versions a plan under sign-off.
    """
    with transaction.atomic():
        plan = _lock_editable_plan(plan_id, actor)
        owner, stamp = read(plan)
        if revision is not None and plan.revision != revision and stamp != original:
            owner_type = cast(str, owner._meta.model_name)  # None only on a model class still being made
            raise EditConflict(plan, _last_event(owner_type, owner.pk))
        edit = PlanPartEdit(plan, owner)
        yield edit
        if edit.event is not None:
            record_event(plan, actor=actor, kind=EventKind.EDITED, obj=owner, **edit.event)
            _bump_plan_revision(plan)
            versioning.after_edit(plan, actor=actor)


@transaction.atomic
def change_plan_kind(plan_id: int, *, actor: User | None, kind: str, reason: str = "") -> Plan:
    """Change the plan's change type, recorded as KIND_CHANGED with from/to (docs/change-types.md).

    By hand (`actor` given): the plan must be editable by the actor, the new kind normal or emergency, and a
    reason is required. Standard → normal is what the standard-change check does (runbooks/standard.py, possibly
    with actor=None): allowed for anyone while the plan is editable.
    """
    plan = Plan.objects.select_for_update().get(pk=plan_id)
    if _change_kind(plan, actor=actor, kind=kind, reason=reason):
        plan.revision += 1
        bump_ics_sequence(plan, ("kind",))  # the invitations' summary names the type
        plan.save(update_fields=["kind", "revision", "ics_sequence", "updated_at"])
        versioning.after_edit(plan, actor=actor)
    return plan


def _change_kind(plan: Plan, *, actor: User | None, kind: str, reason: str) -> bool:
    """Check and set the new kind on the locked plan and record it (the caller saves). False: unchanged."""
    if plan.kind == kind:
        return False
    downgrade = plan.kind == PlanKind.STANDARD and kind == PlanKind.NORMAL
    if downgrade:
        if not plan.is_editable:
            raise ValidationError(
                _("The plan is “%(status)s”: it can no longer be edited.") % {"status": plan.get_status_display()}
            )
    else:
        refusal = kind_refusal(kind)
        if refusal:
            raise ValidationError({"kind": refusal})
        refusal = edit_refusal(actor, plan) if actor is not None else _("Only the author can change the change type.")
        if refusal:
            raise PermissionDenied(refusal)
    reason = clean_text(reason)
    if not downgrade and not reason:
        raise ValidationError({"kind_reason": _("Give a reason for changing the change type.")})
    before = plan.kind
    plan.kind = kind
    record_event(plan, actor=actor, kind=EventKind.KIND_CHANGED, changes={"kind": [before, kind]}, comment=reason)
    return True


@transaction.atomic
def cancel_plan(plan_id: int, *, actor: User, comment: str = "") -> Plan:
    plan = Plan.objects.select_for_update().get(pk=plan_id)
    if not can_cancel_plan(actor, plan):
        raise PermissionDenied(_("Only the author or an administrator can cancel the plan."))
    if not comment.strip():
        raise ValidationError(_("Give a reason for cancelling the plan."))
    if not can_proceed(plan.cancel):
        raise ValidationError(_("A plan that has started or ended cannot be cancelled."))
    before = plan.status
    plan.cancel()
    bump_ics_sequence(plan)
    plan.save()
    record_event(
        plan, actor=actor, kind=EventKind.TRANSITION, from_status=before, to_status=plan.status, comment=comment
    )
    for hook in on_plan_cancelling:
        hook(plan)
    for callback in on_plan_cancelled:
        transaction.on_commit(functools.partial(callback, plan.pk))
    return plan


# Called inside the copy's transaction with (source plan, copy, {old step id: new step id}):
# runbooks copies the steps' automation here (changeplans may not import runbooks).
on_plan_copied: list[Callable[[Plan, Plan, dict[int, int]], None]] = []

COPIED_STEP_FIELDS = (
    "position",
    "kind",
    "name",
    "description",
    "expected_result",
    "risk_mitigation",
    "affected_systems",
    "planned_downtime",
    "planned_downtime_max_minutes",
    "executor_id",
    "planned_time",
    "duration_text",
    "duration_min",
    "duration_max",
    "no_rollback_needed",
    "jira_key",
)


@transaction.atomic
def copy_plan(plan_id: int, *, actor: User, window_start: Any, window_end: Any, kind: str | None = None) -> Plan:
    """A new draft of `actor` with the plan's header, services, steps, risks and rollback actions, in a new window.

    Steps start over (not done, no actual times); their dates move by as many days as the window did.
    The sign-off matrix starts empty (the author applies a template); nothing of the execution is copied.
    A fixed number of queries whatever the number of steps. `kind`: the copy's change type (normal or emergency;
    by default the source's, a standard change's copy is normal: it is not made from the runbook).
    """
    if kind is not None and kind_refusal(kind):
        raise ValidationError({"kind": kind_refusal(kind)})
    if not can_create_plan(actor):
        raise PermissionDenied(_("Only authors can create plans."))
    source = Plan.objects.get(pk=plan_id)
    copy = Plan(author=actor, **{name: getattr(source, name) for name in HEADER_FIELDS})
    copy.title = (_("Copy: ") + source.title)[: Plan._meta.get_field("title").max_length]
    copy.window_start, copy.window_end = window_start, window_end
    copy.kind = kind if kind is not None else copied_kind(source.kind)
    copy.downtime_max_minutes = source.downtime_max_minutes
    copy.stated_duration_minutes = source.stated_duration_minutes
    try:
        copy.full_clean(exclude=["status"])
    except ValidationError as exc:
        # Only the new window is the copier's input; the rest is the source's, copied as it is.
        window_errors = {
            k: v for k, v in exc.error_dict.items() if k in ("window_start", "window_end", NON_FIELD_ERRORS)
        }
        if window_errors:
            raise ValidationError(window_errors) from exc
    copy.save()
    PlanService.objects.bulk_create(
        PlanService(plan=copy, service_id=ps.service_id, availability=ps.availability)
        for ps in source.plan_services.all()
    )

    tz = source.tz
    day_shift = window_start.astimezone(tz).date() - source.window_start.astimezone(tz).date()
    old_steps = list(source.steps.prefetch_related("risks", "rollback_actions__risks").order_by("position", "id"))
    new_steps = []
    for old in old_steps:
        new = Step(plan=copy, **{name: getattr(old, name) for name in COPIED_STEP_FIELDS})
        if old.planned_date:
            shifted = old.planned_date + day_shift
            new.planned_date = shifted if date_in_range(shifted) else None
        new_steps.append(new)
    Step.objects.bulk_create(new_steps)
    step_ids = {old.pk: new.pk for old, new in zip(old_steps, new_steps, strict=True)}

    old_risks = [risk for step in old_steps for risk in step.risks.all()]
    new_risks = [
        Risk(step_id=step_ids[r.step_id], number=r.number, description=r.description, mitigation=r.mitigation)
        for r in old_risks
    ]
    Risk.objects.bulk_create(new_risks)
    risk_ids = {old.pk: new.pk for old, new in zip(old_risks, new_risks, strict=True)}

    old_actions = [action for step in old_steps for action in step.rollback_actions.all()]
    new_actions = [RollbackAction(step_id=step_ids[a.step_id], position=a.position, text=a.text) for a in old_actions]
    RollbackAction.objects.bulk_create(new_actions)
    Link = RollbackAction.risks.through
    Link.objects.bulk_create(
        Link(rollbackaction_id=new.pk, risk_id=risk_ids[risk.pk])
        for old, new in zip(old_actions, new_actions, strict=True)
        for risk in old.risks.all()
    )

    for callback in on_plan_copied:
        callback(source, copy, step_ids)
    record_event(
        copy,
        actor=actor,
        kind=EventKind.CREATED,
        to_status=copy.status,
        comment=_("Copied from plan %(id)s") % {"id": source.pk},
    )
    return copy
