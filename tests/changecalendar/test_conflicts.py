"""Conflicting plans (changecalendar.conflicts, plan_keys, extension_conflicts; docs/calendar.md, "Conflicts").

To break them by hand: in conflicts._pairs_sql compare `candidate.window_start <= mine.ends` (adjacent windows
conflict: the adjacency tests fail); drop PlanStatus.REJECTED from ACTIVE_STATUSES or add CANCELLED (the status
tests fail); in plan_keys._parts drop the PlanOrigin part (the runbook-parameter cluster test fails); in
conflicts.refuse_blocking_conflicts drop the `conflict_blocks_submission=True` filter (the "off → only a
warning" test fails).
"""

import datetime
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from approvals import services as approval_services
from changecalendar.conflicts import ACTIVE_STATUSES, conflicts_for_plans, conflicts_of
from changecalendar.plan_keys import keys_for_plans
from changeplans.admin import ServiceAdminForm
from changeplans.choices import PartyKind, PlanStatus
from changeplans.models import Plan, PlanService
from runbooks.models import Cluster, PlanOrigin, Runbook, RunbookVersion, StepAutomation
from tests.approvals.factories import plan_with_matrix
from tests.changecalendar.plan_page import plan_page
from tests.factories import PartyFactory, PlanFactory, ServiceFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
UTC = datetime.UTC


def at(day, hour, minute=0, *, fold=0, tz=BERLIN):
    return datetime.datetime(2026, *day, hour, minute, tzinfo=tz, fold=fold)


def plan(start, end, *, services=(), status=None, **kwargs):
    made = PlanFactory(window_start=start, window_end=end, time_zone="Europe/Berlin", **kwargs)
    for service in services:
        PlanService.objects.create(plan=made, service=service)
    if status:
        Plan.objects.filter(pk=made.pk).update(status=status)  # the status is protected: tests set it in the DB
    made.refresh_from_db()  # windows back in UTC, as every page reads them
    return made


def others(p):
    return [c.other_id for c in conflicts_of(p)]


@pytest.fixture
def service():
    return ServiceFactory(display_name="Интернет-банк")


def test_same_service_conflicts_both_ways_with_the_reason(service):
    a = plan(at((5, 12), 20), at((5, 12), 23), services=[service])
    b = plan(at((5, 12), 22), at((5, 13), 1), services=[service, ServiceFactory()])
    elsewhere = plan(at((5, 12), 20), at((5, 12), 23), services=[ServiceFactory()])

    (conflict,) = conflicts_of(a)
    assert conflict.other_id == b.pk and conflict.other_title == b.title and conflict.other_status == "draft"
    assert (conflict.other_start, conflict.other_end) == (b.window_start, b.window_end)
    assert [(r.kind, r.label, r.id) for r in conflict.reasons] == [("service", "Интернет-банк", service.pk)]
    assert others(b) == [a.pk]
    assert others(elsewhere) == []


def _runbook_version():
    runbook = Runbook.objects.create(slug="k8s-upgrade", title="Обновление кластера")
    definition = {"parameters": [{"name": "target", "type": "cluster"}, {"name": "version", "type": "version"}]}
    return RunbookVersion.objects.create(runbook=runbook, number=1, definition=definition)


def test_same_cluster_from_the_runbook_parameter():
    Cluster.objects.create(name="prod-a")
    version = _runbook_version()
    a = plan(at((5, 12), 20), at((5, 12), 23))
    b = plan(at((5, 12), 21), at((5, 12), 22))
    other_cluster = plan(at((5, 12), 21), at((5, 12), 22))
    Cluster.objects.create(name="prod-b")
    PlanOrigin.objects.create(plan=a, runbook_version=version, parameters={"target": "prod-a", "version": "1.30"})
    PlanOrigin.objects.create(plan=b, runbook_version=version, parameters={"target": "prod-a", "version": "1.31"})
    # A value that names a cluster but sits in a parameter of another type is not a cluster.
    PlanOrigin.objects.create(
        plan=other_cluster, runbook_version=version, parameters={"target": "prod-b", "version": "prod-a"}
    )

    (conflict,) = conflicts_of(a)
    assert conflict.other_id == b.pk
    assert [(r.kind, r.label) for r in conflict.reasons] == [("cluster", "prod-a")]
    assert others(other_cluster) == []


