"""The it.info announcements of a plan: the glue between a plan and notifications.messages / outbox.

- `context(plan, kind)` is what the templates see (docs/announcements.md lists every variable);
  times are written as the seed writes them ("20:00/20.03.2025") in the plan's time zone.
- `recipients(plan)`: the plan's mailing list, then each affected service's, then
  OKNO_ANNOUNCEMENT_RECIPIENTS; deduplicated case-insensitively; invalid addresses are reported, never sent.
- `sender(plan)`: the plan's sender, else the first affected service's, else OKNO_ANNOUNCEMENT_FROM.
- `send(plan, kind, key_prefix=…, group=…)`: one outbox row per recipient under
  `<key_prefix>:<address>`, so sending the same thing twice queues nothing new.
- `preview_delay_notice(...)`, then `send_delay_notice(...)`: the delay notice a person checks and sends from
  the announcements page.
"""

import datetime
import hashlib
import logging
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from common.links import absolute_url
from notifications import messages
from notifications.choices import MessageKind
from notifications.models import OutboundEmail
from notifications.outbox import enqueue_email

from . import invitations
from .choices import Availability, EventKind, PlanStatus, Role, StepKind
from .history import record_event
from .models import Plan
from .roles import display_name, has_role

logger = logging.getLogger(__name__)

KINDS = tuple(MessageKind.values)
# Plans whose delay can be announced: the work is approved (announced) or under way.
DELAY_STATUSES = (PlanStatus.APPROVED, PlanStatus.IN_PROGRESS)

_CHUNKS = re.compile(r"[,;\r\n]+")
_ANGLE = re.compile(r"<([^<>]*)>")

AFFECTS_CLIENTS = gettext_lazy("AFFECTS CLIENTS")
DOES_NOT_AFFECT_CLIENTS = gettext_lazy("DOES NOT AFFECT CLIENTS")
BANNER_IS_UP = gettext_lazy("BANNER IS UP")
NO_BANNER = gettext_lazy("NO BANNER")


def seed_time(value):
    """A time as the seed's announcement writes it: "20:00/20.03.2025"."""
    return f"{value:%H:%M/%d.%m.%Y}" if value else ""


# --- recipients and sender ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    address: str
    source: str


@dataclass
class Recipients:
    valid: list = field(default_factory=list)
    invalid: list = field(default_factory=list)

    @property
    def addresses(self):
        return [recipient.address for recipient in self.valid]


def _tokens(text):
    """Addresses in a list people type: separated by commas, semicolons, spaces or lines; "Name <a@b>" allowed."""
    for chunk in _CHUNKS.split(text or ""):
        chunk = chunk.strip()
        if not chunk:
            continue
        angled = _ANGLE.findall(chunk)
        for token in angled or chunk.split():
            token = token.strip().strip("\"'")
            if token.lower().startswith("mailto:"):
                token = token[len("mailto:") :]
            if token:
                yield token


def parse_addresses(text):
    """(valid, invalid) addresses of a typed list, in order, deduplicated case-insensitively."""
    valid, invalid, seen = [], [], set()
    for token in _tokens(text):
        if token.lower() in seen:
            continue
        seen.add(token.lower())
        try:
            validate_email(token)
        except ValidationError:
            invalid.append(token)
        else:
            valid.append(token)
    return valid, invalid


def plan_services(plan):
    """The plan's affected services with their service, in the plan's order (one query per plan object)."""
    cached = getattr(plan, "_okno_announcement_services", None)
    if cached is None:
        cached = list(plan.plan_services.select_related("service").order_by("id"))
        plan._okno_announcement_services = cached
    return cached


