"""Executing a plan during its window: the live board's services and the step transitions under them.

Two layers:
- the board services (`start_plan`, `tick`, `enter_rollback`, `tick_rollback`, `finish_plan`) check who may
  do it and in which state, lock the rows, compare the status the user saw with the one stored, move the
  state machine, write one history entry per transition and run `on_step_changed` after commit;
- the primitives (`start_step`, `finish_step`, `fail_step`, `skip_step`) only transition a step the caller
  has locked and write its history entry. Automatic steps (execution.automatic_steps) use them with
  `actor=None` (Okno itself) from the scheduler's transaction.

Locking order is always plan, then step, then rollback action (the same order as automatic_steps.run_step),
so two board calls and the scheduler never deadlock. Under READ COMMITTED `select_for_update` returns the
row as committed by whoever held the lock before us: that is what `expected_status` is compared with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import can_proceed

from changeplans import pdf_archive
from changeplans.choices import EventKind, PlanKind, PlanStatus, Role, StepStatus
from changeplans.history import record_event
from changeplans.models import STATUS_CHOICES_BY_OBJECT, Plan, PlanEvent, RollbackAction, Step
from changeplans.roles import display_name, has_role
from common.text import clean_text
from common.transactions import after_commit

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User
    from django.utils.functional import _StrPromise

    Ticked = Step | RollbackAction  # what the board ticks
    AnyUser = User | AnonymousUser | None  # None: Okno itself

# Called after commit with (plan id, step id) when a step or one of its rollback actions changed.
on_step_changed: list[Callable[[int, int], object]] = []
# Called after commit with the plan id when the plan started, entered rollback mode or finished.
on_plan_changed: list[Callable[[int], object]] = []
# An emergency change in review may start early (docs/change-types.md). The approvals app (a higher layer)
# registers here: the check of its signatures (the plan -> a refusal or None), and what follows the start
# (inside the transaction: the post-factum reminders and escalation are scheduled).
emergency_start_checks: list[Callable[[Plan], str | None]] = []
on_emergency_started: list[Callable[[Plan], object]] = []

BOARD_ROLES = (Role.DUTY_OFFICER, Role.OPERATOR, Role.ADMIN)
STEP_ACTIONS = ("start", "done", "failed", "skip", "retry")
ROLLBACK_ACTIONS = ("start", "done", "failed", "skip")
REASON_REQUIRED = ("failed", "skip")
ROLLBACK_MODE_STEP_ACTIONS = ("done", "failed")
OUTCOMES = ("completed", "completed_with_rollback", "failed")
FINISHED_STATUSES = (StepStatus.DONE, StepStatus.SKIPPED, StepStatus.ROLLED_BACK)
# Automatic steps may be ticked by Okno (actor None) as soon as the plan is approved.
SYSTEM_PLAN_STATUSES = (PlanStatus.APPROVED, PlanStatus.IN_PROGRESS)
_METHODS = {"start": "start", "done": "finish", "failed": "fail", "skip": "skip", "retry": "retry"}


class PlanMode(models.TextChoices):
    """The plan's execution mode as the history shows it (entering rollback mode is not a status change)."""

    NORMAL = "normal", gettext_lazy("Normal execution")
    ROLLBACK = "rollback", gettext_lazy("ROLLBACK MODE")


def register() -> None:
    """Called from ExecutionConfig.ready(): the history labels the plan's execution mode."""
    STATUS_CHOICES_BY_OBJECT.setdefault("plan_mode", PlanMode)


class StepStateError(Exception):
    """The step (or plan, or rollback action) is not in a state that allows this transition."""


class AlreadyChanged(StepStateError):
    """Someone else changed the object after the user saw it: the view answers 409 with this message."""

    def __init__(self, message: str, event: PlanEvent | None = None) -> None:
        super().__init__(message)
        self.event = event


# --- guards ------------------------------------------------------------------------------------------


def is_board_officer(user: AnyUser) -> bool:
    return user is not None and user.is_authenticated and any(has_role(user, role) for role in BOARD_ROLES)


def is_step_responsible(user: AnyUser, step: Step) -> bool:
    executor = step.executor
    return user is not None and executor is not None and executor.user_id is not None and executor.user_id == user.pk


