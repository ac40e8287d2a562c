"""Change freezes (changecalendar.freezes, exceptions, extension_freezes, views_freezes; api.gate; docs/calendar.md).

To break them by hand: in freezes.freezes_for_plans use `<=` for the overlap (the adjacency test fails); in
freezes._applies return True for every scope (the other-service test fails); drop the hook from apps.py (the
refusal tests fail); in exceptions.ask_refusal return None (the attacker tests fail); in exceptions._ensure_row
skip adding the row (the end-to-end and rebuilt-matrix tests fail); in api.gate._in_freezes return `check` (the
gate tests fail).
"""

import datetime
import zoneinfo

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from api.gate import gate_decision
from approvals import services as approval_services
from approvals.choices import ApprovalStatus, RowKind
from approvals.models import ApprovalRow, MatrixTemplate, MatrixTemplateRow
from changecalendar import exceptions
from changecalendar.choices import FreezeScope
from changecalendar.freezes import freezes_for_plans, freezes_of, freezes_overlapping
from changecalendar.models import Freeze, FreezeException
from changeplans.choices import GatePolicy, PlanStatus
from changeplans.models import Plan, PlanEvent, PlanService
from runbooks.models import Cluster, StepAutomation
from tests.approvals.factories import plan_with_matrix
from tests.changecalendar.plan_page import plan_page
from tests.factories import PlanFactory, ServiceFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NSK = zoneinfo.ZoneInfo("Asia/Novosibirsk")
# plan_with_matrix's window: 20.03.2025 20:00–23:05 Novosibirsk.
START = datetime.datetime(2025, 3, 20, 20, 0, tzinfo=NSK)
END = datetime.datetime(2025, 3, 20, 23, 5, tzinfo=NSK)


@pytest.fixture
def owner():
    return UserFactory(username="freeze_owner", first_name="Ольга", last_name="Владелец", roles=["approver"])


def freeze(owner, *, title="Квартальная отчётность", start=START - datetime.timedelta(days=1), end=END, **scope):
    return Freeze.objects.create(
        title=title, reason="Закрытие квартала", starts_at=start, ends_at=end, owner=owner, **scope
    )


def rows(plan):
    return list(ApprovalRow.objects.filter(plan=plan).order_by("position"))


def status(plan):
    return Plan.objects.get(pk=plan.pk).status


# --- which freezes apply -------------------------------------------------------------------------------------


def test_global_service_and_cluster_freezes_apply_by_scope(owner):
    service, other_service = ServiceFactory(), ServiceFactory()
    cluster, other_cluster = Cluster.objects.create(name="prod-k8s"), Cluster.objects.create(name="dev-k8s")
    plan = PlanFactory()
    PlanService.objects.create(plan=plan, service=service)
    StepAutomation.objects.create(
        step=StepFactory(plan=plan, position=1), kind="shell", cluster=cluster, spec={"argv": ["true"]}
    )
    everything = freeze(owner, title="Всё")
    on_service = freeze(owner, title="Сервис", scope=FreezeScope.SERVICE, service=service)
    on_cluster = freeze(owner, title="Кластер", scope=FreezeScope.CLUSTER, cluster=cluster)
    freeze(owner, title="Другой сервис", scope=FreezeScope.SERVICE, service=other_service)
    freeze(owner, title="Другой кластер", scope=FreezeScope.CLUSTER, cluster=other_cluster)
    assert {f.title for f in freezes_of(plan)} == {everything.title, on_service.title, on_cluster.title}
    assert len(freezes_overlapping(START, END)) == 5  # any scope


def test_adjacent_freezes_do_not_apply(owner):
    plan = PlanFactory()
    freeze(owner, title="До", start=START - datetime.timedelta(days=1), end=START)
    freeze(owner, title="После", start=END, end=END + datetime.timedelta(days=1))
    assert freezes_of(plan) == []
    # With a plan that spans both: they are read for both plans, and still do not apply to the first.
    wide = PlanFactory(window_start=START - datetime.timedelta(hours=2), window_end=END + datetime.timedelta(hours=2))
    found = freezes_for_plans([plan, wide])
    assert found[plan.pk] == [] and len(found[wide.pk]) == 2
    inside = freeze(owner, title="Минута", start=END - datetime.timedelta(minutes=1), end=END + datetime.timedelta(1))
    assert freezes_of(plan) == [inside]


