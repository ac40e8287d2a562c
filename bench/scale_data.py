"""The scale data set of issue 16: an organisation's years of plans, built in minutes with PostgreSQL COPY.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/okno .venv/bin/python bench/scale_data.py
    .venv/bin/python bench/scale_data.py --plans 2000 --events 20000     # a quick one

Drops and recreates the PostgreSQL database "okno_bench_scale", migrates it (so every index and constraint
is the migrations' own), then writes with COPY: a few hundred users in the project's role groups, services,
parties, 50,000 plans across every status with ~8 steps each (texts from bench/data.py's templates, risks,
rollback actions tied to them), affected services, sign-off matrices and versions (one approver, "busy_approver",
waits on a few hundred plans), 500,000 history events, and a 100-step and a 2,000-step draft of "bench_author".
The database is kept; bench/scale.py measures on it. `build()` is also what tests/bench/ calls on the test
database at a tiny size.
"""

import argparse
import datetime
import json
import os
import random
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DB_NAME = "okno_bench_scale"
PLANS = 50_000
EVENTS = 500_000
CHUNK = 2_000  # plans per COPY round: bounded memory, large batches
FLUSH_ORDER = ("plan", "plan_service", "step", "risk", "rollback", "rollback_risks", "version", "row", "event")
BENCH_AUTHOR = "bench_author"
BUSY_APPROVER = "busy_approver"
LONG_STEPS = (100, 2000)  # the bench author's drafts

UTC = datetime.UTC
NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # fixed: the same data set on every run
HISTORY_START = datetime.datetime(2020, 1, 13, 14, 0, tzinfo=UTC)

# (status, share): a real organisation's archive is mostly finished work.
STATUS_SHARES = (
    ("completed", 0.62),
    ("cancelled", 0.08),
    ("completed_with_rollback", 0.03),
    ("failed", 0.01),
    ("draft", 0.09),
    ("in_review", 0.08),
    ("rejected", 0.03),
    ("approved", 0.05),
    ("in_progress", 0.01),
)
FINISHED = {"completed", "completed_with_rollback", "failed"}
SUBMITTED = {"in_review", "rejected", "approved", "in_progress", *FINISHED}
BUSY_SHARE_IN_REVIEW = 0.075  # of plans in review: ~300 waiting rows of the busy approver at 50,000 plans

SURNAMES = (
    "Иванов Петров Сидоров Кузнецов Смирнов Попов Васильев Соколов Михайлов Новиков Фёдоров Морозов Волков "
    "Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев Орлов Андреев Макаров Никитин Захаров "
    "Зайцев Соловьёв Борисов Яковлев Григорьев Романов Воробьёв Сергеев Кочетов Хасанов Матвеев Белов Тарасов"
).split()
FIRST_NAMES = "Александр Алексей Андрей Анна Виктор Владимир Дмитрий Елена Иван Ирина Мария Михаил Наталья Олег Павел Сергей Татьяна Юрий".split()  # noqa: E501
PATRONYMIC_INITIALS = "АВГДИМНОПСФЮ"
JOB_TITLES = (
    "Начальник отдела эксплуатации",
    "Руководитель группы Kubernetes",
    "Главный инженер",
    "Руководитель службы ИБ",
    "Начальник отдела сопровождения",
    "Руководитель проекта",
    "Ведущий администратор баз данных",
    "Начальник ЦОД",
)
SERVICES = (
    ("www.nskes.ru", "Инфосайт"),
    ("lk.nskes.ru", "ЛК ЮЛ"),
    ("narod.nskes.ru", "ЛК ФЛ"),
    ("platosfera.ru", "МП Платосфера"),
    ("billing.corp", "Биллинг"),
    ("crm.corp", "CRM"),
    ("mail.corp", "Почта"),
    ("portal.corp", "Корпоративный портал"),
    ("1c.corp", "1С:Бухгалтерия"),
    ("gitlab.corp", "GitLab"),
    ("jira.corp", "Jira"),
    ("confluence.corp", "Confluence"),
    ("k8s-prod.corp", "Kubernetes PROD"),
    ("k8s-test.corp", "Kubernetes TEST"),
    ("minio.corp", "S3 Minio"),
    ("vault.corp", "Vault"),
    ("grafana.corp", "Grafana"),
    ("pay.nskes.ru", "Оплата онлайн"),
    ("api.nskes.ru", "Открытое API"),
    ("sms.corp", "SMS-шлюз"),
    ("edo.corp", "ЭДО"),
    ("dwh.corp", "Хранилище данных"),
    ("vpn.corp", "VPN"),
    ("ad.corp", "Active Directory"),
)
TEAMS = (
    "Дежурный ООФИС",
    "Группа эксплуатации Kubernetes",
    "Группа администрирования баз данных",
    "Сетевая группа",
    "Служба ИБ",
    "Группа сопровождения 1С",
    "Группа мониторинга",
    "Группа хранения данных",
)
CONTRACTORS = ("ООО «ПрофСофт»", "ООО «Сетевые решения»", "АО «ДатаЦентр»")
CLUSTERS = ("PROD", "TEST", "DR", "GLOBAL", "EDGE")
DATABASES_ = ("billing", "crm", "portal", "dwh", "edo", "lk")
TITLES = (
    "Плановое обслуживание узла {node} кластера Kubernetes {cluster}",
    "Миграция базы данных {db} на PostgreSQL {pg}",
    "Миграция сетевого плагина на Calico в кластере {cluster}",
    "Обновление Kubernetes {cluster} до версии 1.{minor}",
    "Замена узла хранения в кластере S3 Minio",
    "Перевыпуск сертификатов control plane кластера {cluster}",
    "Вывод узла {node} из эксплуатации",
    "Обновление {service}",
    "Перенос {service} в резервный ЦОД",
    "Расширение дискового массива под {db}",
    "Миграция {service} на новый сервер",
    "Обновление ядра на узлах кластера {cluster}",
)
GOALS = (
    "Обновить узлы кластера, перейти на поддерживаемую версию и проверить резервное копирование",
    "Снизить риск отказа: заменить оборудование, выработавшее ресурс",
    "Перенести сервис на новую площадку без потери данных",
    "Устранить уязвимость, выпустить обновление безопасности",
    "Увеличить запас ресурсов перед сезонной нагрузкой",
)
DURATIONS = ("5 мин", "10 мин", "15 мин", "30 мин", "1 час", "1-2 часа", "2-3 часа")
DOWNTIMES = ("", "нет", "до 15 мин", "30 мин", "до 1 ч")
STATED = ("", "4 ч", "6 часов", "3-4 часа")
EDIT_FIELDS = (
    ("duration_text", "1 час", "1-2 часа"),
    ("expected_result", "Сервис доступен", "Сервис доступен, в логах нет ошибок"),
    ("planned_downtime", "нет", "до 15 мин"),
    ("executor", "Дежурный ООФИС", "Группа эксплуатации Kubernetes"),
)