def tick_refusal(user: AnyUser, plan: Plan, step: Step) -> str | None:
    """Why `user` may not tick `step` now, or None. `user` None is Okno itself (automatic steps)."""
    if user is None:
        if plan.status not in SYSTEM_PLAN_STATUSES:
            return _("The plan is “%(status)s”: steps are not run.") % {"status": plan.get_status_display()}
        return None
    if not (is_board_officer(user) or is_step_responsible(user, step)):
        return _("Only the duty officer, an operator, an administrator or the step's responsible can tick this step.")
    if plan.status != PlanStatus.IN_PROGRESS:
        return _("The plan is “%(status)s”: steps are ticked only while the work is in progress.") % {
            "status": plan.get_status_display()
        }
    return None


def is_emergency_start(plan: Plan) -> bool:
    """An emergency change still in review: it starts on the emergency rule, not on full sign-off."""
    return plan.kind == PlanKind.EMERGENCY and plan.status == PlanStatus.IN_REVIEW


def emergency_refusal(plan: Plan) -> str | None:
    """Why the emergency change cannot start yet (whoever asks), or None: the duty officer's acknowledgement and
    an approval by a member of the emergency group (approvals.emergency)."""
    if not emergency_start_checks:
        return _("An emergency start is not available.")
    for check in emergency_start_checks:
        refusal = check(plan)
        if refusal:
            return refusal
    return None


def start_refusal(user: AnyUser, plan: Plan, now: datetime | None = None) -> str | None:
    """Why `user` may not start the plan (ignoring the early-start override), or None."""
    if is_emergency_start(plan):
        if not (user is not None and user.is_authenticated and has_role(user, Role.DUTY_OFFICER)):
            return _("Only the duty officer can start an emergency change before its full sign-off.")
        return emergency_refusal(plan)
    if not is_board_officer(user):
        return _("Only the duty officer, an operator or an administrator can start the work.")
    if plan.status != PlanStatus.APPROVED:
        return _("Only an approved plan can be started; this one is “%(status)s”.") % {
            "status": plan.get_status_display()
        }
    return None


def is_early(plan: Plan, now: datetime | None = None) -> bool:
    return (now or timezone.now()) < plan.window_start


def plan_refusal(user: AnyUser, plan: Plan) -> str | None:
    """Why `user` may not switch the plan to rollback mode or finish it, or None."""
    if not is_board_officer(user):
        return _("Only the duty officer, an operator or an administrator can do this.")
    if plan.status != PlanStatus.IN_PROGRESS:
        return _("The plan is “%(status)s”: the work is not in progress.") % {"status": plan.get_status_display()}
    return None


def _who_when(event: PlanEvent | None, plan: Plan) -> tuple[str, str]:
    who = display_name(event.actor) if event and event.actor else _("Okno")
    when = timezone.localtime(event.at, plan.tz).strftime("%H:%M") if event else ""
    return who, when


def _last_transition(object_type: str, object_id: int) -> PlanEvent | None:
    return (
        PlanEvent.objects.filter(object_type=object_type, object_id=object_id, kind=EventKind.TRANSITION)
        .select_related("actor")
        .order_by("-id")
        .first()
    )


def _conflict(obj: Plan | Step | RollbackAction, plan: Plan, what: str) -> AlreadyChanged:
    """The clear refusal for a tick that lost a race: who set the current status, and when."""
    event = _last_transition(obj._meta.model_name or "", obj.pk)
    who, when = _who_when(event, plan)
    params = {"status": obj.get_status_display(), "who": who, "time": when}
    if what == "plan":
        message = _("The plan is already “%(status)s”: set by %(who)s at %(time)s.") % params
    elif what == "rollback":
        message = _("The rollback action is already marked “%(status)s” by %(who)s at %(time)s.") % params
    else:
        message = _("The step is already marked “%(status)s” by %(who)s at %(time)s.") % params
    return AlreadyChanged(message, event)


def _after_commit(plan_id: int, step_id: int | None = None) -> None:
    callbacks = on_step_changed if step_id is not None else on_plan_changed
    args = (plan_id, step_id) if step_id is not None else (plan_id,)
    for callback in callbacks:
        after_commit(callback, *args)


# --- primitives (caller holds the transaction and the lock) ------------------------------------------


