"""The change calendar's demo (issue 18): a New Year freeze, a maintenance window for the seed's first service and
three plans in the seed's week, so the calendar and the CAB agenda (/calendar/cab/?start=2025-03-17) show
something: one in review that conflicts with the seed plan on its service, one emergency, one approved.

`load_calendar_demo` is safe to run again: each object is looked up by its title (the window by its note) and only
made when missing. The plans go through the real sign-off services, like `load_scheduled_demo`'s.
"""

from __future__ import annotations

import datetime
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from approvals import services as approvals
from changecalendar.choices import FreezeScope
from changecalendar.models import Freeze, MaintenanceWindow
from changeplans.choices import Availability, PlanKind, StepKind
from changeplans.models import Party, Plan, PlanService, Risk, Service
from changeplans.roles import ensure_role_groups

from .plans import (
    CONTRACTOR_PARTY,
    DEMO_SERVICES,
    DEMO_TIME_ZONE,
    KHASANOV_PARTY,
    _copy_signoff_rows,
    _create_step,
    _record_loaded,
    _sign_every_row,
    ensure_users,
    load_demo,
    save_copy_of_seed,
)

TZ = zoneinfo.ZoneInfo(DEMO_TIME_ZONE)
# The seed's week (the seed plan works on Thursday 20.03.2025): where the CAB agenda link of load_demo points.
DEMO_WEEK_START = datetime.date(2025, 3, 17)

DEMO_FREEZE = {
    "title": "Новогодний мораторий",
    "reason": "Праздничные дни: дежурная смена в сокращённом составе. Только экстренные изменения.",
    "owner": "matveev",
}
# Tuesday and Thursday evenings into the night, on the seed's first service (the seed plan's window is inside).
DEMO_WINDOW = {
    "service": DEMO_SERVICES[0][0],
    "weekdays": [2, 4],
    "starts": datetime.time(20, 0),
    "ends": datetime.time(2, 0),
    "note": "вт/чт 20:00–02:00",
}


@dataclass
class DemoPlan:
    title: str
    kind: str
    start: datetime.datetime
    end: datetime.datetime
    services: list[str]
    downtime: str
    step: dict[str, Any]
    risks: list[tuple[str, str]]  # (risk, mitigation)
    signers: list[str] | None  # who signs after submission (None: every row, approved)
    extra: dict[str, Any] = field(default_factory=dict)


def _at(day: int, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2025, 3, day, hour, minute, tzinfo=TZ)


DEMO_CALENDAR_PLANS = [
    DemoPlan(
        title="Продление сертификата TLS на Инфосайте",
        kind=PlanKind.NORMAL,
        # Overlaps the seed plan (20:00–23:05) on Инфосайт: a conflict both plans show.
        start=_at(20, 22, 30),
        end=_at(20, 23, 30),
        services=["www.nskes.ru"],
        downtime="5 мин",
        step={
            "name": "Заменить сертификат на балансировщике",
            "description": "Загрузить новый сертификат и перезагрузить конфигурацию nginx",
            "expected_result": "Сайт отдаёт новый сертификат, срок действия до 2026 г.",
            "executor": KHASANOV_PARTY,
            "planned_time": datetime.time(22, 30),
            "duration": "30 мин",
        },
        risks=[
            ("Неполная цепочка сертификатов", "Проверить цепочку openssl s_client до замены"),
            ("Обрыв сессий при перезагрузке", "Перезагрузка конфигурации без рестарта (nginx -s reload)"),
        ],
        signers=["kochetov", "kuzmina", "barabanshchikova"],
    ),
    DemoPlan(
        title="Экстренное устранение утечки памяти в ЛК ФЛ",
        kind=PlanKind.EMERGENCY,
        start=_at(19, 1, 30),
        end=_at(19, 2, 30),
        services=["narod.nskes.ru"],
        downtime="до 15 мин",
        step={
            "name": "Раскатить исправление 2.14.1",
            "description": "Выкатить исправленную сборку личного кабинета, перезапустить поды по одному",
            "expected_result": "Память подов стабильна в течение часа, ошибок 5xx нет",
            "executor": CONTRACTOR_PARTY,
            "planned_time": datetime.time(1, 30),
            "duration": "1 час",
        },
        risks=[("Исправление не устранит утечку", "Откат на 2.14.0 и перезапуск подов по расписанию")],
        signers=["kochetov"],
    ),
    DemoPlan(
        title="Обновление мобильного API Платосферы",
        kind=PlanKind.NORMAL,
        start=_at(18, 20, 0),
        end=_at(18, 21, 30),
        services=["platosfera.ru"],
        downtime="нет",
        step={
            "name": "Обновить API до версии 3.2",
            "description": "Сине-зелёное переключение на новую версию API",
            "expected_result": "Новая версия отвечает, мобильное приложение работает",
            "executor": CONTRACTOR_PARTY,
            "planned_time": datetime.time(20, 0),
            "duration": "1,5 часа",
        },
        risks=[("Несовместимость со старыми версиями приложения", "Оставить v3.1 доступной ещё месяц")],
        signers=None,
    ),
]


