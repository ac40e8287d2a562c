"""The read side of sign-off: what the matrix, the inbox, the diff page and the navigation badge show.

Pure reads: nothing here writes or locks. Each function runs a fixed number of queries, however many
plans or rows there are (tests/approvals/test_views.py counts them). The guards are the ones the
services apply (approvals.conditions), so a refusal shown as a hint is the refusal a post would get.
"""

import datetime
import functools
import operator
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Group, User
from django.db import connection
from django.db.models import Exists, IntegerField, Max, OuterRef, Q, QuerySet, Subquery
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from changeplans import versioning
from changeplans.choices import EventKind, PlanStatus, Role
from changeplans.models import Plan, PlanEvent, PlanVersion, Step
from changeplans.roles import has_role, user_group_ids
from common.compiled import CompiledQuery

from . import conditions, people
from .choices import ApprovalStatus, RowKind
from .models import ApprovalRow, Delegation, MatrixTemplate

DECIDED = (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED, ApprovalStatus.ACKNOWLEDGED)

# The pages' user: pages that need a login get a User, the plan page's parts may get an anonymous one.
AnyUser = User | AnonymousUser


def signoff_plan(plan_id: int) -> Plan:
    """The plan with the people the sign-off parts name."""
    return Plan.objects.select_related("author", "curator").get(pk=plan_id)


# --- rows waiting for a user (the inbox and the navigation badge) ------------------------------------


def _people(user: User, today: datetime.date) -> tuple[QuerySet[Any], QuerySet[Any]]:
    """(who delegated to `user` today, the user's groups) as subqueries."""
    principals = Delegation.objects.filter(deputy=user, starts_on__lte=today, ends_on__gte=today).values("principal_id")
    groups = get_user_model().groups.through.objects.filter(user_id=user.pk).values("group_id")
    return principals, groups


def _waiting() -> QuerySet[ApprovalRow]:
    """The rows asked now: the marker (approvals/waiting.py) holds only rows of plans in review."""
    return ApprovalRow.objects.filter(waiting=True)


def waiting_rows(user: User, today: datetime.date | None = None) -> QuerySet[ApprovalRow]:
    """Rows waiting for `user`, in one query whatever the number of plans.

    The rows asked now (approvals.waiting: plans in review; approvals pending in the open stage, acknowledgements
    not yet given) that are the user's own, approvals of someone who delegated to the user today, or
    acknowledgements of one of the user's groups.
    """
    own, deputy, group = _waiting_parts(user, today or timezone.localdate())
    # Each part through its own partial index, united: an OR of them would walk every plan in review instead.
    ids = own.values("pk").union(deputy.values("pk"), group.values("pk"))
    return ApprovalRow.objects.filter(pk__in=ids)


