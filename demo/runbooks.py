"""The demo's runbook library, a cluster to pick when creating a plan from a runbook, and a plan whose
automated steps run on this machine (no Kubernetes needed): shell, an Ansible playbook on localhost and a
long step to watch streaming and cancel."""

import datetime
from typing import Any

from django.db import transaction

from approvals.choices import RowKind
from changeplans.choices import PlanStatus, StepKind
from changeplans.models import Party, Plan, Step
from changeplans.roles import ensure_role_groups
from demo.plans import (
    DUTY_PARTY,
    approve_as_in_seed,
    ensure_users,
    load_demo,
    local_minute,
    save_copy_of_seed,
    save_step,
)
from runbooks.choices import Environment
from runbooks.library import install
from runbooks.models import Cluster, Runbook, StepAutomation

DEMO_AUTOMATION_TITLE = "Демо автоматизации: проверка рабочего узла"

# A minute of output, one line a second: long enough to watch it stream and to press «Отменить».
_COUNTDOWN = "import time\nfor i in range(1, 61):\n    print(f'проверка {i}/60', flush=True)\n    time.sleep(1)\n"

DEMO_AUTOMATED_STEPS: list[dict[str, Any]] = [
    {
        "name": "Проверить свободное место на узле",
        "description": "Показать занятость файловой системы (df -h /).",
        "expected_result": "Свободно больше 10 %.",
        "duration": "1 мин.",
        "automation": {
            "kind": "shell",
            "spec": {"argv": ["df", "-h", "{{ path }}"], "dry_run_argv": ["df", "-h", "{{ path }}"]},
            "params": {"path": "/"},
            "timeout_seconds": 60,
        },
    },
    {
        "name": "Прогнать проверочный плейбук Ansible",
        "description": "Плейбук smoke-local.yml на localhost (connection local); на репетиции — в режиме check.",
        "expected_result": "PLAY RECAP: failed=0, unreachable=0.",
        "duration": "2 мин.",
        "automation": {
            "kind": "ansible",
            "spec": {"playbook": "smoke-local.yml", "inventory": "local", "extra_vars": {"message": "{{ message }}"}},
            "params": {"message": "Привет от Okno"},
            "timeout_seconds": 300,
        },
    },
    {
        "name": "Длительная проверка (минута вывода, можно отменить)",
        "description": "Шестьдесят строк, по одной в секунду: вывод идёт на панель выполнения построчно.",
        "expected_result": "Все 60 проверок выведены.",
        "duration": "2 мин.",
        "automation": {
            "kind": "shell",
            "spec": {"argv": ["python3", "-c", _COUNTDOWN]},
            "params": {},
            "timeout_seconds": 120,
        },
    },
    {
        "name": "Проверить вывод шагов и закрыть работы",
        "description": "Ручной шаг: дежурный просматривает журналы автоматизации и отмечает выполнение.",
        "expected_result": "Журналы без ошибок.",
        "duration": "5 мин.",
        "automation": None,
    },
]


def load_runbook_demo() -> int:
    """The runbook library and the demo cluster; returns how many runbooks the library holds."""
    install()
    Cluster.objects.get_or_create(
        name="prod-k8s",
        defaults={"environment": Environment.PRODUCTION, "description": "PROD Kubernetes (демо: kubeconfig не задан)"},
    )
    return Runbook.objects.filter(archived=False).count()


def load_automation_demo(now: datetime.datetime | None = None) -> Plan:
    """An approved plan whose window opens now: the operator starts the work and runs its steps from the board.
    Returns the existing plan when it is already there; if nobody started it and its window is no longer (or not
    yet) open, its window and step times move to open now, so the board is ready whenever the demo is reloaded."""
    seed = load_demo()
    with transaction.atomic():
        existing = Plan.objects.filter(title=DEMO_AUTOMATION_TITLE).order_by("pk").first()
        if existing is not None:
            _reopen_window(existing, local_minute(now))
            existing.refresh_from_db()
            return existing
        users = ensure_users(ensure_role_groups())
        start = local_minute(now)
        plan = save_copy_of_seed(
            seed,
            title=DEMO_AUTOMATION_TITLE,
            announcement_subject=DEMO_AUTOMATION_TITLE,
            goal="Показать запуск автоматизации с панели выполнения: shell, Ansible, потоковый вывод, отмена",
            client_impact=False,
            banner_needed=False,
            window_start=start,
            window_end=start + datetime.timedelta(hours=1),
        )
        _create_automated_steps(plan, start, executor=Party.objects.get(name=DUTY_PARTY))
        # Signed by the seed's first approver and acknowledged by the duty officer.
        seed_rows = list(seed.approval_rows.order_by("position"))
        approve_as_in_seed(
            plan, [seed_rows[0], *[row for row in seed_rows if row.kind == RowKind.ACKNOWLEDGEMENT]], users
        )
    plan.refresh_from_db()
    return plan


def _reopen_window(plan, start):
    """Move a not yet started plan's window (and its steps, five minutes apart) to open at `start`."""
    if plan.status != PlanStatus.APPROVED or plan.window_start <= start < plan.window_end:
        return
    # Plain updates: the times of a demo plan, not an edit to sign again (the automations stay as signed).
    Plan.objects.filter(pk=plan.pk).update(window_start=start, window_end=start + (plan.window_end - plan.window_start))
    for step in plan.steps.filter(planned_time__isnull=False).order_by("position"):
        moment = start + datetime.timedelta(minutes=5 * (step.position - 1))
        Step.objects.filter(pk=step.pk).update(planned_date=moment.date(), planned_time=moment.time())


def _create_automated_steps(plan, start, *, executor):
    """DEMO_AUTOMATED_STEPS five minutes apart from `start`, each with its automation (the last has none)."""
    moment = start
    for position, spec in enumerate(DEMO_AUTOMATED_STEPS, start=1):
        step = Step(
            plan=plan,
            position=position,
            kind=StepKind.WORK,
            name=spec["name"],
            description=spec["description"],
            expected_result=spec["expected_result"],
            affected_systems="нет",
            planned_downtime="нет",
            executor=executor,
            planned_date=moment.date(),
            planned_time=moment.time(),
            no_rollback_needed=True,
        )
        save_step(step, spec["duration"])
        if spec["automation"]:
            StepAutomation.objects.create(step=step, **spec["automation"])
        moment += datetime.timedelta(minutes=5)
