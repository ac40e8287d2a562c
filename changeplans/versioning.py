"""Versions of a plan and what is material in them.

Material is what an approver signs: the window and time zone, title, goal, kind, possible downtime,
client impact, banner, the responsible, the affected services with their availability, and every
step's texts, executor, date, time, duration, affected systems, downtime, risks, mitigations and
rollback actions. Not material: Jira links and keys, step comments, the mailing list, the
announcement's subject and text, the curator — fixing those never resets a signature.
"""

import contextvars
import difflib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .choices import EventKind, PlanStatus
from .history import record_event
from .models import Plan, PlanVersion, Step
from .selectors import load_plan

# Called with (plan, version, actor) after a material edit made a new version; the approvals app
# registers its reset here (changeplans may not import approvals).
on_new_version = []
# Other apps add material step content here (runbooks: the step's automation). Each extender is called
# with (plan, step_dicts) and sets keys on the dicts; `extra_step_keys` maps those keys to their labels.
snapshot_extenders = []
extra_step_keys = {}
# How many signatures a new version of the plan would reset now; the approvals app registers its count here.
reset_counters: list[Callable[[Plan], int]] = []
_confirmation_required: contextvars.ContextVar[bool] = contextvars.ContextVar("confirmation_required", default=False)


class ResetNotConfirmed(Exception):
    """A material edit would reset signatures and the user has not confirmed it: the edit is rolled back."""

    def __init__(self, plan: Plan, count: int) -> None:
        self.plan = plan
        self.count = count
        super().__init__(reset_question(plan, count))


def signatures_to_reset(plan: Plan) -> int:
    """How many signatures a material edit of `plan` would reset (0 for a plan not under sign-off)."""
    if plan.status not in (PlanStatus.IN_REVIEW, PlanStatus.APPROVED):
        return 0
    return sum(count(plan) for count in reset_counters)


def reset_question(plan: Plan, count: int) -> str:
    """The warning shown before an edit that resets `count` signatures."""
    if plan.status == PlanStatus.APPROVED:
        return ngettext(
            "This change will reset %(n)d signature and return the plan to review.",
            "This change will reset %(n)d signatures and return the plan to review.",
            count,
        ) % {"n": count}
    return ngettext(
        "This change will reset %(n)d signature; the plan will be signed again.",
        "This change will reset %(n)d signatures; the plan will be signed again.",
        count,
    ) % {"n": count}


@contextmanager
def confirm_resets(confirmed: bool) -> Iterator[None]:
    """Inside the block, a material edit that would reset signatures raises ResetNotConfirmed unless `confirmed`.

    Editors of the plan page wrap their saves in it; scripts and other callers are not asked.
    """
    token = _confirmation_required.set(not confirmed)
    try:
        yield
    finally:
        _confirmation_required.reset(token)


def is_material(field: str) -> bool:
    """Whether a change of this header or step field is material (makes a new version under sign-off)."""
    return field in HEADER_FIELDS or field in STEP_FIELDS or field in extra_step_keys or field == "services"


HEADER_FIELDS = (
    "title",
    "goal",
    "kind",
    "time_zone",
    "window_start",
    "window_end",
    "downtime_text",
    "stated_duration_text",
    "client_impact",
    "banner_needed",
    "responsible",
)
STEP_FIELDS = (
    "kind",
    "name",
    "description",
    "expected_result",
    "risk_mitigation",
    "affected_systems",
    "planned_downtime",
    "executor",
    "planned_date",
    "planned_time",
    "duration_text",
    "no_rollback_needed",
)


def _plain(value):
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "pk"):
        return str(value)
    return value


def snapshot(plan):
    """The material content of a plan as JSON-ready data (a few queries, independent of plan size)."""
    plan = load_plan(plan.pk)
    tz = plan.tz
    header = {name: _plain(getattr(plan, name)) for name in HEADER_FIELDS}
    header["window_start"] = plan.window_start.astimezone(tz).strftime("%d.%m.%Y %H:%M")
    header["window_end"] = plan.window_end.astimezone(tz).strftime("%d.%m.%Y %H:%M")
    header["services"] = [
        f"{ps.service.name} ({ps.service.display_name}): {ps.availability}" for ps in plan.plan_services.all()
    ]
    steps = []
    for step in plan.steps.all():
        data = {name: _plain(getattr(step, name)) for name in STEP_FIELDS}
        data["planned_time"] = step.planned_time.strftime("%H:%M") if step.planned_time else ""
        data["planned_date"] = step.planned_date.strftime("%d.%m.%Y") if step.planned_date else ""
        data["id"] = step.pk
        data["position"] = step.position
        data["risks"] = [
            f"{risk.number}. {risk.description}" + (f" — {risk.mitigation}" if risk.mitigation else "")
            for risk in step.risks.all()
        ]
        data["rollback_actions"] = [
            (f"{action.label()}. " if action.label() else "") + action.text for action in step.rollback_actions.all()
        ]
        steps.append(data)
    for extend in snapshot_extenders:
        extend(plan, steps)
    return {"header": header, "steps": steps}


