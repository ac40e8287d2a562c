"""Overrun alerts during the work: a step past its maximum duration, a projected end past the window.

- When a step starts, a durable row (key `overrun:step:<step id>`, kind `plan.step_overrun`) is put at
  actual_start + duration_max; it is cancelled when the step ends. When it fires and the step is still
  in progress, an ALERT history entry is written and the curator and the duty officers are e-mailed.
- After every step change the projection (execution.timeline) is computed; if the worst-case end is
  after the window's end, an ALERT is written and e-mailed once per plan and per 15-minute band of
  lateness (a later, larger lateness alerts again; the same or a smaller one does not). While a step
  runs past its maximum the worst case grows with the clock, so the projection is checked again every
  5 minutes (rows `overrun:plan:<id>:check:<mark>`, kind `plan.projection_check`) until none does.
Every e-mail goes through the outbox under a key naming the step or band and the recipient, so a
second delivery of a row or a second step change never sends a second mail.
"""

import datetime
import logging
import math
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from changeplans.choices import EventKind, PlanStatus, Role, StepStatus
from changeplans.durations import format_minutes
from changeplans.history import record_event
from changeplans.models import Plan, PlanEvent
from changeplans.roles import display_name
from changeplans.selectors import steps_queryset
from common.links import absolute_url
from execution import timeline, transitions
from notifications import scheduler
from notifications.outbox import enqueue_email
from notifications.rendering import render_email

logger = logging.getLogger(__name__)

STEP_OVERRUN = "plan.step_overrun"
PROJECTION_CHECK = "plan.projection_check"
RECHECK_SECONDS = 300
BAND_MINUTES = 15
ALERT_STEP = "step_overrun"
ALERT_PROJECTION = "projection_overrun"
# The approvals app's acknowledgement row (read through the reverse relation: changeplans does not import approvals).
ACKNOWLEDGEMENT_KIND = "acknowledgement"


def step_key(step_id):
    return f"overrun:step:{step_id}"


def plan_subject(plan_id):
    # Not "plan:<id>": that subject is the plan's announcements and banners (automation, the announcements page).
    return f"plan:{plan_id}:overrun"


def band(late_minutes):
    """1 for 1–15 min late, 2 for 16–30 min, …; 0 when not late."""
    return math.ceil(late_minutes / BAND_MINUTES) if late_minutes > 0 else 0


# --- hooks ----------------------------------------------------------------------------------------


def on_step_changed(plan_id, step_id):
    """Callback of execution.transitions (after commit). Never raises into what committed the step."""
    try:
        with transaction.atomic():
            _watch_step(step_id)
        with transaction.atomic():
            check_projection(plan_id)
    except Exception:  # the tick is committed; an alert problem must not turn it into an error
        logger.exception("Overrun check after step %s of plan %s failed", step_id, plan_id)


def _watch_step(step_id):
    scheduler.lock_rows(keys=[step_key(step_id)])  # before the step: step_overrun's order
    step = transitions.lock_step(step_id)
    if step is None:
        return
    running = step.status == StepStatus.IN_PROGRESS and step.actual_start is not None and step.duration_max is not None
    due = step.actual_start + timedelta(minutes=step.duration_max) if running else step.plan.window_end
    scheduler.put(
        step_key(step.pk),
        due,
        STEP_OVERRUN,
        {"plan_id": step.plan_id, "step_id": step.pk},
        subject=plan_subject(step.plan_id),
        active=running,
    )


def connect():
    """Register the hook once (called from the app config)."""
    if on_step_changed not in transitions.on_step_changed:
        transitions.on_step_changed.append(on_step_changed)


# --- recipients and e-mail ------------------------------------------------------------------------


