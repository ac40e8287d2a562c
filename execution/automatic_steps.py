"""Steps that do themselves: announcement, banner on, banner off, completion notice.

One ScheduledAction row per automatic step (key `plan-step:<step id>`, kind `plan.step`), kept in
line with the plan by `sync_plan`:
- the plan is approved or in progress and the step has not run: the row is pending at the step's
  planned start; a step without a start time waits until every step before it is finished;
- otherwise (in review again, cancelled, rejected) the row is cancelled, and comes back if the plan
  is approved again. A row that has fired is never fired again.
When it fires, the step starts, its deliveries (e-mails, webhook calls) are queued under the group
`plan:<plan>:step:<step>`, and the step is done when they are all delivered or failed when one
gives up (`on_group_settled`). A banner without webhooks is done at once.

Banner off and the completion notice close the work: they do not fire by themselves while the plan is
in rollback mode or a step has failed. When the duty officer ends such a plan (completed with rollback,
failed), Okno runs them then, and the notice says how the work ended (`announcements.context`'s outcome).
"""

import logging
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from changeplans import banners
from changeplans.choices import EventKind, PlanStatus, StepKind, StepStatus
from changeplans.history import record_event
from changeplans.models import Banner, Plan, Step
from changeplans.roles import has_role
from execution import transitions
from notifications import groups, scheduler
from notifications.choices import ScheduleState
from notifications.models import ScheduledAction

logger = logging.getLogger(__name__)

STEP_ACTION = "plan.step"
AUTO_KINDS = (StepKind.ANNOUNCEMENT, StepKind.BANNER_ON, StepKind.BANNER_OFF, StepKind.COMPLETION_NOTICE)
RUNNING_PLAN = (PlanStatus.APPROVED, PlanStatus.IN_PROGRESS)
FINISHED_STEP = (StepStatus.DONE, StepStatus.SKIPPED, StepStatus.ROLLED_BACK)
# Steps that close the work: held while it goes wrong, run when the duty officer ends it.
CLOSING_KINDS = (StepKind.BANNER_OFF, StepKind.COMPLETION_NOTICE)
ENDED_BADLY = (PlanStatus.COMPLETED_WITH_ROLLBACK, PlanStatus.FAILED)
GROUP_RE = re.compile(r"^plan:(?P<plan>\d+):step:(?P<step>\d+)$")


def step_key(step_id):
    return f"plan-step:{step_id}"


def plan_subject(plan_id):
    return f"plan:{plan_id}"


def step_group(plan_id, step_id):
    return f"plan:{plan_id}:step:{step_id}"


def due_time(plan, step, earlier_steps):
    """When the step fires: its planned start, or now once every earlier step is finished; None: not yet."""
    start = step.planned_start(plan.tz)
    if start is not None:
        return start
    if all(other.status in FINISHED_STEP for other in earlier_steps):
        return timezone.now()
    return None


def closing_held(plan, steps):
    """True while the work goes wrong (rollback mode, or a failed step): closing steps wait for the end."""
    return bool(plan.rollback_started_at) or any(step.status == StepStatus.FAILED for step in steps)


def sync_plan(plan_id):
    """Make the plan's scheduled rows match the plan as it is now (idempotent; call after any change)."""
    with transaction.atomic():
        scheduler.lock_rows(subject=plan_subject(plan_id))  # before the plan: run_step's order
        plan = Plan.objects.select_for_update().filter(pk=plan_id).first()
        if plan is None:
            return
        steps = list(plan.steps.order_by("position", "id"))
        running = plan.status in RUNNING_PLAN
        held = closing_held(plan, steps)
        keys, kick = [], False
        for index, step in enumerate(steps):
            if step.kind not in AUTO_KINDS:
                continue
            due = due_time(plan, step, steps[:index]) if running and step.status == StepStatus.PENDING else None
            if held and step.kind in CLOSING_KINDS:
                due = None
            row = scheduler.put(
                step_key(step.pk),
                due or plan.window_start,
                STEP_ACTION,
                {"plan_id": plan.pk, "step_id": step.pk},
                subject=plan_subject(plan.pk),
                active=due is not None,
            )
            keys.append(step_key(step.pk))
            kick |= bool(due and row and row.state == ScheduleState.PENDING and due <= timezone.now())
        # Rows of steps deleted or no longer automatic.
        (
            ScheduledAction.objects.filter(
                subject=plan_subject(plan.pk), kind=STEP_ACTION, state__in=scheduler.OPEN_STATES
            )
            .exclude(key__in=keys)
            .update(state=ScheduleState.CANCELLED, done_at=timezone.now())
        )
        if kick:
            transaction.on_commit(scheduler.kick, robust=True)


