"""Fault tests of the durable scheduler with a real Redis, real Celery worker and beat processes and a real SMTP server.

Each test prints its figure (pytest -s shows it; `make test` keeps it in the captured output of a failure).
The traps they exist for are in ../shared/NOTES.md: ETA tasks redelivered after the visibility timeout,
workers that stop consuming after a Redis restart, acks_late with a killed worker, tasks published
inside a transaction that rolls back, and more than one beat.
"""

import statistics
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from notifications import scheduler
from notifications.actions import schedule_email
from notifications.choices import EmailState, ScheduleState
from notifications.models import OutboundEmail, ScheduledAction
from tests.waiting import after_more_passes, finished_runs

from .conftest import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def schedule_many(count, *, start_in, spread, prefix="t"):
    """`count` e-mail actions due evenly from now+start_in over `spread` seconds; one recipient each."""
    now = timezone.now()
    due = {}
    for n in range(count):
        at = now + timedelta(seconds=start_in + spread * n / max(count - 1, 1))
        address = f"{prefix}{n}@example.org"
        schedule_email(f"{prefix}:{n}", at, to=address, subject=f"Проверка {n}", text=f"Письмо {n}")
        due[address] = at
    return due


def arrivals(smtp):
    return Counter(rcpt for _at, rcpts, _m in list(smtp.messages) for rcpt in rcpts)


def lateness(smtp, due):
    """Seconds between each action's due time and its e-mail's arrival at the SMTP server."""
    late = []
    for at, rcpts, _message in list(smtp.messages):
        for rcpt in rcpts:
            if rcpt in due:
                late.append(at - due[rcpt].timestamp())
    return sorted(late)


def figure(late):
    p99 = late[min(len(late) - 1, int(round(0.99 * (len(late) - 1))))]
    return f"p50 {statistics.median(late):.3f} s, p99 {p99:.3f} s, max {late[-1]:.3f} s"


def received(log, task):
    """How many `task` messages a worker's log says it received."""
    return sum(1 for line in log.splitlines() if f"Task {task}[" in line and line.rstrip().endswith("received"))


def assert_exactly_once(smtp, due):
    counts = arrivals(smtp)
    missing = [a for a in due if counts[a] == 0]
    doubled = {a: c for a, c in counts.items() if c > 1}
    assert not missing, f"{len(missing)} never arrived, e.g. {missing[:3]}"
    assert not doubled, f"arrived more than once: {doubled}"


def test_two_dispatchers_at_once_fire_every_action_once(celery, smtp, capsys):
    # Given two beats (each asks for a dispatch every second) and two workers, i.e. two dispatchers at once
    celery.worker("w1")
    celery.worker("w2")
    celery.beat("beat1")
    celery.beat("beat2")
    due = schedule_many(200, start_in=3, spread=8)
    # When every action has come due
    wait_for(lambda: smtp.count() >= 200, 60, message="200 e-mails")
    after_more_passes(celery, ("w1", "w2"))
    # Then each arrived exactly once, and both dispatchers did work
    assert_exactly_once(smtp, due)
    assert ScheduledAction.objects.filter(state=ScheduleState.DONE).count() == 200
    passes = {name: received(celery.log(name), "notifications.dispatch") for name in ("w1", "w2")}
    assert all(count > 0 for count in passes.values()), passes
    fired = sorted((r.fired_at - r.due_at).total_seconds() for r in ScheduledAction.objects.all())
    with capsys.disabled():
        print(
            f"\n[two dispatchers] 200 actions, 2 beats + 2 workers (dispatch passes {passes}): 200 arrived once, "
            f"0 duplicates; fired after due: {figure(fired)}; "
            f"arrived at the SMTP server after due: {figure(lateness(smtp, due))}"
        )


def test_worker_killed_in_the_middle_of_a_send(celery, smtp, capsys):
    # Given an e-mail whose SMTP conversation stalls at RCPT TO, with the worker inside it
    celery.worker("w1", concurrency=1)
    celery.beat()
    address = "killed@example.org"
    smtp.stall_rcpt = address
    due = {address: timezone.now() + timedelta(seconds=1)}
    schedule_email("kill:1", due[address], to=address, subject="Уведомление о работах", text="Текст")
    assert smtp.stalled.wait(30), "the send never started"
    email = OutboundEmail.objects.get(key="kill:1")
    assert email.state == EmailState.SENDING
    # When the worker is killed with SIGKILL mid-send, and a new one starts
    killed_at = time.time()
    celery.kill("w1")
    smtp.release.set()
    celery.worker("w2", concurrency=1)
    # Then the e-mail arrives, exactly once, after the "sending" timeout
    wait_for(lambda: smtp.to(address), 60, message="the e-mail after the kill")
    wait_for(lambda: OutboundEmail.objects.get(pk=email.pk).state == EmailState.SENT, 30, message="the row marked sent")
    after_more_passes(celery, ("w2",), task="notifications.deliver_due")  # the sweeps that resent it once
    assert len(smtp.to(address)) == 1
    email.refresh_from_db()
    assert email.state == EmailState.SENT and email.attempts == 2
    resent_after = smtp.to(address)[0][0] - killed_at
    with capsys.disabled():
        print(
            f"\n[SIGKILL mid-send] worker killed during RCPT TO; the sweeper resent after {resent_after:.1f} s "
            f"(sending timeout 4 s); arrived 1 time, attempts {email.attempts}"
        )


