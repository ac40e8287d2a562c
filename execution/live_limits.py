"""What every live stream (plan events, run logs) shares: how many may be open, and how a stream lets
go of the database and of its thread (docs/realtime.md, "Limits").

- Slots: a web process serves at most OKNO_LIVE_MAX_STREAMS_PER_PROCESS streams, a user at most
  OKNO_LIVE_MAX_STREAMS_PER_USER of them; beyond that the request is refused at once with 503/429 and
  Retry-After (EventSource then fires "error"; static/okno/live.js retries with back-off).
- Connections: Django keeps one database connection per thread. A stream's request thread touched the
  ORM (session, user, permission), so the stream gives that connection back before it waits, and
  every look closes its own.
- Sync streams (runserver, the test server): each is a thread that must notice a client that left
  and stop when told (`stop_sync_streams`), so none queries after its request or its test is over.
"""

import logging
import threading
import weakref
from contextlib import contextmanager

from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.utils.translation import gettext as _

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 10
# Sync streams write a comment this often when quiet: a write is the only way a WSGI server learns
# that the client left (the second write after the peer closed fails), so this bounds how long a
# thread of a gone client goes on looking.
SYNC_PROBE_SECONDS = 1.0


def release_connection():
    """Give this thread's database connection back (to the pool, or closed). Not inside a transaction:
    tests run in one, and closing there would break them."""
    if not connection.in_atomic_block:
        connection.close()


class Slot:
    """One open stream counted against its process and user; released once, however the stream ends."""

    def __init__(self, counter, user_id):
        self._counter = counter
        self.user_id = user_id
        self._released = False

    def release(self):
        self._counter._release(self)

    def bind(self, response, stream):
        # The stream's finally releases it; when the response closes (the server gave up before the first
        # chunk) or the generator is dropped without running (a client gone before it started), so do these.
        response._resource_closers.append(self.release)
        weakref.finalize(stream, self.release)
        return response


class StreamCounter:
    """Streams open in this process, in all and per user."""

    def __init__(self):
        self._lock = threading.Lock()
        self.total = 0
        self.per_user = {}

    def acquire(self, user_id):
        """A Slot, or a refusal (HttpResponse 503/429 with Retry-After)."""
        with self._lock:
            if self.total >= settings.OKNO_LIVE_MAX_STREAMS_PER_PROCESS:
                refusal = (
                    503,
                    _("The server has too many live connections open. The page reconnects by itself shortly."),
                )
            elif self.per_user.get(user_id, 0) >= settings.OKNO_LIVE_MAX_STREAMS_PER_USER:
                refusal = (
                    429,
                    _(
                        "Too many live connections are open for your account (other tabs or windows). "
                        "Close some; the page reconnects by itself."
                    ),
                )
            else:
                self.total += 1
                self.per_user[user_id] = self.per_user.get(user_id, 0) + 1
                return Slot(self, user_id)
        status, text = refusal
        log.warning("live: refused a stream of user %s (%s): %s open in this process", user_id, status, self.total)
        response = HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        response._has_been_logged = True  # logged above, once: not again as a server error by django.request
        return response

    def _release(self, slot):
        with self._lock:
            if slot._released:
                return
            slot._released = True
            self.total -= 1
            left = self.per_user.get(slot.user_id, 0) - 1
            if left > 0:
                self.per_user[slot.user_id] = left
            else:
                self.per_user.pop(slot.user_id, None)

    def open_streams(self, user_id=None):
        with self._lock:
            return self.total if user_id is None else self.per_user.get(user_id, 0)


streams = StreamCounter()


class StreamStopped(Exception):
    """The sync streams were told to stop: this one must not look again."""


class SyncStreams:
    """The sync (WSGI) streams of this process, and a way to stop them all.

    A stream reads the generation when it starts and does every database look inside `looking()`,
    which refuses once `stop_all()` has moved the generation on. `stop_all()` waits only for looks in
    progress: a stream parked at a yield (or abandoned by its reader) can never look again.
    """

    def __init__(self):
        self._cond = threading.Condition()
        self.generation = 0
        self.looks = 0  # looks in progress
        self._stopped = threading.Event()  # wakes sleeping streams at once

    def start(self):
        with self._cond:
            return self.generation

    def stopped(self, generation):
        return generation != self.generation

    @contextmanager
    def looking(self, generation):
        with self._cond:
            if self.stopped(generation):
                raise StreamStopped
            self.looks += 1
        try:
            yield
        finally:
            with self._cond:
                self.looks -= 1
                self._cond.notify_all()

    def wait(self, generation, seconds):
        """Sleep between looks; returns early when the streams are told to stop."""
        if not self.stopped(generation):
            self._stopped.wait(seconds)

    def stop_all(self, timeout=10.0):
        """End every sync stream of this process and wait until none is looking (a test server's teardown,
        before the test database goes away). True when none is."""
        with self._cond:
            self.generation += 1
            self._stopped.set()
            done = self._cond.wait_for(lambda: self.looks == 0, timeout)
            self._stopped.clear()  # (streams started from now on sleep normally)
        return done


sync_streams = SyncStreams()


def stop_sync_streams(timeout=10.0):
    return sync_streams.stop_all(timeout)
