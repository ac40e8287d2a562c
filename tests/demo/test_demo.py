"""The demo data is the seed plan 000 field by field, loads twice without duplicates, and its logins work."""

import datetime
import io
import zoneinfo

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.utils import timezone

from approvals.choices import ApprovalStatus, RowKind
from approvals.models import ApprovalRow, Delegation, MatrixTemplate, MatrixTemplateRow
from changeplans.choices import Availability, EventKind, PartyKind, PlanStatus, StepKind, StepStatus
from changeplans.models import Party, Plan, PlanEvent, PlanService, PlanVersion, Risk, RollbackAction, Service, Step
from demo.plans import DEMO_USERS, load_demo

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NSK = zoneinfo.ZoneInfo("Asia/Novosibirsk")
TITLE = "Установка сетевого плагина Calico в кластере Kubernetes PROD"
MAR20 = datetime.date(2025, 3, 20)
MAR27 = datetime.date(2025, 3, 27)


@pytest.fixture
def plan():
    return load_demo()


def test_plan_header(plan):
    plan.refresh_from_db()
    assert plan.title == TITLE
    assert plan.time_zone == "Asia/Novosibirsk"
    assert plan.window_start == datetime.datetime(2025, 3, 20, 20, 0, tzinfo=NSK)
    assert plan.window_end == datetime.datetime(2025, 3, 20, 23, 5, tzinfo=NSK)
    # Stored in UTC: Novosibirsk is UTC+7.
    assert plan.window_start == datetime.datetime(2025, 3, 20, 13, 0, tzinfo=datetime.UTC)
    assert plan.goal == "Установить сетевой плагин Calico вместо Flannel в PROD Кластере Kubernetes"
    assert plan.downtime_text == ""
    assert plan.downtime_max_minutes is None
    assert plan.client_impact is True
    assert plan.banner_needed is True
    assert plan.curator.username == "khasanov"
    assert plan.author.username == "khasanov"
    assert plan.responsible.name == "Хасанов А.И."
    assert plan.responsible.kind == PartyKind.PERSON
    assert plan.responsible.user.username == "khasanov"
    assert plan.responsible.contact == "+7 (913) 712-71-78 <НЭС>"
    assert plan.announcement_subject == "Установка сетевого плагина Calico в кластере Kubernetes PROD"
    assert plan.announcement_intro == "Нам необходимо провести плановые работы для некоторых улучшений"
    assert plan.mailing_list == ""
    assert plan.jira_url == ""
    # Submitted by the author and partly signed (see test_sign_off_matrix).
    assert plan.status == PlanStatus.IN_REVIEW


def test_services_unavailable_in_seed_order(plan):
    rows = [
        (ps.service.name, ps.service.display_name, ps.availability)
        for ps in PlanService.objects.filter(plan=plan).select_related("service")
    ]
    assert rows == [
        ("www.nskes.ru", "Инфосайт", Availability.UNAVAILABLE),
        ("sevice.nskes.ru", "ЛК ЮЛ", Availability.UNAVAILABLE),
        ("narod.nskes.ru", "ЛК ФЛ", Availability.UNAVAILABLE),
        ("platosfera.ru", "МП Платосфера", Availability.UNAVAILABLE),
    ]


def test_parties():
    load_demo()
    assert {(p.name, p.kind) for p in Party.objects.all()} == {
        ("Хасанов А.И.", PartyKind.PERSON),
        ("Дежурный ООФИС", PartyKind.TEAM),
        ("ООО «ПрофСофт»", PartyKind.CONTRACTOR),
    }


