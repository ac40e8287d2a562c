"""Event subscriptions: plan events POSTed to allow-listed URLs through the webhook outbox (docs/events.md).

- A domain app hands over an `Event` (execution/events_out.py does, for plan events); `emit` finds the
  active subscriptions that want it (event name, services) and queues one `SubscriptionEvent` per
  subscription, key f"sub{subscription}:{event key}", body formatted now in the subscription's language and
  format (signed JSON, Mattermost, Slack, Telegram).
- `release` hands a subscription's events to the webhooks one at a time, in their sequence: the next one
  only when no delivery of the subscription is open (queued, sending, or failed and waiting to be retried).
  A receiver that failed once therefore sees the retry before anything newer: a chat never shows
  "finished" before "started". When a delivery is sent or given up, the delivery group (= the key) settles
  and `on_group_settled` releases the next one; the sweeper task calls `release_due` for anything missed.
- The secret is looked up when sending (webhooks.secret_resolvers["subscription"]): the JSON signing secret,
  or the Telegram bot token, which goes into the URL's "{secret}" only at that moment.
"""

import hashlib
import hmac
import html
import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from . import groups, webhooks
from .choices import EmailState, SubscriptionFormat
from .models import EventSubscription, SubscriptionEvent, WebhookDelivery

logger = logging.getLogger(__name__)

SUBJECT_KIND = "subscription"  # webhook deliveries belong to "subscription:<id>"
TELEGRAM_API = "https://api.telegram.org"
# What domain apps emit (execution/events_out.py maps plan history to these names).
EVENTS = {
    "plan.submitted": _("Plan submitted for sign-off"),
    "plan.approved": _("Plan approved"),
    "plan.rejected": _("Plan rejected"),
    "plan.started": _("Work started"),
    "step.done": _("Step done"),
    "step.failed": _("Step failed"),
    "plan.overrun": _("Overrun alert"),
    "plan.finished": _("Work finished (with its outcome)"),
    "plan.cancelled": _("Plan cancelled"),
}
# Shown before the text in chats.
ICONS = {
    "plan.submitted": "📝",
    "plan.approved": "✅",
    "plan.rejected": "↩️",
    "plan.started": "▶️",
    "step.done": "☑️",
    "step.failed": "❌",
    "plan.overrun": "⚠️",
    "plan.finished": "🏁",
    "plan.cancelled": "🚫",
}
_GROUP = re.compile(r"^sub(\d+):")

# Callables returning (name, label) of the services a subscription may be limited to; filled by the domain
# app in AppConfig.ready() (notifications knows no service).
service_choices: list[Callable[[], Iterable[tuple[str, str]]]] = []


@dataclass(frozen=True)
class Event:
    """What a domain app hands over: `data` is the JSON payload (without summary), `summary()` the one line
    a chat shows (called inside the subscription's language), `title` and `link` the link under it."""

    name: str
    key: str  # unique per event, e.g. "ev123" (the plan event's id)
    data: dict
    summary: Callable[[], str]
    title: str
    link: str
    services: frozenset[str] = field(default_factory=frozenset)


def subject(subscription_id: int) -> str:
    return f"{SUBJECT_KIND}:{subscription_id}"


def derived_secret(subscription_id: int) -> str:
    """The signing key of a chat subscription without a secret (chats ignore the signature; webhooks sign all)."""
    return hmac.new(
        settings.SECRET_KEY.encode(), f"okno.subscription:{subscription_id}".encode(), hashlib.sha256
    ).hexdigest()


def secret_of(ident: str) -> str | None:
    """The resolver for webhooks: the subscription's secret now, None when it was deleted."""
    if not ident.isdigit():
        return None
    row = EventSubscription.objects.filter(pk=ident).values_list("secret", "format").first()
    if row is None:
        return None
    secret, format_ = row
    if not secret and format_ in (SubscriptionFormat.MATTERMOST, SubscriptionFormat.SLACK):
        return derived_secret(int(ident))
    return secret


def delivery_url(subscription: EventSubscription) -> str:
    """Where the POST goes; a Telegram bot token stays a "{secret}" placeholder until the moment of sending."""
    url = subscription.url.strip()
    if subscription.format == SubscriptionFormat.TELEGRAM and webhooks.URL_SECRET not in url:
        return f"{url.rstrip('/')}/bot{webhooks.URL_SECRET}/sendMessage"
    return url


def wants(subscription: EventSubscription, event: Event) -> bool:
    if not subscription.active:
        return False
    if subscription.events and event.name not in subscription.events:
        return False
    return not subscription.services or bool(event.services & set(subscription.services))


# --- formats ---------------------------------------------------------------------------------------


def _markdown(text: str) -> str:
    """Mattermost markdown: characters that would start a link, emphasis or code are escaped."""
    return re.sub(r"([\\`*_\[\]<>~])", r"\\\1", text)