def test_freezes_for_plans_query_count_is_fixed(owner):
    def make(n):
        plans = []
        for _index in range(n):
            plan = PlanFactory()
            PlanService.objects.create(plan=plan, service=ServiceFactory())
            plans.append(plan)
            freeze(owner, scope=FreezeScope.SERVICE, service=plan.services.get())
        return plans

    small, large = make(3), make(30)
    with CaptureQueriesContext(connection) as few:
        assert all(len(found) == 1 for found in freezes_for_plans(small).values())
    with CaptureQueriesContext(connection) as many:
        assert all(len(found) == 1 for found in freezes_for_plans(large).values())
    assert len(many) == len(few)


# --- submission -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["global", "service", "cluster"])
def test_submission_in_a_freeze_is_refused_naming_it(owner, scope):
    plan, author, _approvers, _duty = plan_with_matrix(1)
    service, cluster = ServiceFactory(), Cluster.objects.create(name="prod-k8s")
    PlanService.objects.create(plan=plan, service=service)
    StepAutomation.objects.create(step=plan.steps.get(), kind="shell", cluster=cluster, spec={"argv": ["true"]})
    target = {"service": {"service": service}, "cluster": {"cluster": cluster}}.get(scope, {})
    freeze(owner, title="Новогодний мораторий", scope=scope, **target)
    with pytest.raises(ValidationError) as refused:
        approval_services.submit_plan(plan.pk, actor=author)
    message = " ".join(refused.value.messages)
    assert "Новогодний мораторий" in message and "запросите исключение" in message  # the UI speaks Russian
    assert status(plan) == PlanStatus.DRAFT


def test_the_refusal_is_in_russian(owner):
    plan, author, _approvers, _duty = plan_with_matrix(1)
    freeze(owner, title="Новогодний мораторий")
    from django.utils import translation

    with translation.override("ru"), pytest.raises(ValidationError) as refused:
        approval_services.submit_plan(plan.pk, actor=author)
    assert "исключение" in refused.value.messages[0] and "Новогодний мораторий" in refused.value.messages[0]


def test_a_freeze_on_another_service_does_not_refuse(owner):
    plan, author, _approvers, _duty = plan_with_matrix(1)
    freeze(owner, scope=FreezeScope.SERVICE, service=ServiceFactory())
    approval_services.submit_plan(plan.pk, actor=author)
    assert status(plan) == PlanStatus.IN_REVIEW


# --- the exception, end to end ----------------------------------------------------------------------------------


def test_exception_flow_end_to_end(client, owner):
    plan, author, (approver,), duty = plan_with_matrix(1)
    service = ServiceFactory(name="www.nskes.ru", gate_without_plan=GatePolicy.ALLOW)
    PlanService.objects.create(plan=plan, service=service)
    f = freeze(owner, title="Новогодний мораторий")
    ask_url = reverse("changecalendar:freeze_exception", args=[plan.pk, f.pk])

    client.force_login(author)
    html = plan_page(client, plan.pk)
    assert 'id="freeze-checks"' in html and "Новогодний мораторий" in html and ask_url in html

    response = client.post(ask_url, {"reason": "Исправление уязвимости не ждёт"})
    assert response.status_code == 302 and response["Location"].endswith("#freeze-checks")
    exception = FreezeException.objects.get(plan=plan, freeze=f)
    owner_row = ApprovalRow.objects.get(pk=exception.approval_row_id)
    assert (owner_row.user, owner_row.kind, owner_row.status) == (owner, RowKind.APPROVAL, ApprovalStatus.PENDING)
    assert "Новогодний мораторий" in owner_row.job_title
    assert PlanEvent.objects.filter(plan=plan, comment__contains="Исправление уязвимости").exists()
    html = plan_page(client, plan.pk)
    assert "Исправление уязвимости не ждёт" in html and ask_url not in html  # asked: the form is gone

    version = approval_services.submit_plan(plan.pk, actor=author)
    # In review: the gate stays closed in the freeze even though the service allows deployments without a plan.
    inside = START + datetime.timedelta(minutes=30)
    blocked = gate_decision(service=service, at=inside)
    assert not blocked.allowed and "Новогодний мораторий" in blocked.reasons[0]
    by_id = {row.pk: row for row in rows(plan)}
    approval_services.approve_row(
        next(r.pk for r in by_id.values() if r.user_id == approver.pk), actor=approver, version=version.number
    )
    approval_services.acknowledge_row(
        next(r.pk for r in by_id.values() if r.kind == RowKind.ACKNOWLEDGEMENT), actor=duty, version=version.number
    )
    assert status(plan) == PlanStatus.IN_REVIEW  # the owner has not signed yet
    approval_services.approve_row(owner_row.pk, actor=owner, version=version.number)
    assert status(plan) == PlanStatus.APPROVED
    assert gate_decision(service=service, at=inside).allowed
    # Outside the plan's window, in the freeze: blocked although the policy allows deployments without a plan.
    assert not gate_decision(service=service, at=START - datetime.timedelta(hours=2)).allowed