def recipients(plan):
    """Who gets the plan's announcements: plan ∪ affected services ∪ OKNO_ANNOUNCEMENT_RECIPIENTS."""
    lists = [(plan.mailing_list, _("work plan"))]
    lists += [(ps.service.mailing_list, ps.service.display_name) for ps in plan_services(plan)]
    lists.append(("\n".join(settings.OKNO_ANNOUNCEMENT_RECIPIENTS), _("general list in Okno's settings")))
    result, seen = Recipients(), set()
    for text, source in lists:
        valid, invalid = parse_addresses(text)
        for address in valid:
            if address.lower() not in seen:
                seen.add(address.lower())
                result.valid.append(Recipient(address, str(source)))
        result.invalid += [Recipient(address, str(source)) for address in invalid]
    return result


def sender(plan):
    """From whom: the plan's sender, else the first affected service's, else OKNO_ANNOUNCEMENT_FROM."""
    if plan.announcement_from:
        return plan.announcement_from
    for ps in plan_services(plan):
        if ps.service.announcement_from:
            return ps.service.announcement_from
    return settings.OKNO_ANNOUNCEMENT_FROM or settings.DEFAULT_FROM_EMAIL


# --- the template context -------------------------------------------------------------------------------


def _lazy_join(separator, items):
    """Join lazy strings so they translate when rendered (inside the message's language), not now."""
    items = list(items)
    if not items:
        return ""
    return format_lazy(separator.join(["{}"] * len(items)), *items)


def _availability(services):
    """One label when all services share it ("БУДЕТ НЕДОСТУПЕН"), else one "service — label" each."""
    labels = {ps.availability for ps in services}
    if not services:
        return []
    if len(labels) == 1:
        return [Availability(services[0].availability).label]
    return [format_lazy("{} — {}", ps.service.display_name, Availability(ps.availability).label) for ps in services]


def _responsible(plan):
    if plan.responsible_id:
        party = plan.responsible
        return " ".join(part for part in (party.name, plan.responsible_contact) if part)
    return display_name(plan.curator) if plan.curator_id else ""


def _finished_at(plan):
    """When the work ended: the latest actual finish of a work step, else now."""
    latest = plan.steps.filter(kind=StepKind.WORK).aggregate(latest=Max("actual_end"))["latest"]
    return latest or timezone.now()


OUTCOMES = {PlanStatus.COMPLETED_WITH_ROLLBACK: "completed_with_rollback", PlanStatus.FAILED: "failed"}


def outcome(plan):
    """How the work ended, for the completion notice: "completed", "completed_with_rollback" or "failed"
    (a plan still in rollback mode is being rolled back)."""
    if plan.status in OUTCOMES:
        return OUTCOMES[plan.status]
    return "completed_with_rollback" if plan.rollback_started_at else "completed"


def context(plan, kind, extra=None):
    """What the message templates see for `plan` (see docs/announcements.md for every name)."""
    extra = dict(extra or {})
    tz = plan.tz
    services = plan_services(plan)
    start, end = plan.window_start.astimezone(tz), plan.window_end.astimezone(tz)
    availability = _availability(services)
    new_end = extra.pop("new_end", None)
    finished = extra.pop("finished_at", None)
    if kind == MessageKind.COMPLETION and finished is None:
        finished = plan.finished_at or _finished_at(plan)
    started = extra.pop("started_at", None) or plan.started_at or plan.window_start
    started = started.astimezone(tz)
    new_end = new_end.astimezone(tz) if new_end else None
    finished = finished.astimezone(tz) if finished else None
    until = new_end or end
    ctx = {
        "kind": kind,
        "subject": plan.subject,
        "title": plan.title,
        "intro": plan.announcement_intro,
        "goal": plan.goal,
        "start": seed_time(start),
        "end": seed_time(end),
        "start_at": start,
        "end_at": end,
        "until": f"{until:%H:%M %d.%m.%Y}",
        "time_zone": plan.time_zone,
        "downtime": plan.downtime_text,
        "services": ", ".join(ps.service.display_name for ps in services),
        "service_list": [
            {
                "name": ps.service.name,
                "display_name": ps.service.display_name,
                "availability": Availability(ps.availability).label,
            }
            for ps in services
        ],
        "affects_clients": plan.client_impact,
        "client_impact": AFFECTS_CLIENTS if plan.client_impact else DOES_NOT_AFFECT_CLIENTS,
        "banner_needed": plan.banner_needed,
        "banner": BANNER_IS_UP if plan.banner_needed else NO_BANNER,
        "responsible": _responsible(plan),
        "availability": _lazy_join("; ", availability),
        "availability_list": availability,
        "unavailable": any(ps.availability == Availability.UNAVAILABLE for ps in services),
        "organization": settings.OKNO_ORGANIZATION,
        "signature": settings.OKNO_SIGNATURE,
        "plan_url": absolute_url(reverse("changeplans:plan_detail", args=[plan.pk])),
        "jira_url": plan.jira_url,
        "finished": seed_time(finished),
        "finished_at": finished,
        "started": seed_time(started),
        "started_at": started,
        "outcome": extra.pop("outcome", None) or outcome(plan),
        "new_end": seed_time(new_end),
        "new_end_at": new_end,
        "reason": extra.pop("reason", ""),
    }
    ctx.update(extra)
    return ctx


