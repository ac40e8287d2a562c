"""Conflicting plans (docs/calendar.md, "Conflicts").

Two plans conflict when their windows overlap (start < other end and other start < end: a window ending when
the other starts does not) and they touch the same service, cluster or person (changecalendar.plan_keys). Only
plans that can still happen or are happening conflict (ACTIVE_STATUSES). Windows are stored in UTC, so a window
across midnight or a daylight-saving change compares by real time, not by the wall clock.
"""

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from changeplans.choices import PlanStatus
from changeplans.models import Plan, Service
from common.fast_rows import value_rows

from .plan_keys import Keys, keys_for_plans, labels

ACTIVE_STATUSES: tuple[str, ...] = (
    PlanStatus.DRAFT,
    PlanStatus.IN_REVIEW,
    PlanStatus.REJECTED,  # goes back to draft and may be submitted again
    PlanStatus.APPROVED,
    PlanStatus.IN_PROGRESS,
)
# Plans that hold their window: the ones a blocking service refuses a second plan against (submit hook).
COMMITTED_STATUSES: tuple[str, ...] = (PlanStatus.IN_REVIEW, PlanStatus.APPROVED, PlanStatus.IN_PROGRESS)

REASON_ORDER = {"service": 0, "cluster": 1, "executor": 2}
# The candidates are read by at most this many stretches of time: the closest stretches are joined and the few
# plans between them read and skipped (every range costs in the ORM, a month of plans has dozens).
_MAX_RANGES = 8


@dataclass(frozen=True)
class Reason:
    kind: str  # "service" | "cluster" | "executor"
    label: str
    id: int = 0  # the Service / Cluster / Party id


@dataclass(frozen=True)
class Conflict:
    plan_id: int
    other_id: int
    other_title: str
    other_status: str
    other_kind: str
    other_start: datetime
    other_end: datetime
    reasons: tuple[Reason, ...]

    @property
    def other_status_label(self) -> str:
        return str(PlanStatus(self.other_status).label) if self.other_status in PlanStatus.values else self.other_status

    def shares(self, kind: str) -> tuple[Reason, ...]:
        return tuple(reason for reason in self.reasons if reason.kind == kind)


class Windowed(Protocol):
    """What conflicts_for_plans reads of a plan: a Plan, or a lighter row with the same attributes."""

    @property
    def pk(self) -> Any: ...
    @property
    def status(self) -> str: ...
    @property
    def window_start(self) -> datetime: ...
    @property
    def window_end(self) -> datetime: ...


def _utc(moment: datetime) -> datetime:
    # Python compares two datetimes of the same tzinfo by the wall clock (fold ignored): 02:30 CEST and 02:30
    # CET of the autumn change would be equal. In UTC they are not. (The database gives UTC already.)
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


def overlaps(start: datetime, end: datetime, other_start: datetime, other_end: datetime) -> bool:
    return _utc(start) < _utc(other_end) and _utc(other_start) < _utc(end)