def test_asking_again_is_idempotent_and_keeps_the_newest_reason(client, owner):
    plan, author, _approvers, _duty = plan_with_matrix(1)
    f = freeze(owner)
    client.force_login(author)
    url = reverse("changecalendar:freeze_exception", args=[plan.pk, f.pk])
    client.post(url, {"reason": "Первая причина"})
    client.post(url, {"reason": "Уточнённая причина"})
    assert FreezeException.objects.get(plan=plan).reason == "Уточнённая причина"
    assert ApprovalRow.objects.filter(plan=plan, user=owner).count() == 1


def test_an_owner_already_approving_the_plan_keeps_one_row(owner):
    plan, author, (approver,), _duty = plan_with_matrix(1)
    f = freeze(approver)
    exception = exceptions.request_exception(plan.pk, f.pk, actor=author, reason="Срочно")
    assert ApprovalRow.objects.filter(plan=plan, user=approver).count() == 1
    assert exception.approval_row_id == ApprovalRow.objects.get(plan=plan, user=approver).pk


def test_the_owner_who_authored_the_plan_gets_a_clear_refusal():
    plan, author, _approvers, _duty = plan_with_matrix(1)
    f = freeze(author)
    with pytest.raises(ValidationError) as refused:
        exceptions.request_exception(plan.pk, f.pk, actor=author, reason="Срочно")
    assert "попросите администратора" in refused.value.messages[0]
    assert not FreezeException.objects.exists()


def test_a_rebuilt_matrix_gets_the_owner_row_back_on_submission(owner):
    plan, author, (approver,), _duty = plan_with_matrix(1)
    f = freeze(owner)
    exceptions.request_exception(plan.pk, f.pk, actor=author, reason="Срочно")
    template = MatrixTemplate.objects.create(name="Стандарт")
    MatrixTemplateRow.objects.create(
        template=template, position=1, stage=1, job_title="руководитель", person_name="Согласующий", user=approver
    )
    approval_services.apply_template(plan.pk, actor=author, template_id=template.pk)
    assert not ApprovalRow.objects.filter(plan=plan, user=owner).exists()
    approval_services.submit_plan(plan.pk, actor=author)
    owner_row = ApprovalRow.objects.get(plan=plan, user=owner)
    assert FreezeException.objects.get(plan=plan).approval_row_id == owner_row.pk
    assert owner_row.status == ApprovalStatus.PENDING and status(plan) == PlanStatus.IN_REVIEW
    assert PlanEvent.objects.filter(plan=plan, comment__contains="снова добавлен").exists()


def test_a_window_moved_out_of_the_freeze_no_longer_needs_the_exception(owner):
    plan, author, _approvers, _duty = plan_with_matrix(1)
    f = freeze(owner)
    exceptions.request_exception(plan.pk, f.pk, actor=author, reason="Срочно")
    Plan.objects.filter(pk=plan.pk).update(
        window_start=END + datetime.timedelta(days=1), window_end=END + datetime.timedelta(days=1, hours=2)
    )
    FreezeException.objects.all().delete()  # even without the exception, nothing refuses the plan now
    approval_services.submit_plan(plan.pk, actor=author)
    assert status(plan) == PlanStatus.IN_REVIEW
    assert ApprovalRow.objects.filter(plan=plan, user=owner).exists()  # the row stays (the author may delete it)


# --- who may ask ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["other_author", "approver", "owner"])
def test_only_the_author_or_an_administrator_may_ask(client, owner, who):
    plan, author, (approver,), _duty = plan_with_matrix(1)
    f = freeze(owner)
    attacker = {
        "other_author": UserFactory(username="mallory", roles=["author"]),
        "approver": approver,
        "owner": owner,
    }[who]
    client.force_login(attacker)
    url = reverse("changecalendar:freeze_exception", args=[plan.pk, f.pk])
    assert client.post(url, {"reason": "Хочу"}).status_code == 403
    assert client.get(url).status_code == 403
    assert not FreezeException.objects.exists() and not ApprovalRow.objects.filter(plan=plan, user=owner).exists()
    html = plan_page(client, plan.pk)
    assert url not in html  # no form for someone who may not ask