def recipients(plan, also=()):
    """The curator, the duty officers and the plan's acknowledging duty officer: active users with an address.

    `also`: ids of further users (the overrunning step's responsible, whose executor is linked to them).
    """
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    found = {}
    also = [pk for pk in also if pk]
    if also:
        found.update({u.pk: u for u in users.filter(pk__in=also)})
    if plan.curator_id:
        found.update({u.pk: u for u in users.filter(pk=plan.curator_id)})
    found.update({u.pk: u for u in users.filter(groups__name=Role.DUTY_OFFICER.value)})
    ack_users = plan.approval_rows.filter(kind=ACKNOWLEDGEMENT_KIND, user__isnull=False).values_list(
        "user_id", flat=True
    )
    found.update({u.pk: u for u in users.filter(pk__in=list(ack_users))})
    return [found[pk] for pk in sorted(found)]


def _board_url(plan):
    try:
        return absolute_url(reverse("execution:plan_board", args=[plan.pk]))
    except NoReverseMatch:  # the board's URL is not there (yet): the plan page
        return absolute_url(reverse("changeplans:plan_detail", args=[plan.pk]))


def _mail(plan, template, key_prefix, context, also=()):
    base = {
        "plan": plan,
        "plan_url": _board_url(plan),
        "window_start": plan.window_start,
        "window_end": plan.window_end,
        "time_zone": plan.time_zone,
        "curator_name": display_name(plan.curator),
        **context,
    }
    sent = []
    for user in recipients(plan, also):
        subject, text, html = render_email(
            f"execution/email/{template}",
            {**base, "recipient_name": display_name(user)},
            language=settings.LANGUAGE_CODE,
            time_zone=plan.tz,
        )
        sent.append(
            enqueue_email(f"{key_prefix}:{user.pk}", user.email, subject, text, html, group=f"plan:{plan.pk}:alerts")
        )
    return sent


# --- the step past its maximum (a scheduled row) --------------------------------------------------


@scheduler.register(STEP_OVERRUN)
def step_overrun(payload):
    """Runs when the step's maximum has passed; does nothing if the step has ended meanwhile."""
    plan = Plan.objects.select_for_update(of=("self",)).select_related("curator").filter(pk=payload["plan_id"]).first()
    step = transitions.lock_step(payload["step_id"])
    if plan is None or step is None:
        return _("The step no longer exists.")
    if (
        plan.status != PlanStatus.IN_PROGRESS
        or step.status != StepStatus.IN_PROGRESS
        or step.actual_start is None
        or step.duration_max is None
    ):
        return _("No alert: the step is “%(status)s”.") % {"status": step.get_status_display()}
    due = step.actual_start + timedelta(minutes=step.duration_max)
    # Fired on time, the clock is at its due time; a late dispatcher makes the number larger.
    elapsed = math.ceil((max(timezone.now(), due) - step.actual_start).total_seconds() / 60 - 1e-9)
    with translation.override(settings.LANGUAGE_CODE):  # the history is written in the site's language
        message = timeline.Overrun(step.pk, step.position, step.name, elapsed, step.duration_max).message
    record_event(
        plan,
        actor=None,
        kind=EventKind.ALERT,
        obj=step,
        comment=message,
        changes={
            "alert": ALERT_STEP,
            "step_id": step.pk,
            "elapsed_minutes": elapsed,
            "max_minutes": step.duration_max,
        },
    )
    # Objects, not strings: the templates render them in the recipient's language.
    context = {
        "step": step,
        "overrun": timeline.Overrun(step.pk, step.position, step.name, elapsed, step.duration_max),
        "maximum_minutes": step.duration_max,
        "started_at": step.actual_start,
        "executor": step.executor.name if step.executor_id else "",
    }
    responsible = step.executor.user_id if step.executor_id else None
    sent = _mail(plan, "overrun_step", f"overrun-step:{step.pk}", context, also=[responsible])
    check_projection(plan.pk, now=max(timezone.now(), due + timedelta(seconds=1)))  # just past the maximum
    return message + " " + _("(%(count)d e-mails)") % {"count": len(sent)}


# --- the projection past the window (after each change) -------------------------------------------


def _timeline(plan, now=None):
    steps = list(steps_queryset().filter(plan=plan))
    return timeline.build(plan, steps, now or timezone.now())