class _Count(Subquery):
    """COUNT(*) of a subquery, as a value of the outer query."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) _count)"
    output_field = IntegerField()


def _waiting_parts(user: User, today: datetime.date) -> tuple[QuerySet[ApprovalRow], ...]:
    """The rows waiting for `user` in three disjoint parts, each served by a partial index of the marked rows:
    the user's own rows; approvals of someone who delegated to the user today; acknowledgements of one of the
    user's groups (not the user's own rows)."""
    principals, groups = _people(user, today)
    own = _waiting().filter(user=user)
    deputy = _waiting().filter(kind=RowKind.APPROVAL, user_id__in=principals).exclude(user=user)
    group = _waiting().filter(kind=RowKind.ACKNOWLEDGEMENT, group_id__in=groups).exclude(user=user)
    return own.order_by(), deputy.order_by(), group.order_by()


def _waiting_count(user: User, today: datetime.date) -> Any:
    """How many rows wait for `user`, as an expression: the sum of the counts of the three parts."""
    own, deputy, group = (_Count(rows.values("pk")) for rows in _waiting_parts(user, today))
    return own + deputy + group


def waiting_count(user: AnyUser) -> int:
    """How many rows wait for `user` (the navigation badge: one COUNT query)."""
    if not user.is_authenticated:
        return 0
    return waiting_rows(user).count()


# Who signs: the roles asked for signatures, and anyone a matrix names (their row, their group's, a principal's).
SIGNER_ROLES = (Role.APPROVER, Role.DUTY_OFFICER)


def _access_query(user: User, today: datetime.date) -> QuerySet[Any]:
    """The navigation's one query: (is any row ever the user's, how many rows wait for the user).

    "Is any row ever mine" stops at the first row found through the user, deputy and group indexes; the
    waiting rows are counted through the partial indexes of the marked rows (approvals/waiting.py): neither
    grows with the history of decided rows or of plans."""
    principals, groups = _people(user, today)
    return (
        get_user_model()
        .objects.filter(pk=user.pk)
        .annotate(
            named=Exists(ApprovalRow.objects.filter(user=user))
            | Exists(ApprovalRow.objects.filter(user_id__in=principals))
            | Exists(ApprovalRow.objects.filter(group_id__in=groups)),
            waiting=_waiting_count(user, today),
        )
        .values_list("named", "waiting")
    )


# Every page asks; building the query through the ORM cost more than running it. It is built once per process
# and database, for a stand-in user and day whose parameters are then swapped for the real ones.
_STAND_IN_USER = 2_147_480_001
_STAND_IN_DAY = datetime.date(1901, 1, 2)
_access_sql: dict[str, tuple[str, tuple[Any, ...]]] = {}


def _access_counts(user: User) -> tuple[bool, int]:
    vendor, adapt = connection.vendor, connection.ops.adapt_datefield_value  # SQLite: dates as text
    if vendor not in _access_sql:
        query = _access_query(get_user_model()(pk=_STAND_IN_USER), _STAND_IN_DAY).query
        sql, params = query.sql_with_params()
        if _STAND_IN_USER not in params or adapt(_STAND_IN_DAY) not in params:
            raise AssertionError("the navigation query lost its stand-in parameters")
        _access_sql[vendor] = (sql, tuple(params))
    sql, params = _access_sql[vendor]
    day, today = adapt(_STAND_IN_DAY), adapt(timezone.localdate())
    values = [user.pk if p == _STAND_IN_USER else today if p == day else p for p in params]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        named, waiting = cursor.fetchone()
    return bool(named), int(waiting)


def inbox_access(user: AnyUser) -> tuple[bool, int]:
    """(may `user` use "Awaiting my sign-off", how many rows wait for them) in one query, for the navigation.

    A user may when they hold a signer role or a matrix names them (their own row, a row of one of their
    groups, or of someone who delegated to them today), whatever the plan's state.
    """
    if not user.is_authenticated:
        return False, 0
    named, waiting = _access_counts(user)
    may = named or any(has_role(user, role) for role in SIGNER_ROLES)
    return may, waiting


def may_sign(user: AnyUser) -> bool:
    """Whether "Awaiting my sign-off" is for `user` (inbox_access); the inbox refuses others."""
    return inbox_access(user)[0]


def last_decided_versions(user: User, plan_ids: Iterable[int]) -> dict[int, int]:
    """{plan_id: number of the version `user` last approved, rejected or acknowledged on that plan}.

    A new version resets the rows, so the history is the record. A signature and the making of a
    version both hold the plan's row lock, so the version signed is the newest one made before it.
    """
    decided = dict(
        PlanEvent.objects.filter(
            plan_id__in=plan_ids,
            actor=user,
            kind=EventKind.TRANSITION,
            object_type="approvalrow",
            to_status__in=DECIDED,
        )
        .order_by()
        .values("plan_id")
        .annotate(last=Max("at"))
        .values_list("plan_id", "last")
    )
    if not decided:
        return {}
    result = {}
    versions = (
        PlanVersion.objects.filter(plan_id__in=decided)
        .order_by("plan_id", "number")
        .values_list("plan_id", "number", "created_at")
    )
    for plan_id, number, created_at in versions:
        if created_at <= decided[plan_id]:
            result[plan_id] = number
    return result


def _change_counts(spans: dict[int, tuple[int, int]]) -> dict[int, int]:
    """{plan_id: how many things changed from version a to version b} for {plan_id: (a, b)}, in one query."""
    if not spans:
        return {}
    wanted = functools.reduce(operator.or_, (Q(plan_id=plan_id, number__in=span) for plan_id, span in spans.items()))
    found = PlanVersion.objects.filter(wanted).values_list("plan_id", "number", "snapshot")
    snapshots = {(plan_id, number): snapshot for plan_id, number, snapshot in found}
    return {
        plan_id: len(versioning.diff(snapshots[(plan_id, old)], snapshots[(plan_id, new)]))
        for plan_id, (old, new) in spans.items()
        if (plan_id, old) in snapshots and (plan_id, new) in snapshots
    }


def inbox_rows(user: User) -> QuerySet[ApprovalRow]:
    """The inbox's rows in its order (the soonest window first), for a page of them to be taken."""
    latest = PlanVersion.objects.filter(plan=OuterRef("plan")).order_by("-number").values("number")[:1]
    return (
        waiting_rows(user)
        .select_related("plan", "user")
        .only(*INBOX_FIELDS)
        .annotate(latest_version=Subquery(latest))
        .order_by("plan__window_start", "plan_id", "position")
    )


