"""Calendar feeds (ICS) behind a secret address, and the page that gives and rotates it (docs/calendar.md).

A user's address carries a random token; only its sha256 is stored (CalendarFeed), so the address is shown
once, when made. Rotating makes a new token and the old address answers 404 at once, as does any address of
a deactivated user. One token serves the personal feed (plans I author, sign, execute or am on duty for)
and a feed per service. A feed is answered in a fixed number of queries whatever its size; the token is
never written to our logs (the 404 is marked as logged).
"""

import hashlib
import logging
import re
import secrets
from datetime import timedelta
from typing import cast

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from approvals.models import ApprovalRow
from changeplans import ics
from changeplans.models import Plan, Service, Step
from common.links import absolute_url

from .models import CalendarFeed
from .selectors import visible_plans

# A feed holds the plans whose window ended at most this long ago, and every later one.
FEED_PAST = timedelta(days=180)
PLAN_FIELDS = (
    "pk",
    "title",
    "goal",
    "kind",
    "status",
    "time_zone",
    "window_start",
    "window_end",
    "ics_sequence",
    "updated_at",
)


# The access logs of the servers Okno runs under (uvicorn in the image, runserver): feed paths masked.
ACCESS_LOGGERS = ("uvicorn.access", "django.server")
_FEED_PATH = re.compile(r"(/calendar/feed/)[A-Za-z0-9_-]+")  # secrets.token_urlsafe


class MaskFeedTokens(logging.Filter):
    """Replaces the token in any feed path a log record carries with "…"."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _FEED_PATH.sub(r"\1…", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_FEED_PATH.sub(r"\1…", a) if isinstance(a, str) else a for a in record.args)
        return True


def mask_tokens_in_access_logs() -> None:
    """Called from the app config: the filter on each access logger, once."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, MaskFeedTokens) for f in logger.filters):
            logger.addFilter(MaskFeedTokens())


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def rotate_feed(user: User) -> str:
    """A new secret token for the user's feeds (the old one stops working); returns the token, never stored."""
    token = secrets.token_urlsafe(32)
    CalendarFeed.objects.update_or_create(
        user=user, defaults={"token_hash": token_hash(token), "created_at": timezone.now(), "last_used_at": None}
    )
    return token


def delete_feed(user: User) -> None:
    CalendarFeed.objects.filter(user=user).delete()


def feed_user(token: str) -> User | None:
    """The active user whose token this is, or None (one query)."""
    feed = CalendarFeed.objects.select_related("user").filter(token_hash=token_hash(token)).first()
    if feed is None or not feed.user.is_active:
        return None
    # Once a minute at most: a calendar program polling every few minutes does not write each time.
    now = timezone.now()
    if feed.last_used_at is None or now - feed.last_used_at > timedelta(minutes=1):
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
    return feed.user


def _recent(queryset: QuerySet[Plan]) -> QuerySet[Plan]:
    return queryset.filter(window_end__gte=timezone.now() - FEED_PAST).only(*PLAN_FIELDS).order_by("window_start", "pk")


def personal_plans(user: User) -> QuerySet[Plan]:
    """Plans the user authors, has a sign-off or duty row in (their own or their group's), or executes a step of."""
    rows = ApprovalRow.objects.filter(Q(user=user) | Q(group__in=user.groups.all())).values("plan_id")
    steps = Step.objects.filter(executor__user=user).values("plan_id")
    return _recent(visible_plans().filter(Q(author=user) | Q(pk__in=rows) | Q(pk__in=steps)))


def service_plans(service: Service) -> QuerySet[Plan]:
    return _recent(visible_plans().filter(pk__in=service.plan_services.values("plan_id")))


def feed_urls(token: str) -> tuple[str, list[tuple[Service, str]]]:
    """The personal feed's address and each service's."""
    personal = absolute_url(reverse("changecalendar:feed", args=[token]))
    services = [
        (service, absolute_url(reverse("changecalendar:service_feed", args=[token, service.pk])))
        for service in Service.objects.order_by("display_name", "pk")
    ]
    return personal, services


# --- views ---------------------------------------------------------------------------------------------


def _not_found() -> HttpResponse:
    response = HttpResponseNotFound(b"", content_type="text/plain")
    response._has_been_logged = True  # type: ignore[attr-defined]  # django.request would log the token's path
    return response


def _calendar_response(content: bytes) -> HttpResponse:
    response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="okno.ics"'
    patch_cache_control(response, private=True, max_age=300)
    return response


def personal_feed(request: HttpRequest, token: str) -> HttpResponse:
    user = feed_user(token)
    if user is None:
        return _not_found()
    name = _("Okno: my work plans")
    return _calendar_response(ics.feed(personal_plans(user), name))


def service_feed(request: HttpRequest, token: str, service_id: int) -> HttpResponse:
    user = feed_user(token)
    service = Service.objects.filter(pk=service_id).first() if user is not None else None
    if service is None:
        return _not_found()
    name = _("Okno: %(service)s") % {"service": service.display_name}
    return _calendar_response(ics.feed(service_plans(service), name))


@login_required
@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    """The user's feed addresses: made or rotated by a POST and shown in its answer only."""
    user = cast(User, request.user)  # login_required: never anonymous here
    token = None
    if request.method == "POST":
        if request.POST.get("action") == "delete":
            delete_feed(user)
        else:
            token = rotate_feed(user)
    feed = CalendarFeed.objects.filter(user=user).first()
    personal, services = feed_urls(token) if token else (None, [])
    response = render(
        request,
        "changecalendar/subscribe.html",
        {"feed": feed, "token": token, "personal_url": personal, "service_urls": services},
    )
    add_never_cache_headers(response)  # the addresses are secrets: no copy in any cache
    return response