def _transition(
    obj: Ticked, method: str, *, actor: User | None, comment: str = "", note_on_object: bool = True
) -> None:
    """Move a step or a rollback action (`obj.step` set, its plan loaded) and write its history entry."""
    transition = getattr(obj, method)
    if not can_proceed(transition):
        raise StepStateError(_("The step is already “%(status)s”.") % {"status": obj.get_status_display()})
    before = obj.status
    transition()
    if actor is not None and method == "start" and isinstance(obj, Step):  # a rollback action has no started_by
        obj.started_by = actor
    if actor is not None and method in ("finish", "fail", "skip"):
        obj.done_by = actor
    if method in ("retry", "reset") and isinstance(obj, Step):
        obj.started_by = obj.done_by = None
    if comment and note_on_object:
        obj.comment = comment
    obj.save()
    if isinstance(obj, RollbackAction):
        step = obj.step
    else:
        step = obj
    record_event(
        step.plan,
        actor=actor,
        kind=EventKind.TRANSITION,
        obj=obj,
        from_status=before,
        to_status=obj.status,
        comment=comment,
    )
    _after_commit(step.plan_id, step.pk)


def start_step(step: Step, *, actor: User | None, comment: str = "") -> Step:
    _transition(step, "start", actor=actor, comment=comment)
    return step


def finish_step(step: Step, *, actor: User | None, comment: str = "") -> Step:
    _transition(step, "finish", actor=actor, comment=comment)
    return step


def fail_step(step: Step, *, actor: User | None, reason: str) -> Step:
    _transition(step, "fail", actor=actor, comment=reason)
    return step


def skip_step(step: Step, *, actor: User | None, reason: str) -> Step:
    _transition(step, "skip", actor=actor, comment=reason)
    return step


def retry_step(step: Step, *, actor: User | None, comment: str = "") -> Step:
    _transition(step, "retry", actor=actor, comment=comment)
    return step


def reset_step(step: Step, *, actor: User | None, comment: str = "") -> Step:
    """A running step goes back to waiting (its automation was cancelled on purpose: not a failure)."""
    _transition(step, "reset", actor=actor, comment=comment, note_on_object=False)
    return step


def lock_step(step_id: int) -> Step | None:
    return Step.objects.select_for_update(of=("self",)).select_related("plan").filter(pk=step_id).first()


def _lock_plan(plan_id: int) -> Plan:
    plan = Plan.objects.select_for_update().filter(pk=plan_id).first()
    if plan is None:
        raise ValidationError(_("The plan no longer exists."))
    return plan


# --- board services ----------------------------------------------------------------------------------


@transaction.atomic
def start_plan(plan_id: int, *, actor: User, override_reason: str = "", now: datetime | None = None) -> Plan:
    """The duty officer starts the work: approved plan, window open (or a reason for starting early)."""
    now = now or timezone.now()
    plan = _lock_plan(plan_id)
    emergency = is_emergency_start(plan)
    if not is_board_officer(actor) or (emergency and not has_role(actor, Role.DUTY_OFFICER)):
        raise PermissionDenied(start_refusal(actor, plan))
    if plan.status == PlanStatus.IN_PROGRESS or plan.started_at:
        raise _conflict(plan, plan, "plan")
    refusal = start_refusal(actor, plan)
    if refusal:
        raise ValidationError(refusal)
    reason = clean_text(override_reason)
    if now < plan.window_start and not reason:
        raise ValidationError(
            _("The window opens at %(time)s: to start earlier, give a reason.")
            % {"time": timezone.localtime(plan.window_start, plan.tz).strftime("%H:%M %d.%m.%Y")}
        )
    before = plan.status
    signoff_due = now + timedelta(hours=settings.OKNO_EMERGENCY_SIGNOFF_HOURS)
    if emergency:
        plan.start_emergency()
        plan.emergency_signoff_due = signoff_due
    else:
        plan.start()
    plan.started_at = now
    plan.save()
    comment = _("Started before the window: %(reason)s") % {"reason": reason} if now < plan.window_start else reason
    if emergency:
        due = timezone.localtime(signoff_due, plan.tz).strftime("%H:%M %d.%m.%Y")
        note = _("Emergency start before full sign-off: the remaining sign-offs are due by %(time)s.") % {"time": due}
        comment = f"{note} {comment}" if comment else note
    record_event(
        plan,
        actor=actor,
        kind=EventKind.TRANSITION,
        from_status=before,
        to_status=plan.status,
        comment=comment,
        changes={"signoff_due": signoff_due.isoformat()} if emergency else None,
    )
    if emergency:
        for hook in on_emergency_started:
            hook(plan)
    _after_commit(plan.pk)
    return plan