def _slack(text: str) -> str:
    """Slack's mrkdwn needs only &, < and > escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def body(subscription: EventSubscription, event: Event, sequence: int) -> dict:
    """The POST body for `subscription` (webhooks.enqueue adds "event" in front)."""
    with translation.override(subscription.language):
        summary = str(event.summary())
    icon = ICONS.get(event.name, "•")
    if subscription.format == SubscriptionFormat.MATTERMOST:
        return {"text": f"{icon} {_markdown(summary)}\n[{_markdown(event.title)}]({event.link})"}
    if subscription.format == SubscriptionFormat.SLACK:
        return {"text": f"{icon} {_slack(summary)}\n<{_slack(event.link)}|{_slack(event.title)}>"}
    if subscription.format == SubscriptionFormat.TELEGRAM:
        link = f'<a href="{html.escape(event.link)}">{html.escape(event.title, quote=False)}</a>'
        return {
            "chat_id": subscription.telegram_chat_id,
            "text": f"{icon} {html.escape(summary, quote=False)}\n{link}",
            "parse_mode": "HTML",
            "disable_web_page_preview": True,
        }
    return {**event.data, "sequence": sequence, "language": subscription.language, "summary": summary}


# --- queue and release -----------------------------------------------------------------------------


def emit(event: Event) -> list[SubscriptionEvent]:
    """Queue `event` for every active subscription that wants it and release what may go. Returns the new rows."""
    queued = []
    for subscription in EventSubscription.objects.filter(active=True).order_by("pk"):
        if wants(subscription, event):
            row = _queue(subscription.pk, event)
            if row is not None:
                queued.append(row)
                release(subscription.pk)
    return queued


def _queue(subscription_id: int, event: Event) -> SubscriptionEvent | None:
    key = f"sub{subscription_id}:{event.key}"
    try:
        with transaction.atomic():
            # The subscription's row lock orders its sequence numbers (two events at once get n and n+1).
            subscription = EventSubscription.objects.select_for_update().filter(pk=subscription_id).first()
            if subscription is None or SubscriptionEvent.objects.filter(key=key).exists():
                return None
            last = subscription.queue.aggregate(last=Max("sequence"))["last"] or 0
            return SubscriptionEvent.objects.create(
                subscription=subscription,
                key=key,
                sequence=last + 1,
                event=event.name,
                payload=body(subscription, event, last + 1),
            )
    except IntegrityError:  # the same event queued by another process a moment ago
        return None


_OPEN = Q(state__in=(EmailState.QUEUED, EmailState.SENDING)) | Q(state=EmailState.FAILED, next_attempt_at__isnull=False)
_releasing = threading.local()


def release(subscription_id: int) -> None:
    """Hand the subscription's next waiting event to the webhooks if none of its deliveries is open.

    Without a worker the hand-over delivers in this process, and a delivery that ends releases the next
    one: a call made while releasing is queued here and run by the outer loop (no recursion per event).
    """
    pending = getattr(_releasing, "pending", None)
    if pending is not None:
        pending.add(subscription_id)
        return
    _releasing.pending = {subscription_id}
    try:
        while _releasing.pending:
            _release_next(_releasing.pending.pop())
    finally:
        _releasing.pending = None


def _release_next(subscription_id: int) -> bool:
    with transaction.atomic():
        subscription = EventSubscription.objects.select_for_update().filter(pk=subscription_id).first()
        if subscription is None or not subscription.active:
            return False
        if WebhookDelivery.objects.filter(subject=subject(subscription_id)).filter(_OPEN).exists():
            return False  # the earlier one is still on its way: hold the rest
        head = subscription.queue.filter(released_at__isnull=True).order_by("sequence").first()
        if head is None:
            return False
        webhooks.enqueue(
            head.event,
            head.payload,
            url=delivery_url(subscription),
            subject=subject(subscription_id),
            key=head.key,
            group=head.key,
        )
        head.released_at = timezone.now()
        head.save(update_fields=["released_at"])
        return True


def on_group_settled(group: str, ok: bool) -> None:
    """groups listener: a subscription's delivery was sent or given up, so its next event may go."""
    match = _GROUP.match(group)
    if match:
        release(int(match.group(1)))


def release_due() -> int:
    """For the sweeper: release the next event of every subscription that has one waiting. Returns how many went."""
    ids = (
        SubscriptionEvent.objects.filter(released_at__isnull=True, subscription__active=True)
        .values_list("subscription_id", flat=True)
        .distinct()
    )
    released = 0
    for subscription_id in sorted(set(ids)):
        try:
            released += _release_next(subscription_id)
        except Exception:  # one subscription's problem must not stop the others
            logger.exception("Releasing the events of subscription %s failed", subscription_id)
    return released


def connect() -> None:
    """Called from NotificationsConfig.ready(): subscriptions sign with their own secret and follow their groups."""
    webhooks.secret_resolvers[SUBJECT_KIND] = secret_of
    if on_group_settled not in groups.listeners:
        groups.listeners.append(on_group_settled)
