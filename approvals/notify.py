"""Sign-off e-mails, reminders and the escalation: the glue between approvals and notifications.

`on_signoff_event` is registered in approvals.services.listeners (called after commit). Every e-mail
goes through the outbox under a key naming the action, the row or plan, the version and the
recipient, so a second call never sends a second mail. Reminders and the escalation are rows of the
durable scheduler; their handlers look at the plan again when they fire and do nothing when the
question has been answered meanwhile.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from changeplans import invitations, versioning
from changeplans import services as changeplans_services
from changeplans.choices import PlanStatus
from changeplans.models import Plan
from changeplans.roles import display_name
from changeplans.versioning import latest_version
from common.links import absolute_url
from execution import automatic_steps
from notifications import scheduler
from notifications.outbox import enqueue_email
from notifications.rendering import render_email

from . import links, services, waiting
from .choices import RowKind
from .models import ApprovalRow, Delegation

logger = logging.getLogger(__name__)

REMINDER = "approvals.reminder"
ESCALATION = "approvals.escalation"
# An unapproved plan in these states is still heading for its window: the curator is warned.
NOT_YET_APPROVED = (PlanStatus.DRAFT, PlanStatus.IN_REVIEW, PlanStatus.REJECTED)


def reminder_hours():
    return list(settings.OKNO_APPROVAL_REMINDERS)


def escalation_hours():
    return settings.OKNO_APPROVAL_ESCALATION_HOURS


def plan_prefix(plan_id):
    return f"approvals:plan:{plan_id}:"


def recipient_language(user):
    # Users have no language preference of their own yet (the UI choice is a browser cookie).
    return settings.LANGUAGE_CODE


def plan_context(plan, version_number):
    """What every sign-off e-mail shows about the plan (the summary)."""
    return {
        "plan": plan,
        "version": version_number,
        "window_start": plan.window_start,
        "window_end": plan.window_end,
        "time_zone": plan.time_zone,
        "services": [
            {
                "name": ps.service.name,
                "display_name": ps.service.display_name,
                "availability": ps.get_availability_display(),
            }
            for ps in plan.plan_services.select_related("service")
        ],
        "author_name": display_name(plan.author),
        "curator_name": display_name(plan.curator),
        "plan_url": absolute_url(reverse("changeplans:plan_detail", args=[plan.pk])),
        "diff_url": absolute_url(links.diff_path(plan.pk)),
    }


def _send(key, user, template, context, plan, *, invite=False):
    """Queue one e-mail to `user` (skipped when they have no address); `invite`: with the window's .ics."""
    if user is None or not user.is_active or not user.email:
        logger.info("No e-mail for %s (%s): user has no address", key, user)
        return None
    context = {**context, "recipient_name": display_name(user)}
    subject, text, html = render_email(
        f"approvals/email/{template}", context, language=recipient_language(user), time_zone=plan.tz
    )
    attachments = invitations.invite(plan, user.email) if invite else ()
    return enqueue_email(key, user.email, subject, text, html, attachments=attachments)


def _askees(row, plan):
    """Who is asked about `row`: [(user, principal or None)]. Deputies of the day are asked for their principal."""
    if row.kind == RowKind.ACKNOWLEDGEMENT:
        if row.user_id:
            return [(row.user, None)]
        if row.group_id:
            return [(user, None) for user in row.group.user_set.filter(is_active=True).order_by("pk")]
        return []
    if row.user is None:
        return []
    today = timezone.localdate()
    deputies = (
        Delegation.objects.filter(principal=row.user, starts_on__lte=today, ends_on__gte=today)
        .exclude(deputy_id__in=[plan.author_id, plan.curator_id])
        .select_related("deputy")
        .order_by("pk")
    )
    return [(row.user, None)] + [(d.deputy, row.user) for d in deputies if d.deputy_id != row.user_id]


def unanswered_rows(rows):
    """Rows still waiting: approval rows of the open stage and acknowledgements not given."""
    return waiting.open_rows(rows)


def _ask(plan, version, rows, *, template, key_prefix, extra=None):
    base = plan_context(plan, version.number)
    for row in rows:
        for user, principal in _askees(row, plan):
            link = None
            if row.kind == RowKind.APPROVAL and user.pk not in (plan.author_id, plan.curator_id):
                link = links.link_url(row.pk, user.pk, version.number)
            context = {
                **base,
                **(extra or {}),
                "row": row,
                "link": link,
                "is_acknowledgement": row.kind == RowKind.ACKNOWLEDGEMENT,
                "principal_name": display_name(principal) if principal else "",
            }
            _send(
                f"{key_prefix}:{row.pk}:v{version.number}:{user.pk}",
                user,
                template,
                context,
                plan,
                invite=template == "approval_request",
            )


# --- events from approvals.services (after commit) ------------------------------------------------


def on_signoff_event(event, plan_id, row_ids):
    """Listener of approvals.services: e-mails and follow-ups. Never raises into the request that committed."""
    handler = EVENT_HANDLERS.get(event)
    if handler is None:
        return
    try:
        with transaction.atomic():
            handler(plan_id, row_ids, event)
    except Exception:  # the sign-off is committed; a mail problem must not turn it into an error page
        logger.exception("Sign-off notification %s for plan %s failed", event, plan_id)


def _load(plan_id):
    return Plan.objects.select_related("author", "curator").filter(pk=plan_id).first()