# What the inbox shows and its guards read (approvals/inbox_rows.py, conditions.sign_refusal), and no more:
# a plan's goal and announcement texts, a signature's comment stay in the database.
INBOX_FIELDS = (
    *("pk", "plan", "position", "kind", "job_title", "person_name", "user", "group", "stage", "status", "waiting"),
    *("plan__title", "plan__status", "plan__time_zone", "plan__window_start", "plan__window_end"),
    *("plan__kind", "plan__emergency_signoff_due"),  # the change type's badge; post-factum signing
    *("plan__author", "plan__curator"),
    *("user__username", "user__first_name", "user__last_name", "user__is_active"),
)


def inbox_entries(user: User, rows: Iterable[ApprovalRow] | None = None) -> list[dict[str, Any]]:
    """What the inbox shows: each waiting row (`rows`: a page of inbox_rows; default: all) with its plan, the
    version to sign and how many things changed since the version the user last decided on. A fixed number
    of queries, however many plans wait."""
    # Annotated by inbox_rows: latest_version.
    shown: list[Any] = list(inbox_rows(user) if rows is None else rows)
    plan_ids = {row.plan_id for row in shown}
    last = last_decided_versions(user, plan_ids) if plan_ids else {}
    # Only plans changed since the user's last decision need a diff: their two snapshots, in one query.
    changes = _change_counts(
        {
            row.plan_id: (last[row.plan_id], row.latest_version)
            for row in shown
            if last.get(row.plan_id) and row.latest_version and last[row.plan_id] < row.latest_version
        }
    )
    entries = []
    principals = None
    if any(row.kind == RowKind.APPROVAL and row.user_id != user.pk for row in shown):
        principals = set(_people(user, timezone.localdate())[0].values_list("principal_id", flat=True))
    for row in shown:
        _mark_waiting_row(row, user, principals)
        entries.append(
            {
                "row": row,
                "plan": row.plan,
                "version": row.latest_version,
                "principal": row.user if row.kind == RowKind.APPROVAL and row.user_id != user.pk else None,
                "last_decided": last.get(row.plan_id),
                "changes": changes.get(row.plan_id),
            }
        )
    return entries


def _mark_waiting_row(row: ApprovalRow, user: User, principals: set[int] | None) -> None:
    """What `user` may do with a row waiting_rows chose (`principals`: who delegated to the user today)."""
    row.mine, row.refusal, row.for_principal = True, None, None
    if row.kind == RowKind.APPROVAL:
        # The query already chose the open stage, so the guard needs no other rows; acknowledgements
        # need no guard here: the query checks all that acknowledge_refusal does.
        row.refusal, row.for_principal = conditions.sign_refusal(row, user, rows=[], principals=principals)
    row.can_sign = row.kind == RowKind.APPROVAL and row.refusal is None
    row.can_acknowledge = row.kind == RowKind.ACKNOWLEDGEMENT


# --- the matrix of one plan ---------------------------------------------------------------------------


def _mark_matrix_rows(plan: Plan, rows: list[ApprovalRow], user: AnyUser) -> None:
    """Set on each row whether it is the user's (own, delegated today, or the user's group's) and, in review,
    whether the user may sign or acknowledge it now, or the guard's refusal to show instead of the buttons.
    Each row carries `delegated` (its person delegated to the user today: matrix_context's query asks it)."""
    for row in rows:
        row.plan = plan
        row.mine = row.can_sign = row.can_acknowledge = False
        row.refusal = row.for_principal = None
    if not rows or not user.is_authenticated:
        return
    # The principals among the rows' people: all sign_refusal asks of a row here is whether its person is one.
    principals = {row.user_id for row in rows if row.user_id is not None and getattr(row, "delegated", False)}
    group_ids = user_group_ids(user)  # read once a request with the user's roles
    for row in rows:
        if row.kind == RowKind.APPROVAL:
            row.mine = row.user_id is not None and (row.user_id == user.pk or row.user_id in principals)
        else:
            row.mine = (row.user_id is not None and row.user_id == user.pk) or (
                row.group_id is not None and row.group_id in group_ids
            )
        if not row.mine or conditions.signing_refusal(plan) or row.is_decided:
            continue
        if row.kind == RowKind.APPROVAL:
            row.refusal, row.for_principal = conditions.sign_refusal(row, user, rows=rows, principals=principals)
            row.can_sign = row.refusal is None
        else:
            row.refusal = conditions.acknowledge_refusal(row, user)
            row.can_acknowledge = row.refusal is None


