"""Live updates of a plan: Server-Sent Events read from the plan's history (PlanEvent).

Why SSE and how catch-up works: docs/realtime.md. In short, the history is the source of truth; Redis
(when REDIS_URL is set) only wakes the streams up; without Redis they poll the table. Under ASGI one
Hub per process and plan does the waiting and looking for all its streams; under WSGI (runserver)
each stream is a thread that does its own. How many streams may be open, and how they let go of the
database and end with their client: live_limits.py.
"""

import asyncio
import contextvars
import json
import logging
import time
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db.models import Q
from django.http import HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from changeplans.models import Plan, PlanEvent, status_label
from changeplans.permissions import can_view_plan
from changeplans.roles import display_name
from execution import live_limits
from execution.live_limits import (
    SYNC_PROBE_SECONDS,
    StreamStopped,
    release_connection,
    stop_sync_streams,  # noqa: F401 (re-exported: tests, the test server's teardown)
    sync_streams,
)

log = logging.getLogger(__name__)

CHANNEL = "okno:plan:{}"
POLL_SECONDS = 0.25  # without Redis: how often the table is looked at
SAFETY_POLL_SECONDS = 5.0  # with Redis: look anyway (a publish lost to a crash or a Redis restart)
KEEPALIVE_SECONDS = 15.0  # proxies close idle connections; a comment keeps them open
RETRY_MS = 2000  # EventSource's wait before it reconnects
# An event's id is taken at INSERT, it becomes visible at COMMIT: a later id can commit first. Events
# this young are looked at again even below the cursor, so a slow commit is not skipped.
LATE_COMMIT_SECONDS = 10.0


def max_age_seconds():
    # Each connection ends after this; the browser reconnects with Last-Event-ID and loses nothing.
    return float(settings.OKNO_LIVE_MAX_AGE_SECONDS)


_redis_client = None


def _redis():
    global _redis_client
    if _redis_client is None:
        import redis

        _redis_client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    return _redis_client


def publish(plan_id, event_id):
    """Wake the plan's streams in every web process (called after commit). No Redis: nothing to do."""
    if not settings.REDIS_URL:
        return
    import redis

    try:
        _redis().publish(CHANNEL.format(plan_id), str(event_id))
    except redis.RedisError as exc:
        # Not fatal: the streams' safety poll delivers the event a few seconds later.
        log.warning("live: could not publish event %s of plan %s: %s", event_id, plan_id, exc)


def event_data(event):
    """The JSON a watcher receives for one history entry."""
    actor = display_name(event.actor) if event.actor_id else ""
    from_label = status_label(event.object_type, event.from_status)
    to_label = status_label(event.object_type, event.to_status)
    if event.to_status:
        text = _("%(who)s: %(object)s — %(to)s") % {
            "who": actor or _("Okno"),
            "object": event.object_label,
            "to": to_label,
        }
    else:
        text = _("%(who)s: %(object)s — %(event)s") % {
            "who": actor or _("Okno"),
            "object": event.object_label,
            "event": event.get_kind_display(),
        }
    return {
        "id": event.pk,
        "kind": event.kind,
        "kind_label": str(event.get_kind_display()),
        "object_type": event.object_type,
        "object_id": event.object_id,
        "label": event.object_label,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "from_label": str(from_label or ""),
        "to_label": str(to_label or ""),
        "actor": actor,
        "actor_id": event.actor_id,
        "at": event.at.isoformat(),
        "comment": event.comment,
        "text": str(text),
    }


def format_event(data):
    return f"id: {data['id']}\nevent: plan\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