def fire_step(step_id, *, actor):
    """The duty officer presses "run now": the step's row becomes due at once."""
    with transaction.atomic():
        step = Step.objects.select_related("plan").get(pk=step_id)
        plan = step.plan
        if not any(has_role(actor, role) for role in ("duty_officer", "operator", "admin")):
            raise PermissionDenied(_("Only the duty officer or an operator can run a step."))
        if step.kind not in AUTO_KINDS:
            raise ValidationError(_("This step is done by people, not by Okno."))
        if plan.status not in RUNNING_PLAN:
            raise ValidationError(_("The plan is not approved: nothing is sent before it is."))
        if step.status != StepStatus.PENDING:
            raise ValidationError(_("The step is already “%(status)s”.") % {"status": step.get_status_display()})
        payload = {"plan_id": plan.pk, "step_id": step.pk, "requested_by": actor.pk}
        row = scheduler.put(step_key(step.pk), timezone.now(), STEP_ACTION, payload, subject=plan_subject(plan.pk))
        if row is None or row.state != ScheduleState.PENDING:
            raise ValidationError(_("The step has already been handed to a worker."))
        transaction.on_commit(scheduler.kick, robust=True)
        return row


# --- the handler: runs inside the dispatcher's transaction -------------------------------------------


@scheduler.register(STEP_ACTION)
def run_step(payload):
    plan = Plan.objects.select_for_update().filter(pk=payload["plan_id"]).first()
    step = transitions.lock_step(payload["step_id"])
    if plan is None or step is None:
        return _("The step no longer exists.")
    if plan.status not in RUNNING_PLAN:
        return _("Not sent: the plan is “%(status)s”.") % {"status": plan.get_status_display()}
    if step.status != StepStatus.PENDING:
        return _("Not run: the step is already “%(status)s”.") % {"status": step.get_status_display()}
    actor = None
    if payload.get("requested_by"):
        from django.contrib.auth import get_user_model

        actor = get_user_model().objects.filter(pk=payload["requested_by"]).first()
    if actor is None and step.kind in CLOSING_KINDS and closing_held(plan, list(plan.steps.all())):
        return _("Not run: the work is being rolled back; it runs when the duty officer ends the work.")
    return _fire(plan, step, actor, _("Run by Okno") if actor is None else _("Run early by hand"))


def _fire(plan, step, actor, comment):
    """Start the locked step, queue its deliveries; done at once when there is nothing to deliver."""
    step.plan = plan
    transitions.start_step(step, actor=actor, comment=comment)
    group = step_group(plan.pk, step.pk)
    try:
        result = ACTIONS[step.kind](plan, step, group, actor)
    except ValidationError as exc:  # nothing to retry: the plan itself is wrong (e.g. no recipients)
        reason = " ".join(exc.messages)
        transitions.fail_step(step, actor=None, reason=reason)
        return reason
    if groups.status(group)[2] == 0:
        # Nothing to deliver (a banner without webhooks): the step is done now.
        transitions.finish_step(step, actor=actor, comment=result)
    return result


def _announce(kind):
    def action(plan, step, group, actor):
        from changeplans import announcements

        emails = announcements.send(plan, kind, key_prefix=f"{kind}:{plan.pk}:{step.pk}", group=group)
        if not emails:
            raise ValidationError(_("No valid recipients: check the plan's mailing list."))
        return _("%(count)d e-mails queued") % {"count": len(emails)}

    return action


def _banner_services(plan):
    return [
        ps.service
        for ps in plan.plan_services.select_related("service").order_by("service__display_name")
        if ps.service.shows_banner
    ]