def test_an_administrator_may_ask(client, owner):
    plan, _author, _approvers, _duty = plan_with_matrix(1)
    f = freeze(owner)
    admin = UserFactory(username="boss", roles=["admin"])
    client.force_login(admin)
    response = client.post(reverse("changecalendar:freeze_exception", args=[plan.pk, f.pk]), {"reason": "Авария"})
    assert response.status_code == 302 and FreezeException.objects.get().requested_by == admin


def test_a_plan_under_sign_off_cannot_ask(client, owner):
    plan, author, _approvers, _duty = plan_with_matrix(1)
    approval_services.submit_plan(plan.pk, actor=author)
    f = freeze(owner)  # made after the submission
    client.force_login(author)
    url = reverse("changecalendar:freeze_exception", args=[plan.pk, f.pk])
    assert client.post(url, {"reason": "Срочно"}).status_code == 403
    assert not FreezeException.objects.exists()
    html = plan_page(client, plan.pk)
    assert 'data-code="freeze"' in html and url not in html


def test_anonymous_is_sent_to_sign_in(client, owner):
    plan, _author, _approvers, _duty = plan_with_matrix(1)
    f = freeze(owner)
    response = client.post(reverse("changecalendar:freeze_exception", args=[plan.pk, f.pk]), {"reason": "x"})
    assert response.status_code == 302 and settings.LOGIN_URL in response["Location"]
    assert not FreezeException.objects.exists()


def test_bad_input_keeps_the_text_and_says_why_in_russian(client, owner):
    plan, author, _approvers, _duty = plan_with_matrix(1)
    f = freeze(owner)
    client.force_login(author)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
    url = reverse("changecalendar:freeze_exception", args=[plan.pk, f.pk])
    empty = client.post(url, {"reason": "   "})
    assert empty.status_code == 400 and "Объясните" in empty.content.decode()
    Freeze.objects.filter(pk=f.pk).update(ends_at=START)  # the freeze ends before the window now
    gone = client.post(url, {"reason": "Мой подробный текст"})
    text = gone.content.decode()
    assert gone.status_code == 400 and "Мой подробный текст" in text and "Этот мораторий" in text
    assert not FreezeException.objects.exists()


# --- the gate -------------------------------------------------------------------------------------------------


def test_the_gate_blocks_a_frozen_service_and_cluster(owner):
    service = ServiceFactory(name="www.nskes.ru", gate_without_plan=GatePolicy.ALLOW)
    cluster = Cluster.objects.create(name="prod-k8s")
    at = START + datetime.timedelta(minutes=30)
    assert gate_decision(service=service, at=at).allowed  # the policy allows: no plan needed
    freeze(owner, title="Только кластер", scope=FreezeScope.CLUSTER, cluster=cluster)
    assert gate_decision(service=service, at=at).allowed  # a cluster's freeze does not freeze the service
    cluster_answer = gate_decision(cluster=cluster, at=at)
    assert not cluster_answer.allowed and "Только кластер" in cluster_answer.reasons[0]
    freeze(owner, title="Сервис", scope=FreezeScope.SERVICE, service=service)
    answer = gate_decision(service=service, at=at)
    assert not answer.allowed and "Сервис" in answer.reasons[0]


def test_an_approved_plan_without_the_exception_is_blocked_in_a_freeze(owner):
    service = ServiceFactory()
    plan = PlanFactory()
    PlanService.objects.create(plan=plan, service=service)
    Plan.objects.filter(pk=plan.pk).update(status=PlanStatus.APPROVED)
    at = START + datetime.timedelta(minutes=30)
    assert gate_decision(service=service, at=at).allowed
    f = freeze(owner, title="Мораторий")
    assert not gate_decision(service=service, at=at).allowed
    # An exception whose owner's row is not approved does not open the gate.
    row = ApprovalRow.objects.create(plan=plan, position=1, user=owner, status=ApprovalStatus.PENDING)
    FreezeException.objects.create(plan=plan, freeze=f, reason="x", approval_row_id=row.pk)
    assert not gate_decision(service=service, at=at).allowed
    ApprovalRow.objects.filter(pk=row.pk).update(status=ApprovalStatus.APPROVED)
    assert gate_decision(service=service, at=at).allowed


# --- the freezes page ---------------------------------------------------------------------------------------------