# --- writing rows: COPY on PostgreSQL, executemany elsewhere ------------------------------------------------


class Table:
    """One model's table: the columns this module fills, then every other concrete column at its default.

    A column another change adds to a model later is filled with its Python default, so the builder keeps
    working; a new column without a default fails loudly (NOT NULL) instead of guessing a value."""

    def __init__(self, model, columns: Sequence[str]):
        from django.db import connection, models

        self.model = model
        self.name = model._meta.db_table
        concrete = [f for f in model._meta.concrete_fields if not getattr(f, "generated", False)]
        by_attname = {f.attname: f for f in concrete}
        unknown = [c for c in columns if c not in by_attname]
        if unknown:
            raise ValueError(f"{self.name} has no column {unknown}")
        rest = [f for f in concrete if f.attname not in columns]
        self.columns = [by_attname[c].column for c in columns] + [f.column for f in rest]
        tail = []
        for f in rest:
            if isinstance(f, models.JSONField):
                tail.append(json.dumps(f.get_default(), ensure_ascii=False))
            elif isinstance(f, models.DateTimeField) and (f.auto_now or f.auto_now_add):
                tail.append(NOW)
            else:
                tail.append(f.get_db_prep_save(f.get_default(), connection))
        self.tail = tuple(tail)


class Writer:
    def __init__(self):
        from django.db import connection

        self.connection = connection
        self.postgres = connection.vendor == "postgresql"
        self.counts: dict[str, int] = {}

    def write(self, table: Table, rows: Iterable[tuple]):
        tail = table.tail
        quoted = ", ".join(self.connection.ops.quote_name(c) for c in table.columns)
        n = 0
        with self.connection.cursor() as cursor:
            if self.postgres:
                with cursor.cursor.copy(
                    f"COPY {self.connection.ops.quote_name(table.name)} ({quoted}) FROM STDIN"
                ) as copy:
                    for row in rows:
                        copy.write_row(row + tail)
                        n += 1
            else:
                marks = ", ".join(["%s"] * len(table.columns))
                batch = [row + tail for row in rows]
                cursor.executemany(f"INSERT INTO {table.name} ({quoted}) VALUES ({marks})", batch)
                n = len(batch)
        self.counts[table.name] = self.counts.get(table.name, 0) + n
        return n


class Ids:
    """Primary keys handed out here (COPY needs them for the foreign keys); sequences are reset at the end."""

    def __init__(self, models):
        from django.db.models import Max

        self.next = {m: (m.objects.aggregate(n=Max("pk"))["n"] or 0) + 1 for m in models}

    def take(self, model, n=1):
        first = self.next[model]
        self.next[model] = first + n
        return first


# --- what is built ---------------------------------------------------------------------------------------


@dataclass
class People:
    users: list = field(default_factory=list)  # (id, display name)
    authors: list = field(default_factory=list)
    approvers: list = field(default_factory=list)
    operators: list = field(default_factory=list)
    duty: list = field(default_factory=list)
    parties: list = field(default_factory=list)  # (id, name, contact)
    services: list = field(default_factory=list)
    names: dict = field(default_factory=dict)  # user id → display name
    duty_group: int = 0
    bench_author: int = 0
    busy_approver: int = 0


@dataclass
class Result:
    plans: int = 0
    events: int = 0
    seconds: float = 0.0
    counts: dict = field(default_factory=dict)
    bench_author: int = 0
    busy_approver: int = 0
    long_plans: dict = field(default_factory=dict)  # steps → plan id
    busy_waiting_plans: int = 0


def _display(last, first, patronymic):
    return f"{last} {first[0]}.{patronymic}."