def test_same_cluster_from_a_step_automation():
    cluster = Cluster.objects.create(name="dwh")
    a = plan(at((5, 12), 20), at((5, 12), 23))
    b = plan(at((5, 12), 21), at((5, 12), 22))
    for p in (a, b):
        StepAutomation.objects.create(step=StepFactory(plan=p, executor=None), kind="shell", cluster=cluster)
    c = plan(at((5, 12), 21), at((5, 12), 22))
    StepAutomation.objects.create(step=StepFactory(plan=c, executor=None), kind="shell", cluster=None)

    assert [(r.kind, r.label) for r in conflicts_of(a)[0].reasons] == [("cluster", "dwh")]
    assert others(a) == [b.pk] and others(c) == []
    assert keys_for_plans([a.pk])[a.pk].clusters == {cluster.pk}


def test_same_person_as_step_executor_or_responsible_but_not_the_same_team():
    person = PartyFactory(name="Петров А.А.", kind=PartyKind.PERSON)
    team = PartyFactory(name="Дежурный ООФИС", kind=PartyKind.TEAM)
    a = plan(at((5, 12), 20), at((5, 12), 23))
    StepFactory(plan=a, executor=person)
    StepFactory(plan=a, executor=team)
    b = plan(at((5, 12), 21), at((5, 12), 22), responsible=person)
    c = plan(at((5, 12), 21), at((5, 12), 22))
    StepFactory(plan=c, executor=team)

    (conflict,) = conflicts_of(a)
    assert conflict.other_id == b.pk
    assert [(r.kind, r.label) for r in conflict.reasons] == [("executor", "Петров А.А.")]
    assert others(c) == []


def test_reasons_list_everything_shared(service):
    person = PartyFactory(kind=PartyKind.PERSON, name="Сидоров")
    a = plan(at((5, 12), 20), at((5, 12), 23), services=[service], responsible=person)
    plan(at((5, 12), 21), at((5, 12), 22), services=[service], responsible=person)
    assert [r.kind for r in conflicts_of(a)[0].reasons] == ["service", "executor"]


def test_adjacent_windows_do_not_conflict(service):
    a = plan(at((5, 12), 20), at((5, 12), 22), services=[service])
    after = plan(at((5, 12), 22), at((5, 12), 23), services=[service])
    before = plan(at((5, 12), 18), at((5, 12), 20), services=[service])
    one_minute_in = plan(at((5, 12), 21, 59), at((5, 12), 23), services=[service])
    assert others(a) == [one_minute_in.pk]
    assert others(after) == [one_minute_in.pk] and others(before) == []
    # Asked together, the plans are read by one covering range: the adjacent ones are read but still do not conflict.
    together = conflicts_for_plans([a, after, before, one_minute_in])
    assert [c.other_id for c in together[a.pk]] == [one_minute_in.pk] and together[before.pk] == []


def test_windows_across_midnight(service):
    night = plan(at((5, 12), 23), at((5, 13), 1), services=[service])
    early = plan(at((5, 13), 0, 30), at((5, 13), 2), services=[service])
    later = plan(at((5, 13), 1), at((5, 13), 3), services=[service])
    next_night = plan(at((5, 13), 23), at((5, 14), 1), services=[service])
    assert others(night) == [early.pk]
    assert others(early) == [night.pk, later.pk]
    assert others(next_night) == []


