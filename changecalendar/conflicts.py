"""Conflicting plans (docs/calendar.md, "Conflicts").

Two plans conflict when their windows overlap (start < other end and other start < end: a window ending when
the other starts does not) and they touch the same service, cluster or person (changecalendar.plan_keys). Only
plans that can still happen or are happening conflict (ACTIVE_STATUSES). Windows are stored in UTC, so a window
across midnight or a daylight-saving change compares by real time, not by the wall clock.
"""

import json
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NamedTuple, Protocol

from django.core.exceptions import ValidationError
from django.db import connections, router
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from changeplans.choices import PlanStatus
from changeplans.models import Party, Plan, Service
from common.fast_rows import aware_utc, raw_rows
from runbooks.models import Cluster

from .plan_keys import CLUSTER, EXECUTOR, SERVICE, kind_keys

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
# plans between them read and skipped (each stretch is a condition every plan row is tested against).
_MAX_RANGES = 32


class Reason(NamedTuple):  # tuples: a month's calendar makes hundreds
    kind: str  # "service" | "cluster" | "executor"
    label: str
    id: int = 0  # the Service / Cluster / Party id


class Conflict(NamedTuple):
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


def _array(values: Iterable[int | datetime]) -> str:
    """A PostgreSQL array literal of integers or aware datetimes."""
    return "{" + ",".join(value.isoformat() if isinstance(value, datetime) else str(value) for value in values) + "}"


def _json_rows(width: int) -> str:
    """SQLite: the rows of a JSON array of `width`-long arrays given as one parameter."""
    return "SELECT " + ", ".join(f"json_extract(value, '$[{n}]')" for n in range(width)) + " FROM json_each(%s)"


@lru_cache(maxsize=32)
def _keys_sql(kind: str, among: str, using: str, vendor: str) -> tuple[str, tuple[Any, ...]]:
    """The SQL of kind_keys for the plans whose ids the SQL `among` selects (a name in _pairs_sql's WITH): the
    same text on every request, compiled once (`vendor`: a test run may point `using` at another database)."""
    sql, params = kind_keys(kind, RawSQL(among, ())).query.get_compiler(using).as_sql()
    return sql, tuple(params)


def _pairs_sql(mine: list[tuple[int, datetime, datetime]], using: str) -> tuple[str, list[Any]]:
    """One query: for each given plan (id and window, maybe unsaved), each candidate whose window overlaps it and
    each key they share, with the candidate's title, status, kind and window and the key's name.

    Joined in the database, so only the pairs come back, not every candidate with all it touches: a month of
    2,000 plans has some hundred pairs among the plans shown and thousands of (plan, key) rows. The order is
    fixed (MATERIALIZED on PostgreSQL): the overlapping pairs (the given plans against the candidates by their
    windows), then per kind of key each pair with the given plan's keys, then those matched with the other plan's.
    Left to itself, PostgreSQL misjudges the rows and joins the keys of both sides first (thousands of rows)."""
    connection = connections[using]
    ops = connection.ops
    quote = ops.quote_name
    materialized = "MATERIALIZED " if connection.vendor == "postgresql" else ""
    params: list[Any] = []
    # The stretches the given windows cover (at most _MAX_RANGES): each given window lies in one, numbered n. A
    # candidate is compared only with the given windows of a stretch it overlaps, not with all of them.
    stretches = _merged([(start, end) for _pk, start, end in mine], _MAX_RANGES)
    firsts = [start for start, _end in stretches]
    numbered = [(pk, bisect_right(firsts, start) - 1, start, end) for pk, start, end in mine]
    if connection.vendor == "postgresql":
        # Array literals rather than parameters a plan: the driver then quotes a few strings, not hundreds of
        # values (UTC ISO times: no quoting needed inside the braces).
        given = "SELECT * FROM unnest(%s::bigint[], %s::int[], %s::timestamptz[], %s::timestamptz[])"
        params += [_array(column) for column in zip(*numbered, strict=True)]
        covered = "SELECT * FROM unnest(%s::int[], %s::timestamptz[], %s::timestamptz[])"
        params += [_array(range(len(stretches))), _array(firsts), _array(end for _start, end in stretches)]
    else:
        # SQLite: a JSON array each (one parameter: an agenda of 2,000 plans stays below its parameter limit), the
        # times as SQLite stores them (text, UTC).
        given = _json_rows(4)
        params.append(
            json.dumps(
                [
                    [pk, n, ops.adapt_datetimefield_value(start), ops.adapt_datetimefield_value(end)]
                    for pk, n, start, end in numbered
                ]
            )
        )
        covered = _json_rows(3)
        params.append(
            json.dumps(
                [
                    [n, ops.adapt_datetimefield_value(start), ops.adapt_datetimefield_value(end)]
                    for n, (start, end) in enumerate(stretches)
                ]
            )
        )
    # Active plans whose windows overlap a stretch, with its number (a plan across a gap: once a stretch).
    # The same stretches as a condition too: cheaper per plan than a joined row, it leaves few plans to join.
    near = " OR ".join(["(p.window_start < %s AND p.window_end > %s)"] * len(stretches))
    for start, end in stretches:
        params += [ops.adapt_datetimefield_value(end), ops.adapt_datetimefield_value(start)]
    statuses = ", ".join(["%s"] * len(ACTIVE_STATUSES))
    params += ACTIVE_STATUSES
    plan_table = quote(Plan._meta.db_table)
    candidate = f"""SELECT stretch.n, p.id, p.window_start, p.window_end
                    FROM {plan_table} p JOIN stretch ON p.window_start < stretch.ends AND p.window_end > stretch.starts
                    WHERE ({near}) AND p.status IN ({statuses}) AND p.window_end > p.window_start"""
    # The given plans' keys are read by the ids in `mine`, the others' by the ids in `others`: no id lists.
    ctes, parts, parts_params = [], [], []
    for kind, model, label in (
        (SERVICE, Service, "display_name"),
        (CLUSTER, Cluster, "name"),
        (EXECUTOR, Party, "name"),
    ):
        mine_keys, mine_keys_params = _keys_sql(kind, "SELECT plan_id FROM mine", using, connection.vendor)
        other_keys, other_keys_params = _keys_sql(kind, "SELECT id FROM others", using, connection.vendor)
        # Column lists on the WITH names, not on subqueries: SQLite has only the former.
        ctes.append(
            f"""{kind}_mine (plan_id, key_id) AS ({mine_keys}),
             {kind}_pairs AS {materialized}(
                 SELECT overlapping.mine_id, overlapping.id, {kind}_mine.key_id FROM overlapping
                 JOIN {kind}_mine ON {kind}_mine.plan_id = overlapping.mine_id
             ),
             {kind}_other (plan_id, key_id) AS ({other_keys})"""
        )
        params += [*mine_keys_params, *other_keys_params]
        parts.append(
            f"""SELECT pairs.mine_id, pairs.id, %s, pairs.key_id, named.{quote(label)}
            FROM {kind}_pairs pairs
            JOIN {kind}_other other ON other.plan_id = pairs.id AND other.key_id = pairs.key_id
            LEFT JOIN {quote(model._meta.db_table)} named ON named.id = pairs.key_id"""
        )
        parts_params.append(kind)
    # Narrow rows until the end: the other plan's title, status and type are read for the pairs found only.
    sql = f"""
        WITH mine (plan_id, n, starts, ends) AS ({given}),
             stretch (n, starts, ends) AS ({covered}),
             candidate AS ({candidate}),
             overlapping AS {materialized}(
                 SELECT mine.plan_id AS mine_id, candidate.id
                 FROM mine JOIN candidate ON candidate.n = mine.n AND candidate.window_start < mine.ends
                                         AND mine.starts < candidate.window_end AND candidate.id <> mine.plan_id
             ),
             others AS {materialized}(SELECT DISTINCT id FROM overlapping),
             {", ".join(ctes)},
             shared (mine_id, other_id, source, key_id, label) AS ({" UNION ALL ".join(parts)})
        SELECT shared.mine_id, o.id, o.title, o.status, o.kind, o.window_start, o.window_end, shared.source,
               shared.key_id, shared.label
        FROM shared JOIN {plan_table} o ON o.id = shared.other_id
    """
    return sql, params + parts_params


