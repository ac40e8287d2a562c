"""The demo data: the seed plan (Calico instead of Flannel in PROD Kubernetes) exactly as the seed writes it.

The texts keep the seed's spelling, typos and its one non-breaking space ("от\u00a0it.info");
only trailing spaces are stripped. `make run` loads it through `manage.py load_demo`.

The data come first, then the loaders in the order `load_demo` calls them: users and roles, services and
parties, the plan and its steps (with risks and rollback), the sign-off. `load_scheduled_demo` copies the
seed to a TEST cluster, due minutes after loading. The demo app depends on every other app, none on it.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from approvals import services as approvals
from approvals.choices import ApprovalStatus, RowKind
from approvals.models import ApprovalRow, Delegation, MatrixTemplate, MatrixTemplateRow
from changeplans.choices import Availability, EventKind, PartyKind, PlanStatus, Role, StepKind
from changeplans.models import Party, Plan, PlanEvent, PlanService, Risk, RollbackAction, Service, Step
from changeplans.roles import ensure_role_groups

if TYPE_CHECKING:
    from django.contrib.auth.models import Group, User

DEMO_PASSWORD = "okno"
DEMO_TIME_ZONE = "Asia/Novosibirsk"
DEMO_TITLE = "Установка сетевого плагина Calico в кластере Kubernetes PROD"
# An approved copy on a TEST cluster whose announcement is due minutes after loading (docs/scheduler.md).
DEMO_SCHEDULED_TITLE = "Демо рассылок: установка сетевого плагина Calico в кластере Kubernetes TEST"
DEMO_SCHEDULED_MAILING_LIST = "it.info@nskes.example"

# Everyone's password is DEMO_PASSWORD; "superuser" also makes the user staff.
DEMO_USERS: list[dict[str, Any]] = [
    {"username": "khasanov", "first_name": "А.И.", "last_name": "Хасанов", "roles": [Role.AUTHOR]},
    {"username": "kochetov", "first_name": "В.Н.", "last_name": "Кочетов", "roles": [Role.APPROVER]},
    {"username": "kuzmina", "first_name": "О.В.", "last_name": "Кузьмина", "roles": [Role.APPROVER]},
    {"username": "barabanshchikova", "first_name": "О.И.", "last_name": "Барабанщикова", "roles": [Role.APPROVER]},
    {"username": "shpagin", "first_name": "А.В.", "last_name": "Шпагин", "roles": [Role.APPROVER]},
    {"username": "turchaninov", "first_name": "П.В.", "last_name": "Турчанинов", "roles": [Role.APPROVER]},
    {"username": "bocharnikov", "first_name": "В.В.", "last_name": "Бочарников", "roles": [Role.APPROVER]},
    {"username": "maevsky", "first_name": "Р.А.", "last_name": "Маевский", "roles": [Role.APPROVER]},
    {"username": "marchenko", "first_name": "М.С.", "last_name": "Марченко", "roles": [Role.APPROVER]},
    {"username": "matveev", "first_name": "И.Б.", "last_name": "Матвеев", "roles": [Role.APPROVER]},
    # Turchaninov's deputy (DEMO_DELEGATION): signs row 5 "за Турчанинов П.В.".
    {"username": "ivanov", "first_name": "П.С.", "last_name": "Иванов", "roles": [Role.APPROVER]},
    {"username": "duty", "first_name": "Дежурный", "last_name": "НЭС", "roles": [Role.DUTY_OFFICER]},
    {"username": "operator", "first_name": "Оператор", "last_name": "", "roles": [Role.OPERATOR]},
    {"username": "admin", "first_name": "Администратор", "last_name": "", "roles": [Role.ADMIN], "superuser": True},
]

# "Недоступные сервисы" with their names from the announcement ("Влияние на сервисы"), in the seed's order.
DEMO_SERVICES = [
    ("www.nskes.ru", "Инфосайт"),
    ("sevice.nskes.ru", "ЛК ЮЛ"),
    ("narod.nskes.ru", "ЛК ФЛ"),
    ("platosfera.ru", "МП Платосфера"),
]

KHASANOV_PARTY = "Хасанов А.И."
DUTY_PARTY = "Дежурный ООФИС"
CONTRACTOR_PARTY = "ООО «ПрофСофт»"

# (name, kind, username, contact)
DEMO_PARTIES = [
    (KHASANOV_PARTY, PartyKind.PERSON, "khasanov", "+7 (913) 712-71-78 <НЭС>"),
    (DUTY_PARTY, PartyKind.TEAM, None, ""),
    (CONTRACTOR_PARTY, PartyKind.CONTRACTOR, None, ""),
]

DEMO_PLAN: dict[str, Any] = {
    "title": DEMO_TITLE,
    "goal": "Установить сетевой плагин Calico вместо Flannel в PROD Кластере Kubernetes",
    "window_start": (datetime.date(2025, 3, 20), datetime.time(20, 0)),
    "window_end": (datetime.date(2025, 3, 20), datetime.time(23, 5)),
    # "Время простоя: возможное время до" is left blank in the seed.
    "downtime_text": "",
    "client_impact": True,
    "banner_needed": True,
    "announcement_subject": "Установка сетевого плагина Calico в кластере Kubernetes PROD",
    "announcement_intro": "Нам необходимо провести плановые работы для некоторых улучшений",
    "mailing_list": "",
    "jira_url": "",
}

STEP5_RISKS = [
    "Неправильная конфигурация IPAM",
    "Ошибки в манифестах установки Calico",
    "Несоответствие тестовой среды production",
    "Конфликты между сетевыми плагинами",
    "Перерывы в сетевых соединениях",
    "Проблемы с маршрутизацией между подами",
    "Проблемы с миграцией активных узлов",
    "Сбой после перезапуска узлов",
    "Ошибки в настройке сетевых политик",
    "Недостаточный мониторинг сети",
    "Проблемы с производительностью сети",
    "Недостаточная подготовка команды",
    "Длительные простои при миграции",
]

# (risk numbers, text): the seed numbers each action by the risks it answers ("5/6/7/8 …").
STEP5_ROLLBACK = [
    (
        (1,),
        "Убить под с конфликтующим адресом и мониторить дальнейшую ситуацию по логам, провести диагностику, "
        "перезапустить ресурсы.",
    ),
    ((2,), "Проверить конфигурацию и устранить в ней ошибки."),
    (
        (3,),
        "Собрать информацию о соответствии конфигурации и сетевых политик dev и prod среды предварительно, "
        "чтобы понимать с какими проблемами можно столкнуться. Перед миграцией достичь максимальной близости сред.",
    ),
    (
        (4,),
        "Нормальная ситуация при отработке скрипта процесса миграции, перед обновление нужно полностью "
        "перезапустить весь кластер, чтобы все службы обновились.",
    ),
    ((5, 6, 7, 8), "Устранить причину и перезапустить узел/кластер."),
    (
        (9,),
        "Получить конфигурацию сетевых политик с текущего кластера Kubernetes, проанализировать, найти ошибку "
        "и исправить ее.",
    ),
    (
        (10,),
        "Чтобы вовремя отследить факторы, влияющие на производительность сети нужно продумать и настроить "
        "мониторинг с помощью Prometeus.",
    ),
    ((11,), "Своевременный мониторинг ошибок установки и их исправление."),
    ((12,), "Ознакомление всех участников с инструкцией по внедрению и эксплуатации."),
    ((13,), "Эти риски можно минимизировать через поэтапную миграцию, тщательное тестирование и обучение команды."),
]

DEPLOY_ROLLBACK = [((), "Анализ ошибки, исправление, повторный деплой")]

_NO_RISK_STEP: dict[str, Any] = {
    "risks": [],
    "risk_mitigation": "",
    "affected_systems": "нет",
    "planned_downtime": "нет",
    "jira_key": "",
}

# One dict per row of the seed's table; "rollback": None is the seed's "нет".
DEMO_STEPS: list[dict[str, Any]] = [
    {
        **_NO_RISK_STEP,
        "position": 1,
        "kind": StepKind.ANNOUNCEMENT,
        "name": "Произвести рассылку о плановых работах.",
        "description": "Произвести рассылку о плановых работах по e-mail от\u00a0it.info и чате ДИТ.",
        "expected_result": "Рассылка произведена.",
        "executor": DUTY_PARTY,
        "planned_date": datetime.date(2025, 3, 20),
        "planned_time": datetime.time(16, 0),
        "duration": "5 мин.",
        "rollback": None,
    },
    {
        **_NO_RISK_STEP,
        "position": 2,
        "kind": StepKind.BANNER_ON,
        "name": "Установить Баннеры",
        "description": (
            "Произвести установку баннеров о проведении технических работ на сервисах Инфосайт, ЛК ЮЛ, ЛК ФЛ, "
            "МП Платосфера"
        ),
        "expected_result": "Баннеры установлены",
        "executor": DUTY_PARTY,
        "planned_date": datetime.date(2025, 3, 20),
        "planned_time": datetime.time(20, 0),
        "duration": "5 мин.",
        "rollback": None,
    },
    {
        **_NO_RISK_STEP,
        "position": 3,
        "kind": StepKind.WORK,
        "name": "Раскатить раннер",
        "description": "Деплой раннера на выделенные для проектов ноды",
        "expected_result": "Раннер запустился и зарегиститровался в GitLab. В логах нет ошибок",
        "executor": CONTRACTOR_PARTY,
        # 27.03 in a plan for 20.03: an error of the seed, kept on purpose.
        "planned_date": datetime.date(2025, 3, 27),
        "planned_time": datetime.time(20, 5),
        "duration": "15 мин",
        "rollback": DEPLOY_ROLLBACK,
    },
    {
        **_NO_RISK_STEP,
        "position": 4,
        "kind": StepKind.WORK,
        "name": "РаскатитьS3 Minio",
        "description": "Деплой S3 Minio на выделенные для проекта ноды",
        "expected_result": "Приложение запустилось, в логах нет ошибок, достепен административный вэб интерфейс",
        "executor": CONTRACTOR_PARTY,
        "planned_date": datetime.date(2025, 3, 27),
        "planned_time": datetime.time(20, 5),
        "duration": "30мин",
        "rollback": DEPLOY_ROLLBACK,
    },
    {
        "position": 5,
        "kind": StepKind.WORK,
        "name": "Миграция на Calico",
        "description": (
            "Произвести:\n"
            "- установку Calico в новом окружении;\n"
            "- переход на Calico в существующем кластере;\n"
            "- настроить и проверить сетевые политики"
        ),
        "expected_result": (
            "В prod кластере должны быть:\n"
            "- подтверждена установка и настройка плагина Calico в кластере Kubernetes;\n"
            "- настроены сетевые политики\n"
            "- проведены тесты, подтверждающие\n"
            "-сегментацию сетевого трафика между подами;\n"
            "- управление сетевыми политиками и безопасностью доступа между подами на основе ролей и зон безопасности"
        ),
        "risks": STEP5_RISKS,
        "risk_mitigation": (
            "- Заранее проверить настройки  PDB на prod;\n"
            "- Собрать информацию о соответствии конфигурации и сетевых политик dev и prod среды предварительно, "
            "чтобы понимать с какими проблемами можно столкнуться.\n"
            "Перед миграцией достичь максимальной близости сред;\n"
            "- Чтобы вовремя отследить факторы, влияющие на производительность сети нужно продумать и настроить "
            "мониторинг с помощью Prometeus;\n"
            "- Своевременный мониторинг ошибок установки и их исправление;\n"
            "- Ознакомление всех участников с инструкцией по внедрению и эксплуатации;\n"
            "- Риски можно минимизировать через поэтапную миграцию, тщательное тестирование и обучение команды."
        ),
        "affected_systems": "Prod среда;\nKubernetes.",
        "planned_downtime": "нет",
        "executor": CONTRACTOR_PARTY,
        "planned_date": datetime.date(2025, 3, 20),
        "planned_time": datetime.time(20, 5),
        "duration": "2-3 часа",
        "rollback": STEP5_ROLLBACK,
        "jira_key": "",
    },
    {
        **_NO_RISK_STEP,
        "position": 6,
        "kind": StepKind.BANNER_OFF,
        "name": "Снять баннеры",
        "description": "Снять баннеры о проведении технических работ на сервисах Инфосайт, ЛК ЮЛ, ЛК ФЛ, МП Платосфера",
        "expected_result": "Баннеры сняты",
        "executor": DUTY_PARTY,
        # The seed gives a date but no time.
        "planned_date": datetime.date(2025, 3, 20),
        "planned_time": None,
        "duration": "5 мин",
        "rollback": None,
    },
    {
        **_NO_RISK_STEP,
        "position": 7,
        "kind": StepKind.COMPLETION_NOTICE,
        "name": "Произвести рассылку о завершении работ. Убрать баннер.",
        "description": "Произвести рассылку о завершении работ по e-mail от it.info. Убрать баннер.",
        "expected_result": "Рассылка произведена.",
        "executor": DUTY_PARTY,
        "planned_date": datetime.date(2025, 3, 20),
        "planned_time": None,
        "duration": "5 мин",
        "rollback": None,
    },
]

# The sign-off matrix: (job title, full name, username); the seed's row 10 is the duty officer's acknowledgement.
DEMO_APPROVERS = [
    ("рук группы контроля качества и развития ИТ-инфраструктуры", "Кочетов В.Н.", "kochetov"),
    ("владелец продукта", "Кузьмина О.В.", "kuzmina"),
    ("владелец продукта", "Барабанщикова О.И.", "barabanshchikova"),
    ("инженер Интакт", "Шпагин А.В. (Интакт)", "shpagin"),
    ("инженер", "Турчанинов П.В.", "turchaninov"),
    ("руководитель группы поддержки приложений", "Бочарников В.В.", "bocharnikov"),
    ("начальник ООФИС", "Маевский Р.А.", "maevsky"),
    ("начальник ОРИС", "Марченко М.С.", "marchenko"),
    ("Директор по ИТ", "Матвеев И.Б.", "matveev"),
]
DEMO_ACKNOWLEDGER = "Дежурный НЭС"
DEMO_MATRIX_TEMPLATE = "PROD Kubernetes: 9 согласующих + дежурный"

# Sign-off under way, so the demo shows every state: (row position, who signs, comment). Row 5 is
# signed by Turchaninov's deputy; rows 6–9 stay "НА СОГЛАСОВАНИИ", row 10 "НЕ ОЗНАКОМЛЕН".
DEMO_SIGNATURES = [
    (1, "kochetov", ""),
    (2, "kuzmina", ""),
    (3, "barabanshchikova", ""),
    (4, "shpagin", ""),
    (5, "ivanov", "Согласовано на время отпуска Турчанинова П.В. Откат шага 5 проверил."),
]
# (principal, deputy, days before and after today)
DEMO_DELEGATION = ("turchaninov", "ivanov", 7)


# --- users, roles and what the sign-off needs before any plan ---------------------------------------------------


def ensure_users(groups: dict[Role, Group]) -> dict[str, User]:
    """The demo users by username, created when missing (existing users keep their password), in their role groups."""
    User = get_user_model()
    users = {}
    for spec in DEMO_USERS:
        superuser = spec.get("superuser", False)
        user, created = User.objects.get_or_create(
            username=spec["username"],
            defaults={
                "first_name": spec["first_name"],
                "last_name": spec["last_name"],
                "email": f"{spec['username']}@example.org",
                "is_staff": superuser,
                "is_superuser": superuser,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        user.groups.add(*(groups[Role(role)] for role in spec["roles"]))
        users[spec["username"]] = user
    return users


def _ensure_delegation(users):
    """Turchaninov's deputy for today ± 7 days; a new one only when none covers today (demo data grows old)."""
    principal, deputy, days = DEMO_DELEGATION
    today = timezone.localdate()
    covering = Delegation.objects.filter(
        principal=users[principal], deputy=users[deputy], starts_on__lte=today, ends_on__gte=today
    )
    if not covering.exists():
        Delegation.objects.create(
            principal=users[principal],
            deputy=users[deputy],
            created_by=users["admin"],
            reason="Отпуск",
            starts_on=today - datetime.timedelta(days=days),
            ends_on=today + datetime.timedelta(days=days),
        )


