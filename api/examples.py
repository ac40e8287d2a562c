"""Examples in the OpenAPI schema (Swagger UI, ReDoc): each answer in Russian and in English.

The API answers in the language of the `django_language` cookie or of Accept-Language, Russian by default;
labels (`status_label`, `kind_label`, a diff's `where`/`what`) and errors follow it, stored texts do not.
A list's example is one item: drf-spectacular puts it into the cursor page (`next`, `previous`, `results`).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample

AT = "2025-03-20T13:00:00Z"


def _pair(name_ru: str, name_en: str, ru: Any, en: Any, *, status: str = "200") -> list[OpenApiExample]:
    """A Russian and an English example of one answer."""
    return [
        OpenApiExample(name_ru, value=ru, response_only=True, status_codes=[status]),
        OpenApiExample(name_en, value=en, response_only=True, status_codes=[status]),
    ]


def _person(username: str, name: str) -> dict[str, Any]:
    return {"id": 7, "username": username, "name": name}


# --- the root ------------------------------------------------------------------------------------------

ROOT = [
    *_pair(
        "Кто спрашивает (Иванов)",
        "Who is asking (ivanov)",
        {"version": "v1", "user": "ivanov"},
        {"version": "v1", "user": "ivanov"},
    ),
    *_pair(
        "Без учётных данных",
        "Without credentials",
        {"detail": "Учетные данные не были предоставлены.", "code": "not_authenticated"},
        {"detail": "Authentication credentials were not provided.", "code": "not_authenticated"},
        status="401",
    ),
]

# --- services ------------------------------------------------------------------------------------------


def _service(display_name: str, owner: str, label: str) -> dict[str, Any]:
    return {
        "id": 3,
        "name": "billing.example.org",
        "display_name": display_name,
        "owner": owner,
        "shows_banner": True,
        "banner_origins": ["https://billing.example.org"],
        "banner_webhook": True,
        "mailing_list": ["billing-team@example.org"],
        "announcement_from": "it.info@example.org",
        "gate_without_plan": "block",
        "gate_without_plan_label": label,
    }


SERVICE = _pair(
    "Сервис «Биллинг»",
    "The “Billing” service",
    _service("Биллинг", "Отдел биллинга", "Запрещать развёртывание"),
    _service("Billing", "Billing team", "Block deployments"),
)

# --- plan versions and history ------------------------------------------------------------------------

VERSIONS = _pair(
    "Версия 2",
    "Version 2",
    {"number": 2, "created_at": AT, "created_by": _person("hasanov", "Хасанов А.И.")},
    {"number": 2, "created_at": AT, "created_by": _person("hasanov", "Hasanov A.I.")},
)


def _snapshot(title: str, step: str, services: str) -> dict[str, Any]:
    return {
        "header": {
            "title": title,
            "window_start": "20.03.2025 20:00",
            "window_end": "20.03.2025 23:05",
            "time_zone": "Asia/Novosibirsk",
            "services": [services],
        },
        "steps": [
            {"id": 41, "position": 1, "name": step, "duration_text": "30 мин", "risks": [], "rollback_actions": []}
        ],
    }


VERSION = _pair(
    "Версия 2 с содержимым",
    "Version 2 with its content",
    {
        "number": 2,
        "created_at": AT,
        "created_by": _person("hasanov", "Хасанов А.И."),
        "plan": 12,
        "snapshot": _snapshot("Замена CNI", "Установить Calico", "billing.example.org (Биллинг): unavailable"),
    },
    {
        "number": 2,
        "created_at": AT,
        "created_by": _person("hasanov", "Hasanov A.I."),
        "plan": 12,
        "snapshot": _snapshot("CNI replacement", "Install Calico", "billing.example.org (Billing): unavailable"),
    },
)

DIFF = _pair(
    "Изменения от версии 1 к версии 2",
    "Changes from version 1 to version 2",
    {
        "plan": 12,
        "from_version": 1,
        "to_version": 2,
        "changes": [
            {
                "where": "Шаг 3",
                "what": "продолжительность",
                "old": "30 мин",
                "new": "1,5 часа",
                "html": "<del>30 мин</del> <ins>1,5 часа</ins>",
            }
        ],
    },
    {
        "plan": 12,
        "from_version": 1,
        "to_version": 2,
        "changes": [
            {
                "where": "Step 3",
                "what": "duration",
                "old": "30 min",
                "new": "1.5 hours",
                "html": "<del>30 min</del> <ins>1.5 hours</ins>",
            }
        ],
    },
)

HISTORY = _pair(
    "Отказ в согласовании",
    "A refused sign-off",
    {
        "id": 981,
        "at": AT,
        "actor": _person("petrov", "Петров С.В."),
        "kind": "refused",
        "kind_label": "Отказано",
        "object_type": "approvalrow",
        "object_id": 55,
        "object_label": "Начальник отдела сетей",
        "from_status": "",
        "from_label": "",
        "to_status": "",
        "to_label": "",
        "comment": "Автор плана не может согласовать свой план.",
        "changes": {},
        "change_lines": [],
    },
    {
        "id": 981,
        "at": AT,
        "actor": _person("petrov", "Petrov S.V."),
        "kind": "refused",
        "kind_label": "Refused",
        "object_type": "approvalrow",
        "object_id": 55,
        "object_label": "Head of networks",
        "from_status": "",
        "from_label": "",
        "to_status": "",
        "to_label": "",
        "comment": "The author of a plan cannot approve it.",
        "changes": {},
        "change_lines": [],
    },
)

# --- runbooks ------------------------------------------------------------------------------------------


def _runbook(title: str, description: str, person: str, comment: str) -> dict[str, Any]:
    return {
        "id": 4,
        "slug": "node-maintenance",
        "title": title,
        "display_title": title,
        "description": description,
        "builtin": True,
        "archived": False,
        "created_by": None,
        "created_at": AT,
        "current_version": {
            "number": 3,
            "created_at": AT,
            "created_by": _person("hasanov", person),
            "comment": comment,
        },
    }


RUNBOOKS = _pair(
    "Регламент обслуживания узлов",
    "The node maintenance runbook",
    _runbook("Обслуживание узлов", "Drain, обновление, uncordon", "Хасанов А.И.", "Таймаут drain 15 мин"),
    _runbook("Node maintenance", "Drain, update, uncordon", "Hasanov A.I.", "Drain timeout 15 min"),
)

_DEFINITION = {
    "title": "Обслуживание узлов",
    "parameters": [{"name": "nodes", "type": "node_list", "label": "Узлы", "label_en": "Nodes"}],
    "steps": [
        {
            "for_each": "nodes",
            "as": "node",
            "steps": [{"name": "Вывести узел {{ node }} из обслуживания", "duration": "10 мин"}],
        }
    ],
}


def _runbook_detail(base: dict[str, Any]) -> dict[str, Any]:
    current = {**base["current_version"], "definition": _DEFINITION, "source": "title: Обслуживание узлов\n…"}
    return {**base, "current_version": current, "versions": [base["current_version"]]}


RUNBOOK = _pair(
    "Регламент с определением",
    "A runbook with its definition",
    _runbook_detail(RUNBOOKS[0].value),
    _runbook_detail(RUNBOOKS[1].value),
)

# --- automation runs ----------------------------------------------------------------------------------


def _run(step: str, mode: str, status: str, person: str, via: str, signers: str) -> dict[str, Any]:
    return {
        "id": 301,
        "plan": 12,
        "step": {"id": 41, "position": 4, "name": step},
        "rehearsal": None,
        "mode": "production",
        "mode_label": mode,
        "status": "succeeded",
        "status_label": status,
        "kind": "kubectl",
        "cluster_name": "prod-k8s",
        "command": "kubectl drain node-3 --ignore-daemonsets",
        "timeout_seconds": 900,
        "exit_code": 0,
        "summary": "exit 0",
        "created_at": AT,
        "started_at": AT,
        "finished_at": "2025-03-20T13:04:10Z",
        "duration_seconds": 250.0,
        "started_by": _person("ivanov", person),
        "cancel_requested_at": None,
        "cancelled_by": None,
        "approval": {
            "via": "sign_off",
            "via_label": via,
            "approved_by": None,
            "signers": signers,
            "version": 2,
            "approved_at": AT,
            "content_hash": "9f2c…",
        },
    }


RUNS = _pair(
    "Выполненный запуск",
    "A finished run",
    _run("Вывести узел node-3", "Рабочий запуск", "УСПЕШНО", "Иванов П.С.", "лист согласования плана", "Петров С.В."),
    _run("Drain node-3", "Production run", "SUCCEEDED", "Ivanov P.S.", "the plan's sign-off", "Petrov S.V."),
)

RUN = _pair(
    "Запуск с журналом",
    "A run with its log",
    {**RUNS[0].value, "log": "node/node-3 cordoned\nevicting pod billing-api-7d9c\nnode/node-3 drained"},
    {**RUNS[1].value, "log": "node/node-3 cordoned\nevicting pod billing-api-7d9c\nnode/node-3 drained"},
)