def test_autumn_dst_change_compares_real_time_not_the_wall_clock(service):
    # 2026-10-25 in Berlin: 03:00 CEST becomes 02:00 CET; 02:00–03:00 happens twice (fold 0, then fold 1).
    a = plan(at((10, 25), 1, 30), at((10, 25), 2, 30, fold=0), services=[service])  # 23:30–00:30 UTC
    b = plan(at((10, 25), 2, 15, fold=1), at((10, 25), 3, 30), services=[service])  # 01:15–02:30 UTC
    # By the wall clock a (01:30–02:30) and b (02:15–03:30) overlap; in real time they do not.
    assert others(a) == [] and others(b) == []
    # By the wall clock c (02:45–03:30) starts after d (02:00–02:30) ends; in real time d is inside c.
    c = plan(at((10, 25), 2, 45, fold=0), at((10, 25), 3, 30), services=[service])  # 00:45–02:30 UTC
    d = plan(at((10, 25), 2, 0, fold=1), at((10, 25), 2, 30, fold=1), services=[service])  # 01:00–01:30 UTC
    assert others(d) == [c.pk, b.pk] and others(c) == [d.pk, b.pk]  # by start: d 01:00, b 01:15 UTC
    assert c.window_start == datetime.datetime(2026, 10, 25, 0, 45, tzinfo=UTC)
    # A window edited in memory in local time (02:45 first – 02:30 second: 45 minutes) is compared in UTC too.
    edited = Plan.objects.get(pk=a.pk)
    edited.window_start, edited.window_end = at((10, 25), 2, 45, fold=0), at((10, 25), 2, 30, fold=1)
    assert [x.other_id for x in conflicts_for_plans([edited])[a.pk]] == [c.pk, d.pk, b.pk]


def test_spring_dst_gap(service):
    # 2026-03-29 in Berlin: 02:00 CET jumps to 03:00 CEST; a window 01:30–03:30 lasts one hour.
    a = plan(at((3, 29), 1, 30), at((3, 29), 3, 30), services=[service])  # 00:30–01:30 UTC
    b = plan(at((3, 29), 3, 0), at((3, 29), 4, 0), services=[service])  # 01:00–02:00 UTC: overlaps
    c = plan(at((3, 29), 3, 30), at((3, 29), 5, 0), services=[service])  # 01:30 UTC: adjacent to a
    d = plan(at((3, 29), 0, 0), at((3, 29), 1, 30), services=[service])  # 23:00–00:30 UTC: adjacent to a
    assert a.window_end - a.window_start == datetime.timedelta(hours=1)
    assert others(a) == [b.pk]
    assert others(c) == [b.pk] and others(d) == []


@pytest.mark.parametrize("status", [PlanStatus.CANCELLED, PlanStatus.COMPLETED, PlanStatus.FAILED])
def test_plans_that_will_not_happen_do_not_conflict(service, status):
    a = plan(at((5, 12), 20), at((5, 12), 23), services=[service])
    gone = plan(at((5, 12), 21), at((5, 12), 22), services=[service], status=status)
    assert others(a) == []
    assert conflicts_of(gone) == []  # and a plan that will not happen has none itself


@pytest.mark.parametrize(
    "status", [PlanStatus.REJECTED, PlanStatus.IN_REVIEW, PlanStatus.APPROVED, PlanStatus.IN_PROGRESS]
)
def test_plans_that_can_still_happen_conflict(service, status):
    assert status in ACTIVE_STATUSES
    a = plan(at((5, 12), 20), at((5, 12), 23), services=[service])
    live = plan(at((5, 12), 21), at((5, 12), 22), services=[service], status=status)
    assert others(a) == [live.pk] and others(live) == [a.pk]
    assert conflicts_of(a)[0].other_status == status


def _crowd(count, service, cluster, person, version):
    """`count` plans, each sharing a service, a cluster (both ways) and a person with its neighbours."""
    made = []
    for n in range(count):
        start = at((5, 1), 20) + datetime.timedelta(hours=n)
        p = plan(start, start + datetime.timedelta(hours=2), services=[service], responsible=person)
        PlanOrigin.objects.create(plan=p, runbook_version=version, parameters={"target": cluster.name})
        step = StepFactory(plan=p, executor=person)
        StepAutomation.objects.create(step=step, kind="shell", cluster=cluster)
        made.append(p)
    return made