def _ensure_matrix_template(users, groups):
    """The seed's matrix as a reusable template: nine approvers in parallel and the duty officer."""
    template, created = MatrixTemplate.objects.get_or_create(
        name=DEMO_MATRIX_TEMPLATE,
        defaults={
            "description": "Лист согласования плана работ в кластере Kubernetes PROD (из плана установки Calico)."
        },
    )
    if created:
        for position, (job_title, person_name, username) in enumerate(DEMO_APPROVERS, start=1):
            MatrixTemplateRow.objects.create(
                template=template, position=position, job_title=job_title, person_name=person_name, user=users[username]
            )
        MatrixTemplateRow.objects.create(
            template=template,
            position=len(DEMO_APPROVERS) + 1,
            kind=RowKind.ACKNOWLEDGEMENT,
            person_name=DEMO_ACKNOWLEDGER,
            group=groups[Role.DUTY_OFFICER],
        )
    return template


# --- services and parties -----------------------------------------------------------------------------------------


def _ensure_services():
    return [
        Service.objects.get_or_create(name=name, defaults={"display_name": display_name})[0]
        for name, display_name in DEMO_SERVICES
    ]


def _ensure_parties(users):
    """The seed's parties by name; Khasanov's is linked to his user."""
    return {
        name: Party.objects.get_or_create(
            name=name, defaults={"kind": kind, "user": users.get(username), "contact": contact}
        )[0]
        for name, kind, username, contact in DEMO_PARTIES
    }


