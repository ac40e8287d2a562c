"""Signed webhook calls (e.g. to a service's own banner API): a row first, then signed POSTs (like the e-mail outbox).

- `enqueue` creates one WebhookDelivery per idempotency key and hands it over after commit. The caller
  hands over the URL and the delivery's `subject` ("service:12"); the signing secret is not stored in
  the row but looked up when sending, through the resolver the domain app registered for the subject's
  kind in `secret_resolvers` (so a changed secret applies to retries, and a deleted subject stops them).
- `deliver` locks the row (SKIP LOCKED), commits "sending" before the HTTP call, then records the
  outcome: 2xx sent; 4xx (not 408/429), a redirect, a URL the outbound guard refuses (a host off the
  allow-list, or one that resolves to a loopback/private/link-local address not listed), a missing
  secret: failed for good; 5xx, 408, 429, timeouts and network errors: failed, retried after a back-off
  that doubles from OKNO_WEBHOOK_RETRY_SECONDS, up to OKNO_WEBHOOK_MAX_ATTEMPTS tries.
- `deliver_due` (the sweeper) puts back failed rows whose back-off has passed and rows stuck in
  "sending" (a worker died mid-call), then delivers what is queued.

As with e-mail, a call cannot be exactly-once: a row rescued from "sending" may reach the receiver a
second time. X-Okno-Delivery carries the row's key, the same on every attempt, so receivers can
drop duplicates.
"""

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from common import outbound, workers
from common.retry import backoff
from common.transactions import after_commit

from . import groups, sweeper
from .choices import EmailState
from .models import WebhookDelivery

logger = logging.getLogger(__name__)

USER_AGENT = "Okno-Webhook/1"
# Status codes after which trying again may help (besides 5xx).
RETRY_STATUSES = {408, 429}
RESPONSE_EXCERPT = 1000  # characters of a failing response kept in last_error
URL_SECRET = "{secret}"  # in a delivery's URL: replaced by the subject's secret when sending

# Subject kind ("service") -> resolver(id) -> the subject's signing secret now ("" when it has none), or
# None when the subject no longer exists. Filled by domain apps in AppConfig.ready().
secret_resolvers: dict[str, Callable[[str], str | None]] = {}


class PermanentError(Exception):
    """The call cannot succeed by trying again (configuration or the receiver's answer)."""


class TransientError(Exception):
    """The call may succeed later (timeout, network, 5xx, 408, 429)."""


def sign(secret, timestamp, body):
    """The X-Okno-Signature value: "sha256=" + hex HMAC-SHA256(secret, f"{timestamp}.{body}")."""
    message = f"{timestamp}.{body}".encode()
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


SETTING = "OKNO_WEBHOOK_ALLOWED_HOSTS"


def allowed_hosts():
    return [host.strip().lower().rstrip(".") for host in settings.OKNO_WEBHOOK_ALLOWED_HOSTS if host.strip()]


def host_allowed(host):
    """True if `host` is named in OKNO_WEBHOOK_ALLOWED_HOSTS (exactly, "*.example.org", or an IP/CIDR entry)."""
    try:
        outbound.check_url(f"https://{host}/", allowed_hosts(), setting=SETTING, resolve=False)
    except outbound.OutboundRefused:
        return False
    return True


def check_url(url, *, resolve=False):
    """Raise PermanentError with a readable (translated) reason if Okno must not call `url`.

    resolve=False (the Service form): what the URL shows. resolve=True (sending): the name is resolved
    and every address checked too; the returned Target is what to connect to.
    """
    try:
        return outbound.check_url(url, allowed_hosts(), setting=SETTING, resolve=resolve)
    except outbound.OutboundRefused as exc:
        raise PermanentError(str(exc)) from None


def enqueue(event: str, payload: dict, *, url: str, subject: str, key: str, group: str = "") -> WebhookDelivery | None:
    """Queue one POST of `payload` (plus "event") to `url` under `key`, signed with the secret of `subject`.

    Returns the row, or None when `url` is empty. A second call with the same key does nothing.
    Delivery starts after the surrounding transaction commits.
    """
    url = (url or "").strip()
    if not url:
        return None
    body = json.dumps({"event": event, **payload}, ensure_ascii=False, separators=(",", ":"), default=str)
    delivery, created = WebhookDelivery.objects.get_or_create(
        key=key,
        defaults={"group": group, "subject": subject, "url": url, "body": body},
    )
    if created:
        # robust: a failing hand-over must not break what queued it; the row stays queued for deliver_due.
        after_commit(hand_over, delivery.pk)
    return delivery


def hand_over(delivery_id):
    """After commit: a Celery worker calls the webhook (production), or this process does (tests, no worker)."""
    workers.hand_over("notifications.tasks.deliver_webhook", deliver, delivery_id)


def _event_of(body):
    try:
        return str(json.loads(body).get("event", ""))
    except (ValueError, AttributeError):
        return ""