@dataclass(frozen=True)
class _Tickable:
    """What differs between ticking a step and ticking one of its rollback actions; `_tick` does the rest."""

    model: type[Step] | type[RollbackAction]
    actions: tuple[str, ...]
    ids: tuple[str, str]  # the object's step id and plan id, as values_list() paths from the object
    gone: _StrPromise
    cannot_mark: _StrPromise  # with %(status)s
    refusal: Callable[[AnyUser, Plan, Any], str | None]  # (user, plan, the step or rollback action)
    # Okno itself (actor None) ticks automatic steps: a refusal it gets is about the state, not permission.
    okno_may_tick: bool
    # In rollback mode only these actions remain (None: no limit).
    rollback_mode_actions: tuple[str, ...] | None
    # What follows the transition (the step becomes "rolled back" after its last rollback action).
    then: Callable[[Any, User | None], None] | None = None


def _tick(
    kind: _Tickable,
    obj_id: int,
    action: str,
    *,
    actor: User | None,
    comment: str,
    reason: str | None,
    expected_status: str | None,
) -> Ticked:
    """The board's tick, for a step or a rollback action; the caller holds the transaction."""
    if action not in kind.actions:
        raise ValidationError(_("Unknown action “%(action)s”.") % {"action": action})
    text = clean_text(reason if reason is not None else comment)
    ids = kind.model.objects.filter(pk=obj_id).values_list(*kind.ids).first()
    if ids is None:
        raise ValidationError(str(kind.gone))
    step_id, plan_id = ids
    # Lock order: plan, step, rollback action (the module docstring).
    plan = _lock_plan(plan_id)
    step = Step.objects.select_for_update(of=("self",)).select_related("executor").get(pk=step_id)
    step.plan = plan
    obj: Ticked = step
    if kind.model is not Step:
        rollback: RollbackAction = RollbackAction.objects.select_for_update(of=("self",)).get(pk=obj_id)
        rollback.step = step
        obj = rollback
    refusal = kind.refusal(actor, plan, obj)
    if refusal:
        if not ((actor is None and kind.okno_may_tick) or is_board_officer(actor) or is_step_responsible(actor, step)):
            raise PermissionDenied(refusal)
        raise ValidationError(refusal)
    mode_actions = kind.rollback_mode_actions
    if mode_actions is not None and actor is not None and plan.rollback_started_at and action not in mode_actions:
        # In rollback mode no step starts again; one still running may be ended.
        raise ValidationError(_("The plan is in rollback mode: tick the rollback actions of the failed steps."))
    if expected_status and obj.status != expected_status:
        raise _conflict(obj, plan, "step" if obj is step else "rollback")
    method = _METHODS[action]
    if not can_proceed(getattr(obj, method)):
        raise StepStateError(kind.cannot_mark % {"status": obj.get_status_display()})
    if action in REASON_REQUIRED and not text:
        raise ValidationError(_("Give a reason: it goes into the plan's history."))
    _transition(obj, method, actor=actor, comment=text)
    if kind.then is not None:
        kind.then(obj, actor)
    return obj


_STEP = _Tickable(
    model=Step,
    actions=STEP_ACTIONS,
    ids=("pk", "plan_id"),
    gone=gettext_lazy("The step no longer exists."),
    cannot_mark=gettext_lazy("A step that is “%(status)s” cannot be given this mark."),
    refusal=tick_refusal,
    okno_may_tick=True,
    rollback_mode_actions=ROLLBACK_MODE_STEP_ACTIONS,
)


@transaction.atomic
def tick(
    step_id: int,
    action: str,
    *,
    actor: User | None,
    comment: str = "",
    reason: str | None = None,
    expected_status: str | None = None,
) -> Step:
    """Tick a step on the board: start, done, failed (reason), skip (reason) or retry (failed → pending).

    `expected_status` is the status the user saw; when the stored one differs, someone else was first and
    AlreadyChanged says who and when. `actor` None is Okno itself ticking an automatic step.
    """
    step = _tick(_STEP, step_id, action, actor=actor, comment=comment, reason=reason, expected_status=expected_status)
    return cast(Step, step)