# --- plans and steps ------------------------------------------------------------------------------------------------


def _local(date_and_time, tz):
    return datetime.datetime.combine(*date_and_time).replace(tzinfo=tz)


def local_minute(now: datetime.datetime | None = None) -> datetime.datetime:
    """`now` (by default the current time) in the demo's time zone, to the minute."""
    return (now or timezone.now()).astimezone(zoneinfo.ZoneInfo(DEMO_TIME_ZONE)).replace(second=0, microsecond=0)


def _save_plan(*, author, curator, responsible, **fields):
    plan = Plan(**fields, time_zone=DEMO_TIME_ZONE, curator=curator, responsible=responsible, author=author)
    # clean_fields() would assign the protected status and raise: leave it out.
    plan.full_clean(exclude=["status"])
    plan.save()
    return plan


def save_copy_of_seed(seed: Plan, **changes: Any) -> Plan:
    """A new plan with the seed's header (DEMO_PLAN) and people, and `changes` to its fields."""
    return _save_plan(
        **{**DEMO_PLAN, **changes}, author=seed.author, curator=seed.curator, responsible=seed.responsible
    )


def _create_seed_plan(author, responsible):
    """The seed's header; its window is the seed's local date and time in the demo's time zone."""
    tz = zoneinfo.ZoneInfo(DEMO_TIME_ZONE)
    fields = {
        **DEMO_PLAN,
        "window_start": _local(DEMO_PLAN["window_start"], tz),
        "window_end": _local(DEMO_PLAN["window_end"], tz),
    }
    return _save_plan(**fields, author=author, curator=author, responsible=responsible)