def test_everyone_sees_current_and_coming_freezes_not_past_ones(client, owner):
    now = timezone.now()
    freeze(owner, title="Идёт сейчас", start=now - datetime.timedelta(days=1), end=now + datetime.timedelta(days=1))
    freeze(owner, title="Скоро", start=now + datetime.timedelta(days=5), end=now + datetime.timedelta(days=6))
    freeze(owner, title="Прошёл", start=now - datetime.timedelta(days=5), end=now - datetime.timedelta(days=4))
    client.force_login(UserFactory(username="reader", roles=["operator"]))
    html = client.get(reverse("changecalendar:freezes")).content.decode()
    assert "Идёт сейчас" in html and "Скоро" in html and "Прошёл" not in html
    assert reverse("changecalendar:freeze_add") not in html  # no management for a non-administrator


def test_a_non_administrator_cannot_manage_freezes(client, owner):
    f = freeze(owner)
    client.force_login(UserFactory(username="mallory", roles=["author", "approver"]))
    assert client.get(reverse("changecalendar:freeze_add")).status_code == 403
    assert client.post(reverse("changecalendar:freeze_edit", args=[f.pk]), {"title": "x"}).status_code == 403
    assert client.post(reverse("changecalendar:freeze_delete", args=[f.pk])).status_code == 403
    assert Freeze.objects.get().title == "Квартальная отчётность"


def test_an_administrator_adds_edits_and_deletes_a_freeze(client, owner):
    admin = UserFactory(username="boss", roles=["admin"])
    client.force_login(admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
    service = ServiceFactory()
    data = {
        "title": "Чёрная пятница",
        "reason": "Пиковая нагрузка",
        "starts_at": "2026-11-27T00:00",
        "ends_at": "2026-11-26T00:00",
        "scope": "service",
        "owner": owner.pk,
    }
    bad = client.post(reverse("changecalendar:freeze_add"), data)
    text = bad.content.decode()
    assert bad.status_code == 200 and "Чёрная пятница" in text and "Пиковая нагрузка" in text
    assert "Мораторий должен закончиться позже" in text and "Выберите сервис" in text
    assert not Freeze.objects.exists()
    good = client.post(
        reverse("changecalendar:freeze_add"), {**data, "ends_at": "2026-11-30T00:00", "service": service.pk}
    )
    assert good.status_code == 302
    made = Freeze.objects.get()
    assert (made.service, made.created_by, made.scope) == (service, admin, FreezeScope.SERVICE)
    # Switching to global clears the service (the scope decides).
    client.post(
        reverse("changecalendar:freeze_edit", args=[made.pk]),
        {**data, "ends_at": "2026-11-30T00:00", "scope": "global", "service": service.pk},
    )
    made.refresh_from_db()
    assert (made.scope, made.service) == (FreezeScope.GLOBAL, None)
    client.post(reverse("changecalendar:freeze_delete", args=[made.pk]))
    assert not Freeze.objects.exists()


def test_the_plan_page_query_count_does_not_grow_with_freezes(client, owner):
    plan, author, _approvers, _duty = plan_with_matrix(1)
    client.force_login(author)

    def count():
        plan_page(client, plan.pk)  # warm caches
        with CaptureQueriesContext(connection) as queries:  # the page and what its placeholders fetch
            plan_page(client, plan.pk)
        return len(queries)

    f = freeze(owner, title="Первый")
    exceptions.request_exception(plan.pk, f.pk, actor=author, reason="Срочно")
    one = count()
    for n in range(5):
        other_owner = UserFactory(username=f"owner{n}", roles=["approver"])
        extra = freeze(other_owner, title=f"Ещё {n}")
        exceptions.request_exception(plan.pk, extra.pk, actor=author, reason="Срочно")
    assert count() == one


def test_the_django_admin_pages_work(client, owner):
    superuser = UserFactory(username="root")
    superuser.is_staff = superuser.is_superuser = True
    superuser.save()
    client.force_login(superuser)
    service = ServiceFactory()
    freeze(owner, title="В админке")
    for name in ("freeze", "maintenancewindow", "freezeexception"):
        assert client.get(reverse(f"admin:changecalendar_{name}_changelist")).status_code == 200
    assert client.get(reverse("admin:changecalendar_freeze_add")).status_code == 200
    response = client.post(
        reverse("admin:changecalendar_maintenancewindow_add"),
        {
            "service": service.pk,
            "weekdays": ["2", "4"],
            "starts": "20:00",
            "ends": "02:00",
            "time_zone": "Europe/Berlin",
        },
    )
    assert response.status_code == 302
    assert client.get(reverse("admin:changecalendar_maintenancewindow_changelist")).status_code == 200