@transaction.atomic
def enter_rollback(plan_id: int, *, actor: User, reason: str) -> Plan:
    """Switch the plan to rollback mode: from now on the rollback actions of failed steps are ticked."""
    plan = _lock_plan(plan_id)
    if not is_board_officer(actor):
        raise PermissionDenied(plan_refusal(actor, plan))
    if plan.rollback_started_at:
        event = (
            PlanEvent.objects.filter(plan=plan, object_type="plan_mode", to_status=PlanMode.ROLLBACK)
            .select_related("actor")
            .order_by("-id")
            .first()
        )
        who, when = _who_when(event, plan)
        raise AlreadyChanged(
            _("The plan is already in rollback mode: switched by %(who)s at %(time)s.") % {"who": who, "time": when},
            event,
        )
    refusal = plan_refusal(actor, plan)
    if refusal:
        raise ValidationError(refusal)
    text = clean_text(reason)
    if not text:
        raise ValidationError(_("Give a reason for the rollback."))
    plan.rollback_started_at = timezone.now()
    plan.save(update_fields=["rollback_started_at", "updated_at"])
    PlanEvent.objects.create(
        plan=plan,
        actor=actor,
        kind=EventKind.TRANSITION,
        object_type="plan_mode",
        object_id=plan.pk,
        object_label=str(plan)[:300],
        from_status=PlanMode.NORMAL,
        to_status=PlanMode.ROLLBACK,
        comment=text,
    )
    _after_commit(plan.pk)
    return plan


def rollback_refusal(user: AnyUser, plan: Plan, rollback_action: RollbackAction) -> str | None:
    """Why `user` may not tick a rollback action now, or None."""
    step = rollback_action.step
    if not (is_board_officer(user) or is_step_responsible(user, step)):
        return _("Only the duty officer, an operator, an administrator or the step's responsible can tick this step.")
    if plan.status != PlanStatus.IN_PROGRESS:
        return _("The plan is “%(status)s”: steps are ticked only while the work is in progress.") % {
            "status": plan.get_status_display()
        }
    if not plan.rollback_started_at:
        return _("Rollback actions are ticked in rollback mode: switch the plan to it first.")
    if step.status not in (StepStatus.FAILED, StepStatus.ROLLED_BACK):
        return _("Only the rollback actions of a failed step are carried out.")
    return None


def _roll_back_step_when_done(rollback: RollbackAction, actor: User | None) -> None:
    """A failed step whose rollback actions are all done or skipped becomes "rolled back"."""
    step = rollback.step
    if step.status == StepStatus.FAILED:
        statuses = list(step.rollback_actions.values_list("status", flat=True))
        if statuses and all(status in (StepStatus.DONE, StepStatus.SKIPPED) for status in statuses):
            # The step keeps its failure reason; the note goes into the history only.
            _transition(
                step, "roll_back", actor=actor, comment=_("Every rollback action is done."), note_on_object=False
            )


_ROLLBACK = _Tickable(
    model=RollbackAction,
    actions=ROLLBACK_ACTIONS,
    ids=("step_id", "step__plan_id"),
    gone=gettext_lazy("The rollback action no longer exists."),
    cannot_mark=gettext_lazy("A rollback action that is “%(status)s” cannot be given this mark."),
    refusal=rollback_refusal,
    okno_may_tick=False,
    rollback_mode_actions=None,
    then=_roll_back_step_when_done,
)


@transaction.atomic
def tick_rollback(
    action_id: int,
    action: str,
    *,
    actor: User | None,
    comment: str = "",
    reason: str | None = None,
    expected_status: str | None = None,
) -> RollbackAction:
    """Tick a rollback action of a failed step in rollback mode (start, done, failed, skip).

    When every rollback action of the step is done or skipped, the step becomes "rolled back".
    """
    rollback = _tick(
        _ROLLBACK, action_id, action, actor=actor, comment=comment, reason=reason, expected_status=expected_status
    )
    return cast(RollbackAction, rollback)


def remaining_rollback_actions(steps: list[Step]) -> list[RollbackAction]:
    """The rollback actions of failed steps not started yet (what "skip the remaining actions" skips)."""
    return [
        action
        for step in steps
        if step.status == StepStatus.FAILED
        for action in step.rollback_actions.all()
        if action.status == StepStatus.PENDING
    ]


