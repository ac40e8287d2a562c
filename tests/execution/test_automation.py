"""Automatic steps: which rows a plan has when, what a fired step does, and who may fire it early."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from changeplans import services
from changeplans.choices import PlanStatus, StepKind, StepStatus
from changeplans.models import Banner, Plan, PlanService, Step
from execution import automatic_steps, transitions
from notifications import scheduler
from notifications.choices import EmailState, ScheduleState
from notifications.models import OutboundEmail, ScheduledAction
from notifications.outbox import deliver
from tests.factories import PlanFactory, ServiceFactory, StepFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def duty_officer(duty):
    return duty


def at(plan, moment):
    local = moment.astimezone(plan.tz)
    return {"planned_date": local.date(), "planned_time": local.time().replace(microsecond=0)}


@pytest.fixture
def plan(author):
    start = (timezone.now() + timedelta(hours=2)).replace(microsecond=0)
    plan = PlanFactory(
        author=author, window_start=start, window_end=start + timedelta(hours=3), mailing_list="it.info@nskes.test"
    )
    PlanService.objects.create(plan=plan, service=ServiceFactory(name="www.nskes.ru", display_name="Инфосайт"))
    StepFactory(
        plan=plan, position=1, kind=StepKind.ANNOUNCEMENT, name="Рассылка", **at(plan, start - timedelta(hours=1))
    )
    StepFactory(plan=plan, position=2, kind=StepKind.BANNER_ON, name="Баннер", **at(plan, start))
    StepFactory(plan=plan, position=3, kind=StepKind.WORK, name="Работы", **at(plan, start))
    StepFactory(
        plan=plan, position=4, kind=StepKind.BANNER_OFF, name="Снять баннер", planned_date=None, planned_time=None
    )
    StepFactory(
        plan=plan, position=5, kind=StepKind.COMPLETION_NOTICE, name="Завершение", planned_date=None, planned_time=None
    )
    return plan


def set_status(plan, status):
    Plan.objects.filter(pk=plan.pk).update(status=status)
    automatic_steps.sync_plan(plan.pk)


def rows(plan):
    return {row.payload["step_id"]: row for row in ScheduledAction.objects.filter(subject=f"plan:{plan.pk}")}


def step(plan, position):
    return Step.objects.get(plan=plan, position=position)


def test_only_an_approved_plan_has_rows_at_its_steps_times(plan):
    set_status(plan, PlanStatus.IN_REVIEW)
    assert rows(plan) == {}
    set_status(plan, PlanStatus.APPROVED)
    scheduled = rows(plan)
    # Steps with a time are due then; banner off and completion wait for the work (no row yet)
    assert set(scheduled) == {step(plan, 1).pk, step(plan, 2).pk}
    assert scheduled[step(plan, 1).pk].due_at == plan.window_start - timedelta(hours=1)
    assert scheduled[step(plan, 2).pk].due_at == plan.window_start
    assert {row.state for row in scheduled.values()} == {ScheduleState.PENDING}


def test_back_in_review_cancels_and_approved_again_moves_them(plan):
    set_status(plan, PlanStatus.APPROVED)
    set_status(plan, PlanStatus.IN_REVIEW)
    assert {row.state for row in rows(plan).values()} == {ScheduleState.CANCELLED}
    later = plan.window_start + timedelta(days=1)
    Step.objects.filter(pk=step(plan, 2).pk).update(**at(plan, later))
    set_status(plan, PlanStatus.APPROVED)
    moved = rows(plan)[step(plan, 2).pk]
    assert moved.state == ScheduleState.PENDING and moved.due_at == later


def test_cancelling_the_plan_cancels_its_rows(plan, author, django_capture_on_commit_callbacks):
    set_status(plan, PlanStatus.APPROVED)
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_plan(plan.pk, actor=author, comment="Перенос на другую дату")
    assert {row.state for row in rows(plan).values()} == {ScheduleState.CANCELLED}


def test_the_announcement_fires_queues_one_email_per_recipient_and_ticks_itself_done(
    plan, django_capture_on_commit_callbacks
):
    set_status(plan, PlanStatus.APPROVED)
    announcement = step(plan, 1)
    with django_capture_on_commit_callbacks(execute=False):  # deliveries are sent by hand below
        assert scheduler.run_due(now=plan.window_start - timedelta(minutes=59)) == 1
    announcement.refresh_from_db()
    assert announcement.status == StepStatus.IN_PROGRESS and announcement.done_by is None
    emails = list(OutboundEmail.objects.filter(group=automatic_steps.step_group(plan.pk, announcement.pk)))
    assert sorted(e.to for e in emails) == sorted(["it.info@nskes.test", "it.info@example.org"])
    for email in emails:
        deliver(email.pk)
    announcement.refresh_from_db()
    assert announcement.status == StepStatus.DONE
    assert rows(plan)[announcement.pk].result == "Писем в очереди: 2"
    # A second pass fires nothing again
    assert scheduler.run_due(now=plan.window_start) == 1  # only the banner step is due now
    assert OutboundEmail.objects.filter(group=automatic_steps.step_group(plan.pk, announcement.pk)).count() == 2


def test_an_announcement_that_cannot_be_delivered_fails_the_step(plan, settings, django_capture_on_commit_callbacks):
    settings.OKNO_EMAIL_MAX_ATTEMPTS = 1
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1  # nothing listens there
    set_status(plan, PlanStatus.APPROVED)
    with django_capture_on_commit_callbacks(execute=True):
        scheduler.run_due(now=plan.window_start - timedelta(minutes=59))
    announcement = step(plan, 1)
    assert announcement.status == StepStatus.FAILED
    assert set(OutboundEmail.objects.values_list("state", flat=True)) == {EmailState.FAILED}
    assert "Не доставлено: 2 из 2" in plan.events.filter(object_id=announcement.pk).order_by("-pk").first().comment


def test_no_valid_recipient_fails_the_step_at_once(plan, settings, django_capture_on_commit_callbacks):
    settings.OKNO_ANNOUNCEMENT_RECIPIENTS = []
    Plan.objects.filter(pk=plan.pk).update(mailing_list="")
    set_status(plan, PlanStatus.APPROVED)
    with django_capture_on_commit_callbacks(execute=True):
        scheduler.run_due(now=plan.window_start - timedelta(minutes=59))
    assert step(plan, 1).status == StepStatus.FAILED
    assert rows(plan)[step(plan, 1).pk].state == ScheduleState.DONE  # not retried: retrying cannot help


def test_banner_steps_and_the_steps_after_the_work(plan, duty_officer, django_capture_on_commit_callbacks):
    set_status(plan, PlanStatus.APPROVED)
    with django_capture_on_commit_callbacks(execute=True):
        scheduler.run_due(now=plan.window_start)
    # Banner on: no webhook, so done at once; the banner is up
    assert step(plan, 2).status == StepStatus.DONE
    assert Banner.objects.filter(plan=plan, shown_until__isnull=True).count() == 1
    assert step(plan, 4).pk not in rows(plan)
    # When the work step is done, banner off and the completion notice follow at once
    with django_capture_on_commit_callbacks(execute=True):
        work = transitions.lock_step(step(plan, 3).pk)
        transitions.start_step(work, actor=duty_officer)
        transitions.finish_step(work, actor=duty_officer)
    assert step(plan, 4).status == StepStatus.DONE
    assert not Banner.objects.filter(plan=plan, shown_until__isnull=True).exists()
    assert step(plan, 5).status == StepStatus.DONE
    assert (
        OutboundEmail.objects.filter(
            group=automatic_steps.step_group(plan.pk, step(plan, 5).pk), subject__startswith="Работы завершены"
        ).count()
        == 2
    )


def test_only_duty_officers_operators_and_admins_fire_a_step_early(
    plan, author, duty_officer, django_capture_on_commit_callbacks
):
    announcement = step(plan, 1)
    with pytest.raises(ValidationError):  # not approved yet
        automatic_steps.fire_step(announcement.pk, actor=duty_officer)
    set_status(plan, PlanStatus.APPROVED)
    with pytest.raises(PermissionDenied):
        automatic_steps.fire_step(announcement.pk, actor=author)
    with pytest.raises(ValidationError):
        automatic_steps.fire_step(step(plan, 3).pk, actor=duty_officer)  # a step done by people
    with django_capture_on_commit_callbacks(execute=True):
        automatic_steps.fire_step(announcement.pk, actor=duty_officer)
    announcement.refresh_from_db()
    assert announcement.status in (StepStatus.IN_PROGRESS, StepStatus.DONE)
    started = plan.events.filter(object_id=announcement.pk, to_status=StepStatus.IN_PROGRESS).get()
    assert started.actor == duty_officer
    with pytest.raises(ValidationError):
        automatic_steps.fire_step(announcement.pk, actor=duty_officer)  # never twice


def test_a_step_ticked_by_hand_meanwhile_is_not_fired(plan, duty_officer):
    set_status(plan, PlanStatus.APPROVED)
    announcement = step(plan, 1)
    transitions.skip_step(transitions.lock_step(announcement.pk), actor=duty_officer, reason="Рассылку сделали вручную")
    scheduler.run_due(now=plan.window_start - timedelta(minutes=59))
    assert not OutboundEmail.objects.exists()
    assert step(plan, 1).status == StepStatus.SKIPPED


def test_the_plan_page_says_when_automatic_sends_failed(
    plan, settings, client, author, django_capture_on_commit_callbacks
):
    client.force_login(author)
    assert "delivery-problems" not in client.get(f"/plans/{plan.pk}/").content.decode()
    settings.OKNO_EMAIL_MAX_ATTEMPTS = 2
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1
    set_status(plan, PlanStatus.APPROVED)
    with django_capture_on_commit_callbacks(execute=True):
        scheduler.run_due(now=plan.window_start - timedelta(minutes=59))
    page = client.get(f"/plans/{plan.pk}/").content.decode()
    assert 'id="delivery-problems"' in page and "2 отправки не удались и будут повторены." in page
    assert f"/plans/{plan.pk}/announcements/" in page


def test_an_ended_plan_leaves_no_banner_up(plan, duty_officer, django_capture_on_commit_callbacks):
    set_status(plan, PlanStatus.APPROVED)
    with django_capture_on_commit_callbacks(execute=True):
        scheduler.run_due(now=plan.window_start)
    assert Banner.objects.filter(plan=plan, shown_until__isnull=True).count() == 1
    # When the work fails and the duty officer ends the plan before "banner off" ran
    with django_capture_on_commit_callbacks(execute=True):
        transitions.start_plan(plan.pk, actor=duty_officer, override_reason="тест")
    with django_capture_on_commit_callbacks(execute=True):
        transitions.finish_plan(plan.pk, actor=duty_officer, outcome="failed", comment="Calico не поднялся")
    # Then the sites no longer show the banner, and the history says so
    assert not Banner.objects.filter(plan=plan, shown_until__isnull=True).exists()
    assert plan.events.filter(comment__startswith="Баннер снят").exists()
    assert {row.state for row in rows(plan).values() if row.state != ScheduleState.DONE} <= {ScheduleState.CANCELLED}


# --- a plan that goes wrong: closing steps wait for the duty officer to end it (issue 15, item 3) -----------


def _go_wrong(plan, duty_officer, capture):
    """Approved, banner up, started, the work step failed, rollback mode."""
    set_status(plan, PlanStatus.APPROVED)
    with capture(execute=True):
        scheduler.run_due(now=plan.window_start)
    with capture(execute=True):
        transitions.start_plan(plan.pk, actor=duty_officer, override_reason="тест")
    work = step(plan, 3)
    with capture(execute=True):
        transitions.tick(work.pk, "start", actor=duty_officer)
    with capture(execute=True):
        transitions.tick(work.pk, "failed", actor=duty_officer, reason="Calico не поднялся")
    with capture(execute=True):
        transitions.enter_rollback(plan.pk, actor=duty_officer, reason="Возвращаем Flannel")


@pytest.mark.parametrize(
    ("outcome", "subject", "says"),
    [
        ("completed_with_rollback", "Работы завершены с откатом", "Плановые работы завершены с откатом"),
        ("failed", "Работы не выполнены", "Плановые работы не выполнены."),
    ],
)
def test_closing_steps_wait_in_rollback_then_the_notice_fits_the_outcome(
    plan, duty_officer, django_capture_on_commit_callbacks, outcome, subject, says
):
    capture = django_capture_on_commit_callbacks
    _go_wrong(plan, duty_officer, capture)
    banner_off, completion = step(plan, 4), step(plan, 5)
    # While the plan is rolled back, banner off and the completion notice do not fire by themselves
    held = rows(plan)
    assert all(held[s.pk].state == ScheduleState.CANCELLED for s in (banner_off, completion) if s.pk in held)
    with capture(execute=True):
        scheduler.run_due(now=plan.window_end + timedelta(hours=1))
    # (a row handed to the dispatcher before rollback mode began does not run either)
    payload = {"plan_id": plan.pk, "step_id": completion.pk}
    assert automatic_steps.run_step(payload).startswith("Не выполнено: идёт откат")
    assert step(plan, 4).status == StepStatus.PENDING and step(plan, 5).status == StepStatus.PENDING
    assert not OutboundEmail.objects.filter(group=automatic_steps.step_group(plan.pk, completion.pk)).exists()
    assert Banner.objects.filter(plan=plan, shown_until__isnull=True).count() == 1

    # When the duty officer ends the work
    with capture(execute=True):
        transitions.finish_plan(plan.pk, actor=duty_officer, outcome=outcome, comment="Работы перенесены")
    plan.refresh_from_db()
    # Then the banner comes down and the notice that fits the outcome goes out, with the actual times
    assert step(plan, 4).status == StepStatus.DONE
    assert not Banner.objects.filter(plan=plan, shown_until__isnull=True).exists()
    emails = list(OutboundEmail.objects.filter(group=automatic_steps.step_group(plan.pk, completion.pk)))
    assert len(emails) == 2 and all(e.subject.startswith(subject) for e in emails)
    text = emails[0].text
    started = plan.started_at.astimezone(plan.tz)
    finished = plan.finished_at.astimezone(plan.tz)
    assert says in text and "штатном режиме" not in text and "Благодарим за терпение" not in text
    assert f"Фактическое время начала\n\t{started:%H:%M/%d.%m.%Y}" in text
    assert f"Фактическое время окончания\n\t{finished:%H:%M/%d.%m.%Y}" in text
    assert f"{plan.window_start.astimezone(plan.tz):%H:%M/%d.%m.%Y}" not in text  # not the planned start
    with capture(execute=True):
        for email in emails:
            deliver(email.pk)
    assert step(plan, 5).status == StepStatus.DONE


def test_a_completed_plan_still_says_completed(plan, duty_officer, django_capture_on_commit_callbacks):
    set_status(plan, PlanStatus.APPROVED)
    with django_capture_on_commit_callbacks(execute=True):
        transitions.start_plan(plan.pk, actor=duty_officer, override_reason="тест")
    plan.refresh_from_db()
    from changeplans import announcements

    subject, text, html = announcements.render(plan, "completion")
    assert subject.startswith("Работы завершены:") and "Плановые работы завершены." in text
    assert "Сервисы работают в штатном режиме" in text and "Благодарим за терпение!" in text
    assert "Сервисы работают в штатном режиме" in html


def test_the_migration_updates_only_unedited_completion_templates(monkeypatch):
    import hashlib
    import importlib

    from django.apps import apps as django_apps

    from notifications import messages
    from notifications.models import MessageTemplate

    migration = importlib.import_module("notifications.migrations.0008_completion_outcome")
    old = ("Старая тема", "Старый текст", "<p>Старый</p>")
    monkeypatch.setitem(migration.OLD, "ru", tuple(hashlib.sha256(part.encode()).hexdigest() for part in old))
    MessageTemplate.objects.filter(kind="completion").delete()
    MessageTemplate.objects.create(kind="completion", language="ru", subject=old[0], text=old[1], html=old[2])
    MessageTemplate.objects.create(kind="completion", language="en", subject="Mine", text="Edited", html="")
    migration.update_completion(django_apps, None)
    ru = MessageTemplate.objects.get(kind="completion", language="ru")
    assert (ru.subject, ru.text, ru.html) == messages.default_template("completion", "ru")
    assert "outcome" in ru.text
    assert MessageTemplate.objects.get(kind="completion", language="en").text == "Edited"
