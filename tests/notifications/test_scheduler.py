"""The durable scheduler: rows, not ETAs; claimed with SKIP LOCKED; handled once; retried with a cap."""

import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from notifications import scheduler, tasks
from notifications.choices import ScheduleState
from notifications.models import OutboundEmail, ScheduledAction
from notifications.outbox import enqueue_email
from tests.waiting import FAILURE_DEADLINE_SECONDS, lock_waits_fail

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

handled = []


@scheduler.register("test.record")
def record(payload):
    handled.append(payload["n"])


@scheduler.register("test.mail")
def mail(payload):
    enqueue_email(f"test-mail:{payload['n']}", "h@example.org", "Напоминание", "Текст")


@scheduler.register("test.broken")
def broken(payload):
    enqueue_email("test-broken", "h@example.org", "Тема", "Текст")  # rolled back with the failure
    raise RuntimeError("handler broke")


@pytest.fixture(autouse=True)
def clear_handled():
    handled.clear()


def test_schedule_twice_keeps_one_row():
    due = timezone.now()
    scheduler.schedule("test:key", due, "test.record", {"n": 1})
    scheduler.schedule("test:key", due + timedelta(hours=1), "test.record", {"n": 2})
    row = ScheduledAction.objects.get(key="test:key")
    assert (row.due_at, row.payload) == (due, {"n": 1})


def test_run_due_hands_each_due_row_to_its_handler_once():
    now = timezone.now()
    scheduler.schedule("test:a", now - timedelta(minutes=1), "test.record", {"n": 1})
    scheduler.schedule("test:b", now + timedelta(hours=1), "test.record", {"n": 2})
    assert scheduler.run_due(now=now) == 1
    assert scheduler.run_due(now=now) == 0
    assert handled == [1]
    assert ScheduledAction.objects.get(key="test:a").state == ScheduleState.DONE
    assert ScheduledAction.objects.get(key="test:b").state == ScheduleState.PENDING
    scheduler.run_due(now=now + timedelta(hours=2))
    assert handled == [1, 2]


def test_what_a_handler_queues_commits_with_done(django_capture_on_commit_callbacks, mailoutbox):
    scheduler.schedule("test:mail", timezone.now(), "test.mail", {"n": 7})
    with django_capture_on_commit_callbacks(execute=True):
        scheduler.run_due()
    assert [m.subject for m in mailoutbox] == ["Напоминание"]


def test_cancel_by_prefix_keeps_the_excluded_keys():
    due = timezone.now() + timedelta(hours=1)
    for key in ("plan:1:a", "plan:1:b", "plan:12:a"):
        scheduler.schedule(key, due, "test.record", {"n": 0})
    assert scheduler.cancel("plan:1:", exclude=["plan:1:b"]) == 1
    states = dict(ScheduledAction.objects.values_list("key", "state"))
    assert states == {
        "plan:1:a": ScheduleState.CANCELLED,
        "plan:1:b": ScheduleState.PENDING,
        "plan:12:a": ScheduleState.PENDING,
    }
    assert scheduler.run_due(now=due + timedelta(hours=1)) == 2


@override_settings(OKNO_SCHEDULER_MAX_ATTEMPTS=2)
def test_a_failing_handler_is_retried_with_back_off_then_given_up():
    now = timezone.now()
    scheduler.schedule("test:broken", now, "test.broken", {})
    assert scheduler.run_due(now=now) == 1  # tried once in this pass, not looped on
    row = ScheduledAction.objects.get(key="test:broken")
    assert (row.state, row.attempts, "handler broke" in row.last_error) == (ScheduleState.PENDING, 1, True)
    assert row.due_at > now
    assert not OutboundEmail.objects.filter(key="test-broken").exists()  # the handler's writes rolled back
    scheduler.run_due(now=row.due_at)
    row.refresh_from_db()
    assert (row.state, row.attempts) == (ScheduleState.FAILED, 2)


def test_an_unknown_kind_is_recorded_as_an_error():
    scheduler.schedule("test:unknown", timezone.now(), "test.nobody", {})
    scheduler.run_due()
    assert "no handler registered" in ScheduledAction.objects.get(key="test:unknown").last_error