def may_submit(plan: Plan, user: AnyUser) -> bool:
    """The author or an administrator, of a draft or a rejected plan (as approvals.services.submit_plan checks)."""
    return plan.status in (PlanStatus.DRAFT, PlanStatus.REJECTED) and conditions.prepares_plan(user, plan)


def may_edit_matrix(plan: Plan, user: AnyUser) -> bool:
    """The author or an administrator, while the plan is a draft or rejected (as the matrix services check)."""
    return conditions.prepares_plan(user, plan) and conditions.matrix_locked_refusal(plan) is None


def people_search_url() -> str | None:
    """The people picker's search (changeplans:people_search); None where it is not installed: the matrix
    builder then offers a plain list of users and groups."""
    try:
        return reverse("changeplans:people_search")
    except NoReverseMatch:
        return None


def matrix_sources(plan: Plan, query: str = "", limit: int = 20) -> list[Plan]:
    """Plans whose matrix the author may copy: every plan with rows but this one (every signed-in user sees
    every plan), matched by number or title, newest first; one query."""
    plans = Plan.objects.exclude(pk=plan.pk).filter(Exists(ApprovalRow.objects.filter(plan=OuterRef("pk"))))
    query = query.strip().lstrip("№#").strip()
    if query:
        match = Q(title__icontains=query)
        if query.isdigit() and len(query) < 10:
            match |= Q(pk=int(query))
        plans = plans.filter(match)
    return list(plans.only("pk", "title", "status").order_by("-pk")[:limit])


def matrix_templates() -> list[MatrixTemplate]:
    """The matrix templates an author may apply (every one), by name."""
    return list(MatrixTemplate.objects.all())


def matrix_builder_context(plan: Plan) -> dict[str, Any]:
    """What the matrix builder offers: the picker's search (or the plain lists). The plans to copy from and the
    templates are asked when the author opens that control (views.matrix_sources, views.matrix_templates)."""
    url = people_search_url()
    context: dict[str, Any] = {"can_edit_matrix": True, "picker_url": url}
    if url is None:
        context["choice_users"] = [
            (people.key(user), people.label(user))
            for user in get_user_model().objects.filter(is_active=True).order_by("last_name", "first_name", "pk")
        ]
        context["choice_groups"] = [
            (people.key(group), people.group_label(group)) for group in Group.objects.order_by("name")
        ]
    return context


def _matrix_facts(plan: Plan) -> dict[str, Any]:
    """The plan's newest version (its id and number; the rest is read if asked for) and whether it has steps:
    one query, in SQL (the ORM's compilation of the same subqueries cost more than the query)."""
    version_table, step_table = PlanVersion._meta.db_table, Step._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {step_table} WHERE plan_id = %s), v.id, v.number"
            f" FROM (SELECT 1 AS one) AS x LEFT JOIN (SELECT id, number FROM {version_table}"
            " WHERE plan_id = %s ORDER BY number DESC LIMIT 1) AS v ON 1 = 1",
            [plan.pk, plan.pk],
        )
        has_steps, pk, number = cursor.fetchone()
    version = None
    if pk is not None:
        # As loaded with .only(): the other fields (the snapshot above all) are read only if asked for.
        version = PlanVersion.from_db(None, ["id", "plan_id", "number"], [pk, plan.pk, number])
        version.plan = plan
    return {"version": version, "has_steps": bool(has_steps)}


def _matrix_rows(plan_id: int, *, viewer_id: int | None, today: datetime.date | None) -> QuerySet[ApprovalRow]:
    rows = (
        ApprovalRow.objects.filter(plan_id=plan_id)
        .select_related("user", "group", "decided_by", "on_behalf_of", "version")
        .defer("version__snapshot")  # the page shows version numbers: never parse a whole plan per row
        .order_by("position")
    )
    if viewer_id is None:
        return rows
    # Whether the row's person delegated to the viewer today: in the rows' query, not one more.
    return rows.annotate(
        delegated=Exists(
            Delegation.objects.filter(
                deputy_id=viewer_id, principal_id=OuterRef("user_id"), starts_on__lte=today, ends_on__gte=today
            )
        )
    )