def test_redis_restarted_while_actions_are_due(celery, celery_env, own_redis, smtp, capsys):
    # Given worker and beat on a Redis of our own, and 30 actions due over the next 12 seconds
    env = {"CELERY_BROKER_URL": own_redis.url, "REDIS_URL": own_redis.url}
    celery.worker("w1", env=env)
    celery.beat(env=env)
    due = schedule_many(30, start_in=2, spread=12, prefix="r")
    wait_for(lambda: smtp.count() >= 3, 30, message="the first e-mails")
    # When Redis goes away for two seconds and comes back empty
    down_at = time.time()
    own_redis.restart(down_for=2)
    # Then the worker consumes again and every action arrives exactly once
    wait_for(lambda: smtp.count() >= 30, 90, message="all 30 e-mails after the restart")
    after_more_passes(celery, ("w1",))
    assert_exactly_once(smtp, due)
    after = [at - due[r].timestamp() for at, rcpts, _m in smtp.messages for r in rcpts if due[r].timestamp() >= down_at]
    with capsys.disabled():
        print(
            f"\n[Redis restart] down 2 s while actions were due: 30/30 arrived once; "
            f"{len(after)} were due during or after the outage, latest {max(after):.2f} s after due; "
            f"all: {figure(lateness(smtp, due))}"
        )


def test_500_actions_with_a_60_s_visibility_timeout(celery, smtp, capsys):
    # Given Redis redelivers any message unacknowledged for 60 s, and 500 actions due over 65 s
    env = {"CELERY_VISIBILITY_TIMEOUT": "60"}
    celery.worker("w1", env=env)
    celery.beat(env=env)
    due = schedule_many(500, start_in=3, spread=65, prefix="v")
    # When they have all come due, and the visibility timeout has passed for the earliest
    wait_for(lambda: smtp.count() >= 500, 120, message="500 e-mails")
    after_more_passes(celery, ("w1",), count=5)
    # Then none was repeated: no task waited in Redis longer than the look-ahead (seconds, not minutes)
    assert_exactly_once(smtp, due)
    assert ScheduledAction.objects.filter(state=ScheduleState.DONE).count() == 500
    with capsys.disabled():
        print(
            "\n[visibility timeout 60 s] 500 actions over 65 s: 500 arrived once, 0 duplicates; "
            f"{figure(lateness(smtp, due))}"
        )


def test_work_queued_inside_a_rolled_back_transaction_never_fires(celery, smtp, capsys):
    celery.worker("w1", concurrency=1)
    # Given the web process hands work to the worker (as in production)
    with override_settings(OKNO_USE_WORKER=True):
        # When an action due now is scheduled and kicked, and a task is even published directly,
        # in a transaction that rolls back
        class Abort(Exception):
            pass

        with pytest.raises(Abort), transaction.atomic():
            row = schedule_email(
                "rollback:1", timezone.now(), to="never@example.org", subject="Не должно уйти", text="x"
            )
            transaction.on_commit(scheduler.kick)
            from notifications.tasks import execute

            execute.delay(row.pk)  # the naive way: published at once, before the (never) commit
            raise Abort
        # Then the directly published task ran and found no row, and nothing was sent
        wait_for(
            lambda: finished_runs(celery.log("w1"), "notifications.execute") >= 1, 30, message="the naive task to run"
        )
        published_naively = received(celery.log("w1"), "notifications.execute")
        assert ScheduledAction.objects.count() == 0
        assert smtp.count() == 0
        # And the same work committed arrives (the test can fail)
        with transaction.atomic():
            schedule_email("commit:1", timezone.now(), to="sent@example.org", subject="Должно уйти", text="x")
            transaction.on_commit(scheduler.kick)
        wait_for(lambda: smtp.to("sent@example.org"), 20, message="the committed e-mail")
    # The rolled-back kick was never published: no beat runs here, so the one dispatch the worker got (one
    # worker process, messages in order) is the committed twin's
    assert received(celery.log("w1"), "notifications.dispatch") == 1
    assert smtp.to("never@example.org") == []
    with capsys.disabled():
        print(
            "\n[rolled-back transaction] tasks reaching the worker from the rolled-back transaction: "
            f"{published_naively} "
            f"(a direct publish), actions run: 0, e-mails: 0; the committed twin arrived"
        )