class Cursor:
    """What one stream has sent: the highest id, and the young events already sent (see LATE_COMMIT_SECONDS)."""

    def __init__(self, plan_id, after, language):
        self.plan_id = plan_id
        self.after = after
        self.language = language
        self.last = None
        self.recent = {}  # id -> at of events sent (or seen by the client) within the late-commit window

    def _prime(self, horizon):
        events = PlanEvent.objects.filter(plan_id=self.plan_id)
        if self.after is None:
            # A fresh watcher starts at "now": the page it came from showed everything before.
            self.last = events.order_by("-id").values_list("id", flat=True).first() or 0
        else:
            self.last = self.after
        self.recent = dict(events.filter(id__lte=self.last, at__gte=horizon).values_list("id", "at"))

    def fetch(self, close_connection=True):
        """New events as SSE messages (synchronous: database access).

        Each look gives its connection back: an idle watcher holds none (50 watchers are not 50 PostgreSQL
        sessions), and a watcher that hangs up leaves none behind. Under uvicorn it goes back to the
        process's pool; elsewhere it is closed, a connect per look (SQLite in the embedded default: cheap).
        """
        try:
            return self._fetch()
        finally:
            if close_connection:
                release_connection()

    def _fetch(self):
        return self.format(self.fetch_events())

    def fetch_events(self):
        """New history entries (PlanEvent, with actor) since the last look, in id order."""
        horizon = timezone.now() - timedelta(seconds=LATE_COMMIT_SECONDS)
        if self.last is None:
            self._prime(horizon)
        self.recent = {pk: at for pk, at in self.recent.items() if at >= horizon}
        rows = (
            PlanEvent.objects.filter(plan_id=self.plan_id)
            .filter(Q(id__gt=self.last) | Q(at__gte=horizon))
            .exclude(id__in=list(self.recent))
            .select_related("actor")
            .order_by("id")
        )
        return self.accept(list(rows), horizon)

    def accept(self, events, horizon=None):
        """Of entries found by this cursor or handed over by a Hub, those this watcher has not had."""
        horizon = horizon or timezone.now() - timedelta(seconds=LATE_COMMIT_SECONDS)
        fresh = []
        for event in events:
            if event.pk in self.recent or (event.pk <= self.last and event.at < horizon):
                continue
            self.recent[event.pk] = event.at
            self.last = max(self.last, event.pk)
            fresh.append(event)
        return fresh

    def format(self, events):
        with translation.override(self.language):
            return [format_event(event_data(event)) for event in events]


def _preamble():
    return f"retry: {RETRY_MS}\n: okno live\n\n"


KEEPALIVE = ": keep-alive\n\n"


def _sync_stream(cursor, max_age):
    """For WSGI (runserver, the test server): a thread per watcher; it waits on Redis or sleeps between looks.

    It must not outlive its client: a quiet stream writes a comment every SYNC_PROBE_SECONDS (a write is
    how a WSGI server learns the client left), a failed look ends it, and `stop_sync_streams()` ends all
    (see live_limits.SyncStreams).
    """
    deadline = time.monotonic() + max_age
    probe = min(KEEPALIVE_SECONDS, SYNC_PROBE_SECONDS)
    pubsub = None
    if settings.REDIS_URL:
        try:
            pubsub = _redis().pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(CHANNEL.format(cursor.plan_id))  # before the first look: nothing falls between
        except Exception as exc:  # noqa: BLE001 (no Redis: poll instead)
            log.warning("live: Redis unavailable, polling: %s", exc)
            pubsub = None
    generation = sync_streams.start()
    try:
        yield _preamble()
        quiet_since = time.monotonic()
        while True:
            try:
                with sync_streams.looking(generation):
                    messages = cursor.fetch()
            except StreamStopped:
                return
            except Exception:
                log.warning("live: looking at plan %s failed, ending the stream", cursor.plan_id, exc_info=True)
                return
            if messages:
                yield "".join(messages)
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= probe:
                yield KEEPALIVE
                quiet_since = time.monotonic()
            left = deadline - time.monotonic()
            if left <= 0 or sync_streams.stopped(generation):
                return
            if pubsub is not None:
                try:
                    pubsub.get_message(timeout=min(SAFETY_POLL_SECONDS, probe, left))
                    continue
                except Exception as exc:  # noqa: BLE001
                    log.warning("live: Redis lost, polling: %s", exc)
                    pubsub = None
            sync_streams.wait(generation, min(POLL_SECONDS, left))
    finally:
        if pubsub is not None:
            try:
                pubsub.close()
            except Exception:  # noqa: BLE001
                pass


