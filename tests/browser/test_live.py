"""Live updates in a real browser: two people watch the same plan; a step ticked by A shows in B's page at
the stream's next look after the commit, without a reload (static/okno/live.js on /plans/<id>/events/).

How fast that is, is bench/live.py's question (docs/BENCHMARKS.md); the figures printed here are a
measurement for the log, not an assertion."""

import datetime
import threading
import time

import pytest
from django.db import transaction
from playwright.sync_api import expect

from changeplans.models import PlanEvent, Step
from changeplans.roles import display_name
from execution import live
from execution.transitions import start_step
from tests.browser.conftest import login
from tests.factories import PlanFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]
# How long a page may take to show an event before the test fails: it bounds a failure (an event that never
# arrives), it is not the speed live updates promise.
LIVE_DEADLINE_MS = 15_000
# With Redis, the streams' timed looks (safety poll, keep-alive probe) are pushed this far out: within
# LIVE_DEADLINE_MS only the publish can wake a stream.
TIMED_LOOKS_SECONDS = 60.0


class Looks:
    """The looks each stream (its Cursor) took at the history table, in the order they started (the test
    server's streams are threads of this process)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.by_stream = {}  # cursor -> per look, in order: the event ids it found (None while it runs)

    def started(self):
        """How many looks each stream has started so far."""
        with self.lock:
            return {cursor: len(found) for cursor, found in self.by_stream.items()}

    def finding(self, event_id):
        """For each stream that sent `event_id`: the number (1-based) of its look that found it."""
        with self.lock:
            return {
                cursor: next(n for n, ids in enumerate(found, 1) if ids and event_id in ids)
                for cursor, found in self.by_stream.items()
                if any(ids and event_id in ids for ids in found)
            }


@pytest.fixture
def looks(monkeypatch):
    record, original = Looks(), live.Cursor.fetch_events

    def counted(cursor):
        with record.lock:
            found = record.by_stream.setdefault(cursor, [])
            found.append(None)
            number = len(found)
        events = original(cursor)
        with record.lock:
            found[number - 1] = [event.pk for event in events]
        return events

    monkeypatch.setattr(live.Cursor, "fetch_events", counted)
    return record


def watch(new_context, user, plan):
    page = new_context().new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, user)
    page.goto(f"/plans/{plan.pk}/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    # Epoch milliseconds at which the page received each event (same clock as this process).
    page.evaluate("""() => { window.__okno_marker = 1; window.__okno_events = [];
        document.addEventListener('okno:plan-event', e => window.__okno_events.push(
            {id: e.detail.id, at: performance.timeOrigin + performance.now()})); }""")
    return page, errors


@pytest.mark.parametrize("with_redis", [True, False], ids=["redis", "polling"])
def test_a_tick_by_a_appears_in_b_at_the_next_look(new_context, settings, monkeypatch, looks, with_redis):
    # Given A (operator) and B (a watcher) on the same plan's page
    if not with_redis:
        settings.REDIS_URL = ""  # the embedded default: the stream polls the history table
    else:
        assert settings.REDIS_URL
        for timed_look in ("SAFETY_POLL_SECONDS", "SYNC_PROBE_SECONDS", "KEEPALIVE_SECONDS"):
            monkeypatch.setattr(live, timed_look, TIMED_LOOKS_SECONDS)
    settings.OKNO_LIVE_MAX_AGE_SECONDS = 2 * TIMED_LOOKS_SECONDS
    a = UserFactory(username="operator_a", first_name="Антон", last_name="Операторов", roles=["operator"])
    b = UserFactory(username="watcher_b", first_name="Борис", last_name="Наблюдателев")
    plan = PlanFactory(title="Обновление ingress-nginx")
    step = StepFactory(plan=plan, position=1, name="Вывести узел из балансировки", planned_time=datetime.time(20, 0))
    page_a, errors_a = watch(new_context, a, plan)
    page_b, errors_b = watch(new_context, b, plan)
    # When A ticks the step (the service the board's button calls)
    with transaction.atomic():
        start_step(Step.objects.get(pk=step.pk), actor=a)
        committing = time.time()
    started_before = looks.started()  # after the commit and its publish: later looks see the event
    event = PlanEvent.objects.filter(plan=plan).latest("id")
    # Then both pages receive it without a reload; B is told who changed what, A is not told of A's own tick
    for page in (page_a, page_b):
        expect(page.locator("#live-status")).to_have_attribute(
            "data-last-event-id", str(event.pk), timeout=LIVE_DEADLINE_MS
        )
        assert page.evaluate("window.__okno_marker") == 1
    toast = page_b.locator("#okno-toasts .toast-body")
    expect(toast).to_contain_text(f"{display_name(a)}: 1. Вывести узел из балансировки")
    assert page_a.locator("#okno-toasts .toast-body").count() == 0
    # … each stream sent it from its first look started after the commit (with Redis the publish woke it:
    # its timed looks were a minute away, past LIVE_DEADLINE_MS; without Redis, its next poll)
    finding = looks.finding(event.pk)
    assert len(finding) == 2, finding  # the two pages' streams
    assert all(number <= started_before.get(cursor, 0) + 1 for cursor, number in finding.items()), (
        started_before,
        finding,
    )
    # A measurement for the log, not an assertion: the speed is bench/live.py's question.
    delays = {
        name: page.evaluate(f"window.__okno_events.find(e => e.id === {event.pk}).at") / 1000 - committing
        for name, page in (("A", page_a), ("B", page_b))
    }
    print(
        f"\nlive ({'redis' if with_redis else 'polling'}): commit → page A {delays['A'] * 1000:.0f} ms,"
        f" page B {delays['B'] * 1000:.0f} ms"
    )
    assert not errors_a and not errors_b


def test_a_watcher_that_lost_its_connection_catches_up_from_the_history(new_context, settings, looks):
    # Given B watching a plan whose streams end after half a second (the browser reconnects after 2 s)
    settings.REDIS_URL = ""
    settings.OKNO_LIVE_MAX_AGE_SECONDS = 0.5
    a = UserFactory(username="operator_a", roles=["operator"])
    b = UserFactory(username="watcher_b")
    plan = PlanFactory(title="Обновление ingress-nginx")
    step = StepFactory(plan=plan, position=1, name="Вывести узел из балансировки", planned_time=datetime.time(20, 0))
    page_b, errors_b = watch(new_context, b, plan)
    # … whose reconnections are held (as by a network outage) until A's tick has committed
    holding, held = [True], []
    page_b.route("**/events/**", lambda route: held.append(route) if holding else route.continue_())
    # When A ticks while B is disconnected
    expect(page_b.locator("#live-status")).to_have_attribute("data-state", "reconnecting")
    with transaction.atomic():
        start_step(Step.objects.get(pk=step.pk), actor=a)
    streams_before = looks.started()
    event = PlanEvent.objects.filter(plan=plan).latest("id")
    holding.clear()
    for route in held:
        route.continue_()
    # Then B gets it on reconnecting (Last-Event-ID replay, by a stream opened after the commit), once, and
    # the page was never reloaded
    expect(page_b.locator("#live-status")).to_have_attribute(
        "data-last-event-id", str(event.pk), timeout=LIVE_DEADLINE_MS
    )
    expect(page_b.locator("#okno-toasts .toast-body")).to_contain_text(display_name(a))
    finding = looks.finding(event.pk)
    assert len(finding) == 1 and not set(finding) & set(streams_before), (streams_before, finding)
    # One more disconnect and reconnect (its replay starts after the event): not dispatched again
    status = page_b.locator("#live-status")
    expect(status).to_have_attribute("data-state", "reconnecting")
    expect(status).to_have_attribute("data-state", "live")
    assert page_b.evaluate(f"window.__okno_events.filter(e => e.id === {event.pk}).length") == 1
    assert page_b.evaluate("window.__okno_marker") == 1
    assert not errors_b


def test_a_refused_stream_is_reopened_later_from_the_last_event(new_context, settings):
    """Too many streams open: the server answers 429/503 with Retry-After (execution/live_limits.py).
    EventSource does not retry an HTTP refusal by itself; live.js reopens it after a back-off, from the
    last event it saw, and what happened meanwhile still arrives."""
    # Given B watching a plan whose streams end after half a second (the browser then reconnects)
    settings.REDIS_URL = ""
    settings.OKNO_LIVE_MAX_AGE_SECONDS = 0.5
    a = UserFactory(username="operator_a", roles=["operator"])
    b = UserFactory(username="watcher_b")
    plan = PlanFactory(title="Обновление ingress-nginx")
    first, second = (
        StepFactory(plan=plan, position=n, name=f"Шаг {n}", planned_time=datetime.time(20, n)) for n in (1, 2)
    )
    page_b, errors_b = watch(new_context, b, plan)
    with transaction.atomic():
        start_step(Step.objects.get(pk=first.pk), actor=a)
    seen = PlanEvent.objects.filter(plan=plan).latest("id")
    status = page_b.locator("#live-status")
    expect(status).to_have_attribute("data-last-event-id", str(seen.pk))
    # When the server refuses B's next two connections
    asked = []

    def refuse_twice(route):
        asked.append(route.request.url)
        if len(asked) <= 2:
            route.fulfill(status=429, headers={"Retry-After": "1"}, body="Too many live connections.")
        else:
            route.continue_()

    page_b.route("**/events/**", refuse_twice)
    # And A ticks while B is refused
    expect(status).to_have_attribute("data-state", "reconnecting")
    with transaction.atomic():
        start_step(Step.objects.get(pk=second.pk), actor=a)
    event = PlanEvent.objects.filter(plan=plan).latest("id")
    # Then B comes back on its own, catches up from the last event it had seen, and gets the tick once
    expect(status).to_have_attribute("data-last-event-id", str(event.pk), timeout=30_000)
    assert len(asked) >= 3
    assert all(f"after={seen.pk}" in url for url in asked[1:]), asked
    assert page_b.evaluate(f"window.__okno_events.filter(e => e.id === {event.pk}).length") == 1
    assert page_b.evaluate("window.__okno_marker") == 1
    assert not errors_b
