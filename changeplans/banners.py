"""Maintenance banners: Okno is the source of truth of each service's banner.

Callers (the "banner on/off" steps of execution.automatic_steps) hand in a Service (and optionally
the plan, the step, the actor). At most one banner per service is active (shown_until empty),
enforced by a unique constraint; `show` and `hide` lock the service row so two callers at once
queue up instead of colliding on it.

Every change drops the cached public state (`state`/`active`) and, when the service has a
banner_webhook_url, queues a signed webhook call (notifications.webhooks) keyed
"banner:<banner id>:<event>", so a repeated show/hide never calls twice. The webhook machinery
knows the delivery only as the subject "service:<id>"; `webhook_secret` (registered in
ChangePlansConfig.ready) tells it the service's secret when it sends.
"""

import hashlib
import logging
from collections.abc import Iterable
from datetime import UTC

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from common.transactions import after_commit
from notifications import webhooks
from notifications.models import WebhookDelivery

from .models import Banner, Service

logger = logging.getLogger(__name__)

SHOWN = "banner.shown"
HIDDEN = "banner.hidden"
_UNKNOWN = "unknown"  # cached for a name no service has
SUBJECT_KIND = "service"  # webhook deliveries belong to "service:<id>"


def webhook_subject(service_id: int) -> str:
    return f"{SUBJECT_KIND}:{service_id}"


def webhook_secret(service_id: str) -> str | None:
    """The service's webhook secret now ("" when it has none); None when the service was deleted."""
    if not service_id.isdigit():
        return None
    return Service.objects.filter(pk=service_id).values_list("banner_webhook_secret", flat=True).first()


def connect() -> None:
    """Called from ChangePlansConfig.ready(): webhook deliveries of banners are signed with the service's secret."""
    webhooks.secret_resolvers[SUBJECT_KIND] = webhook_secret


def services_of(deliveries: Iterable[WebhookDelivery]) -> dict[int, Service]:
    """delivery pk -> its Service, for deliveries whose subject is a service that still exists (one query)."""
    ids = {}
    for delivery in deliveries:
        kind, _, ident = delivery.subject.partition(":")
        if kind == SUBJECT_KIND and ident.isdigit():
            ids[delivery.pk] = int(ident)
    found = Service.objects.in_bulk(set(ids.values())) if ids else {}
    return {pk: found[service_id] for pk, service_id in ids.items() if service_id in found}