@transaction.atomic
def skip_remaining_rollback(plan_id: int, *, actor: User, reason: str) -> list[RollbackAction]:
    """In rollback mode, skip every rollback action not started yet with one reason (one history entry each).

    The same checks as ticking each action; actions in progress are left to be finished or failed.
    """
    plan = _lock_plan(plan_id)
    if not is_board_officer(actor):
        raise PermissionDenied(plan_refusal(actor, plan))
    refusal = plan_refusal(actor, plan)
    if refusal:
        raise ValidationError(refusal)
    if not plan.rollback_started_at:
        raise ValidationError(_("Rollback actions are ticked in rollback mode: switch the plan to it first."))
    text = clean_text(reason)
    if not text:
        raise ValidationError(_("Give a reason: it goes into the plan's history."))
    # Lock order: plan, steps, rollback actions.
    steps = list(
        Step.objects.select_for_update(of=("self",))
        .select_related("executor")
        .filter(plan=plan, status=StepStatus.FAILED)
        .order_by("position", "id")
    )
    skipped: list[RollbackAction] = []
    for step in steps:
        step.plan = plan
        actions = RollbackAction.objects.select_for_update(of=("self",)).filter(step=step, status=StepStatus.PENDING)
        for action in actions.order_by("position", "id"):
            action.step = step
            refusal = rollback_refusal(actor, plan, action)
            if refusal:
                raise ValidationError(refusal)
            _transition(action, "skip", actor=actor, comment=text)
            skipped.append(action)
        if skipped and skipped[-1].step is step:
            _roll_back_step_when_done(skipped[-1], actor)
    if not skipped:
        raise StepStateError(_("No rollback action is left to skip."))
    return skipped


def finish_refusal(plan: Plan, outcome: str, steps: list[Step]) -> str | None:
    """Why the plan cannot end with `outcome` given its steps (a list with rollback actions), or None."""
    if outcome == "completed":
        if plan.rollback_started_at:
            return _("The plan is in rollback mode: it ends as “completed with rollback” or “failed”.")
        open_steps = [step for step in steps if step.status not in (StepStatus.DONE, StepStatus.SKIPPED)]
        if open_steps:
            return _("Steps not done yet: %(numbers)s. Tick or skip them first.") % {
                "numbers": ", ".join(str(s.position) for s in open_steps)
            }
    elif outcome == "completed_with_rollback":
        if not plan.rollback_started_at:
            return _("The plan has not been rolled back: switch it to rollback mode first.")
        running: list[Step | RollbackAction] = [step for step in steps if step.status == StepStatus.IN_PROGRESS]
        running += [a for step in steps for a in step.rollback_actions.all() if a.status == StepStatus.IN_PROGRESS]
        if running:
            return _("Something is still in progress: finish or fail it first.")
    return None


@transaction.atomic
def finish_plan(plan_id: int, *, actor: User, outcome: str, comment: str = "") -> Plan:
    """End the work: completed, completed with rollback, or failed (a comment is required for failed)."""
    if outcome not in OUTCOMES:
        raise ValidationError(_("Unknown outcome “%(outcome)s”.") % {"outcome": outcome})
    plan = _lock_plan(plan_id)
    if not is_board_officer(actor):
        raise PermissionDenied(plan_refusal(actor, plan))
    if plan.finished_at or plan.status in (PlanStatus.COMPLETED, PlanStatus.COMPLETED_WITH_ROLLBACK, PlanStatus.FAILED):
        raise _conflict(plan, plan, "plan")
    refusal = plan_refusal(actor, plan)
    if refusal:
        raise ValidationError(refusal)
    text = clean_text(comment)
    if outcome == "failed" and not text:
        raise ValidationError(_("Say why the work failed: it goes into the plan's history."))
    steps = list(plan.steps.prefetch_related("rollback_actions").select_for_update(of=("self",)))
    refusal = finish_refusal(plan, outcome, steps)
    if refusal:
        raise ValidationError(refusal)
    before = plan.status
    {"completed": plan.complete, "completed_with_rollback": plan.complete_with_rollback, "failed": plan.fail}[outcome]()
    plan.finished_at = timezone.now()
    plan.save()
    record_event(plan, actor=actor, kind=EventKind.TRANSITION, from_status=before, to_status=plan.status, comment=text)
    _after_commit(plan.pk)
    pdf_archive.request_pdf(plan.pk, "finished")
    return plan