def _excerpt(data):
    return data.decode("utf-8", "replace")[:RESPONSE_EXCERPT].strip()


def _post(delivery, secret):
    """One POST. Returns the status code of a 2xx answer; raises PermanentError or TransientError."""
    # "{secret}" in the stored URL (a Telegram bot token's place) is filled only here: never in the row or a log.
    url = delivery.url.replace(URL_SECRET, secret)
    try:
        return _post_to(url, delivery, secret)
    except (PermanentError, TransientError) as exc:
        if url == delivery.url:
            raise
        raise type(exc)(str(exc).replace(secret, URL_SECRET)) from None


def _post_to(url, delivery, secret):
    target = check_url(url, resolve=True)  # before any connection; the POST goes to these addresses
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Okno-Event": _event_of(delivery.body),
        "X-Okno-Delivery": delivery.key,
        "X-Okno-Timestamp": timestamp,
        "X-Okno-Signature": sign(secret, timestamp, delivery.body),
    }
    timeout = settings.OKNO_WEBHOOK_TIMEOUT_SECONDS
    try:
        response = outbound.send(
            target, "POST", headers=headers, body=delivery.body.encode(), timeout=timeout, max_body=RESPONSE_EXCERPT
        )
    except outbound.OutboundFailed as exc:
        if exc.timed_out:
            raise TransientError(f"timed out after {timeout:g} s") from None
        raise TransientError(str(exc)) from None
    status = response.status
    if 200 <= status < 300:
        return status
    delivery.response_status = status
    if 300 <= status < 400:
        location = response.headers.get("Location") or response.headers.get("location") or "?"
        raise PermanentError(f"HTTP {status}: redirect to {location} not followed")
    text = _excerpt(response.body[:RESPONSE_EXCERPT])
    message = f"HTTP {status} {response.reason}" + (f": {text}" if text else "")
    if status >= 500 or status in RETRY_STATUSES:
        raise TransientError(message)
    raise PermanentError(message)


def _secret(subject):
    """The signing secret of `subject`, read now; PermanentError when there is none (unsigned calls are never sent)."""
    kind, _, ident = subject.partition(":")
    resolver = secret_resolvers.get(kind)
    if resolver is None:
        raise PermanentError(f"no secret resolver for {subject or 'a delivery without subject'}")
    secret = resolver(ident)
    if secret is None:
        raise PermanentError(f"{subject} was deleted")
    if not secret:
        raise PermanentError(f"{subject} has no webhook secret; unsigned calls are not sent")
    return secret


def deliver(delivery_id):
    """Make one attempt at a queued delivery. Harmless when called twice or by two processes at once. True if sent."""
    with transaction.atomic():
        # SKIP LOCKED: another deliverer holds it, so it is not ours to send.
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(pk=delivery_id, state=EmailState.QUEUED)
            .first()
        )
        if delivery is None:
            return False
        delivery.state = EmailState.SENDING
        delivery.attempts += 1
        delivery.claimed_at = timezone.now()
        delivery.save(update_fields=["state", "attempts", "claimed_at"])
    # Committed before the HTTP call: the attempt is on record whatever happens next.
    try:
        secret = _secret(delivery.subject)
        delivery.response_status = None
        status = _post(delivery, secret)
    except (PermanentError, TransientError) as exc:
        gave_up = isinstance(exc, PermanentError) or delivery.attempts >= settings.OKNO_WEBHOOK_MAX_ATTEMPTS
        logger.warning(
            "Webhook %s to %s failed (attempt %s%s): %s",
            delivery.pk,
            delivery.url,
            delivery.attempts,
            ", given up" if gave_up else "",
            exc,
        )
        WebhookDelivery.objects.filter(pk=delivery.pk, state=EmailState.SENDING).update(
            state=EmailState.FAILED,
            last_error=str(exc)[:2000],
            response_status=delivery.response_status,
            next_attempt_at=None
            if gave_up
            else timezone.now() + backoff(settings.OKNO_WEBHOOK_RETRY_SECONDS, delivery.attempts),
        )
        if gave_up:
            groups.check(delivery.group)
        return False
    WebhookDelivery.objects.filter(pk=delivery.pk, state=EmailState.SENDING).update(
        state=EmailState.SENT,
        sent_at=timezone.now(),
        last_error="",
        response_status=status,
        next_attempt_at=None,
    )
    groups.check(delivery.group)
    return True


def deliver_due(now=None, limit=100):
    """Retry failed rows whose back-off has passed, rescue rows stuck in "sending", deliver what is queued."""
    return sweeper.sweep(
        WebhookDelivery,
        deliver,
        now=now or timezone.now(),
        stuck_seconds=settings.OKNO_WEBHOOK_SENDING_TIMEOUT_SECONDS,
        max_attempts=settings.OKNO_WEBHOOK_MAX_ATTEMPTS,
        limit=limit,
    )