def latest_version(plan):
    return plan.versions.order_by("-number").first()


def freeze_version(plan, *, actor):
    """Make the next version from the plan as it is now."""

    last = latest_version(plan)
    version = PlanVersion.objects.create(
        plan=plan, number=(last.number + 1) if last else 1, created_by=actor, snapshot=snapshot(plan)
    )
    record_event(plan, actor=actor, kind=EventKind.VERSION, comment=_("Version %(n)d") % {"n": version.number})
    return version


def after_edit(plan, *, actor):
    """After an edit of a plan under sign-off: a material change makes a new version and resets sign-offs."""

    if plan.status not in (PlanStatus.IN_REVIEW, PlanStatus.APPROVED):
        return None
    last = latest_version(plan)
    if last is not None and last.snapshot == snapshot(plan):
        return None
    if _confirmation_required.get():
        count = signatures_to_reset(plan)
        if count or plan.status == PlanStatus.APPROVED:
            raise ResetNotConfirmed(plan, count)
    version = freeze_version(plan, actor=actor)
    for callback in on_new_version:
        callback(plan, version, actor)
    return version


# --- readable differences between two versions ---------------------------------------------------


def _labels():

    labels = {name: str(Plan._meta.get_field(name).verbose_name) for name in HEADER_FIELDS}
    labels.update({f"step.{name}": str(Step._meta.get_field(name).verbose_name) for name in STEP_FIELDS})
    labels["services"] = _("affected services")
    labels["step.risks"] = _("risks")
    labels["step.rollback_actions"] = _("rollback actions")
    labels["step.position"] = _("No.")
    labels.update({f"step.{key}": str(label) for key, label in extra_step_keys.items()})
    return labels


def inline_diff(old, new):
    """HTML of `new` with words removed from `old` in <del> and added in <ins>."""
    old_words, new_words = str(old).split(" "), str(new).split(" ")
    parts = []
    for op, a1, a2, b1, b2 in difflib.SequenceMatcher(a=old_words, b=new_words, autojunk=False).get_opcodes():
        if op == "equal":
            parts.append(escape(" ".join(old_words[a1:a2])))
            continue
        if a2 > a1:
            parts.append(f"<del>{escape(' '.join(old_words[a1:a2]))}</del>")
        if b2 > b1:
            parts.append(f"<ins>{escape(' '.join(new_words[b1:b2]))}</ins>")
    return mark_safe(" ".join(parts).replace("\n", "<br>"))


def _text(value):
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value if value is not None else "")


def diff(old, new):
    """Changes from snapshot `old` to snapshot `new`: [{"where", "what", "old", "new", "html"}]."""
    labels = _labels()
    changes = []

    def add(where, key, before, after):
        before, after = _text(before), _text(after)
        changes.append(
            {
                "where": where,
                "what": labels.get(key, key),
                "old": before,
                "new": after,
                "html": inline_diff(before, after),
            }
        )

    header_old, header_new = old["header"], new["header"]
    for key in [*HEADER_FIELDS, "services"]:
        if header_old.get(key, "") != header_new.get(key, ""):  # a key added later is blank in older snapshots
            add(_("Header"), key, header_old.get(key, ""), header_new.get(key, ""))
    old_steps = {s["id"]: s for s in old["steps"]}
    new_steps = {s["id"]: s for s in new["steps"]}
    for step in new["steps"]:
        where = _("Step %(n)s") % {"n": step["position"]}
        before = old_steps.get(step["id"])
        if before is None:
            changes.append(
                {
                    "where": where,
                    "what": _("added"),
                    "old": "",
                    "new": step["name"],
                    "html": inline_diff("", step["name"]),
                }
            )
            continue
        if before["position"] != step["position"]:
            add(where, "step.position", before["position"], step["position"])
        for key in [*STEP_FIELDS, "risks", "rollback_actions", *extra_step_keys]:
            if before.get(key) != step.get(key):
                add(where, f"step.{key}", before.get(key, ""), step.get(key, ""))
    for step in old["steps"]:
        if step["id"] not in new_steps:
            where = _("Step %(n)s") % {"n": step["position"]}
            changes.append(
                {
                    "where": where,
                    "what": _("deleted"),
                    "old": step["name"],
                    "new": "",
                    "html": inline_diff(step["name"], ""),
                }
            )
    return changes