def notify_asked(plan_id, row_ids, event):
    plan = _load(plan_id)
    if plan is None or plan.status != PlanStatus.IN_REVIEW:
        return
    version = latest_version(plan)
    rows = list(
        ApprovalRow.objects.filter(plan=plan, pk__in=row_ids).select_related("user", "group").order_by("position")
    )
    rows = [row for row in rows if not row.is_decided]  # decided before this ran (e.g. one long transaction)
    _ask(plan, version, rows, template="approval_request", key_prefix="approval-request", extra={"event": event})
    if event in ("submitted", "new_version"):
        schedule_follow_ups(plan, version)


def schedule_follow_ups(plan, version):
    """Reminders before the window and the curator's escalation for this version; older ones are cancelled."""
    now = timezone.now()
    prefix = plan_prefix(plan.pk)
    keys = []
    for hours in reminder_hours():
        due = plan.window_start - timedelta(hours=hours)
        if due <= now:
            continue  # the request e-mail has just gone out: no reminder for a time already past
        key = f"{prefix}reminder:v{version.number}:{hours}h"
        scheduler.schedule(key, due, REMINDER, {"plan_id": plan.pk, "version": version.number, "hours": hours})
        keys.append(key)
    if plan.window_start > now:
        # Submitted already inside the escalation period: the curator is warned at once.
        due = max(plan.window_start - timedelta(hours=escalation_hours()), now)
        key = f"{prefix}escalation:v{version.number}"
        scheduler.schedule(key, due, ESCALATION, {"plan_id": plan.pk, "version": version.number})
        keys.append(key)
    scheduler.cancel(prefix, exclude=keys)


def notify_rejected(plan_id, row_ids, event):
    plan = _load(plan_id)
    if plan is None:
        return
    rows = list(
        ApprovalRow.objects.filter(plan=plan, pk__in=row_ids).select_related("decided_by", "on_behalf_of", "version")
    )
    for row in rows:
        number = row.version.number if row.version else latest_version(plan).number
        context = {
            **plan_context(plan, number),
            "row": row,
            "reason": row.comment,
            "decided_by_name": display_name(row.decided_by) or row.person_name,
            "principal_name": display_name(row.on_behalf_of) if row.on_behalf_of else "",
        }
        _send(f"approval-rejected:{row.pk}:v{number}:{plan.author_id}", plan.author, "plan_rejected", context, plan)
    # Nobody is asked any more; the escalation stays: the plan is still not approved.
    scheduler.cancel(f"{plan_prefix(plan.pk)}reminder:")


def notify_approved(plan_id, row_ids, event):
    plan = _load(plan_id)
    if plan is None:
        return
    version = latest_version(plan)
    rows = list(plan.approval_rows.select_related("decided_by", "on_behalf_of", "version").order_by("position"))
    context = {**plan_context(plan, version.number), "rows": rows}
    recipients = {plan.author_id: plan.author}
    if plan.curator_id:
        recipients[plan.curator_id] = plan.curator
    for user in recipients.values():
        _send(f"plan-approved:{plan.pk}:v{version.number}:{user.pk}", user, "plan_approved", context, plan)
    scheduler.cancel(plan_prefix(plan.pk))


EVENT_HANDLERS = {
    "submitted": notify_asked,
    "new_version": notify_asked,
    "stage_opened": notify_asked,
    "rejected": notify_rejected,
    "approved": notify_approved,
}


# --- scheduled handlers (they run inside the dispatcher's transaction) -----------------------------


def _current(payload, statuses):
    """The plan if it is still in one of `statuses` on the payload's version; None: nothing to do."""
    plan = _load(payload["plan_id"])
    if plan is None or plan.status not in statuses:
        return None, None
    version = latest_version(plan)
    if version is None or version.number != payload["version"]:
        return None, None
    return plan, version


@scheduler.register(REMINDER)
def remind(payload):
    plan, version = _current(payload, (PlanStatus.IN_REVIEW,))
    if plan is None:
        return
    rows = list(plan.approval_rows.select_related("user", "group").order_by("position"))
    hours = payload["hours"]
    _ask(
        plan,
        version,
        unanswered_rows(rows),
        template="approval_reminder",
        key_prefix=f"approval-reminder:{hours}h",
        extra={"hours": hours},
    )


@scheduler.register(ESCALATION)
def escalate(payload):
    plan, version = _current(payload, NOT_YET_APPROVED)
    if plan is None:
        return
    rows = list(plan.approval_rows.select_related("user", "decided_by").order_by("position"))
    context = {
        **plan_context(plan, version.number),
        "rows": rows,
        "waiting": unanswered_rows(rows) if plan.status == PlanStatus.IN_REVIEW else [],
    }
    recipient = plan.curator or plan.author  # no curator named: the author is warned instead
    _send(
        f"approval-escalation:{plan.pk}:v{version.number}:{recipient.pk}",
        recipient,
        "approval_escalation",
        context,
        plan,
    )


def cancel_follow_ups(plan_id):
    """A cancelled plan needs no reminders or escalation."""
    scheduler.cancel(plan_prefix(plan_id))


def sync_automatic_steps(event, plan_id, row_ids):
    """Approved: the plan's announcements and banners are scheduled; any other sign-off event re-checks them."""
    try:
        automatic_steps.sync_plan(plan_id)
    except Exception:  # the sign-off is committed; the next change or the page re-syncs
        logger.exception("Scheduling the automatic steps of plan %s failed", plan_id)


def connect():
    """Called from ApprovalsConfig.ready(): sign-off e-mails, cancelled reminders, scheduled automatic steps."""
    for registry, callback in (
        (services.listeners, on_signoff_event),
        (changeplans_services.on_plan_cancelled, cancel_follow_ups),
        (services.listeners, sync_automatic_steps),
        (versioning.on_new_version, services.reset_for_new_version),
    ):
        if callback not in registry:
            registry.append(callback)