class Builder:
    def __init__(self, *, seed=16, progress: Callable[[str], None] | None = None):
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group

        from approvals.models import ApprovalRow
        from changeplans.models import (
            Party,
            Plan,
            PlanEvent,
            PlanService,
            PlanVersion,
            Risk,
            RollbackAction,
            Service,
            Step,
        )

        self.rng = random.Random(seed)
        self.progress = progress or (lambda message: None)
        self.writer = Writer()
        User = get_user_model()
        self.M = {
            "user": User,
            "group": Group,
            "user_groups": User.groups.through,
            "service": Service,
            "party": Party,
            "plan": Plan,
            "plan_service": PlanService,
            "step": Step,
            "risk": Risk,
            "rollback": RollbackAction,
            "rollback_risks": RollbackAction.risks.through,
            "version": PlanVersion,
            "row": ApprovalRow,
            "event": PlanEvent,
        }
        self.ids = Ids([m for key, m in self.M.items() if key != "group"])
        M = self.M
        self.t_user = Table(
            User, ["id", "password", "username", "first_name", "last_name", "email", "is_active", "date_joined"]
        )
        self.t_user_groups = Table(M["user_groups"], ["id", "user_id", "group_id"])
        self.t_service = Table(
            Service, ["id", "name", "display_name", "owner", "mailing_list", "banner_origins", "shows_banner"]
        )
        self.t_party = Table(Party, ["id", "name", "kind", "user_id", "contact"])
        self.t_plan = Table(
            Plan,
            [
                "id", "title", "goal", "kind", "status", "time_zone", "window_start", "window_end", "downtime_text",
                "downtime_max_minutes", "stated_duration_text", "stated_duration_minutes", "client_impact",
                "banner_needed", "curator_id", "responsible_id", "responsible_contact", "jira_url", "mailing_list",
                "author_id", "revision", "created_at", "updated_at", "started_at", "finished_at",
            ],
        )  # fmt: skip
        self.t_plan_service = Table(PlanService, ["id", "plan_id", "service_id", "availability"])
        self.t_step = Table(
            Step,
            [
                "id", "plan_id", "position", "kind", "name", "description", "expected_result", "risk_mitigation",
                "affected_systems", "planned_downtime", "planned_downtime_max_minutes", "executor_id", "planned_date",
                "planned_time", "duration_text", "duration_min", "duration_max", "jira_key", "status", "actual_start",
                "actual_end", "done_by_id", "started_by_id",
            ],
        )  # fmt: skip
        self.t_risk = Table(Risk, ["id", "step_id", "number", "description", "mitigation"])
        self.t_rollback = Table(RollbackAction, ["id", "step_id", "position", "text", "status"])
        self.t_rollback_risks = Table(M["rollback_risks"], ["id", "rollbackaction_id", "risk_id"])
        self.t_version = Table(PlanVersion, ["id", "plan_id", "number", "created_at", "created_by_id", "snapshot"])
        self.t_row = Table(
            ApprovalRow,
            [
                "id", "plan_id", "position", "kind", "job_title", "person_name", "user_id", "group_id", "stage",
                "status", "decided_at", "decided_by_id", "version_id",
            ],
        )  # fmt: skip
        self.t_event = Table(
            PlanEvent,
            [
                "id", "plan_id", "at", "actor_id", "kind", "object_type", "object_id", "object_label", "from_status",
                "to_status", "comment", "changes",
            ],
        )  # fmt: skip
        from bench.data import NODES, TEMPLATES
        from changeplans.durations import parse_downtime, parse_duration, parse_total_duration

        self.templates = TEMPLATES
        self.nodes = NODES
        self.durations = [(text, parse_duration(text)) for text in DURATIONS]
        self.downtimes = {text: parse_downtime(text) for text in DOWNTIMES}
        self.stated = {text: parse_total_duration(text) for text in STATED}
        self.people = People()
        # Rows waiting for their COPY, by table, written in this order (foreign keys point backwards).
        self.buffer: dict[str, list[tuple]] = {key: [] for key in FLUSH_ORDER}
        self.events = self.buffer["event"]
        self.fillers: list[tuple] = []  # per plan: what extra history it may get (see _fill_history)
        self.essential_events = 0
        self.busy_waiting = 0

    # --- people, services, parties --------------------------------------------------------------------

    def build_people(self, n_users=300):
        from django.contrib.auth.hashers import make_password

        from changeplans.choices import PartyKind, Role
        from changeplans.roles import ensure_role_groups

        groups = {role.value: group.pk for role, group in ensure_role_groups().items()}
        password = make_password("okno")
        rng, p = self.rng, self.people
        users, memberships = [], []
        shares = (("author", 0.45), ("approver", 0.33), ("duty_officer", 0.07), ("operator", 0.13), ("admin", 0.02))
        specs = [(BENCH_AUTHOR, "author"), (BUSY_APPROVER, "approver")]
        for role, share in shares:
            specs += [(f"{role}{n:03d}", role) for n in range(1, max(2, round(n_users * share)) + 1)]
        first_id = self.ids.take(self.M["user"], len(specs))
        for offset, (username, role) in enumerate(specs):
            uid = first_id + offset
            last, first = SURNAMES[offset % len(SURNAMES)], FIRST_NAMES[(offset * 7) % len(FIRST_NAMES)]
            patronymic = PATRONYMIC_INITIALS[offset % len(PATRONYMIC_INITIALS)]
            if username == BENCH_AUTHOR:
                last, first, patronymic = "Замеров", "Борис", "Б"
            elif username == BUSY_APPROVER:
                last, first, patronymic = "Занятов", "Андрей", "В"
            users.append((uid, password, username, first, last, f"{username}@example.org", True, HISTORY_START))
            p.names[uid] = _display(last, first, patronymic)
            roles = [role] + (["approver"] if role == "author" and rng.random() < 0.2 else [])
            memberships += [(uid, groups[r]) for r in roles]
            {"author": p.authors, "approver": p.approvers, "operator": p.operators, "duty_officer": p.duty}.get(
                role, []
            ).append(uid)
            p.users.append(uid)
            if username == BENCH_AUTHOR:
                p.bench_author = uid
            elif username == BUSY_APPROVER:
                p.busy_approver = uid
        p.approvers.remove(p.busy_approver)  # placed on purpose, never at random
        self.writer.write(self.t_user, users)
        first_membership = self.ids.take(self.M["user_groups"], len(memberships))
        self.writer.write(self.t_user_groups, ((first_membership + i, *m) for i, m in enumerate(memberships)))
        p.duty_group = groups[Role.DUTY_OFFICER.value]

        first_service = self.ids.take(self.M["service"], len(SERVICES))
        self.writer.write(
            self.t_service,
            (
                (
                    first_service + i,
                    name,
                    display,
                    "Группа эксплуатации",
                    "it-info@example.org",
                    f"https://{name}",
                    True,
                )
                for i, (name, display) in enumerate(SERVICES)
            ),
        )
        p.services = list(range(first_service, first_service + len(SERVICES)))

        parties = [(name, PartyKind.TEAM.value, None, "+7 383 200-00-00") for name in TEAMS]
        parties += [(name, PartyKind.CONTRACTOR.value, None, "support@example.org") for name in CONTRACTORS]
        people_parties = p.authors + p.operators + p.duty
        parties += [(p.names[uid], PartyKind.PERSON.value, uid, f"+7 913 {uid:07d}") for uid in people_parties]
        seen, unique = set(), []
        for party in parties:  # Party.name is unique: two people may share a display name
            if party[0] not in seen:
                seen.add(party[0])
                unique.append(party)
        first_party = self.ids.take(self.M["party"], len(unique))
        self.writer.write(self.t_party, ((first_party + i, *party) for i, party in enumerate(unique)))
        p.parties = [(first_party + i, party[0], party[3]) for i, party in enumerate(unique)]

    # --- plans ------------------------------------------------------------------------------------------

    def _pick_status(self, index):
        if index < len(STATUS_SHARES):  # every status, however small the data set
            return STATUS_SHARES[index][0]
        roll, total = self.rng.random(), 0.0
        for status, share in STATUS_SHARES:
            total += share
            if roll < total:
                return status
        return STATUS_SHARES[0][0]

    def _step_count(self):
        roll = self.rng.random()
        if roll < 0.88:
            return self.rng.randint(3, 10)
        if roll < 0.98:
            return self.rng.randint(11, 20)
        return self.rng.randint(30, 80)

    def _window(self, status):
        rng = self.rng
        if status in FINISHED or status == "cancelled":
            span = (NOW - datetime.timedelta(days=3) - HISTORY_START).total_seconds()
            day = HISTORY_START + datetime.timedelta(seconds=rng.random() * span)
        elif status == "in_progress":
            day = NOW - datetime.timedelta(hours=1)
        elif status == "rejected" or (status == "draft" and rng.random() < 0.3):
            day = NOW - datetime.timedelta(days=rng.randint(1, 60))
        else:
            day = NOW + datetime.timedelta(days=rng.randint(1, 90))
        start = day.replace(hour=13 + rng.randint(0, 3), minute=0, second=0, microsecond=0)  # 20:00–23:00 NSK
        if status == "in_progress":
            start = NOW - datetime.timedelta(hours=1)
        return start, start + datetime.timedelta(hours=rng.choice((2, 3, 4, 6, 8)))

    def _title(self, index):
        rng = self.rng
        template = TITLES[index % len(TITLES)]
        return template.format(
            node=rng.choice(self.nodes),
            cluster=rng.choice(CLUSTERS),
            db=rng.choice(DATABASES_),
            pg=rng.choice((14, 15, 16, 17)),
            minor=rng.randint(26, 31),
            service=SERVICES[rng.randrange(len(SERVICES))][1],
        )

    def _steps(self, plan_id, n_steps, start, status, *, spacing, offset=0, risk_rows=True):
        """Rows of the plan's steps, risks, rollback actions and their links; returns [(step id, label)]."""
        rng, p, M = self.rng, self.people, self.M
        first = self.ids.take(M["step"], n_steps)
        steps, risks, rollbacks, links, labels = [], [], [], [], []
        failed_at = rng.randrange(n_steps) if status in ("failed", "completed_with_rollback") else -1
        running_at = n_steps // 2 if status == "in_progress" else -1
        for index in range(n_steps):
            step_id = first + index
            name, description, expected, affected, template_risks, rollback = self.templates[
                (index + offset) % len(self.templates)
            ]
            node = self.nodes[(index + offset) % len(self.nodes)]
            when = start + spacing * index
            duration_text, duration = self.durations[(index + offset) % len(self.durations)]
            downtime = "нет" if index % 3 else "до 15 мин"
            picked = template_risks[: 1 + (index + offset) % len(template_risks)]
            step_status, actual_start, actual_end, done_by = "pending", None, None, None
            if status in FINISHED or (status == "in_progress" and index < running_at):
                step_status, actual_start = "done", when
                actual_end, done_by = when + spacing * 0.8, rng.choice(p.operators)
                if index == failed_at:
                    step_status = "rolled_back" if status == "completed_with_rollback" else "failed"
                elif status == "failed" and index > failed_at >= 0:
                    step_status, actual_start, actual_end, done_by = "pending", None, None, None
            elif index == running_at:
                step_status, actual_start = "in_progress", when
            label = name.format(node=node)
            steps.append(
                (
                    step_id, plan_id, index + 1, "work", label, description.format(node=node),
                    expected.format(node=node), "\n".join(f"- {m};" for _, m in picked), affected.format(node=node),
                    downtime, self.downtimes[downtime], p.parties[(index + offset) % len(p.parties)][0],
                    when.date(), when.time(), duration_text, duration.min_minutes, duration.max_minutes,
                    f"OPS-{10000 + (step_id % 90000)}", step_status, actual_start, actual_end, done_by,
                    done_by,
                )
            )  # fmt: skip
            labels.append((step_id, f"{index + 1}. {label}"[:300]))
            if not risk_rows:
                continue
            first_risk = self.ids.take(M["risk"], len(picked))
            risks += [(first_risk + n, step_id, n + 1, d, m) for n, (d, m) in enumerate(picked)]
            action_id = self.ids.take(M["rollback"])
            rollbacks.append((action_id, step_id, 1, rollback.format(node=node), "pending"))
            first_link = self.ids.take(M["rollback_risks"], len(picked))
            links += [(first_link + n, action_id, first_risk + n) for n in range(len(picked))]
        self.buffer["step"] += steps
        self.buffer["risk"] += risks
        self.buffer["rollback"] += rollbacks
        self.buffer["rollback_risks"] += links
        return labels

    def _label(self, index, offset):
        name = self.templates[(index + offset) % len(self.templates)][0]
        return f"{index + 1}. {name.format(node=self.nodes[(index + offset) % len(self.nodes)])}"[:300]

    def _snapshot(self, plan_row, labels, steps_cache, *, edited=False):
        header = {
            "title": plan_row[1],
            "goal": plan_row[2],
            "kind": plan_row[3],
            "time_zone": plan_row[5],
            "window_start": plan_row[6].strftime("%d.%m.%Y %H:%M"),
            "window_end": plan_row[7].strftime("%d.%m.%Y %H:%M"),
            "downtime_text": plan_row[8],
            "stated_duration_text": plan_row[10],
            "client_impact": plan_row[12],
            "banner_needed": plan_row[13],
            "responsible": "",
            "services": [],
        }
        steps = [
            dict(steps_cache[i % len(steps_cache)], id=step_id, position=i + 1) for i, (step_id, _) in enumerate(labels)
        ]
        if edited:  # a material edit after submission: the first step's duration
            steps[0] = dict(steps[0], duration_text="2 часа")
        return json.dumps({"header": header, "steps": steps}, ensure_ascii=False)

    def _step_snapshots(self):
        cached = []
        for index, (name, description, expected, affected, risks, rollback) in enumerate(self.templates):
            node = self.nodes[index]
            cached.append(
                {
                    "kind": "work",
                    "name": name.format(node=node),
                    "description": description.format(node=node),
                    "expected_result": expected.format(node=node),
                    "affected_systems": affected.format(node=node),
                    "duration_text": DURATIONS[index % len(DURATIONS)],
                    "risks": [f"{n}. {d} — {m}" for n, (d, m) in enumerate(risks, start=1)],
                    "rollback_actions": [rollback.format(node=node)],
                }
            )
        return cached

    def add_plans(self, n_plans):
        """n_plans plans in every status, with their steps, matrices, versions and essential history."""
        rng, p, M = self.rng, self.people, self.M
        steps_cache = self._step_snapshots()
        done = 0
        while done < n_plans:
            chunk = min(CHUNK, n_plans - done)
            plans, services, versions, rows = (self.buffer[k] for k in ("plan", "plan_service", "version", "row"))
            first_plan = self.ids.take(M["plan"], chunk)
            for offset in range(chunk):
                plan_id, index = first_plan + offset, done + offset
                status = self._pick_status(index)
                start, end = self._window(status)
                created = start - datetime.timedelta(days=rng.randint(3, 30), hours=rng.randint(0, 8))
                author = rng.choice(p.authors)
                party_id, _, contact = p.parties[rng.randrange(len(p.parties))]
                downtime, stated = rng.choice(DOWNTIMES), rng.choice(STATED)
                started = start + datetime.timedelta(minutes=5) if status in FINISHED | {"in_progress"} else None
                finished = end - datetime.timedelta(minutes=20) if status in FINISHED else None
                plan = (
                    plan_id, self._title(index), rng.choice(GOALS),
                    "normal" if rng.random() < 0.85 else rng.choice(("standard", "emergency")), status,
                    "Asia/Novosibirsk" if rng.random() < 0.9 else "Europe/Moscow", start, end, downtime,
                    self.downtimes[downtime], stated, self.stated[stated], rng.random() < 0.4, rng.random() < 0.3,
                    rng.choice(p.approvers), party_id, contact, f"https://jira.example.org/browse/OPS-{20000 + index}",
                    "it-info@example.org", author, rng.randint(1, 6), created, finished or created, started, finished,
                )  # fmt: skip
                plans.append(plan)
            for plan in list(plans):
                plan_id, status, start, created, author = plan[0], plan[4], plan[6], plan[21], plan[19]
                first_ps = self.ids.take(M["plan_service"], 3)
                for n, service in enumerate(rng.sample(p.services, rng.randint(1, 3))):
                    services.append((first_ps + n, plan_id, service, rng.choice(("unavailable", "degraded"))))
                n_steps = self._step_count()
                spacing = (plan[7] - start) / (n_steps + 1)
                labels = self._steps(plan_id, n_steps, start, status, spacing=spacing, offset=plan_id % 10)
                submitted_at = created + datetime.timedelta(days=1)
                version_ids = []
                if status in SUBMITTED or (status == "cancelled" and plan_id % 2):
                    # The first plan in review has two (and the busy approver waits on it, see _matrix): however
                    # small the data set, the inbox shows "changed since you signed" as at full size.
                    first_review = status == "in_review" and not self.busy_waiting
                    n_versions = 2 if status == "in_review" and (first_review or rng.random() < 0.2) else 1
                    first_version = self.ids.take(M["version"], n_versions)
                    for number in range(n_versions):
                        at = submitted_at + datetime.timedelta(hours=6 * number)
                        snapshot = self._snapshot(plan, labels, steps_cache, edited=number > 0)
                        versions.append((first_version + number, plan_id, number + 1, at, author, snapshot))
                        version_ids.append(first_version + number)
                plan_rows = self._matrix(plan, version_ids, submitted_at)
                rows += plan_rows
                self._essential_history(plan, version_ids, submitted_at, plan_rows)
                self.fillers.append((plan_id, status, created, submitted_at, start, labels[0][0], len(labels), author))
            self.flush()
            done += chunk
            self.progress(f"  {done:,} plans")

    def _matrix(self, plan, version_ids, submitted_at):
        """The sign-off matrix: four approvers (two stages for a third of plans) and the duty acknowledgement."""
        rng, p, M = self.rng, self.people, self.M
        plan_id, status = plan[0], plan[4]
        if status == "draft" and rng.random() < 0.5:
            return []
        busy_waits = status == "in_review" and (not self.busy_waiting or rng.random() < BUSY_SHARE_IN_REVIEW)
        people = rng.sample(p.approvers, 4)
        if busy_waits or (status != "in_review" and rng.random() < 0.05):
            people[0] = p.busy_approver
        sequential = rng.random() < 0.3
        rejected_at = rng.randrange(1, 4) if status == "rejected" else -1
        first = self.ids.take(M["row"], 5)
        rows = []
        for position, user in enumerate(people, start=1):
            stage = 1 if not sequential or position <= 2 else 2
            decided = status in SUBMITTED - {"in_review", "rejected"} or (
                status in ("in_review", "rejected") and position > 1 and stage == 1 and rng.random() < 0.5
            )
            row_status = "approved" if decided else "pending"
            if position == rejected_at + 1:
                row_status, decided = "rejected", True
            when = submitted_at + datetime.timedelta(hours=position) if decided else None
            rows.append(
                (
                    first + position - 1, plan_id, position, "approval",
                    JOB_TITLES[(user + position) % len(JOB_TITLES)], p.names[user], user, None, stage, row_status,
                    when, user if decided else None,
                    version_ids[-1] if decided and version_ids else None,
                )
            )  # fmt: skip
        acknowledged = status in FINISHED | {"approved", "in_progress"}
        rows.append(
            (
                first + 4, plan_id, 5, "acknowledgement", "Дежурный", "Дежурная смена", None, p.duty_group,
                1, "acknowledged" if acknowledged else "not_acknowledged",
                submitted_at + datetime.timedelta(hours=6) if acknowledged else None,
                p.duty[plan_id % len(p.duty)] if acknowledged else None,
                version_ids[-1] if acknowledged and version_ids else None,
            )
        )  # fmt: skip
        if busy_waits:
            self.busy_waiting += 1
        return rows

    def _event(
        self,
        plan_id,
        at,
        actor,
        kind,
        object_type,
        object_id,
        label,
        from_status="",
        to_status="",
        comment="",
        changes=None,
    ):
        event_id = self.ids.take(self.M["event"])
        self.events.append(
            (
                event_id, plan_id, at, actor, kind, object_type, object_id, label, from_status, to_status, comment,
                json.dumps(changes or {}, ensure_ascii=False),
            )
        )  # fmt: skip

    def _essential_history(self, plan, version_ids, submitted_at, rows):
        """created, versions, each status change and each decision: what every plan of that status has."""
        plan_id, title, status, start, created, author = plan[0], plan[1][:300], plan[4], plan[6], plan[21], plan[19]
        before = len(self.events)
        self._event(plan_id, created, author, "created", "plan", plan_id, title, to_status="draft")
        if not version_ids:
            if status == "cancelled":
                self._event(plan_id, created + datetime.timedelta(days=2), author, "transition", "plan", plan_id,
                            title, "draft", "cancelled", "Работы перенесены")  # fmt: skip
            self.essential_events += len(self.events) - before
            return
        for number, _ in enumerate(version_ids, start=1):
            at = submitted_at + datetime.timedelta(hours=6 * (number - 1))
            self._event(plan_id, at, author, "version", "plan", plan_id, title, comment=f"Версия {number}")
        self._event(plan_id, submitted_at, author, "transition", "plan", plan_id, title, "draft", "in_review")
        if len(version_ids) > 1:  # signed version 1, reset by version 2 (approvers see what changed since)
            for row in (r for r in rows if r[3] == "approval"):
                at = submitted_at + datetime.timedelta(hours=1, minutes=row[2])
                self._event(plan_id, at, row[6], "transition", "approvalrow", row[0], f"{row[2]}. {row[5]}",
                            "pending", "approved")  # fmt: skip
        for row in (r for r in rows if r[10] is not None):
            to = row[9]
            self._event(plan_id, row[10], row[11], "transition", "approvalrow", row[0], f"{row[2]}. {row[5]}",
                        "not_acknowledged" if to == "acknowledged" else "pending", to)  # fmt: skip
        last = submitted_at + datetime.timedelta(hours=7)
        if status == "rejected":
            self._event(plan_id, last, author, "transition", "plan", plan_id, title, "in_review", "rejected",
                        "Нет плана отката для шага 3")  # fmt: skip
        if status == "cancelled":
            self._event(plan_id, last, author, "transition", "plan", plan_id, title, "in_review", "cancelled",
                        "Работы перенесены")  # fmt: skip
        if status in FINISHED | {"approved", "in_progress"}:
            self._event(plan_id, last, None, "transition", "plan", plan_id, title, "in_review", "approved")
        if status in FINISHED | {"in_progress"}:
            duty = self.people.duty[plan_id % len(self.people.duty)]
            self._event(plan_id, start + datetime.timedelta(minutes=5), duty, "transition", "plan", plan_id, title,
                        "approved", "in_progress")  # fmt: skip
        if status in FINISHED:
            duty = self.people.duty[plan_id % len(self.people.duty)]
            self._event(plan_id, plan[24], duty, "transition", "plan", plan_id, title, "in_progress", status)
        self.essential_events += len(self.events) - before

    def flush(self):
        for key in FLUSH_ORDER:
            rows = self.buffer[key]
            if rows:
                self.writer.write(getattr(self, f"t_{key}"), rows)
                rows.clear()

    def fill_history(self, target):
        """Step ticks of executed plans and edits before submission, spread over the plans, up to `target` events."""
        rng, p = self.rng, self.people
        missing = target - self.writer.counts.get(self.t_event.name, 0)
        if missing <= 0 or not self.fillers:
            return
        per_plan, extra = divmod(missing, len(self.fillers))
        for n, (plan_id, status, created, submitted_at, start, first_step, n_steps, author) in enumerate(self.fillers):
            for k in range(per_plan + (1 if n < extra else 0)):
                step_id = first_step + k % n_steps
                label = self._label(k % n_steps, plan_id % 10)
                if status in FINISHED | {"in_progress"} and k < 2 * n_steps:
                    at = start + datetime.timedelta(minutes=10 + 7 * k)
                    fro, to = ("pending", "in_progress") if k % 2 == 0 else ("in_progress", "done")
                    self._event(plan_id, at, rng.choice(p.operators), "transition", "step", step_id, label, fro, to)
                else:
                    field_name, old, new = EDIT_FIELDS[k % len(EDIT_FIELDS)]
                    at = created + (submitted_at - created) * (k + 1) / (per_plan + 2)
                    self._event(plan_id, at, author, "edited", "step", step_id, label, changes={field_name: [old, new]})
            if len(self.events) >= 50_000:
                self.flush()
        self.flush()

    def add_long_plans(self, sizes=LONG_STEPS):
        """Drafts of the bench author with 100 and 2,000 steps: every step with risks and a rollback action."""
        p, M = self.people, self.M
        ids = {}
        for n_steps in sizes:
            plan_id = self.ids.take(M["plan"])
            start = datetime.datetime(2027, 3, 20, 13, 0, tzinfo=UTC)
            spacing = datetime.timedelta(minutes=20)
            end = start + spacing * (n_steps + 1)
            party_id, _, contact = p.parties[0]
            plan = (
                plan_id, f"Плановое обслуживание кластера Kubernetes PROD ({n_steps} шагов)",
                "Обновить узлы кластера Kubernetes PROD, перейти на сетевой плагин Calico", "normal", "draft",
                "Asia/Novosibirsk", start, end, "30 мин", 30, "", None, True, True, p.approvers[0], party_id,
                contact, "https://jira.example.org/browse/OPS-1234", "it-info@example.org", p.bench_author, 1,
                NOW, NOW, None, None,
            )  # fmt: skip
            self.buffer["plan"].append(plan)
            first_ps = self.ids.take(M["plan_service"], 2)
            self.buffer["plan_service"] += [(first_ps + n, plan_id, p.services[n], "unavailable") for n in range(2)]
            labels = self._steps(plan_id, n_steps, start, "draft", spacing=spacing)
            self.buffer["row"] += self._matrix(plan, [], NOW)
            self._event(plan_id, NOW, p.bench_author, "created", "plan", plan_id, plan[1], to_status="draft")
            for k in range(20):
                step_id, label = labels[k % len(labels)]
                field_name, old, new = EDIT_FIELDS[k % len(EDIT_FIELDS)]
                at = NOW + datetime.timedelta(minutes=k + 1)
                self._event(
                    plan_id, at, p.bench_author, "edited", "step", step_id, label, changes={field_name: [old, new]}
                )
            self.essential_events += 21
            self.flush()
            ids[n_steps] = plan_id
        return ids

    def finish(self, *, analyze=True):
        from django.core.management.color import no_style
        from django.db import connection

        from approvals.waiting import mark_all

        mark_all()  # the rows were copied, not signed through the services: their waiting marker from the rule
        models = [m for key, m in self.M.items() if key != "group"]
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(sql)
            if analyze and connection.vendor == "postgresql":
                for model in models:
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def build(*, plans=PLANS, events=EVENTS, seed=16, long_plans=LONG_STEPS, progress=None) -> Result:
    """Build the data set into the database Django is connected to (migrated); returns what was made."""
    from django.db import transaction

    started = time.perf_counter()
    builder = Builder(seed=seed, progress=progress)
    with transaction.atomic():
        builder.build_people()
        long_ids = builder.add_long_plans(long_plans) if long_plans else {}
        builder.add_plans(plans)
        builder.fill_history(events)
        builder.finish()
    return Result(
        plans=plans + len(long_ids),
        events=builder.writer.counts.get(builder.t_event.name, 0),
        seconds=round(time.perf_counter() - started, 1),
        counts=dict(builder.writer.counts),
        bench_author=builder.people.bench_author,
        busy_approver=builder.people.busy_approver,
        long_plans=long_ids,
        busy_waiting_plans=builder.busy_waiting,
    )