# position, kind, name, description, expected result, executor, date, time, duration text, min, max, no rollback needed
STEP_ROWS = [
    (1, StepKind.ANNOUNCEMENT, "Произвести рассылку о плановых работах.",
     "Произвести рассылку о плановых работах по e-mail от\u00a0it.info и чате ДИТ.", "Рассылка произведена.",
     "Дежурный ООФИС", MAR20, datetime.time(16, 0), "5 мин.", 5, 5, True),
    (2, StepKind.BANNER_ON, "Установить Баннеры",
     "Произвести установку баннеров о проведении технических работ на сервисах Инфосайт, ЛК ЮЛ, ЛК ФЛ, МП Платосфера",
     "Баннеры установлены", "Дежурный ООФИС", MAR20, datetime.time(20, 0), "5 мин.", 5, 5, True),
    (3, StepKind.WORK, "Раскатить раннер", "Деплой раннера на выделенные для проектов ноды",
     "Раннер запустился и зарегиститровался в GitLab. В логах нет ошибок",
     "ООО «ПрофСофт»", MAR27, datetime.time(20, 5), "15 мин", 15, 15, False),
    (4, StepKind.WORK, "РаскатитьS3 Minio", "Деплой S3 Minio на выделенные для проекта ноды",
     "Приложение запустилось, в логах нет ошибок, достепен административный вэб интерфейс",
     "ООО «ПрофСофт»", MAR27, datetime.time(20, 5), "30мин", 30, 30, False),
    (5, StepKind.WORK, "Миграция на Calico",
     "Произвести:\n- установку Calico в новом окружении;\n- переход на Calico в существующем кластере;\n"
     "- настроить и проверить сетевые политики",
     "В prod кластере должны быть:\n- подтверждена установка и настройка плагина Calico в кластере Kubernetes;\n"
     "- настроены сетевые политики\n- проведены тесты, подтверждающие\n-сегментацию сетевого трафика между подами;\n"
     "- управление сетевыми политиками и безопасностью доступа между подами на основе ролей и зон безопасности",
     "ООО «ПрофСофт»", MAR20, datetime.time(20, 5), "2-3 часа", 120, 180, False),
    (6, StepKind.BANNER_OFF, "Снять баннеры",
     "Снять баннеры о проведении технических работ на сервисах Инфосайт, ЛК ЮЛ, ЛК ФЛ, МП Платосфера",
     "Баннеры сняты", "Дежурный ООФИС", MAR20, None, "5 мин", 5, 5, True),
    (7, StepKind.COMPLETION_NOTICE, "Произвести рассылку о завершении работ. Убрать баннер.",
     "Произвести рассылку о завершении работ по e-mail от it.info. Убрать баннер.", "Рассылка произведена.",
     "Дежурный ООФИС", MAR20, None, "5 мин", 5, 5, True),
]  # fmt: skip