def new_year_freeze(today: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """The coming (or current) New Year holidays, 31.12–10.01: the demo's freeze shows on today's calendar."""
    year = today.year - 1 if today < datetime.date(today.year, 1, 11) else today.year
    return (
        datetime.datetime(year, 12, 31, 0, 0, tzinfo=TZ),
        datetime.datetime(year + 1, 1, 11, 0, 0, tzinfo=TZ),  # 10.01 included
    )


def _ensure_freeze(users: dict[str, Any]) -> Freeze:
    starts_at, ends_at = new_year_freeze(timezone.localdate(timezone=TZ))
    spec = {**DEMO_FREEZE, "owner": users[DEMO_FREEZE["owner"]], "starts_at": starts_at, "ends_at": ends_at}
    existing = Freeze.objects.filter(title=spec["title"]).first()
    if existing is not None:
        return existing
    return Freeze.objects.create(**spec, scope=FreezeScope.GLOBAL, created_by=users["admin"])


def _ensure_window() -> MaintenanceWindow:
    service = Service.objects.get(name=DEMO_WINDOW["service"])
    window, _created = MaintenanceWindow.objects.get_or_create(
        service=service,
        note=DEMO_WINDOW["note"],
        defaults={
            "weekdays": DEMO_WINDOW["weekdays"],
            "starts": DEMO_WINDOW["starts"],
            "ends": DEMO_WINDOW["ends"],
            "time_zone": DEMO_TIME_ZONE,
        },
    )
    return window


def _create_plan(seed: Plan, spec: DemoPlan, users: dict[str, Any]) -> Plan:
    plan = save_copy_of_seed(
        seed,
        title=spec.title,
        announcement_subject=spec.title,
        goal=spec.step["name"],
        kind=spec.kind,
        window_start=spec.start,
        window_end=spec.end,
        downtime_text=spec.downtime,
        client_impact=spec.downtime != "нет",
        banner_needed=False,
        **spec.extra,
    )
    services = Service.objects.filter(name__in=spec.services).order_by("name")
    for service in services:
        PlanService.objects.create(plan=plan, service=service, availability=Availability.UNAVAILABLE)
    parties = {party.name: party for party in Party.objects.all()}
    step = _create_step(
        plan,
        {
            **spec.step,
            "position": 1,
            "kind": StepKind.WORK,
            "risks": [],
            "risk_mitigation": "",
            "affected_systems": ", ".join(service.display_name for service in services),
            "planned_downtime": spec.downtime,
            "planned_date": spec.start.date(),
            "rollback": None,
            "jira_key": "",
        },
        parties,
    )
    for number, (risk, mitigation) in enumerate(spec.risks, start=1):
        Risk.objects.create(step=step, number=number, description=risk, mitigation=mitigation)
    _copy_signoff_rows(plan, seed.approval_rows.order_by("position"))
    _record_loaded(plan)
    version = approvals.submit_plan(plan.pk, actor=users["khasanov"])
    if spec.signers is None:
        _sign_every_row(plan, version, users)
    else:
        rows = {row.user_id: row for row in plan.approval_rows.filter(user__isnull=False)}
        for username in spec.signers:
            approvals.approve_row(rows[users[username].pk].pk, actor=users[username], version=version.number)
    plan.refresh_from_db()
    return plan


def load_calendar_demo() -> list[Plan]:
    """The freeze, the maintenance window and DEMO_CALENDAR_PLANS (existing ones untouched); returns the plans."""
    seed = load_demo()
    plans = []
    with transaction.atomic():
        users = ensure_users(ensure_role_groups())
        _ensure_freeze(users)
        _ensure_window()
        # Кочетов В.Н. signs emergency changes: with the duty officer's acknowledgement the demo's emergency plan
        # can start before its full sign-off (docs/change-types.md).
        Group.objects.get_or_create(name=settings.OKNO_EMERGENCY_GROUP)[0].user_set.add(users["kochetov"])
        for spec in DEMO_CALENDAR_PLANS:
            existing = Plan.objects.filter(title=spec.title).order_by("pk").first()
            plans.append(existing or _create_plan(seed, spec, users))
    return plans