def render(plan, kind, *, language=None, extra=None):
    """(subject, text, html) of `kind` for `plan` in `language` (the site's default when None)."""
    return messages.render(
        kind, context(plan, kind, extra), language=language or settings.LANGUAGE_CODE, time_zone=plan.tz
    )


def banner_text(plan):
    """The text shown on the sites: the plan's own banner text if it has one, else the "banner" template."""
    if plan.banner_text.strip():
        return plan.banner_text.strip()
    return render(plan, MessageKind.BANNER)[1]


def _key(key_prefix, address):
    key = f"{key_prefix}:{address.lower()}"
    if len(key) > 255:
        key = f"{key_prefix}:{hashlib.sha256(address.lower().encode()).hexdigest()}"
    return key


def send(plan, kind, *, key_prefix, group, extra=None, language=None):
    """Queue `kind` to every valid recipient (one row each, key `<key_prefix>:<address>`); returns the rows.

    An invalid address is logged and skipped. No valid recipient: nothing is queued, [] is returned.
    """
    found = recipients(plan)
    for recipient in found.invalid:
        logger.warning(
            "Plan %s: not sending %s to invalid address %r (from %s)",
            plan.pk,
            kind,
            recipient.address,
            recipient.source,
        )
    if not found.valid:
        return []
    subject, text, html = render(plan, kind, language=language, extra=extra)
    from_email = sender(plan)
    invites = kind == MessageKind.ANNOUNCEMENT  # the announcement carries the window as a calendar invitation
    with transaction.atomic():
        return [
            enqueue_email(
                _key(key_prefix, r.address),
                r.address,
                subject,
                text,
                html,
                from_email=from_email,
                group=group,
                attachments=invitations.invite(plan, r.address) if invites else (),
            )
            for r in found.valid
        ]


# --- the delay notice -------------------------------------------------------------------------------------

NOTICE_ROLES = (Role.DUTY_OFFICER, Role.OPERATOR, Role.ADMIN)


def may_fire_steps(user):
    """Who gets the "run now" buttons (execution.automatic_steps.fire_step decides and explains)."""
    return any(has_role(user, role) for role in NOTICE_ROLES)


def notice_refusal(user, plan):
    """Why `user` may not send notices about `plan` (None: they may):
    curator, author, duty officers, operators, admins."""
    if not user.is_authenticated:
        return _("Sign in to send notices.")
    if user.pk in (plan.curator_id, plan.author_id) or any(has_role(user, role) for role in NOTICE_ROLES):
        return None
    return _(
        "Only the curator, the author, the duty officer, an operator or an administrator"
        " can send notices about this plan."
    )


def delay_refusal(plan):
    """Why no delay notice can be sent for the plan now (None: it can)."""
    if plan.status not in DELAY_STATUSES:
        return _("A delay notice is sent only while the plan is approved or in progress; it is “%(status)s”.") % {
            "status": plan.get_status_display()
        }
    return None