class Hub:
    """Under ASGI: one per process, event loop and watched plan. It alone waits on Redis (or polls) and
    looks at the table, once per wake-up, and hands the new entries to every stream of the plan.

    Measured (bench/live.py): 50 streams each looking for itself put p50 at ~150-200 ms; one look per
    process brings it near the Redis floor.
    """

    _hubs = {}

    def __init__(self, key):
        self.key = key
        self.plan_id = key[1]
        self.queues = set()
        self.ready = asyncio.Event()
        self.task = None

    @classmethod
    def join(cls, plan_id):
        key = (asyncio.get_running_loop(), plan_id)
        hub = cls._hubs.get(key)
        if hub is None:
            hub = cls._hubs[key] = cls(key)
            # Not in the first watcher's context: the hub outlives that request (and its sync thread).
            hub.task = asyncio.get_running_loop().create_task(hub._run(), context=contextvars.Context())
        queue = asyncio.Queue()
        hub.queues.add(queue)
        return hub, queue

    def leave(self, queue):
        self.queues.discard(queue)
        if not self.queues:
            self._hubs.pop(self.key, None)
            if not self.key[0].is_closed():
                self.task.cancel()

    def _broadcast(self, events):
        for queue in self.queues:
            queue.put_nowait(events)

    async def _run(self):
        cursor = Cursor(self.plan_id, None, settings.LANGUAGE_CODE)
        fetch = sync_to_async(_looking(cursor))
        client = pubsub = None
        try:
            if settings.REDIS_URL:
                import redis.asyncio

                try:
                    client = redis.asyncio.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
                    pubsub = client.pubsub(ignore_subscribe_messages=True)
                    await pubsub.subscribe(CHANNEL.format(self.plan_id))  # before the first look
                except Exception as exc:  # noqa: BLE001 (no Redis: poll instead)
                    log.warning("live: Redis unavailable, polling: %s", exc)
                    pubsub = None
            while True:
                try:
                    events = await fetch()
                except Exception:
                    log.exception("live: looking at plan %s failed", self.plan_id)
                    await asyncio.sleep(1)
                    continue
                if events:
                    self._broadcast(events)
                self.ready.set()
                if pubsub is not None:
                    try:
                        await pubsub.get_message(timeout=SAFETY_POLL_SECONDS)
                        while await pubsub.get_message(timeout=0):  # one look serves all that arrived
                            pass
                        continue
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:  # noqa: BLE001
                        log.warning("live: Redis lost, polling: %s", exc)
                        pubsub = None
                await asyncio.sleep(POLL_SECONDS)
        finally:
            for closing in (pubsub, client):
                if closing is not None:
                    try:
                        await closing.aclose()
                    except Exception:  # noqa: BLE001
                        pass


def _looking(cursor):
    def look():
        try:
            return cursor.fetch_events()
        finally:
            release_connection()

    return look


async def _async_stream(cursor, max_age, slot):
    """For ASGI (uvicorn): no thread per watcher; the plan's Hub wakes it with the new entries."""
    deadline = time.monotonic() + max_age
    hub = queue = None
    try:
        # The request's thread looked up the session, user and plan: its connection goes back now, not
        # when the stream ends (then 200 streams held 200 connections: issue 11).
        await sync_to_async(release_connection)()
        hub, queue = Hub.join(cursor.plan_id)
        yield _preamble()
        await hub.ready.wait()
        # The replay after the client's cursor; what the hub hands over meanwhile is deduplicated.
        messages = await sync_to_async(cursor.fetch)()
        if messages:
            yield "".join(messages)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                events = await asyncio.wait_for(queue.get(), min(KEEPALIVE_SECONDS, left))
            except TimeoutError:
                if deadline - time.monotonic() > 0:
                    yield KEEPALIVE
                continue
            while not queue.empty():
                events = events + queue.get_nowait()
            messages = cursor.format(cursor.accept(events))
            if messages:
                yield "".join(messages)
    finally:
        if hub is not None:
            hub.leave(queue)
        slot.release()


def _cursor_param(request):
    """Last-Event-ID (EventSource's reconnect) wins over ?after= (the page's last event)."""
    raw = request.headers.get("Last-Event-ID") or request.GET.get("after")
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(raw) from None
    if value < 0:
        raise ValueError(raw)
    return value


def plan_events(request, pk):
    """GET /plans/<id>/events/: the plan's history as an event stream (text/event-stream)."""
    if not request.user.is_authenticated:
        # An EventSource cannot follow a login redirect usefully: say 403 plainly.
        return HttpResponse(_("Sign in to watch the plan."), status=403, content_type="text/plain; charset=utf-8")
    plan = get_object_or_404(Plan.objects.only("pk"), pk=pk)
    if not can_view_plan(request.user, plan):
        return HttpResponse(_("You may not view this plan."), status=403, content_type="text/plain; charset=utf-8")
    try:
        after = _cursor_param(request)
    except ValueError:
        return HttpResponseBadRequest(
            _("The last event id must be a whole number."), content_type="text/plain; charset=utf-8"
        )
    slot = live_limits.streams.acquire(request.user.pk)
    if isinstance(slot, HttpResponse):
        return slot  # too many streams: 503/429 with Retry-After
    cursor = Cursor(plan.pk, after, translation.get_language() or settings.LANGUAGE_CODE)
    max_age = max_age_seconds()
    if isinstance(request, ASGIRequest):
        stream = _async_stream(cursor, max_age, slot)
    else:
        stream = _sync_stream(cursor, max_age)
    response = StreamingHttpResponse(stream, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    return slot.bind(response, stream)