def test_query_count_does_not_grow_with_the_plans(service):
    cluster = Cluster.objects.create(name="prod-a")
    person = PartyFactory(kind=PartyKind.PERSON)
    version = _runbook_version()
    few = _crowd(5, service, cluster, person, version)
    many = few + _crowd(45, ServiceFactory(), Cluster.objects.create(name="prod-b"), PartyFactory(), version)

    counts = []
    for plans in (few, many):
        plans = list(Plan.objects.filter(pk__in=[p.pk for p in plans]))
        with CaptureQueriesContext(connection) as queries:
            result = conflicts_for_plans(plans)
        counts.append(len(queries))
        assert len(result) == len(plans)
    assert counts[0] == counts[1] == 1  # one query, whatever the number of plans
    # Neighbours one hour apart with two-hour windows: each conflicts with the one before and after.
    assert [c.other_id for c in result[many[10].pk]] == [many[9].pk, many[11].pk]
    assert {r.kind for r in result[many[10].pk][0].reasons} == {"service", "cluster", "executor"}


# Submission (approvals.services.submit_hooks).


def _blocking_setup(*, blocks, other_status=PlanStatus.IN_REVIEW):
    plan_, author, _approvers, _duty = plan_with_matrix(1)
    service = ServiceFactory(display_name="Процессинг", conflict_blocks_submission=blocks)
    PlanService.objects.create(plan=plan_, service=service)
    other = PlanFactory(
        title="Замена дисков", window_start=plan_.window_start, window_end=plan_.window_end, author=UserFactory()
    )
    PlanService.objects.create(plan=other, service=service)
    Plan.objects.filter(pk=other.pk).update(status=other_status)
    return plan_, author, other


def test_a_blocking_service_refuses_submission_naming_the_other_plan():
    plan_, author, other = _blocking_setup(blocks=True)
    with pytest.raises(ValidationError) as refused:
        approval_services.submit_plan(plan_.pk, actor=author)
    message = refused.value.messages[0]
    assert "Замена дисков" in message and f"№{other.pk}" in message and "Процессинг" in message
    assert "нельзя отправить" in message  # in Russian
    plan_.refresh_from_db()
    assert plan_.status == PlanStatus.DRAFT