def test_step_table_has_the_seeds_seven_rows(plan):
    assert list(plan.steps.values_list("position", flat=True)) == [1, 2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize("row", STEP_ROWS, ids=lambda row: f"step{row[0]}")
def test_step_columns(plan, row):
    position, kind, name, description, expected, executor, date, time, duration, dmin, dmax, no_rollback = row
    step = plan.steps.select_related("executor").get(position=position)
    assert step.kind == kind
    assert step.name == name
    assert step.description == description
    assert step.expected_result == expected
    assert step.executor.name == executor
    assert step.planned_date == date
    assert step.planned_time == time
    assert (step.duration_text, step.duration_min, step.duration_max) == (duration, dmin, dmax)
    assert step.no_rollback_needed is no_rollback
    assert step.jira_key == ""
    assert step.status == StepStatus.PENDING
    assert step.actual_start is None and step.actual_end is None


@pytest.mark.parametrize("position", [1, 2, 3, 4, 6, 7])
def test_steps_without_risks_keep_the_seeds_no(plan, position):
    step = plan.steps.get(position=position)
    assert step.risks.count() == 0
    assert step.risk_mitigation == ""
    assert step.affected_systems == "нет"
    assert step.planned_downtime == "нет"


@pytest.mark.parametrize("position", [1, 2, 6, 7])
def test_steps_with_rollback_no_have_no_actions(plan, position):
    assert plan.steps.get(position=position).rollback_actions.count() == 0


@pytest.mark.parametrize("position", [3, 4])
def test_deploy_steps_have_one_unnumbered_rollback_action(plan, position):
    actions = list(plan.steps.get(position=position).rollback_actions.all())
    assert [a.text for a in actions] == ["Анализ ошибки, исправление, повторный деплой"]
    assert actions[0].risks.count() == 0
    assert actions[0].label() == ""


def test_step5_risks_mitigation_and_impact(plan):
    step = plan.steps.get(position=5)
    assert list(step.risks.values_list("number", "description")) == [
        (1, "Неправильная конфигурация IPAM"),
        (2, "Ошибки в манифестах установки Calico"),
        (3, "Несоответствие тестовой среды production"),
        (4, "Конфликты между сетевыми плагинами"),
        (5, "Перерывы в сетевых соединениях"),
        (6, "Проблемы с маршрутизацией между подами"),
        (7, "Проблемы с миграцией активных узлов"),
        (8, "Сбой после перезапуска узлов"),
        (9, "Ошибки в настройке сетевых политик"),
        (10, "Недостаточный мониторинг сети"),
        (11, "Проблемы с производительностью сети"),
        (12, "Недостаточная подготовка команды"),
        (13, "Длительные простои при миграции"),
    ]
    assert step.risk_mitigation == (
        "- Заранее проверить настройки  PDB на prod;\n"
        "- Собрать информацию о соответствии конфигурации и сетевых политик dev и prod среды предварительно, "
        "чтобы понимать с какими проблемами можно столкнуться.\n"
        "Перед миграцией достичь максимальной близости сред;\n"
        "- Чтобы вовремя отследить факторы, влияющие на производительность сети нужно продумать и настроить "
        "мониторинг с помощью Prometeus;\n"
        "- Своевременный мониторинг ошибок установки и их исправление;\n"
        "- Ознакомление всех участников с инструкцией по внедрению и эксплуатации;\n"
        "- Риски можно минимизировать через поэтапную миграцию, тщательное тестирование и обучение команды."
    )
    assert step.affected_systems == "Prod среда;\nKubernetes."
    assert step.planned_downtime == "нет"


def test_step5_rollback_actions_point_back_at_their_risks(plan):
    step = plan.steps.get(position=5)
    actions = list(step.rollback_actions.prefetch_related("risks"))
    assert [(a.position, a.label(), a.text) for a in actions] == [
        (1, "1", "Убить под с конфликтующим адресом и мониторить дальнейшую ситуацию по логам, провести диагностику, "
                 "перезапустить ресурсы."),
        (2, "2", "Проверить конфигурацию и устранить в ней ошибки."),
        (3, "3", "Собрать информацию о соответствии конфигурации и сетевых политик dev и prod среды предварительно, "
                 "чтобы понимать с какими проблемами можно столкнуться. "
                 "Перед миграцией достичь максимальной близости сред."),
        (4, "4", "Нормальная ситуация при отработке скрипта процесса миграции, перед обновление нужно полностью "
                 "перезапустить весь кластер, чтобы все службы обновились."),
        (5, "5/6/7/8", "Устранить причину и перезапустить узел/кластер."),
        (6, "9", "Получить конфигурацию сетевых политик с текущего кластера Kubernetes, проанализировать, "
                 "найти ошибку и исправить ее."),
        (7, "10", "Чтобы вовремя отследить факторы, влияющие на производительность сети нужно продумать и настроить "
                  "мониторинг с помощью Prometeus."),
        (8, "11", "Своевременный мониторинг ошибок установки и их исправление."),
        (9, "12", "Ознакомление всех участников с инструкцией по внедрению и эксплуатации."),
        (10, "13", "Эти риски можно минимизировать через поэтапную миграцию, тщательное тестирование "
                   "и обучение команды."),
    ]  # fmt: skip
    shared = actions[4]
    assert set(shared.risks.values_list("number", flat=True)) == {5, 6, 7, 8}
    # The action's risks belong to the same step.
    assert set(shared.risks.values_list("step_id", flat=True)) == {step.pk}
    # Every risk has exactly one action answering it.
    for risk in step.risks.all():
        assert risk.rollback_actions.count() == 1


ROW5_COMMENT = "Согласовано на время отпуска Турчанинова П.В. Откат шага 5 проверил."


def test_sign_off_matrix(plan):
    # The seed's matrix, in review on version 1: rows 1-5 signed (5 by Turchaninov's deputy), 6-9 waiting,
    # the duty officer not yet.
    rows = list(
        ApprovalRow.objects.filter(plan=plan).select_related("user", "group", "decided_by", "on_behalf_of", "version")
    )
    assert [(r.position, r.kind, r.job_title, r.person_name, r.user and r.user.username, r.status) for r in rows] == [
        (1, RowKind.APPROVAL, "рук группы контроля качества и развития ИТ-инфраструктуры", "Кочетов В.Н.", "kochetov",
         ApprovalStatus.APPROVED),
        (2, RowKind.APPROVAL, "владелец продукта", "Кузьмина О.В.", "kuzmina", ApprovalStatus.APPROVED),
        (3, RowKind.APPROVAL, "владелец продукта", "Барабанщикова О.И.", "barabanshchikova", ApprovalStatus.APPROVED),
        (4, RowKind.APPROVAL, "инженер Интакт", "Шпагин А.В. (Интакт)", "shpagin", ApprovalStatus.APPROVED),
        (5, RowKind.APPROVAL, "инженер", "Турчанинов П.В.", "turchaninov", ApprovalStatus.APPROVED),
        (6, RowKind.APPROVAL, "руководитель группы поддержки приложений", "Бочарников В.В.", "bocharnikov",
         ApprovalStatus.PENDING),
        (7, RowKind.APPROVAL, "начальник ООФИС", "Маевский Р.А.", "maevsky", ApprovalStatus.PENDING),
        (8, RowKind.APPROVAL, "начальник ОРИС", "Марченко М.С.", "marchenko", ApprovalStatus.PENDING),
        (9, RowKind.APPROVAL, "Директор по ИТ", "Матвеев И.Б.", "matveev", ApprovalStatus.PENDING),
        (10, RowKind.ACKNOWLEDGEMENT, "", "Дежурный НЭС", None, ApprovalStatus.NOT_ACKNOWLEDGED),
    ]  # fmt: skip
    assert rows[9].group.name == "duty_officer"
    assert all(r.group is None for r in rows[:9])
    # Rows 1-4 signed by their own people, on version 1, without comments.
    for row in rows[:4]:
        assert (row.decided_by, row.on_behalf_of, row.version.number, row.comment) == (row.user, None, 1, "")
        assert row.decided_at is not None
    # Row 5: the deputy signed for Turchaninov, with a comment.
    row5 = rows[4]
    assert (row5.decided_by.username, row5.on_behalf_of.username, row5.version.number) == ("ivanov", "turchaninov", 1)
    assert row5.comment == ROW5_COMMENT
    assert all((r.decided_at, r.decided_by, r.version) == (None, None, None) for r in rows[5:])


def test_plan_is_submitted_as_version_one(plan):
    (version,) = plan.versions.all()
    assert (version.number, version.created_by.username) == (1, "khasanov")
    assert [step["name"] for step in version.snapshot["steps"]][4] == "Миграция на Calico"


def test_every_state_of_the_matrix_is_shown(plan):
    statuses = set(ApprovalRow.objects.filter(plan=plan).values_list("status", flat=True))
    assert statuses == {ApprovalStatus.APPROVED, ApprovalStatus.PENDING, ApprovalStatus.NOT_ACKNOWLEDGED}


def test_turchaninov_has_a_deputy_today():
    load_demo()
    today = timezone.localdate()
    (delegation,) = Delegation.objects.select_related("principal", "deputy")
    assert (delegation.principal.username, delegation.deputy.username) == ("turchaninov", "ivanov")
    assert delegation.starts_on == today - datetime.timedelta(days=7)
    assert delegation.ends_on == today + datetime.timedelta(days=7)
    ivanov = get_user_model().objects.get(username="ivanov")
    assert (ivanov.last_name, ivanov.first_name) == ("Иванов", "П.С.")
    assert set(ivanov.groups.values_list("name", flat=True)) == {"approver"}


def test_an_expired_delegation_is_renewed_on_the_next_load():
    load_demo()
    Delegation.objects.update(starts_on=datetime.date(2025, 3, 1), ends_on=datetime.date(2025, 3, 8))
    load_demo()
    today = timezone.localdate()
    assert Delegation.objects.count() == 2
    assert Delegation.objects.filter(starts_on__lte=today, ends_on__gte=today).count() == 1


def test_matrix_template_from_the_seed(plan):
    template = MatrixTemplate.objects.get(name="PROD Kubernetes: 9 согласующих + дежурный")
    template_rows = [
        (r.position, r.stage, r.kind, r.job_title, r.person_name, r.user_id, r.group_id) for r in template.rows.all()
    ]
    plan_rows = [
        (r.position, r.stage, r.kind, r.job_title, r.person_name, r.user_id, r.group_id)
        for r in ApprovalRow.objects.filter(plan=plan)
    ]
    assert template_rows == plan_rows
    assert len(template_rows) == 10


def test_matrix_template_applies_to_a_new_plan(plan):
    from approvals.services import apply_template

    # Given a new draft by the demo author
    author = get_user_model().objects.get(username="khasanov")
    draft = Plan.objects.create(
        title="Обновление Kubernetes PROD", author=author, window_start=plan.window_start, window_end=plan.window_end
    )
    template = MatrixTemplate.objects.get(name="PROD Kubernetes: 9 согласующих + дежурный")
    # When the author applies the seed's template
    apply_template(draft.pk, actor=author, template_id=template.pk)
    # Then the draft has the seed's ten rows, none decided
    rows = list(ApprovalRow.objects.filter(plan=draft))
    assert [r.person_name for r in rows] == [r.person_name for r in ApprovalRow.objects.filter(plan=plan)]
    assert [r.status for r in rows] == [ApprovalStatus.PENDING] * 9 + [ApprovalStatus.NOT_ACKNOWLEDGED]


def test_history_starts_with_created_event_then_the_sign_off(plan):
    events = list(PlanEvent.objects.filter(plan=plan).select_related("actor").order_by("id"))
    event = events[0]
    assert event.kind == EventKind.CREATED
    assert event.actor.username == "khasanov"
    assert (event.object_type, event.object_id, event.object_label) == ("plan", plan.pk, TITLE)
    assert (event.from_status, event.to_status) == ("", "draft")
    assert event.comment == "Загружено из демо"
    # Then the real services' history: version 1, the submission, five signatures.
    assert [(e.kind, e.actor.username, e.object_type, e.from_status, e.to_status) for e in events[1:]] == [
        (EventKind.VERSION, "khasanov", "plan", "", ""),
        (EventKind.TRANSITION, "khasanov", "plan", "draft", "in_review"),
        (EventKind.TRANSITION, "kochetov", "approvalrow", "pending", "approved"),
        (EventKind.TRANSITION, "kuzmina", "approvalrow", "pending", "approved"),
        (EventKind.TRANSITION, "barabanshchikova", "approvalrow", "pending", "approved"),
        (EventKind.TRANSITION, "shpagin", "approvalrow", "pending", "approved"),
        (EventKind.TRANSITION, "ivanov", "approvalrow", "pending", "approved"),
    ]
    assert events[-1].comment.endswith(ROW5_COMMENT)


def test_users_groups_names_and_password(plan):
    User = get_user_model()
    expected_groups = {
        "khasanov": {"author"},
        **{u: {"approver"} for u in ("kochetov", "kuzmina", "barabanshchikova", "shpagin", "turchaninov",
                                      "bocharnikov", "maevsky", "marchenko", "matveev", "ivanov")},
        "duty": {"duty_officer"},
        "operator": {"operator"},
        "admin": {"admin"},
    }  # fmt: skip
    assert {spec["username"] for spec in DEMO_USERS} == set(expected_groups)
    for username, groups in expected_groups.items():
        user = User.objects.get(username=username)
        assert set(user.groups.values_list("name", flat=True)) == groups, username
        assert user.email == f"{username}@example.org"
        assert user.get_full_name()
        assert authenticate(username=username, password="okno") == user, username
        assert authenticate(username=username, password="wrong") is None
    assert User.objects.get(username="khasanov").get_full_name() == "А.И. Хасанов"
    assert User.objects.get(username="duty").get_full_name() == "Дежурный НЭС"
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert not User.objects.filter(is_superuser=True).exclude(username="admin").exists()
    assert set(Group.objects.values_list("name", flat=True)) >= {
        "author",
        "approver",
        "duty_officer",
        "operator",
        "admin",
    }


def _counts():
    User = get_user_model()
    return {
        model.__name__: model.objects.count()
        for model in (
            Plan,
            Step,
            Risk,
            RollbackAction,
            Service,
            PlanService,
            Party,
            ApprovalRow,
            PlanEvent,
            User,
            Group,
            PlanVersion,
            Delegation,
            MatrixTemplate,
            MatrixTemplateRow,
        )
    } | {"action_risks": RollbackAction.risks.through.objects.count()}


def test_loading_twice_changes_nothing():
    # Given the demo loaded once
    first = load_demo()
    counts = _counts()
    assert counts["Plan"] == 1 and counts["Step"] == 7 and counts["Risk"] == 13 and counts["ApprovalRow"] == 10
    assert counts["RollbackAction"] == 12 and counts["action_risks"] == 13
    assert (
        counts["PlanVersion"] == 1
        and counts["Delegation"] == 1
        and counts["MatrixTemplate"] == 1
        and counts["MatrixTemplateRow"] == 10
    )
    # When it is loaded again
    second = load_demo()
    # Then it returns the same plan and nothing was added
    assert second.pk == first.pk
    assert _counts() == counts


def test_existing_plan_is_returned_untouched():
    plan = load_demo()
    Plan.objects.filter(pk=plan.pk).update(goal="Изменено пользователем")
    Step.objects.filter(plan=plan, position=7).delete()
    again = load_demo()
    again.refresh_from_db()
    assert again.pk == plan.pk
    assert again.goal == "Изменено пользователем"
    assert again.steps.count() == 6


def test_command_loads_and_prints_logins():
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    text = out.getvalue()
    plan = Plan.objects.get(title=TITLE)
    assert f"/plans/{plan.pk}/" in text
    for spec in DEMO_USERS:
        assert spec["username"] in text
    assert "okno" in text
    assert "Хасанов А.И." in text
    # Running the command again loads nothing new.
    call_command("load_demo", stdout=io.StringIO())
    assert Plan.objects.filter(title=TITLE).count() == 1