def _merged(windows: list[tuple[datetime, datetime]], limit: int) -> list[tuple[datetime, datetime]]:
    """The stretches the windows cover, at most `limit` of them: the shortest gaps are closed first."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    if len(merged) <= limit:
        return merged
    gaps = sorted(range(1, len(merged)), key=lambda n: merged[n][0] - merged[n - 1][1], reverse=True)
    cuts = sorted(gaps[: limit - 1])
    return [(merged[a][0], merged[b - 1][1]) for a, b in zip([0, *cuts], [*cuts, len(merged)], strict=True)]


def _overlapping(windows: list[tuple[datetime, datetime]]) -> Q:
    """Active plans whose windows overlap any of the given ones (UTC), and maybe a few more."""
    overlap = Q()
    for start, end in _merged(windows, _MAX_RANGES):
        overlap |= Q(window_start__lt=end, window_end__gt=start)
    return overlap & Q(status__in=ACTIVE_STATUSES)


# A candidate: id, title, status, kind, start, end (UTC), as read.
_Row = tuple[int, str, str, str, datetime, datetime]
# A window in a sweep: start, end (UTC), index in its list.
_Window = tuple[datetime, datetime, int]


def _sweep(mine: list[_Window], others: list[_Window]) -> Iterator[tuple[int, int]]:
    """(mine index, other index) of the windows that overlap (overlaps()), in one pass over both by start instead
    of every pair: a window is compared only with the windows still open when it starts."""
    events = sorted(
        [(start, 0, end, index) for start, end, index in mine]
        + [(start, 1, end, index) for start, end, index in others]
    )
    open_windows: tuple[list[_Window], list[_Window]] = ([], [])
    for start, side, end, index in events:
        # The other side's windows that end before this one starts can overlap nothing from here on. (Those
        # ending as it starts are kept for overlaps() to refuse.)
        facing = [window for window in open_windows[1 - side] if window[1] >= start]
        open_windows[1 - side][:] = facing
        for other_start, other_end, other_index in facing:
            if overlaps(start, end, other_start, other_end):
                yield (index, other_index) if side == 0 else (other_index, index)
        open_windows[side].append((start, end, index))


def conflicts_for_plans(plans: Sequence[Windowed]) -> dict[int, list[Conflict]]:
    """Plan id → its conflicts with any other active plan, by the other's start; a fixed number of queries
    whatever the number of plans (at most 8: the candidates, what they touch in 1–4, the names in 0–3). A plan
    that is not active itself has none.

    The plans are given as Plan instances or rows with the same attributes (pk, status, window_start,
    window_end: their windows may be edited and unsaved); the other plans and what every plan touches are read
    from the database. Per service, cluster or person, the plans touching it are swept by start."""
    result: dict[int, list[Conflict]] = {plan.pk: [] for plan in plans if plan.pk}
    mine = [
        (plan.pk, start, end)
        for plan in plans
        if plan.pk and plan.status in ACTIVE_STATUSES
        for start, end in [(_utc(plan.window_start), _utc(plan.window_end))]
        if end > start
    ]
    if not mine:
        return result
    candidates = Plan.objects.filter(_overlapping([(start, end) for _pk, start, end in mine])).order_by()
    others: list[_Row] = [
        (pk, title, status, kind, _utc(start), _utc(end))
        for pk, title, status, kind, start, end in value_rows(
            candidates, "id", "title", "status", "kind", "window_start", "window_end"
        )
        if end > start
    ]
    if not others:
        return result
    mine_ids = {pk for pk, _start, _end in mine}
    other_ids = {row[0] for row in others}
    # What every plan touches, read by the same condition rather than a long list of ids.
    missing = mine_ids - other_ids
    keys = keys_for_plans(
        mine_ids | other_ids, read_by=candidates | Plan.objects.filter(pk__in=missing) if missing else candidates
    )

    # Who touches what: (kind, id) → the windows of the given plans / of the candidates touching it.
    mine_on: dict[tuple[str, int], list[_Window]] = defaultdict(list)
    for index, (pk, start, end) in enumerate(mine):
        for kind, ids in _kinds(keys[pk]):
            for key_id in ids:
                mine_on[(kind, key_id)].append((start, end, index))
    others_on: dict[tuple[str, int], list[_Window]] = defaultdict(list)
    for index, row in enumerate(others):
        for kind, ids in _kinds(keys[row[0]]):
            for key_id in ids:
                if (kind, key_id) in mine_on:
                    others_on[(kind, key_id)].append((row[4], row[5], index))

    shared: dict[tuple[int, int], list[tuple[str, int]]] = defaultdict(list)
    for key, windows in mine_on.items():
        if key in others_on:
            for mine_index, other_index in _sweep(windows, others_on[key]):
                if mine[mine_index][0] != others[other_index][0]:
                    shared[(mine_index, other_index)].append(key)
    # The names of what the given plans touch (every shared key is one of theirs): as many queries whether or not
    # a conflict is found.
    services, clusters, parties = labels(keys[pk] for pk in mine_ids)
    names = {"service": services, "cluster": clusters, "executor": parties}

    found: dict[int, list[Conflict]] = defaultdict(list)
    for (mine_index, other_index), pairs in shared.items():
        plan_id = mine[mine_index][0]
        other_id, title, status, kind, start, end = others[other_index]
        reasons = tuple(
            sorted(
                (Reason(key_kind, names[key_kind].get(key_id, f"#{key_id}"), key_id) for key_kind, key_id in pairs),
                key=lambda reason: (REASON_ORDER[reason.kind], reason.label, reason.id),
            )
        )
        found[mine_index].append(
            Conflict(
                plan_id=plan_id,
                other_id=other_id,
                other_title=title,
                other_status=status,
                other_kind=kind,
                other_start=start,
                other_end=end,
                reasons=reasons,
            )
        )
    for mine_index, conflicts in found.items():
        conflicts.sort(key=lambda conflict: (conflict.other_start, conflict.other_id))
        result[mine[mine_index][0]] = conflicts
    return result


def conflicts_of(plan: Plan) -> list[Conflict]:
    return conflicts_for_plans([plan]).get(plan.pk, [])


def _kinds(keys: Keys) -> tuple[tuple[str, frozenset[int]], ...]:
    return (("service", keys.services), ("cluster", keys.clusters), ("executor", keys.executors))


def refuse_blocking_conflicts(plan: Plan, rows: object, actor: object) -> None:
    """approvals.services.submit_hooks: refuse the submission when the plan overlaps a plan already submitted
    (in review, approved, in progress) on a service that does not allow it (Service.conflict_blocks_submission).
    A draft elsewhere does not block: the first plan submitted holds the window. Other conflicts only warn."""
    conflicts = [c for c in conflicts_of(plan) if c.other_status in COMMITTED_STATUSES and c.shares("service")]
    if not conflicts:
        return
    blocking = set(
        Service.objects.filter(
            pk__in={reason.id for c in conflicts for reason in c.shares("service")}, conflict_blocks_submission=True
        ).values_list("pk", flat=True)
    )
    for conflict in conflicts:
        for reason in conflict.shares("service"):
            if reason.id in blocking:
                with timezone.override(plan.tz):
                    start = date_format(timezone.localtime(conflict.other_start), "d.m.Y H:i")
                    end = date_format(timezone.localtime(conflict.other_end), "d.m.Y H:i")
                raise ValidationError(
                    _(
                        "The plan cannot be submitted: plan #%(number)d “%(title)s” (%(start)s – %(end)s) works on "
                        "the service “%(service)s” at the same time, and this service does not allow overlapping "
                        "work. Move the window or agree with the other plan's author."
                    )
                    % {
                        "number": conflict.other_id,
                        "title": conflict.other_title,
                        "start": start,
                        "end": end,
                        "service": reason.label,
                    },
                    code="conflict",
                )