def check_projection(plan_id, now=None):
    """Alert once per plan and per band of lateness if the worst-case end is after the window.
    Returns the event or None."""
    plan = Plan.objects.select_for_update(of=("self",)).select_related("curator").filter(pk=plan_id).first()
    if plan is None or plan.status != PlanStatus.IN_PROGRESS:
        return None
    now = now or timezone.now()
    result = _timeline(plan, now)
    if result.overruns:
        _schedule_recheck(plan, now)
    if result.projection_is_final or not result.is_late:
        return None
    level = band(result.late_minutes)
    raised = PlanEvent.objects.filter(
        plan=plan, kind=EventKind.ALERT, changes__alert=ALERT_PROJECTION, changes__band__gte=level
    )
    if raised.exists():
        return None
    with translation.override(settings.LANGUAGE_CODE):  # the history is written in the site's language
        message = _("Projected worst-case end %(end)s is %(late)s after the window closes at %(window_end)s") % {
            "end": result.clock(result.projected_worst),
            "late": format_minutes(result.late_minutes),
            "window_end": result.clock(result.window_end),
        }
    event = record_event(
        plan,
        actor=None,
        kind=EventKind.ALERT,
        comment=message,
        changes={
            "alert": ALERT_PROJECTION,
            "band": level,
            "late_minutes": result.late_minutes,
            "projected_best": result.projected_best.isoformat(),
            "projected_worst": result.projected_worst.isoformat(),
        },
    )
    context = {"timeline": result, "late_minutes": result.late_minutes}
    _mail(plan, "overrun_projection", f"overrun-projection:{plan.pk}:{level}", context)
    return event


def _schedule_recheck(plan, now):
    """While a step runs past its maximum the worst case grows with the clock: look again at the next 5-minute mark.

    One row per plan and mark (the key names the mark), so any number of checks in between adds nothing.
    """
    mark = (math.floor(now.timestamp() / RECHECK_SECONDS) + 1) * RECHECK_SECONDS
    due = datetime.datetime.fromtimestamp(mark, tz=datetime.UTC)
    scheduler.schedule(
        f"overrun:plan:{plan.pk}:check:{mark}",
        due,
        PROJECTION_CHECK,
        {"plan_id": plan.pk, "at": due.isoformat()},
        subject=plan_subject(plan.pk),
    )


@scheduler.register(PROJECTION_CHECK)
def projection_check(payload):
    """The scheduled re-check: the projection as of the row's due time (or now, if it fired late)."""
    at = max(timezone.now(), datetime.datetime.fromisoformat(payload["at"]))
    event = check_projection(payload["plan_id"], now=at)
    return event.comment if event else ""


# --- what the board shows -------------------------------------------------------------------------


def alerts(plan, *, steps=None, now=None, result=None):
    """The plan's current alerts for the board: [{"kind", "message", "step_id", "at"}], most urgent first.

    Live ones come from the timeline (steps past their maximum now, the projection now); the latest
    ALERT history entries add what was raised and still applies (an overrunning step still in progress).
    """
    now = now or timezone.now()
    if result is None:
        steps = steps if steps is not None else list(steps_queryset().filter(plan=plan))
        result = timeline.build(plan, steps, now)
    found = []
    overrunning = set()
    for overrun in result.overruns:
        overrunning.add(overrun.step_id)
        found.append({"kind": ALERT_STEP, "message": overrun.message, "step_id": overrun.step_id, "at": None})
    if result.is_late and not result.projection_is_final:
        found.append({"kind": ALERT_PROJECTION, "message": result.summary, "step_id": None, "at": None})
    running = {bar.step_id for bar in result.bars if bar.running}
    events = PlanEvent.objects.filter(plan=plan, kind=EventKind.ALERT).order_by("-id")[:20]
    for event in events:
        kind = (event.changes or {}).get("alert")
        step_id = (event.changes or {}).get("step_id")
        if kind == ALERT_STEP and step_id in running and step_id not in overrunning:
            overrunning.add(step_id)
            found.append({"kind": kind, "message": event.comment, "step_id": step_id, "at": event.at})
        elif kind == ALERT_STEP and step_id in overrunning:
            for item in found:
                if item["step_id"] == step_id and item["at"] is None:
                    item["at"] = event.at  # when it was raised
    return found