# The matrix rows of a plan page, compiled once per process (common/compiled.py): the plan's id, the viewer's and
# today's date go where these stand-ins are (for no one signed in: without the delegations).
_MATRIX_VIEWER = 2_147_480_013
_MATRIX_DAY = datetime.date(1901, 2, 3)
_MATRIX_ROWS = CompiledQuery(
    lambda pk: _matrix_rows(pk, viewer_id=_MATRIX_VIEWER, today=_MATRIX_DAY),
    stand_in=2_147_480_012,
)
_MATRIX_ROWS_ANONYMOUS = CompiledQuery(
    lambda pk: _matrix_rows(pk, viewer_id=None, today=None),
    stand_in=2_147_480_012,
)


def matrix_context(plan: Plan, user: AnyUser) -> dict[str, Any]:
    """The sign-off parts of a plan page for `user`: rows with what the user may do, the version, submit state."""
    if user.is_authenticated:
        extra = {_MATRIX_VIEWER: user.pk, _MATRIX_DAY: timezone.localdate()}
        rows = _MATRIX_ROWS.all(plan.pk, extra=extra)
    else:
        rows = _MATRIX_ROWS_ANONYMOUS.all(plan.pk)
    facts = _matrix_facts(plan)
    _mark_matrix_rows(plan, rows, user)
    can_submit = may_submit(plan, user)
    approvals = [row for row in rows if row.kind == RowKind.APPROVAL]
    acknowledgements = [row for row in rows if row.kind == RowKind.ACKNOWLEDGEMENT]
    can_edit_matrix = may_edit_matrix(plan, user)
    if can_edit_matrix:
        for row in rows:
            row.who_key = people.row_key(row.user_id, row.group_id)
            row.problem = conditions.row_refusal(row, plan)
    return {
        "rows": rows,
        "version": facts["version"],
        "can_submit": can_submit,
        **(matrix_builder_context(plan) if can_edit_matrix else {"can_edit_matrix": False}),
        "submit_refusal": conditions.submit_refusal(plan, rows, has_steps=facts["has_steps"]) if can_submit else None,
        "rejected_rows": [row for row in rows if row.status == ApprovalStatus.REJECTED]
        if plan.status == PlanStatus.REJECTED
        else [],
        "approved_count": sum(row.status == ApprovalStatus.APPROVED for row in approvals),
        "approval_count": len(approvals),
        "acknowledged_count": sum(row.status == ApprovalStatus.ACKNOWLEDGED for row in acknowledgements),
        "acknowledgement_count": len(acknowledgements),
        "staged": len({row.stage for row in rows}) > 1,
        "my_rows": [row for row in rows if row.mine],
        "waiting_for_me": any(row.can_sign or row.can_acknowledge for row in rows),
        # Edits of a plan under sign-off make versions and reset rows: the page refreshes the matrix after them.
        "live": plan.status in (PlanStatus.IN_REVIEW, PlanStatus.APPROVED),
    }


# --- the diff page ------------------------------------------------------------------------------------


def diff_actions_context(plan: Plan, user: AnyUser) -> dict[str, Any]:
    """The diff page's sign-off part: the user's rows of the plan with their buttons."""
    signoff = matrix_context(plan, user)
    return {"plan": plan, "signoff": signoff, "my_rows": signoff["my_rows"]}


def plan_versions(plan: Plan) -> list[PlanVersion]:
    """The plan's versions, oldest first, without their snapshots."""
    return list(plan.versions.select_related("created_by").defer("snapshot").order_by("number"))


def diff_context(
    plan: Plan,
    user: User,
    versions: list[PlanVersion],
    *,
    from_version: int | None = None,
    to_version: int | None = None,
) -> dict[str, Any]:
    """What changed between two versions of the plan, with the user's rows to decide on.

    Defaults: to the latest version, from the version the user last decided on (or 1).
    """
    context: dict[str, Any] = {"versions": versions, "changes": [], "from_version": None, "to_version": None}
    if not versions:
        return context
    latest = versions[-1].number
    to_version = to_version or latest
    default_from = last_decided_versions(user, [plan.pk]).get(plan.pk) or 1
    from_version = from_version or min(default_from, to_version)
    if from_version != to_version:
        snapshots = dict(
            PlanVersion.objects.filter(plan=plan, number__in=(from_version, to_version)).values_list(
                "number", "snapshot"
            )
        )
        context["changes"] = versioning.diff(snapshots[from_version], snapshots[to_version])
    context.update(from_version=from_version, to_version=to_version, latest=latest)
    context.update(diff_actions_context(plan, user))
    return context
