"""A run's output as Server-Sent Events: each RunLine is an event whose id is its number, so a browser
that reconnects (Last-Event-ID) goes on where it stopped; an `end` event closes the stream when the run
has ended. The table is looked at every 0.25 s (one cheap indexed query a stream; few people watch one
run's log). Under ASGI the stream is an async generator, so it does not hold a thread. Like the plan's
stream it counts against the live-stream limits, holds no database connection while it waits and, under
WSGI, ends when its client has gone (execution/live_limits.py, docs/realtime.md)."""

import asyncio
import json
import logging
import time

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse, StreamingHttpResponse

from execution import live_limits
from execution.live_limits import SYNC_PROBE_SECONDS, StreamStopped, release_connection, sync_streams

from .models import AutomationRun, RunLine

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0
MAX_AGE_SECONDS = 1800.0
BATCH = 500


def _format_line(seq, text):
    return f"id: {seq}\nevent: line\ndata: {json.dumps({'seq': seq, 'text': text}, ensure_ascii=False)}\n\n"


def _look(run_id, after):
    """(new lines, the run's status, ended?) — the lines first, then the status, so none is missed."""
    lines = list(
        RunLine.objects.filter(run_id=run_id, seq__gt=after).order_by("seq").values_list("seq", "text")[:BATCH]
    )
    run = AutomationRun.objects.filter(pk=run_id).only("status", "summary", "exit_code").first()
    return lines, run


def _end_event(run):
    data = {
        "status": run.status,
        "label": str(run.get_status_display()),
        "summary": run.summary,
        "exit_code": run.exit_code,
    }
    return f"event: end\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _step(run_id, cursor):
    try:
        lines, run = _look(run_id, cursor[0])
    finally:
        release_connection()  # every look gives its connection back: a waiting stream holds none
    chunks = []
    for seq, text in lines:
        chunks.append(_format_line(seq, text))
        cursor[0] = seq
    ended = run is None or (run.ended and len(lines) < BATCH)
    if ended and run is not None:
        chunks.append(_end_event(run))
    return "".join(chunks), ended


def _sync_stream(run_id, after):
    """WSGI: a thread per watcher that must not outlive its client (see execution.live._sync_stream)."""
    cursor, started, last_sent = [after], time.monotonic(), time.monotonic()
    probe = min(KEEPALIVE_SECONDS, SYNC_PROBE_SECONDS)
    generation = sync_streams.start()
    yield "retry: 2000\n\n"
    while time.monotonic() - started < MAX_AGE_SECONDS and not sync_streams.stopped(generation):
        try:
            with sync_streams.looking(generation):
                text, ended = _step(run_id, cursor)
        except StreamStopped:
            return
        except Exception:
            log.warning("run stream: looking at run %s failed, ending the stream", run_id, exc_info=True)
            return
        if text:
            last_sent = time.monotonic()
            yield text
        if ended:
            return
        if time.monotonic() - last_sent > probe:
            last_sent = time.monotonic()
            yield ": keep-alive\n\n"
        sync_streams.wait(generation, POLL_SECONDS)


async def _async_stream(run_id, after, slot):
    cursor, started, last_sent = [after], time.monotonic(), time.monotonic()
    try:
        # The request's thread checked the session and the run's plan: give that connection back first.
        await sync_to_async(release_connection)()
        yield "retry: 2000\n\n"
        look = sync_to_async(_step, thread_sensitive=False)
        while time.monotonic() - started < MAX_AGE_SECONDS:
            text, ended = await look(run_id, cursor)
            if text:
                last_sent = time.monotonic()
                yield text
            if ended:
                return
            if time.monotonic() - last_sent > KEEPALIVE_SECONDS:
                last_sent = time.monotonic()
                yield ": keep-alive\n\n"
            await asyncio.sleep(POLL_SECONDS)
    finally:
        slot.release()


def stream_response(request, run_id):
    """The run's output as an event stream, for a user already allowed to see the run."""
    try:
        after = int(request.headers.get("Last-Event-ID") or request.GET.get("after") or 0)
    except ValueError:
        after = 0
    slot = live_limits.streams.acquire(request.user.pk)
    if isinstance(slot, HttpResponse):
        return slot  # too many streams: 503/429 with Retry-After
    body = _async_stream(run_id, after, slot) if isinstance(request, ASGIRequest) else _sync_stream(run_id, after)
    response = StreamingHttpResponse(body, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return slot.bind(response, body)