def save_step(step: Step, duration: str) -> Step:
    """Validate and save a new demo step with its duration text ("5 мин.")."""
    step.set_duration(duration)
    step.full_clean(exclude=["status"])  # the protected status, as for the plan (_save_plan)
    step.save()
    return step


def _create_step(plan, spec, parties):
    """One row of DEMO_STEPS with its risks and its rollback actions."""
    step = Step(
        plan=plan,
        position=spec["position"],
        kind=spec["kind"],
        name=spec["name"],
        description=spec["description"],
        expected_result=spec["expected_result"],
        risk_mitigation=spec["risk_mitigation"],
        affected_systems=spec["affected_systems"],
        planned_downtime=spec["planned_downtime"],
        executor=parties[spec["executor"]],
        planned_date=spec["planned_date"],
        planned_time=spec["planned_time"],
        no_rollback_needed=spec["rollback"] is None,
        jira_key=spec["jira_key"],
    )
    save_step(step, spec["duration"])
    _create_risks_and_rollback(step, spec["risks"], spec["rollback"] or ())
    return step


def _create_risks_and_rollback(step, risk_texts, rollback):
    """Risks numbered from 1; each rollback action linked to the risks it answers by their numbers."""
    risks = {
        number: Risk.objects.create(step=step, number=number, description=description)
        for number, description in enumerate(risk_texts, start=1)
    }
    for position, (numbers, text) in enumerate(rollback, start=1):
        action = RollbackAction.objects.create(step=step, position=position, text=text)
        action.risks.set([risks[number] for number in numbers])