def _banner_on(plan, step, group, actor):
    from changeplans import announcements

    services = _banner_services(plan)
    text = announcements.banner_text(plan)
    for service in services:
        banners.show(service, text=text, ends_at=plan.window_end, plan=plan, step=step, actor=actor, group=group)
    return _("Banner up on: %(services)s") % {"services": ", ".join(s.display_name for s in services) or "—"}


def _banner_off(plan, step, group, actor):
    services = _banner_services(plan)
    for service in services:
        banners.hide(service, plan=plan, step=step, actor=actor, group=group)
    return _("Banner taken down on: %(services)s") % {"services": ", ".join(s.display_name for s in services) or "—"}


ACTIONS = {
    StepKind.ANNOUNCEMENT: _announce("announcement"),
    StepKind.COMPLETION_NOTICE: _announce("completion"),
    StepKind.BANNER_ON: _banner_on,
    StepKind.BANNER_OFF: _banner_off,
}


# --- results of deliveries, and the hooks that keep rows in line -------------------------------------


def on_group_settled(group, ok):
    match = GROUP_RE.match(group or "")
    if not match:
        return
    with transaction.atomic():
        step = transitions.lock_step(int(match["step"]))
        if step is None or step.status != StepStatus.IN_PROGRESS:
            return  # told twice, or ticked by hand meanwhile
        _open, failed, total = groups.status(group)
        if ok:
            transitions.finish_step(step, actor=None, comment=_("Delivered: %(count)d") % {"count": total})
        else:
            transitions.fail_step(
                step,
                actor=None,
                reason=_("Not delivered: %(failed)d of %(total)d") % {"failed": failed, "total": total},
            )


def _after_step_changed(plan_id, step_id):
    sync_plan(plan_id)


ENDED_PLAN = (PlanStatus.COMPLETED, PlanStatus.COMPLETED_WITH_ROLLBACK, PlanStatus.FAILED, PlanStatus.CANCELLED)


def _close_ended_plan(plan):
    """A plan ended with rollback or failed: its closing steps that waited run now (banner off, then the
    notice that says how the work ended, with the actual times)."""
    if plan.status not in ENDED_BADLY:
        return
    waiting = plan.steps.filter(kind__in=CLOSING_KINDS, status=StepStatus.PENDING).order_by("position", "id")
    for step_id in waiting.values_list("pk", flat=True):
        step = transitions.lock_step(step_id)
        if step is None or step.status != StepStatus.PENDING:
            continue
        result = _fire(plan, step, None, _("Run by Okno when the work ended"))
        logger.info("Plan %s ended (%s): step %s: %s", plan.pk, plan.status, step.position, result)


def _after_plan_changed(plan_id):
    """Started, rolled back or ended: re-sync; an ended plan leaves no maintenance banner up on the sites."""
    sync_plan(plan_id)
    with transaction.atomic():
        plan = Plan.objects.select_for_update().filter(pk=plan_id).first()
        if plan is None or plan.status not in ENDED_PLAN:
            return
        _close_ended_plan(plan)
        for banner in Banner.objects.filter(plan=plan, shown_until__isnull=True).select_related("service"):
            banners.hide(banner.service, plan=plan, group=f"plan:{plan.pk}:ended")
            record_event(
                plan,
                actor=None,
                kind=EventKind.EDITED,
                comment=_("Banner taken down on: %(services)s") % {"services": banner.service.display_name},
            )


def _after_new_version(plan, version, actor):
    transaction.on_commit(lambda: sync_plan(plan.pk), robust=True)


def connect():
    """Register the hooks once (called from the app config; approvals registers its own after sign-off)."""
    from changeplans import services, versioning

    for registry, callback in (
        (groups.listeners, on_group_settled),
        (transitions.on_step_changed, _after_step_changed),
        (services.on_plan_cancelled, _after_plan_changed),
        (transitions.on_plan_changed, _after_plan_changed),
        (versioning.on_new_version, _after_new_version),
    ):
        if callback not in registry:
            registry.append(callback)


def next_fire_time(plan):
    """The earliest pending automatic action of the plan (for the plan page), or None."""
    row = (
        ScheduledAction.objects.filter(subject=plan_subject(plan.pk), state=ScheduleState.PENDING)
        .order_by("due_at")
        .first()
    )
    return row.due_at if row else None
