"""The seed plan's automatic steps end to end: real Celery worker and beat, Redis, PostgreSQL, an SMTP server.

Step 1 sends the it.info announcement at its time, step 2 puts the banner up on the four services,
the people do steps 3–5, then step 6 takes the banner down and step 7 sends the completion notice
(steps 6 and 7 have no start time in the seed: they follow the steps before them).
"""

import datetime
import time

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from changeplans import announcements
from changeplans.announcements import seed_time
from changeplans.choices import PlanStatus, StepStatus
from changeplans.models import Banner, Plan, Step
from demo.plans import load_demo
from execution import automatic_steps, transitions
from tests.waiting import after_more_passes

from .conftest import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

# "On time": never before the due time (the rows' own record says so), and within this many seconds after it.
# A bound on a failure (a step left for the next claim timeout or a later look), not the precision: the
# printed figures and bench/ measure that.
LATE_BOUND_SECONDS = 10
SEED_TITLE = "Установка сетевого плагина Calico в кластере Kubernetes PROD"
PLAN_RECIPIENTS = ["it.info@nskes.test", "helpdesk@nskes.test"]


def local(plan, moment):
    value = moment.astimezone(plan.tz)
    return value.date(), value.time().replace(microsecond=0)


def seed_plan_due_soon(start_in):
    """The demo plan, approved, its window and steps moved to start `start_in` seconds from now."""
    load_demo()  # the seed plan only (its sign-off e-mails are sent by this process, before any worker runs)
    plan = Plan.objects.get(title=SEED_TITLE)
    t0 = (timezone.now() + datetime.timedelta(seconds=start_in)).replace(microsecond=0)
    window_start = t0 + datetime.timedelta(seconds=3)
    steps = {step.position: step for step in plan.steps.all()}
    times = {
        1: t0,
        2: window_start,
        3: window_start + datetime.timedelta(seconds=1),
        4: window_start + datetime.timedelta(seconds=1),
        5: window_start + datetime.timedelta(seconds=1),
    }
    for position, moment in times.items():
        steps[position].planned_date, steps[position].planned_time = local(plan, moment)
        Step.objects.filter(pk=steps[position].pk).update(
            planned_date=steps[position].planned_date, planned_time=steps[position].planned_time
        )
    Plan.objects.filter(pk=plan.pk).update(
        window_start=window_start,
        window_end=window_start + datetime.timedelta(hours=3, minutes=5),
        mailing_list=", ".join(PLAN_RECIPIENTS),
        status=PlanStatus.APPROVED,
    )
    plan.refresh_from_db()
    automatic_steps.sync_plan(plan.pk)
    return plan, steps, times


def fired_not_early(step):
    """The step's scheduled row ran at or after its due time (recorded by the scheduler itself)."""
    row = automatic_steps.ScheduledAction.objects.get(key=automatic_steps.step_key(step.pk))
    assert row.fired_at is not None and row.fired_at >= row.due_at, (row.due_at, row.fired_at)


def step_status(step):
    return Step.objects.get(pk=step.pk).status