def _copy_services(source, plan):
    for plan_service in source.plan_services.all():
        PlanService.objects.create(plan=plan, service=plan_service.service, availability=plan_service.availability)


# --- sign-off -----------------------------------------------------------------------------------------------------


def _create_signoff_rows(plan, users, groups):
    """The seed's matrix: DEMO_APPROVERS, then the duty officer's acknowledgement."""
    for position, (job_title, person_name, username) in enumerate(DEMO_APPROVERS, start=1):
        ApprovalRow.objects.create(
            plan=plan,
            position=position,
            kind=RowKind.APPROVAL,
            job_title=job_title,
            person_name=person_name,
            user=users[username],
        )
    # The status is a protected FSM field: it can only be given at construction.
    ApprovalRow.objects.create(
        plan=plan,
        position=len(DEMO_APPROVERS) + 1,
        kind=RowKind.ACKNOWLEDGEMENT,
        job_title="",
        person_name=DEMO_ACKNOWLEDGER,
        group=groups[Role.DUTY_OFFICER],
        user=None,
        status=ApprovalStatus.NOT_ACKNOWLEDGED,
    )


def _copy_signoff_rows(plan, rows):
    """Copies of `rows` numbered from 1, none signed yet."""
    for position, row in enumerate(rows, start=1):
        ApprovalRow.objects.create(
            plan=plan,
            position=position,
            kind=row.kind,
            job_title=row.job_title,
            person_name=row.person_name,
            user=row.user,
            group=row.group,
            status=ApprovalStatus.NOT_ACKNOWLEDGED if row.kind == RowKind.ACKNOWLEDGEMENT else ApprovalStatus.PENDING,
        )


