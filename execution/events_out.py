"""Outgoing events: plan history entries handed to the event subscriptions (notifications.subscriptions).

Listens to `changeplans.history.on_event_recorded` (after commit) and maps an entry to an event name:

| history entry | event |
| --- | --- |
| plan draft/rejected → in review | plan.submitted |
| plan → approved / rejected / in progress / cancelled | plan.approved / plan.rejected / plan.started / plan.cancelled |
| plan → completed, completed with rollback, failed | plan.finished (`outcome` = the new status) |
| step → done / failed | step.done / step.failed |
| an overrun ALERT (a step past its maximum, the projection past the window) | plan.overrun |

Every other entry (edits, sign-off rows, rollback actions, a plan going back to review) sends nothing.
It lives here, not in notifications, because it reads plans and steps (notifications knows no plan).
"""

import logging

from django.urls import reverse
from django.utils.translation import gettext as _

from changeplans import history
from changeplans.choices import EventKind, PlanStatus
from changeplans.durations import format_minutes
from changeplans.models import PlanEvent, Service, Step
from changeplans.roles import display_name
from common.links import absolute_url
from notifications import subscriptions
from notifications.models import EventSubscription

from .overrun import ALERT_PROJECTION, ALERT_STEP

logger = logging.getLogger(__name__)

PLAN_EVENTS: dict[str, str] = {
    PlanStatus.APPROVED: "plan.approved",
    PlanStatus.REJECTED: "plan.rejected",
    PlanStatus.IN_PROGRESS: "plan.started",
    PlanStatus.COMPLETED: "plan.finished",
    PlanStatus.COMPLETED_WITH_ROLLBACK: "plan.finished",
    PlanStatus.FAILED: "plan.finished",
    PlanStatus.CANCELLED: "plan.cancelled",
}
STEP_EVENTS = {"done": "step.done", "failed": "step.failed"}


def event_name(entry: PlanEvent) -> str | None:
    """The outgoing event of a history entry, or None when it sends nothing."""
    if entry.kind == EventKind.ALERT:
        return "plan.overrun"
    if entry.kind != EventKind.TRANSITION:
        return None
    if entry.object_type == "plan":
        if entry.to_status == PlanStatus.IN_REVIEW:
            submitted = entry.from_status in (PlanStatus.DRAFT, PlanStatus.REJECTED)
            return "plan.submitted" if submitted else None
        return PLAN_EVENTS.get(entry.to_status)
    if entry.object_type == "step":
        return STEP_EVENTS.get(entry.to_status)
    return None


def _summary(name, entry, plan, step):
    """The one line a chat shows; called inside the subscription's language."""

    def render():
        params = {
            "n": plan.pk,
            "title": plan.title,
            "actor": display_name(entry.actor) if entry.actor else _("Okno"),
            "comment": entry.comment,
            "position": step.position if step else 0,
            "step": step.name if step else "",
        }
        if name == "plan.submitted":
            return _("Plan No. %(n)d “%(title)s” was submitted for sign-off by %(actor)s") % params
        if name == "plan.approved":
            return _("Plan No. %(n)d “%(title)s” is approved") % params
        if name == "plan.rejected":
            return _("Plan No. %(n)d “%(title)s” was rejected by %(actor)s: %(comment)s") % params
        if name == "plan.started":
            return _("Work on plan No. %(n)d “%(title)s” has started (%(actor)s)") % params
        if name == "step.done":
            return _("Plan No. %(n)d, step %(position)d “%(step)s”: done (%(actor)s)") % params
        if name == "step.failed":
            return _("Plan No. %(n)d, step %(position)d “%(step)s”: failed (%(actor)s): %(comment)s") % params
        if name == "plan.finished":
            outcome = PlanStatus(entry.to_status).label
            return _("Work on plan No. %(n)d “%(title)s” has finished: %(outcome)s") % {**params, "outcome": outcome}
        if name == "plan.cancelled":
            return _("Plan No. %(n)d “%(title)s” was cancelled by %(actor)s: %(comment)s") % params
        changes = entry.changes or {}
        if changes.get("alert") == ALERT_STEP and step is not None:
            return _(
                "Plan No. %(n)d, step %(position)d “%(step)s” has run %(elapsed)s, longer than its maximum of %(max)s"
            ) % {
                **params,
                "elapsed": format_minutes(changes.get("elapsed_minutes")),
                "max": format_minutes(changes.get("max_minutes")),
            }
        if changes.get("alert") == ALERT_PROJECTION:
            return _("Plan No. %(n)d: the projected end is %(late)s after the window closes") % {
                **params,
                "late": format_minutes(changes.get("late_minutes")),
            }
        return _("Plan No. %(n)d: %(comment)s") % params

    return render


def build(entry: PlanEvent) -> subscriptions.Event | None:
    """The outgoing event of a history entry (plan and actor loaded), or None."""
    name = event_name(entry)
    if name is None:
        return None
    plan = entry.plan
    step = None
    if entry.object_type == "step" and entry.object_id:
        step = Step.objects.filter(pk=entry.object_id).first()
    services = list(plan.services.order_by("name").values_list("name", flat=True))
    url = absolute_url(reverse("changeplans:plan_detail", args=[plan.pk]))
    status = entry.to_status if entry.object_type == "plan" else plan.status
    data = {
        "id": entry.pk,
        "at": entry.at.isoformat(),
        "plan": {
            "id": plan.pk,
            "title": plan.title,
            "url": url,
            "status": status,
            "window": {"start": plan.window_start.isoformat(), "end": plan.window_end.isoformat()},
            "services": services,
        },
        "step": None
        if step is None
        else {
            "id": step.pk,
            "position": step.position,
            "name": step.name,
            "status": entry.to_status if name.startswith("step.") else step.status,
        },
        "actor": None
        if entry.actor is None
        else {"username": entry.actor.get_username(), "name": display_name(entry.actor)},
        "comment": entry.comment,
    }
    if name == "plan.finished":
        data["outcome"] = entry.to_status
    if name == "plan.overrun":
        data["alert"] = entry.changes or {}
    return subscriptions.Event(
        name=name,
        key=f"ev{entry.pk}",
        data=data,
        summary=_summary(name, entry, plan, step),
        title=plan.title,
        link=url,
        services=frozenset(services),
    )


def publish(plan_id: int, event_id: int) -> None:
    """history.on_event_recorded listener (after commit). Never raises into what recorded the entry."""
    try:
        entry = PlanEvent.objects.select_related("plan", "actor").filter(pk=event_id).first()
        if entry is None or event_name(entry) is None:
            return
        if not EventSubscription.objects.filter(active=True).exists():
            return
        event = build(entry)
        if event is not None:
            subscriptions.emit(event)
    except Exception:  # the entry is committed; a subscription problem must not turn it into an error
        logger.exception("Outgoing event for history entry %s of plan %s failed", event_id, plan_id)


def _service_choices():
    return [(name, f"{label} ({name})") for name, label in Service.objects.values_list("name", "display_name")]


def connect() -> None:
    """Called from ExecutionConfig.ready(): plan history goes out to the event subscriptions."""
    history.on_event_recorded.append(publish)
    subscriptions.service_choices.append(_service_choices)