def test_a_blocking_service_refuses_through_the_page(client):
    plan_, author, other = _blocking_setup(blocks=True)
    client.force_login(author)
    response = client.post(reverse("approvals:plan_submit", args=[plan_.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "Замена дисков" in response.content.decode() and "нельзя отправить" in response.content.decode()
    plan_.refresh_from_db()
    assert plan_.status == PlanStatus.DRAFT


def test_off_only_warns_and_a_draft_elsewhere_does_not_block():
    plan_, author, other = _blocking_setup(blocks=False)
    approval_services.submit_plan(plan_.pk, actor=author)
    plan_.refresh_from_db()
    assert plan_.status == PlanStatus.IN_REVIEW
    assert others(plan_) == [other.pk]  # still shown as a warning

    plan_, author, other = _blocking_setup(blocks=True, other_status=PlanStatus.DRAFT)
    approval_services.submit_plan(plan_.pk, actor=author)
    plan_.refresh_from_db()
    assert plan_.status == PlanStatus.IN_REVIEW


def test_the_service_admin_form_has_the_setting(client, admin_user):
    assert "conflict_blocks_submission" in ServiceAdminForm.base_fields
    service = ServiceFactory()
    client.force_login(admin_user)
    html = client.get(reverse("admin:changeplans_service_change", args=[service.pk])).content.decode()
    assert 'name="conflict_blocks_submission"' in html


# The plan page.


def _two_plans(service, status=PlanStatus.DRAFT):
    author = UserFactory(username="planner", roles=["author"])
    a = plan(at((5, 12), 20), at((5, 12), 23), services=[service], author=author, title="Обновление СУБД")
    b = plan(at((5, 12), 22), at((5, 13), 1), services=[service], status=status, title="Перенос стойки")
    return author, a, b


def test_the_plan_check_lists_the_conflict_with_a_link(client, service):
    author, a, b = _two_plans(service)
    client.force_login(UserFactory(username="someone"))  # every signed-in user sees every plan
    html = plan_page(client, a.pk)
    assert 'id="conflicts-check"' in html
    assert reverse("changeplans:plan_detail", args=[b.pk]) in html and "Перенос стойки" in html
    assert "Интернет-банк" in html
    assert 'id="conflicts-side"' not in html  # a draft: no approvers yet
    html = plan_page(client, b.pk)
    assert reverse("changeplans:plan_detail", args=[a.pk]) in html and "Обновление СУБД" in html


def test_approvers_see_it_beside_the_matrix_and_both_plans_link_each_other(client, service):
    author, a, b = _two_plans(service, status=PlanStatus.IN_REVIEW)
    Plan.objects.filter(pk=a.pk).update(status=PlanStatus.APPROVED)
    client.force_login(UserFactory(username="boss", roles=["approver"]))
    for this, that in ((a, b), (b, a)):
        html = plan_page(client, this.pk)
        side = html[html.index('id="conflicts-side"') :]
        assert html.index('id="approval-matrix"') < html.index('id="conflicts-side"')
        assert reverse("changeplans:plan_detail", args=[that.pk]) in side and that.title in side


def test_no_conflicts_on_a_quiet_plan(client, service):
    a = plan(at((5, 12), 20), at((5, 12), 23), services=[service], status=PlanStatus.IN_REVIEW)
    client.force_login(UserFactory())
    html = plan_page(client, a.pk)
    assert 'id="conflicts-check"' not in html and 'id="conflicts-side"' in html
    assert "Пересечений нет" in html


def test_anonymous_sees_nothing(client, service):
    author, a, b = _two_plans(service)
    response = client.get(reverse("changeplans:plan_detail", args=[a.pk]))
    assert response.status_code == 302 and "Перенос стойки" not in response.content.decode()


def test_the_plan_page_queries_do_not_grow_with_conflicts(client, service):
    author, a, b = _two_plans(service)
    client.force_login(author)
    Plan.objects.filter(pk=b.pk).update(responsible=PartyFactory(kind=PartyKind.PERSON))
    plan_page(client, a.pk)  # the session's first page does more (its preferences)
    with CaptureQueriesContext(connection) as one:  # the page and what its placeholders fetch
        plan_page(client, a.pk)
    for _n in range(20):
        plan(at((5, 12), 21), at((5, 12), 22), services=[service], responsible=PartyFactory(kind=PartyKind.PERSON))
    with CaptureQueriesContext(connection) as many:
        html = plan_page(client, a.pk)
    assert html.count('data-code="conflict"') == 21
    assert len(many) == len(one)


def test_the_plan_page_fetches_its_calendar_parts_after_it_loads(client, service):
    """The page carries placeholders (three queries fewer: docs/BENCHMARKS.md, "The plan page"); their answers
    are for signed-in users only and keep no hx-get, so htmx does not fetch them again."""
    author, a, b = _two_plans(service, status=PlanStatus.IN_REVIEW)
    Plan.objects.filter(pk=a.pk).update(status=PlanStatus.IN_REVIEW)
    checks = reverse("changecalendar:plan_checks", args=[a.pk])
    side = reverse("changecalendar:plan_side", args=[a.pk])
    client.force_login(author)
    page = client.get(reverse("changeplans:plan_detail", args=[a.pk])).content.decode()
    assert f'hx-get="{checks}"' in page and f'hx-get="{side}"' in page
    assert "Перенос стойки" not in page  # not in the page itself
    answer = client.get(checks).content.decode()
    assert 'id="calendar-checks"' in answer and "Перенос стойки" in answer and "hx-get" not in answer
    assert client.get(side).content.decode().count('id="conflicts-side"') == 1
    assert client.post(checks).status_code == 405
    assert client.get(reverse("changecalendar:plan_checks", args=[b.pk + 100])).status_code == 404

    client.logout()
    for url in (checks, side):
        response = client.get(url)
        assert response.status_code == 302 and "Перенос стойки" not in response.content.decode()


def test_a_draft_has_no_side_part(client, service):
    author, a, _b = _two_plans(service)
    client.force_login(author)
    page = client.get(reverse("changeplans:plan_detail", args=[a.pk])).content.decode()
    assert reverse("changecalendar:plan_checks", args=[a.pk]) in page
    assert reverse("changecalendar:plan_side", args=[a.pk]) not in page