def _record_loaded(plan):
    """The plan's first history row, as if its author had created it."""
    PlanEvent.objects.create(
        plan=plan,
        actor=plan.author,
        kind=EventKind.CREATED,
        object_type="plan",
        object_id=plan.pk,
        object_label=plan.title,
        to_status=PlanStatus.DRAFT,
        comment="Загружено из демо",
    )


def _start_signoff(plan, users):
    """Submit the plan and sign some rows (DEMO_SIGNATURES) through the real sign-off services, with their history."""
    version = approvals.submit_plan(plan.pk, actor=users["khasanov"])
    rows = {row.position: row for row in plan.approval_rows.all()}
    for position, username, comment in DEMO_SIGNATURES:
        approvals.approve_row(rows[position].pk, actor=users[username], version=version.number, comment=comment)


def _sign_every_row(plan, version, users):
    for row in plan.approval_rows.order_by("position"):
        if row.kind == RowKind.ACKNOWLEDGEMENT:
            approvals.acknowledge_row(row.pk, actor=users["duty"], version=version.number)
        else:
            approvals.approve_row(row.pk, actor=row.user, version=version.number)


def approve_as_in_seed(plan: Plan, rows: Iterable[ApprovalRow], users: dict[str, User]) -> None:
    """Give a new demo plan copies of the seed's sign-off `rows`, submit it and sign every row (APPROVED)."""
    _copy_signoff_rows(plan, rows)
    _record_loaded(plan)
    version = approvals.submit_plan(plan.pk, actor=users["khasanov"])
    _sign_every_row(plan, version, users)