def iso(value):
    """ISO 8601 in UTC with a Z, to the second ("2025-03-20T16:05:00Z"); None stays None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def origins_of(text):
    """The origins listed one per line (scheme://host[:port]), normalised for comparison."""
    result = []
    for line in (text or "").splitlines():
        origin = line.strip().rstrip("/").lower()
        if origin and origin not in result:
            result.append(origin)
    return result


# --- changes ------------------------------------------------------------------------------------


def _lock_service(service):
    # Serialises show/hide per service: the second caller waits here and then sees the first one's banner.
    Service.objects.select_for_update().filter(pk=service.pk).values_list("pk", flat=True).first()


def _active_banner(service):
    return (
        Banner.objects.select_for_update(of=("self",))
        .select_related("plan")
        .filter(service=service, shown_until__isnull=True)
        .first()
    )


def show(service, *, text, ends_at=None, plan=None, step=None, actor=None, group=""):
    """Put up `text` on the service's sites. Returns the active banner.

    Idempotent: if this plan's banner (plan=None: the same banner text without a plan) is already
    active, it is returned unchanged. Another active banner on the service is ended first.
    """
    text = (text or "").strip()
    if not text:
        raise ValueError("a banner needs a text")
    with transaction.atomic():
        _lock_service(service)
        current = _active_banner(service)
        if current is not None and _same_origin(current, plan, text):
            return current
        now = timezone.now()
        replaced = None
        if current is not None:
            current.shown_until, current.removed_by = now, actor
            current.save(update_fields=["shown_until", "removed_by"])
            replaced = current.pk
        banner = Banner.objects.create(
            service=service,
            plan=plan,
            step=step,
            text=text,
            ends_at=ends_at,
            shown_from=now,
            created_by=actor,
        )
        _push(service, banner, SHOWN, at=now, step=step, group=group, replaces=replaced)
        _forget(service.name)
    return banner


def _same_origin(banner, plan, text):
    if plan is not None:
        return banner.plan_id == plan.pk
    return banner.plan_id is None and banner.text == text


def hide(service, *, plan=None, step=None, actor=None, group=""):
    """Take the service's banner down (with `plan`: only that plan's banner). Returns the banners ended."""
    with transaction.atomic():
        _lock_service(service)
        current = _active_banner(service)
        if current is None or (plan is not None and current.plan_id != plan.pk):
            return []
        now = timezone.now()
        current.shown_until, current.removed_by = now, actor
        current.save(update_fields=["shown_until", "removed_by"])
        _push(service, current, HIDDEN, at=now, step=step, group=group)
        _forget(service.name)
    return [current]


def _push(service, banner, event, *, at, step, group, replaces=None):
    """Queue the webhook call for this change (nothing when the service has no webhook)."""
    if not service.banner_webhook_url:
        return None
    active = event == SHOWN
    payload = {
        "service": service.name,
        "display_name": service.display_name,
        "active": active,
        "banner": banner.pk,
        "text": banner.text if active else "",
        "ends_at": iso(banner.ends_at) if active else None,
        "shown_from": iso(banner.shown_from),
        "shown_until": iso(banner.shown_until),
        "plan": {"id": banner.plan.pk, "title": banner.plan.title} if banner.plan_id else None,
        "step": step.pk if step is not None else None,
        "at": iso(at),
    }
    if replaces is not None:
        payload["replaces"] = replaces
    return webhooks.enqueue(
        event,
        payload,
        url=service.banner_webhook_url,
        subject=webhook_subject(service.pk),
        key=f"banner:{banner.pk}:{event}",
        group=group,
    )


# --- the public state (cached) --------------------------------------------------------------------


def cache_key(service_name):
    # Hashed: a service name is free text, cache keys must be short and plain.
    return "okno:banner:v1:" + hashlib.sha256(service_name.encode()).hexdigest()[:32]


def _forget(service_name):
    # Now (this process reads its own change at once) and again after commit: a reader in another
    # transaction may have cached the old state between the first delete and the commit.
    _cache_delete(service_name)
    after_commit(_cache_delete, service_name)


def _cache_delete(service_name):
    try:
        cache.delete(cache_key(service_name))
    except Exception:
        logger.exception("Could not drop the cached banner of %s", service_name)


def forget(service_name):
    """Drop the cached state of a service (after its name, display name or origins were edited)."""
    _forget(service_name)


def _load(service_name):
    service = Service.objects.filter(name=service_name).values("pk", "name", "display_name", "banner_origins").first()
    if service is None:
        return None
    banner = (
        Banner.objects.filter(service_id=service["pk"], shown_until__isnull=True)
        .values("text", "ends_at", "shown_from")
        .first()
    )
    data = {
        "service": service["name"],
        "display_name": service["display_name"],
        "active": banner is not None,
        "text": banner["text"] if banner else "",
        "ends_at": iso(banner["ends_at"]) if banner else None,
        "shown_from": iso(banner["shown_from"]) if banner else None,
    }  # no plan title: internal names ("… Kubernetes PROD") are not for the public; the signed webhook has it
    return {"data": data, "origins": origins_of(service["banner_origins"])}


def state(service_name):
    """{"data": the public JSON, "origins": CORS origins} of a service, or None if no service has that name.

    Read from Django's cache (two queries on a miss); an unreachable cache falls back to the database.
    """
    key = cache_key(service_name)
    try:
        cached = cache.get(key)
    except Exception:
        logger.exception("Banner cache unreachable")
        return _load(service_name)
    if cached is not None:
        return None if cached == _UNKNOWN else cached
    value = _load(service_name)
    try:
        if value is None:  # short: a service created a moment later should not wait long
            cache.set(key, _UNKNOWN, settings.OKNO_BANNER_CACHE_SECONDS)
        else:
            cache.set(key, value, settings.OKNO_BANNER_SERVER_CACHE_SECONDS)
    except Exception:
        logger.exception("Banner cache unreachable")
    return value


def active(service_name):
    """The public JSON of the service's banner ({"service", "display_name", "active", "text", …}), or None."""
    value = state(service_name)
    return value["data"] if value else None