def test_run_scheduler_command_once(capsys):
    scheduler.schedule("test:cmd", timezone.now(), "test.record", {"n": 3})
    call_command("run_scheduler", "--once")
    assert handled == [3]
    assert "scheduled=1" in capsys.readouterr().out


def test_celery_tasks_are_registered_for_beat():
    from django.conf import settings

    from config.celery import app

    app.loader.import_default_modules()  # what a worker does at start: the autodiscovered tasks modules
    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert names == {"notifications.dispatch", "notifications.deliver_due", "runbooks.sweep"}
    assert names | {
        "notifications.execute",
        "notifications.deliver",
        "notifications.deliver_webhook",
        "runbooks.execute_run",
        "runbooks.execute_rehearsal",
    } <= set(app.tasks.keys())
    assert settings.CELERY_TASK_ROUTES["runbooks.execute_run"] == {"queue": "automation"}
    assert settings.CELERY_TASK_ROUTES["changeplans.render_pdf"] == {"queue": "celery"}  # OKNO_PDF_QUEUE unset
    assert (
        settings.CELERY_BEAT_SCHEDULE["notifications-dispatch"]["schedule"] <= 1.0
    )  # the issue: at least every second
    scheduler.schedule("test:task", timezone.now(), "test.record", {"n": 4})
    tasks.run_due.apply()
    assert handled == [4]


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_claim_disjoint_rows_and_the_second_does_not_wait():
    """SKIP LOCKED in `run_due`: a second dispatcher passes over the row the first is handling.

    Break it by hand: in notifications/scheduler.py `_claim_next`, change `select_for_update(skip_locked=True)`
    to `select_for_update()`. The second dispatcher then waits for the first one's row lock (the run only
    got slower, and a test of the result alone still passed); here its lock_timeout turns that wait into
    an OperationalError ("canceling statement due to lock timeout") and the test fails.
    """
    # Given ten due rows, and a first dispatcher (a thread, its own connection) still handling the row it claimed
    now = timezone.now()
    for n in range(10):
        scheduler.schedule(f"test:thread:{n}", now - timedelta(seconds=10 - n), "test.slow", {"n": n})
    claimed, release = threading.Event(), threading.Event()
    seen = {"first": [], "second": []}

    def slow(payload):
        name = "first" if threading.current_thread().name == "first" else "second"
        seen[name].append(payload["n"])
        if name == "first":
            claimed.set()
            release.wait(FAILURE_DEADLINE_SECONDS)

    scheduler.register("test.slow")(slow)

    def first_dispatcher():
        try:
            scheduler.run_due(now=now)
        finally:
            connection.close()

    first = threading.Thread(target=first_dispatcher, name="first")
    first.start()
    try:
        assert claimed.wait(FAILURE_DEADLINE_SECONDS)
        # When a second dispatcher runs meanwhile, where waiting for a lock is an error
        with lock_waits_fail():
            handled_by_second = scheduler.run_due(now=now)
    finally:
        release.set()
        first.join(FAILURE_DEADLINE_SECONDS)
    # Then it skipped the locked row instead of waiting for it, handled the nine others, and none twice
    assert seen["first"] == [0]
    assert seen["second"] == list(range(1, 10)) and handled_by_second == 9
    assert ScheduledAction.objects.filter(state=ScheduleState.DONE).count() == 10


@pytest.mark.redis
def test_an_ack_on_a_channel_closed_by_a_lost_connection_is_dropped(settings):
    """kombu 5.7: acknowledging on a channel whose connection went away killed the worker (config/celery.py)."""
    from kombu import Connection

    import config.celery  # noqa: F401  the guard is installed where the app is made

    with Connection(settings.REDIS_URL) as connection:
        channel = connection.channel()
        qos = channel.qos
        channel.close()  # what the reconnect does to the old channel: its connection becomes None
        assert channel.connection is None
        assert qos.ack("gone-tag") is None
        assert qos.reject("gone-tag") is None