def delay_group(plan_id, number):
    return f"plan:{plan_id}:delay:{number}"


def delay_notices_sent(plan_id):
    """How many delay notices of the plan have gone out (each is one group of e-mails)."""
    return OutboundEmail.objects.filter(group__startswith=f"plan:{plan_id}:delay:").values("group").distinct().count()


def check_delay(plan, new_end, reason):
    """ValidationError (field → message) when the delay notice cannot be sent as typed."""
    errors = {}
    if new_end is not None and new_end <= plan.window_end:
        errors["new_end"] = _("The new planned end must be later than the planned end (%(end)s).") % {
            "end": seed_time(plan.window_end.astimezone(plan.tz))
        }
    if not (reason or "").strip():
        errors["reason"] = _("Give the reason for the delay.")
    if errors:
        raise ValidationError(errors)


class DelayConflict(Exception):
    """Another delay notice went out under this number meanwhile: the user should look again."""

    def __init__(self, number):
        self.number = number
        super().__init__(_("Another delay notice has been sent meanwhile. Check the preview and send again."))


@dataclass
class DelayResult:
    number: int
    emails: list
    already_sent: bool = False


def send_delay_notice(plan_id, *, actor, new_end, reason, number):
    """Send delay notice No. `number` (the one the user previewed) to every recipient and record it.

    A second call with the same notice (a double click, a re-sent form) finds it sent and queues nothing.
    Raises PermissionDenied, ValidationError, or DelayConflict when another notice took the number.
    """
    with transaction.atomic():
        # The plan row lock makes two people sending at once take turns for the number.
        plan = Plan.objects.select_for_update().get(pk=plan_id)
        refusal = notice_refusal(actor, plan)
        if refusal:
            raise PermissionDenied(refusal)
        refusal = delay_refusal(plan)
        if refusal:
            raise ValidationError(refusal)
        reason = reason.strip()
        check_delay(plan, new_end, reason)
        extra = {"new_end": new_end, "reason": reason}
        sent = delay_notices_sent(plan.pk)
        if number <= sent:
            existing = (
                OutboundEmail.objects.filter(group=delay_group(plan.pk, number)).order_by("id").only("text").first()
            )
            if existing is not None and existing.text == render(plan, MessageKind.DELAY, extra=extra)[1]:
                return DelayResult(number, [], already_sent=True)
            raise DelayConflict(sent + 1)
        if number != sent + 1:
            raise DelayConflict(sent + 1)
        if not recipients(plan).valid:
            raise ValidationError(_("No valid recipients: check the plan's mailing list."))
        emails = send(
            plan,
            MessageKind.DELAY,
            key_prefix=f"delay:{plan.pk}:{number}",
            group=delay_group(plan.pk, number),
            extra=extra,
        )
        record_event(
            plan,
            actor=actor,
            kind=EventKind.EDITED,
            comment=_(
                "Delay notice No. %(number)d sent to %(count)d recipients: new planned end %(end)s. Reason: %(reason)s"
            )
            % {
                "number": number,
                "count": len(emails),
                "end": seed_time(new_end.astimezone(plan.tz)),
                "reason": reason,
            },
        )
    return DelayResult(number, emails)


@dataclass(frozen=True)
class DelayPreview:
    """Delay notice No. `number` as it will go out: the message, its recipients, the new end in the plan's zone."""

    number: int
    subject: str
    text: str
    html: str
    new_end: datetime.datetime
    reason: str
    recipients: Recipients


def render_delay_notice(plan: Plan, *, number: int, new_end: datetime.datetime, reason: str) -> DelayPreview:
    """Delay notice No. `number` for `new_end` and `reason`, rendered as it will be sent; checks nothing."""
    reason = reason.strip()
    subject, text, html = render(plan, MessageKind.DELAY, extra={"new_end": new_end, "reason": reason})
    return DelayPreview(number, subject, text, html, new_end.astimezone(plan.tz), reason, recipients(plan))