def test_every_automatic_step_of_the_seed_plan_fires_on_time_with_the_seed_text(celery, smtp, capsys):
    plan, steps, times = seed_plan_due_soon(start_in=8)
    celery.worker("w1")
    celery.beat()
    RECIPIENTS = announcements.recipients(plan).addresses
    assert set(PLAN_RECIPIENTS) < set(RECIPIENTS)  # and the it.info list of the settings
    figures = []

    # Step 1: the announcement reaches every recipient at its time, once, with the seed's text
    wait_for(lambda: all(smtp.to(r) for r in RECIPIENTS), 30, message="the announcement")
    fired_not_early(steps[1])
    for address in RECIPIENTS:
        [(arrived, message)] = smtp.to(address)
        late = arrived - times[1].timestamp()
        figures.append(f"announcement to {address}: {late:+.2f} s after due")
        assert late < LATE_BOUND_SECONDS
        assert message["Subject"].strip() == SEED_TITLE
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        expected = [
            "Уважаемые коллеги!",
            "Нам необходимо провести плановые работы для некоторых улучшений",
            "Время начала",
            seed_time(plan.window_start.astimezone(plan.tz)),
            "Плановое время окончания",
            seed_time(plan.window_end.astimezone(plan.tz)),
            "Влияние на сервисы",
            "Инфосайт, ЛК ЮЛ, ЛК ФЛ, МП Платосфера",
            "Влияние на клиентов НЭС",
            "ВЛИЯЕТ НА КЛИЕНТОВ",
            "Наличие баннера",
            "БАННЕР УСТАНОВЛЕН",
            "План работ",
            SEED_TITLE,
            "Ответственный за работы",
            "Хасанов А.И. +7 (913) 712-71-78 <НЭС>",
            "Доступность сервисов во время работ",
            "БУДЕТ НЕДОСТУПЕН",
            "Приносим извинения за возникшие неудобства!",
            "С уважением,",
            "Департамент ИТ",
        ]
        positions = [text.index(piece) for piece in expected]
        assert positions == sorted(positions), "the announcement's parts are not in the seed's order"
        assert "Хасанов А.И. +7 (913) 712-71-78 &lt;НЭС&gt;" in html and "БУДЕТ НЕДОСТУПЕН" in html
    wait_for(lambda: step_status(steps[1]) == StepStatus.DONE, 10, message="step 1 ticked done")

    # Step 2: the banner goes up on the four services at the window start
    wait_for(lambda: Banner.objects.filter(plan=plan, shown_until__isnull=True).count() == 4, 15, message="the banners")
    shown = Banner.objects.filter(plan=plan).order_by("shown_from").first().shown_from
    figures.append(f"banner on: {(shown - times[2]).total_seconds():+.2f} s")
    fired_not_early(steps[2])
    assert (shown - times[2]).total_seconds() < LATE_BOUND_SECONDS
    assert {b.service.display_name for b in Banner.objects.filter(plan=plan)} == {
        "Инфосайт",
        "ЛК ЮЛ",
        "ЛК ФЛ",
        "МП Платосфера",
    }
    wait_for(lambda: step_status(steps[2]) == StepStatus.DONE, 10, message="step 2 ticked done")
    assert smtp.count() == len(RECIPIENTS)  # nothing else went out yet: steps 6 and 7 wait for the work

    # The people do steps 3–5 (the board of issue 5 will do this); the worker takes it from there
    duty = plan.approval_rows.get(kind="acknowledgement").user
    with override_settings(OKNO_USE_WORKER=True):
        for position in (3, 4, 5):
            with transaction.atomic():
                step = transitions.lock_step(steps[position].pk)
                transitions.start_step(step, actor=duty)
                transitions.finish_step(step, actor=duty)
    work_done = time.time()  # for the printed figure

    # Step 6 takes the banner down, step 7 sends the completion notice
    wait_for(
        lambda: not Banner.objects.filter(plan=plan, shown_until__isnull=True).exists(), 15, message="the banners down"
    )
    wait_for(lambda: all(len(smtp.to(r)) == 2 for r in RECIPIENTS), 20, message="the completion notice")
    for address in RECIPIENTS:
        arrived, message = smtp.to(address)[1]
        figures.append(f"completion to {address}: {arrived - work_done:.2f} s after step 5")
        assert arrived - work_done < LATE_BOUND_SECONDS
        assert message["Subject"].strip() == f"Работы завершены: {SEED_TITLE}"
        text = message.get_body(("plain",)).get_content()
        assert "Плановые работы завершены." in text and SEED_TITLE in text and "Департамент ИТ" in text
    wait_for(lambda: step_status(steps[7]) == StepStatus.DONE, 10, message="step 7 ticked done")
    assert step_status(steps[6]) == StepStatus.DONE
    after_more_passes(celery, ("w1",))  # the dispatcher looked again: anything left would have gone out
    assert smtp.count() == 2 * len(RECIPIENTS)  # nothing twice
    with capsys.disabled():
        print("\n[seed plan] " + "; ".join(figures))


def test_nothing_fires_from_an_approval_that_rolled_back(celery, smtp, capsys):
    load_demo()
    plan = Plan.objects.get(title=SEED_TITLE)
    announcement = plan.steps.get(position=1)
    date, moment = local(plan, timezone.now())
    Step.objects.filter(pk=announcement.pk).update(planned_date=date, planned_time=moment)
    Plan.objects.filter(pk=plan.pk).update(mailing_list=PLAN_RECIPIENTS[0])
    celery.worker("w1")
    celery.beat()

    class Abort(Exception):
        pass

    # Given the plan is approved and its announcement (due now) scheduled, in a transaction that rolls back
    with override_settings(OKNO_USE_WORKER=True):
        with pytest.raises(Abort), transaction.atomic():
            Plan.objects.filter(pk=plan.pk).update(status=PlanStatus.APPROVED)
            automatic_steps.sync_plan(plan.pk)
            assert (
                automatic_steps.ScheduledAction.objects.filter(subject=f"plan:{plan.pk}").count() == 2
            )  # steps 1 and 2; 6 and 7 wait for the work
            raise Abort
        after_more_passes(celery, ("w1",))  # the dispatcher looked since: it would have sent anything due
        # Then nothing was scheduled and nothing was sent
        assert not automatic_steps.ScheduledAction.objects.filter(subject=f"plan:{plan.pk}").exists()
        assert smtp.count() == 0 and step_status(announcement) == StepStatus.PENDING
        # And the same approval committed sends it (the test can fail)
        with transaction.atomic():
            Plan.objects.filter(pk=plan.pk).update(status=PlanStatus.APPROVED)
            automatic_steps.sync_plan(plan.pk)
        wait_for(lambda: smtp.to(PLAN_RECIPIENTS[0]), 20, message="the committed plan's announcement")
    with capsys.disabled():
        print(
            "\n[rolled-back approval] scheduled rows after rollback: 0, e-mails: 0; "
            "after commit the announcement arrived"
        )
