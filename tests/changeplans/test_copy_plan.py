"""«Копировать план»: a new draft with every step, risk and rollback action, a new window, a blank sign-off."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from approvals.models import ApprovalRow
from changeplans import services
from changeplans.choices import Availability, EventKind, PlanStatus, StepKind, StepStatus
from changeplans.models import Plan, PlanEvent, PlanService, RollbackAction, Step
from runbooks.four_eyes import approval_of
from runbooks.models import StepAutomation
from tests.factories import NSK, PlanFactory, RiskFactory, RollbackActionFactory, ServiceFactory, StepFactory
from tests.runbooks.automation_fixtures import automate

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

WEEK = datetime.timedelta(days=7)
STEP_FIELDS = (
    "position",
    "kind",
    "name",
    "description",
    "expected_result",
    "risk_mitigation",
    "affected_systems",
    "planned_downtime",
    "executor_id",
    "planned_time",
    "duration_text",
    "duration_min",
    "duration_max",
    "no_rollback_needed",
    "jira_key",
)


def make_source(author, steps=3):
    plan = PlanFactory(
        author=author,
        downtime_text="40 мин",
        downtime_max_minutes=40,
        jira_url="https://jira.example.org/browse/OPS-1",
        announcement_from="noc@example.org",
        banner_text="Ведутся работы",
        responsible_contact="+7 383 000-00-00",
    )
    PlanService.objects.create(plan=plan, service=ServiceFactory(), availability=Availability.DEGRADED)
    PlanService.objects.create(plan=plan, service=ServiceFactory(), availability=Availability.UNAVAILABLE)
    for position in range(1, steps + 1):
        step = StepFactory(
            plan=plan,
            position=position,
            kind=StepKind.ANNOUNCEMENT if position == 1 else StepKind.WORK,
            risk_mitigation=f"1. Проверить {position}",
            affected_systems="IPAM",
            planned_downtime="до 5 мин",
            jira_key=f"OPS-{position}",
            no_rollback_needed=False,
        )
        first = RiskFactory(step=step, number=1, description=f"Риск {position}.1", mitigation="1. Мониторинг")
        second = RiskFactory(step=step, number=2, description=f"Риск {position}.2", mitigation="")
        both = RollbackActionFactory(step=step, position=1, text=f"Откат {position}")
        both.risks.set([first, second])
        RollbackActionFactory(step=step, position=2, text="Без риска")
    # The source was carried out: the copy starts over.
    Step.objects.filter(plan=plan, position=1).update(
        status=StepStatus.DONE, actual_start=timezone.now(), actual_end=timezone.now(), done_by=author, comment="ok"
    )
    RollbackAction.objects.filter(step__plan=plan).update(status=StepStatus.DONE, done_by=author)
    return plan


def copy_of(plan, actor):
    return services.copy_plan(
        plan.pk, actor=actor, window_start=plan.window_start + WEEK, window_end=plan.window_end + WEEK
    )


def step_content(plan):
    rows = []
    for step in plan.steps.order_by("position").prefetch_related("risks", "rollback_actions__risks"):
        risks = [(r.number, r.description, r.mitigation) for r in step.risks.all()]
        actions = [(a.position, a.text, sorted(r.number for r in a.risks.all())) for a in step.rollback_actions.all()]
        rows.append(([getattr(step, name) for name in STEP_FIELDS], risks, actions))
    return rows


def test_the_copy_has_every_step_risk_and_rollback_link(author, other_author):
    source = make_source(author)
    copy = copy_of(source, other_author)
    assert copy.pk != source.pk
    assert step_content(copy) == step_content(source)
    assert len(step_content(copy)) == 3
    assert step_content(copy)[0][2][0] == (1, "Откат 1", [1, 2])
    # Links point at the copy's own risks, never the source's.
    linked = RollbackAction.objects.filter(step__plan=copy).values_list("risks__step__plan", flat=True)
    assert set(linked) - {None} == {copy.pk}
    assert list(copy.plan_services.values_list("service_id", "availability")) == list(
        source.plan_services.values_list("service_id", "availability")
    )


def test_the_copy_is_a_blank_draft_of_the_copier_in_the_new_window(author, other_author):
    source = make_source(author)
    Plan.objects.filter(pk=source.pk).update(status=PlanStatus.COMPLETED)
    copy = copy_of(source, other_author)
    copy.refresh_from_db()
    assert (copy.status, copy.author, copy.revision) == (PlanStatus.DRAFT, other_author, 1)
    assert copy.title == f"Копия: {source.title}"
    assert (copy.window_start, copy.window_end) == (source.window_start + WEEK, source.window_end + WEEK)
    for name in ("goal", "kind", "time_zone", "downtime_text", "jira_url", "announcement_from", "banner_text"):
        assert getattr(copy, name) == getattr(source, name), name
    assert copy.downtime_max_minutes == 40
    assert copy.responsible_contact == source.responsible_contact
    assert (copy.started_at, copy.finished_at, copy.rollback_started_at) == (None, None, None)
    steps = list(copy.steps.all())
    assert {s.status for s in steps} == {StepStatus.PENDING}
    assert {(s.actual_start, s.actual_end, s.done_by_id, s.started_by_id, s.comment) for s in steps} == {
        (None, None, None, None, "")
    }
    # Dates move with the window.
    assert {s.planned_date for s in steps} == {datetime.date(2025, 3, 27)}
    actions = RollbackAction.objects.filter(step__plan=copy)
    assert {(a.status, a.done_by_id) for a in actions} == {(StepStatus.PENDING, None)}
    assert not ApprovalRow.objects.filter(plan=copy).exists()


def test_header_text_the_parser_cannot_read_is_copied_as_it_is(author, other_author):
    source = make_source(author, steps=1)
    Plan.objects.filter(pk=source.pk).update(downtime_text="как получится", downtime_max_minutes=30)
    source.refresh_from_db()
    copy = copy_of(source, other_author)
    assert (copy.downtime_text, copy.downtime_max_minutes) == ("как получится", 30)


def test_the_copy_has_no_sign_off_rows(author, other_author):
    source = make_source(author, steps=1)
    ApprovalRow.objects.create(plan=source, position=1, person_name="Матвеев И.Б.", user=author)
    copy = copy_of(source, other_author)
    assert not copy.approval_rows.exists()


def test_the_copy_starts_its_history_with_the_source(author, other_author):
    source = make_source(author, steps=1)
    copy = copy_of(source, other_author)
    events = list(PlanEvent.objects.filter(plan=copy))
    assert len(events) == 1
    assert (events[0].kind, events[0].actor, events[0].to_status) == (EventKind.CREATED, other_author, "draft")
    assert events[0].comment == f"Создан копированием плана {source.pk}"
    with translation.override("en"):
        english = copy_of(source, other_author)
    assert english.title == f"Copy: {source.title}"
    assert PlanEvent.objects.get(plan=english).comment == f"Copied from plan {source.pk}"
    assert not PlanEvent.objects.filter(plan=source, comment__contains="копированием").exists()


def test_only_who_may_create_plans_copies(author, approver):
    source = make_source(author, steps=1)
    with pytest.raises(PermissionDenied):
        copy_of(source, approver)
    assert Plan.objects.count() == 1


def count_copy_queries(author, other_author, steps):
    source = make_source(author, steps=steps)
    for step in source.steps.all()[:2]:
        automate(step, ["echo", "hi"])
    with CaptureQueriesContext(connection) as queries:
        copy = copy_of(source, other_author)
    assert copy.steps.count() == steps
    return len(queries)


def test_the_copy_takes_a_fixed_number_of_queries(author, other_author):
    count_copy_queries(author, other_author, 1)  # the copier's roles are read once and kept on the user
    few = count_copy_queries(author, other_author, 3)
    assert few == count_copy_queries(author, other_author, 30)
    assert few <= 22


def test_automation_is_copied_but_never_its_approval(author, other_author):
    source = make_source(author, steps=2)
    first = source.steps.get(position=1)
    original = automate(first, ["echo", "hi"], params={"host": "db1"}, timeout=120)
    assert approval_of(original) is not None
    copy = copy_of(source, other_author)
    automation = StepAutomation.objects.get(step__plan=copy)
    assert automation.step.position == 1
    assert (automation.kind, automation.spec, automation.params, automation.timeout_seconds) == (
        original.kind,
        original.spec,
        original.params,
        original.timeout_seconds,
    )
    assert automation.updated_by == other_author
    assert not automation.approvals.exists()
    assert approval_of(automation) is None
    assert StepAutomation.objects.filter(step__plan=source).get() == original


# --- the page ----------------------------------------------------------------------------------------------


def test_the_form_offers_the_same_times_a_week_later(client, author, other_author):
    source = make_source(author, steps=1)
    client.force_login(other_author)
    response = client.get(reverse("changeplans:plan_copy", args=[source.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="2025-03-27T20:00"' in html
    assert 'value="2025-03-27T23:05"' in html


def test_posting_the_form_creates_the_copy_and_opens_it(client, author, other_author):
    source = make_source(author, steps=2)
    client.force_login(other_author)
    response = client.post(
        reverse("changeplans:plan_copy", args=[source.pk]),
        {"window_start": "2025-04-01T21:00", "window_end": "2025-04-01T23:30"},
    )
    copy = Plan.objects.exclude(pk=source.pk).get()
    assert response.status_code == 302
    assert response["Location"] == reverse("changeplans:plan_detail", args=[copy.pk])
    # Wall-clock time of the plan's zone.
    assert copy.window_start == datetime.datetime(2025, 4, 1, 21, 0, tzinfo=NSK)
    assert copy.window_end == datetime.datetime(2025, 4, 1, 23, 30, tzinfo=NSK)
    assert copy.author == other_author
    assert copy.steps.count() == 2
    assert {s.planned_date for s in copy.steps.all()} == {datetime.date(2025, 4, 1)}


@pytest.mark.parametrize(
    ("start", "end"),
    [("2025-04-01T21:00", "2025-04-01T20:00"), ("2125-04-01T21:00", "2125-04-01T23:00"), ("", "")],
)
def test_a_bad_window_is_refused(client, author, start, end):
    source = make_source(author, steps=1)
    client.force_login(author)
    response = client.post(
        reverse("changeplans:plan_copy", args=[source.pk]), {"window_start": start, "window_end": end}
    )
    assert response.status_code == 200
    assert "invalid-feedback" in response.content.decode()
    assert Plan.objects.count() == 1


def test_a_user_without_the_author_role_gets_403(client, author, approver):
    source = make_source(author, steps=1)
    client.force_login(approver)
    url = reverse("changeplans:plan_copy", args=[source.pk])
    assert client.get(url).status_code == 403
    response = client.post(url, {"window_start": "2025-04-01T21:00", "window_end": "2025-04-01T23:00"})
    assert response.status_code == 403
    assert Plan.objects.count() == 1


def test_the_plan_page_shows_the_button_to_who_may_create(client, author, approver):
    source = make_source(author, steps=1)
    url = reverse("changeplans:plan_detail", args=[source.pk])
    client.force_login(approver)
    assert 'id="copy-link"' not in client.get(url).content.decode()
    client.force_login(author)
    html = client.get(url).content.decode()
    assert reverse("changeplans:plan_copy", args=[source.pk]) in html
    assert "Копировать план" in html
