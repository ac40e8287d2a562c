"""How a runbook's texts read on its pages: placeholders as parameter labels, labels in the UI's language."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.translation import get_language

from changeplans.choices import PlanKind, StepKind

from .definition import ANY_PLACEHOLDER, IDENT_RE

Param = Mapping[str, Any]
_PARENTHESIS = re.compile(r"\s*\([^)]*\)\s*$")


def _english() -> bool:
    return (get_language() or "").startswith("en")


def param_label(param: Param) -> str:
    """The parameter's label in the UI's language: `label_en` for English when the runbook gives one."""
    if _english() and param.get("label_en"):
        return str(param["label_en"])
    return str(param.get("label") or param.get("name") or "")


def param_help(param: Param) -> str:
    if _english() and param.get("help_en"):
        return str(param["help_en"])
    return str(param.get("help") or "")


def _lower_first(text: str) -> str:
    """«Кластер» → «кластер», but «ЛК ЮЛ» and «DNS-имя» keep their capitals."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def readable(text: str | None, parameters: Iterable[Param] = ()) -> str:
    """A runbook text with each {{ name }} shown as ‹label› («… кластера ‹кластер›»), for pages, not plans.

    A text that starts with a placeholder keeps the label's capital («‹Название работ›»).
    """
    labels = {str(p.get("name")): param_label(p) for p in parameters}
    text = text or ""

    def replace(match: Any) -> str:
        ident = IDENT_RE.match(match.group(1).split("|")[0])
        name = ident.group(1) if ident else match.group(1).strip()
        label = _PARENTHESIS.sub("", labels.get(name) or "") or name  # «Целевая версия (X.Y.Z)» → ‹целевая версия›
        return f"‹{label if match.start() == 0 else _lower_first(label)}›"

    return ANY_PLACEHOLDER.sub(replace, text)


def title(definition: Mapping[str, Any] | None, fallback: str = "") -> str:
    """A runbook's title as its pages show it."""
    if not definition:
        return readable(fallback)
    return readable(definition.get("title") or fallback, definition.get("parameters", []))


def plan_kind_label(kind: str | None) -> str:
    """«standard» → its label in the UI's language; an unknown value as written."""
    try:
        return str(PlanKind(kind or "").label)
    except ValueError:
        return kind or ""


def step_kind_label(kind: str | None) -> str:
    try:
        return str(StepKind(kind or "").label)
    except ValueError:
        return kind or ""


STEP_TEXT_KEYS = ("name", "description", "expected_result", "risk_mitigation", "affected_systems", "planned_downtime")


def readable_step(step: Mapping[str, Any], parameters: Iterable[Param]) -> dict[str, Any]:
    """A copy of a definition step for the runbook page: its texts readable, its kind as a label."""
    params = list(parameters)
    shown = dict(step)
    for key in STEP_TEXT_KEYS:
        if isinstance(step.get(key), str):
            shown[key] = readable(step[key], params)
    shown["risks"] = [
        {
            **risk,
            "description": readable(risk.get("description"), params),
            "mitigation": readable(risk.get("mitigation"), params),
        }
        for risk in step.get("risks", [])
    ]
    shown["rollback"] = [
        {**action, "text": readable(action.get("text"), params)} for action in step.get("rollback", [])
    ]
    shown["kind_label"] = step_kind_label(step.get("kind"))
    return shown
