"""Calendar invitations in e-mails (docs/calendar.md, "Subscribing (ICS)").

The approval requests and the announcement carry the plan's .ics (METHOD:REQUEST); every address it went
to is remembered (notifications.CalendarInvitation, at the plan's SEQUENCE). When the plan's window, title,
zone or kind changes or the plan is cancelled, `services.bump_ics_sequence` raises Plan.ics_sequence and,
after commit, `send_updates` mails each remembered address a REQUEST with the same UID and the new
SEQUENCE, or a CANCEL: their calendar program moves or removes the event.
"""

import hashlib
import logging

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from common.links import absolute_url
from notifications.models import CalendarInvitation
from notifications.outbox import Attachment, enqueue_email
from notifications.rendering import render_email

from . import ics
from .choices import PlanStatus
from .models import Plan

logger = logging.getLogger(__name__)


def subject(plan_id: int) -> str:
    return f"plan:{plan_id}"


def organizer() -> str:
    """One organizer for every message of a UID: calendar programs match updates to it."""
    return settings.DEFAULT_FROM_EMAIL


def attachments(plan: Plan, address: str, method: ics.Method = "REQUEST") -> list[Attachment]:
    """The plan's .ics for one recipient: the calendar part of the body (Outlook) and the same as a file."""
    data = ics.invitation(plan, method, organizer=organizer(), attendees=[address])
    return [
        Attachment("invite.ics", data, f"text/calendar; method={method}", alternative=True),
        Attachment("invite.ics", data, "application/ics"),
    ]


def invite(plan: Plan, address: str) -> list[Attachment]:
    """`attachments` of a REQUEST, and `address` remembered as holding the event at the plan's SEQUENCE."""
    CalendarInvitation.objects.bulk_create(
        [CalendarInvitation(subject=subject(plan.pk), address=address.lower(), sequence=plan.ics_sequence)],
        update_conflicts=True,
        unique_fields=["subject", "address"],
        update_fields=["sequence", "cancelled", "updated_at"],
    )
    return attachments(plan, address)


def _key(plan: Plan, address: str) -> str:
    key = f"ics-update:{plan.pk}:{plan.ics_sequence}:{address}"
    if len(key) > 255:
        key = f"ics-update:{plan.pk}:{plan.ics_sequence}:{hashlib.sha256(address.encode()).hexdigest()}"
    return key


def send_updates(plan_id: int) -> int:
    """After commit of a change: an update (or a cancel) to every address holding an older SEQUENCE."""
    with transaction.atomic():
        plan = Plan.objects.filter(pk=plan_id).first()
        if plan is None:
            return 0
        cancelled = plan.status == PlanStatus.CANCELLED
        stale = list(
            CalendarInvitation.objects.select_for_update()
            .filter(subject=subject(plan.pk), cancelled=False, sequence__lt=plan.ics_sequence)
            .order_by("pk")
        )
        if not stale:
            return 0
        method: ics.Method = "CANCEL" if cancelled else "REQUEST"
        context = {
            "plan": plan,
            "cancelled": cancelled,
            "window_start": plan.window_start,
            "window_end": plan.window_end,
            "time_zone": plan.time_zone,
            "plan_url": absolute_url(reverse("changeplans:plan_detail", args=[plan.pk])),
        }
        for invitation in stale:
            title, text, html = render_email(
                "changeplans/email/calendar_update",
                {**context, "recipient_name": invitation.address},
                language=settings.LANGUAGE_CODE,
                time_zone=plan.tz,
            )
            enqueue_email(
                _key(plan, invitation.address),
                invitation.address,
                title,
                text,
                html,
                attachments=attachments(plan, invitation.address, method),
            )
        CalendarInvitation.objects.filter(pk__in=[i.pk for i in stale]).update(
            sequence=plan.ics_sequence, cancelled=cancelled
        )
        logger.info("Plan %s: calendar %s to %d addresses", plan.pk, method, len(stale))
        return len(stale)
