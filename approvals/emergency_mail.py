"""The e-mails of an emergency change's post-factum sign-off (approvals/emergency.py): reminders to the rows still
waiting, the escalation to the emergency group and the administrators. The scheduled handlers look at the plan
again when they fire and send nothing when everything is signed; outbox keys make a second run send nothing."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _

from changeplans.choices import EventKind, Role
from changeplans.models import Plan
from changeplans.roles import display_name
from changeplans.versioning import latest_version
from notifications import scheduler

from . import conditions, emergency, notify, waiting
from .models import ApprovalRow


def _load(plan_id: int) -> Plan | None:
    return Plan.objects.select_related("author", "curator").filter(pk=plan_id).first()


def _rows(plan: Plan) -> list[ApprovalRow]:
    return list(plan.approval_rows.select_related("user", "group").order_by("position"))


def _context(plan: Plan, rows: list[ApprovalRow], **extra: Any) -> dict[str, Any]:
    version = latest_version(plan)
    return {
        **notify.plan_context(plan, version.number if version else 1),
        "signoff_due": plan.emergency_signoff_due,
        "waiting": emergency.waiting_rows(rows),
        "group_name": emergency.group_name(),
        **extra,
    }


def escalation_recipients() -> list[User]:
    """Active members of the emergency group and the administrators (the admin group, superusers)."""
    users = (
        User.objects.filter(
            Q(groups__name=emergency.group_name()) | Q(groups__name=Role.ADMIN.value) | Q(is_superuser=True),
            is_active=True,
        )
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )
    return list(users)


@scheduler.register(emergency.REMINDER)
def remind(payload: dict[str, Any]) -> str:
    plan = _load(payload["plan_id"])
    if plan is None or not conditions.is_post_factum(plan):
        return _("No reminder: the plan is no longer signed post factum.")
    rows = _rows(plan)
    asked = waiting.open_rows(rows)
    if not asked:
        return _("No reminder: every row has signed.")
    context = _context(plan, rows, at=payload.get("at", ""))
    at = payload.get("at", "")
    sent = 0
    for row in asked:
        for user, principal in notify._askees(row, plan):
            email = notify._send(
                f"emergency-reminder:{at}:{row.pk}:{user.pk}",
                user,
                "emergency_reminder",
                {**context, "row": row, "principal_name": display_name(principal) if principal else ""},
                plan,
            )
            sent += email is not None
    return _("Reminded: %(count)d e-mails") % {"count": sent}


@scheduler.register(emergency.ESCALATION)
def escalate(payload: dict[str, Any]) -> str:
    plan = _load(payload["plan_id"])
    if plan is None or not conditions.is_post_factum(plan):
        return _("No escalation: the plan is no longer signed post factum.")
    rows = _rows(plan)
    unsigned = emergency.waiting_rows(rows)
    if not unsigned:
        return _("No escalation: every row has signed.")
    with translation.override(settings.LANGUAGE_CODE):  # the history is written in the site's language
        message = _("Post-factum sign-off overdue: not signed by %(names)s") % {
            "names": ", ".join(row.person_name for row in unsigned)
        }
    emergency._record(
        plan,
        None,
        EventKind.ALERT,
        message,
        {"alert": emergency.ALERT_OVERDUE, "rows": [row.pk for row in unsigned]},
        "plan",
    )
    context = _context(plan, rows)
    sent = 0
    for user in escalation_recipients():
        sent += (
            notify._send(f"emergency-escalation:{plan.pk}:{user.pk}", user, "emergency_escalation", context, plan)
            is not None
        )
    return message + " " + _("(%(count)d e-mails)") % {"count": sent}


def escalate_rejection(plan: Plan, row: ApprovalRow) -> None:
    """A post-factum rejection: the emergency group and the administrators are told at once."""
    rows = _rows(plan)
    context = _context(plan, rows, rejected_row=row, reason=row.comment)
    for user in escalation_recipients():
        notify._send(f"emergency-rejection:{row.pk}:{user.pk}", user, "emergency_rejection", context, plan)