# --- the loaders ----------------------------------------------------------------------------------------------------


def load_demo() -> Plan:
    """Load the seed plan and its users, submitted and partly signed; returns the existing plan untouched when it
    is already there.

    Also makes sure of Turchaninov's deputy for today and of the seed's matrix as a template.
    """
    with transaction.atomic():
        groups = ensure_role_groups()
        users = ensure_users(groups)
        _ensure_delegation(users)
        _ensure_matrix_template(users, groups)
        existing = Plan.objects.filter(title=DEMO_TITLE).order_by("pk").first()
        if existing is not None:
            return existing

        services = _ensure_services()
        parties = _ensure_parties(users)
        plan = _create_seed_plan(users["khasanov"], parties[KHASANOV_PARTY])
        for service in services:
            PlanService.objects.create(plan=plan, service=service, availability=Availability.UNAVAILABLE)
        for spec in DEMO_STEPS:
            _create_step(plan, spec, parties)
        _create_signoff_rows(plan, users, groups)
        _record_loaded(plan)
        _start_signoff(plan, users)
    plan.refresh_from_db()
    return plan


def load_scheduled_demo(now: datetime.datetime | None = None) -> Plan:
    """A copy of the seed plan on a TEST cluster, approved through the real sign-off, whose announcement is due
    two minutes after loading and whose window opens after five: the scheduler, the local mailbox and the
    banner at work without waiting for 20.03.2025. Returns the existing plan untouched when it is already there.
    """
    seed = load_demo()
    with transaction.atomic():
        existing = Plan.objects.filter(title=DEMO_SCHEDULED_TITLE).order_by("pk").first()
        if existing is not None:
            return existing
        users = ensure_users(ensure_role_groups())
        now = local_minute(now)
        window_start = now + datetime.timedelta(minutes=5)
        plan = save_copy_of_seed(
            seed,
            title=DEMO_SCHEDULED_TITLE,
            announcement_subject=DEMO_SCHEDULED_TITLE,
            goal=DEMO_PLAN["goal"].replace("PROD", "TEST"),
            mailing_list=DEMO_SCHEDULED_MAILING_LIST,
            window_start=window_start,
            window_end=window_start + datetime.timedelta(hours=3, minutes=5),
        )
        _copy_services(seed, plan)
        parties = {party.name: party for party in Party.objects.all()}
        for spec in _rescheduled_steps(announce_at=now + datetime.timedelta(minutes=2), window_start=window_start):
            _create_step(plan, spec, parties)
        approve_as_in_seed(plan, seed.approval_rows.order_by("position"), users)
    plan.refresh_from_db()
    return plan


def _rescheduled_steps(*, announce_at, window_start):
    """DEMO_STEPS moved to a window opening at `window_start`: the announcement at `announce_at`, the banner with
    the window, the work five minutes later; the steps the seed gives no time keep none."""
    work_at = window_start + datetime.timedelta(minutes=5)
    times = {1: announce_at, 2: window_start, 3: work_at, 4: work_at, 5: work_at}
    for spec in DEMO_STEPS:
        moment = times.get(spec["position"])
        yield {
            **spec,
            "planned_date": (moment or window_start).date(),
            "planned_time": moment.time() if moment else None,
        }