def preview_delay_notice(plan: Plan, *, new_end: datetime.datetime, reason: str) -> DelayPreview:
    """The plan's next delay notice, to check before `send_delay_notice`; ValidationError when none can go out now."""
    refusal = delay_refusal(plan)
    if refusal:
        raise ValidationError(refusal)
    return render_delay_notice(plan, number=delay_notices_sent(plan.pk) + 1, new_end=new_end, reason=reason)


# --- the admin's sample ------------------------------------------------------------------------------------


def sample_extra(plan, kind):
    """Values a preview needs that only exist when the message is sent (the delay's new end and reason)."""
    if kind == MessageKind.DELAY:
        return {
            "new_end": plan.window_end + datetime.timedelta(hours=1),
            "reason": _("Example: the migration takes longer than planned."),
        }
    if kind == MessageKind.COMPLETION:
        # Before the work has ended, the preview shows the planned end rather than "now".
        latest = plan.steps.filter(kind=StepKind.WORK).aggregate(latest=Max("actual_end"))["latest"]
        return {"finished_at": latest or plan.window_end}
    return {}


def _sample_context(kind, language):
    plan = Plan.objects.select_related("responsible", "curator").order_by("-created_at", "-pk").first()
    if plan is None:
        return None
    label = _("the newest plan “%(title)s”") % {"title": plan.title}
    return label, context(plan, kind, sample_extra(plan, kind))


if _sample_context not in messages.sample_context_providers:
    messages.sample_context_providers.append(_sample_context)


_STAND_IN_PLAN = 2_147_480_003  # in the compiled query, where the plan's id goes
_problems_sql: dict[str, tuple[str, tuple]] = {}


def _problems_query():
    """The five counts of delivery_problems as one statement, compiled from the ORM once per process and
    database vendor (the plan's id is a stand-in; the same way as approvals.selectors._access_counts)."""
    from django.db import connection
    from django.db.models import F, Func

    from notifications.choices import EmailState, ScheduleState
    from notifications.models import OutboundEmail, ScheduledAction, WebhookDelivery

    vendor = connection.vendor
    if vendor not in _problems_sql:
        prefix, subject = f"plan:{_STAND_IN_PLAN}:", f"plan:{_STAND_IN_PLAN}"
        counts = []
        for model in (OutboundEmail, WebhookDelivery):
            failed = model.objects.filter(group__startswith=prefix, state=EmailState.FAILED)
            counts += [failed.filter(next_attempt_at__isnull=True), failed.filter(next_attempt_at__isnull=False)]
        counts.append(ScheduledAction.objects.filter(subject=subject, state=ScheduleState.FAILED))
        parts, params = [], []
        for queryset in counts:
            # COUNT as a plain function: no GROUP BY, one number
            sql, part_params = (
                queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values_list("n").query.sql_with_params()
            )
            parts.append(f"({sql})")
            params += part_params
        stand_in = str(_STAND_IN_PLAN)
        if sum(stand_in in str(param) for param in params) != len(counts):
            raise AssertionError("the delivery counts lost their stand-in plan")
        _problems_sql[vendor] = ("SELECT " + ", ".join(parts), tuple(params))
    return _problems_sql[vendor]


def delivery_problems(plan_id):
    """What went wrong with the plan's automatic sends, for the plan page: {failed, retrying, failed_actions}.

    One query whatever the plan's size: failed e-mails and webhook deliveries (given up or to be retried) and
    failed scheduled actions.
    """
    from django.db import connection

    sql, params = _problems_query()
    stand_in = str(_STAND_IN_PLAN)
    values = [p.replace(stand_in, str(int(plan_id))) if isinstance(p, str) else p for p in params]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        mail_failed, mail_retrying, hook_failed, hook_retrying, actions_failed = cursor.fetchone()
    totals = {
        "failed": mail_failed + hook_failed,
        "retrying": mail_retrying + hook_retrying,
        "failed_actions": actions_failed,
    }
    return totals if any(totals.values()) else None