# --- the throwaway databases ----------------------------------------------------------------------------


def postgres_config():
    import dj_database_url

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("the scale data set needs PostgreSQL: set DATABASE_URL=postgres://…")
    return dj_database_url.parse(url)


def _admin(config):
    import psycopg

    return psycopg.connect(
        host=config["HOST"] or "127.0.0.1",
        port=config["PORT"] or 5432,
        user=config["USER"],
        password=config["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
        connect_timeout=5,
    )


def recreate_database(name, *, template=None):
    from django.db import connections

    if "django" in sys.modules and template:
        connections.close_all()  # a template database may have no other connections
    with _admin(postgres_config()) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        source = f'TEMPLATE "{template}"' if template else "TEMPLATE template0"
        admin.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' {source}")


def drop_database(name):
    from django.db import connections

    connections.close_all()
    with _admin(postgres_config()) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_exists(name):
    with _admin(postgres_config()) as admin:
        return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def use_database(name):
    """Point Django's default connection at another database of the same server (closes the open one)."""
    from django.core.cache import cache
    from django.db import connections

    connections.close_all()
    connections["default"].settings_dict["NAME"] = name
    cache.clear()


def setup_django(name=DB_NAME):
    os.environ["OKNO_BENCH_DB_NAME"] = name
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    # The pages must not depend on a cache server being up; a worker (the PDF measurements) still finds Redis here.
    if os.environ.get("REDIS_URL"):
        os.environ.setdefault("OKNO_BENCH_REDIS_URL", os.environ["REDIS_URL"])
    os.environ.pop("REDIS_URL", None)
    import logging

    import django

    django.setup()
    logging.getLogger("axes").setLevel(logging.WARNING)  # a line per force_login otherwise


def migrate():
    from django.core.management import call_command
    from django.core.management.base import CommandError

    try:
        call_command("migrate", verbosity=0, interactive=False)
    except CommandError as exc:
        if "Conflicting migrations" not in str(exc):
            raise
        # Branches integrated but their merge migration not written yet: apply every leaf, as the merge would.
        from django.core.management.sql import emit_post_migrate_signal
        from django.db import connection
        from django.db.migrations.executor import MigrationExecutor

        print(f"note: {exc}; migrating to every leaf", file=sys.stderr)
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        emit_post_migrate_signal(0, False, "default")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plans", type=int, default=PLANS, help=f"plans (default {PLANS:,})")
    parser.add_argument("--events", type=int, default=EVENTS, help=f"history events (default {EVENTS:,})")
    return parser.parse_args(argv)


def main():
    args = parse_args()
    postgres_config()
    started = time.perf_counter()
    recreate_database(DB_NAME)
    setup_django(DB_NAME)
    migrate()
    print(f"Migrated in {time.perf_counter() - started:.0f} s; building…", file=sys.stderr)
    result = build(plans=args.plans, events=args.events, progress=lambda m: print(m, file=sys.stderr))
    total = time.perf_counter() - started
    print(
        f"Built {result.plans:,} plans, {result.events:,} events in {result.seconds:.0f} s ({total:.0f} s with migrate)"
    )
    for table, n in sorted(result.counts.items()):
        print(f"  {table}: {n:,}")
    print(f"Kept in the database {DB_NAME}.")


if __name__ == "__main__":
    main()