def conflicts_for_plans(plans: Sequence[Windowed]) -> dict[int, list[Conflict]]:
    """Plan id → its conflicts with any other active plan, by the other's start. One query whatever the number
    of plans (none when no given plan is active); a plan that is not active itself has none.

    The plans are given as Plan instances or rows with the same attributes (pk, status, window_start,
    window_end: their windows may be edited and unsaved); the other plans and what every plan touches are read
    from the database (changecalendar.plan_keys)."""
    result: dict[int, list[Conflict]] = {plan.pk: [] for plan in plans if plan.pk}
    mine = {
        plan.pk: (plan.pk, start, end)
        for plan in plans
        if plan.pk and plan.status in ACTIVE_STATUSES
        for start, end in [(_utc(plan.window_start), _utc(plan.window_end))]
        if end > start
    }
    if not mine:
        return result
    using = router.db_for_read(Plan)
    shared: dict[tuple[int, int], list[Reason]] = defaultdict(list)
    others: dict[int, tuple[str, str, str, datetime, datetime]] = {}
    for plan_id, other_id, title, status, kind, start, end, key_kind, key_id, label in raw_rows(
        *_pairs_sql(list(mine.values()), using), using=using
    ):
        # Each (pair, kind, key) once: kind_keys reads each side's keys once.
        shared[(plan_id, other_id)].append(Reason(key_kind, label if label is not None else f"#{key_id}", key_id))
        if other_id not in others:
            others[other_id] = (title, status, kind, aware_utc(start), aware_utc(end))

    found: dict[int, list[Conflict]] = defaultdict(list)
    for (plan_id, other_id), reasons in shared.items():
        title, status, kind, start, end = others[other_id]
        found[plan_id].append(
            Conflict(
                plan_id=plan_id,
                other_id=other_id,
                other_title=title,
                other_status=status,
                other_kind=kind,
                other_start=start,
                other_end=end,
                reasons=tuple(sorted(reasons, key=_reason_order)),
            )
        )
    for plan_id, conflicts in found.items():
        conflicts.sort(key=lambda conflict: (conflict.other_start, conflict.other_id))
        result[plan_id] = conflicts
    return result


def _reason_order(reason: Reason) -> tuple[int, str, int]:
    return REASON_ORDER[reason.kind], reason.label, reason.id


def conflicts_of(plan: Plan) -> list[Conflict]:
    return conflicts_for_plans([plan]).get(plan.pk, [])


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
