"""Races on a real PostgreSQL: threads with their own connections, started together by a barrier.

Some rounds also hold the plan's row lock from a third connection until every racer is queued on it
(seen in pg_stat_activity), so the two operations really overlap instead of running one after the other.
"""

import datetime
import threading
import time

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone, translation

from approvals import services
from approvals.choices import ApprovalStatus
from approvals.models import ApprovalRow, Delegation
from changeplans import services as plan_services
from changeplans import versioning
from changeplans.choices import EventKind, PlanStatus
from changeplans.models import Plan, PlanEvent
from tests.approvals.factories import plan_with_matrix
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

JOIN_SECONDS = 60
QUEUE_WAIT_SECONDS = 20


def rows(plan):
    return list(ApprovalRow.objects.filter(plan=plan).order_by("position"))


def plan_transitions(plan, to_status):
    return PlanEvent.objects.filter(plan=plan, kind=EventKind.TRANSITION, object_type="plan", to_status=to_status)


def row_transitions(row, to_status):
    return PlanEvent.objects.filter(
        kind=EventKind.TRANSITION, object_type="approvalrow", object_id=row.pk, to_status=to_status
    )


def _waiting_on_locks():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


class PlanLockGate:
    """Holds the plan's row lock in its own thread and connection until released."""

    def __init__(self, plan_id):
        self.plan_id = plan_id
        self.locked = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self):
        try:
            with transaction.atomic():
                Plan.objects.select_for_update().get(pk=self.plan_id)
                self.locked.set()
                self.release.wait(JOIN_SECONDS)
        finally:
            connection.close()

    def __enter__(self):
        self.thread.start()
        assert self.locked.wait(JOIN_SECONDS)
        return self

    def wait_for_queue(self, count):
        """Block until `count` other connections wait on a lock (bounded; not a timing assertion)."""
        deadline = time.monotonic() + QUEUE_WAIT_SECONDS
        while _waiting_on_locks() < count:
            assert time.monotonic() < deadline, "the racers never queued on the plan's lock"
            time.sleep(0.01)

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join(JOIN_SECONDS)
        assert not self.thread.is_alive()


def race(*calls, gate=None):
    """Run the calls in threads started together; returns [("ok", value) | ("error", exception)] in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def worker(index, call):
        try:
            connection.ensure_connection()  # connect before the barrier, so the start is not skewed
            barrier.wait(JOIN_SECONDS)
            with translation.override("en"):
                results[index] = ("ok", call())
        except Exception as exc:  # noqa: BLE001 - the test inspects what each racer got
            results[index] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(index, call), daemon=True) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    if gate is not None:
        gate.wait_for_queue(len(calls))
        gate.release.set()
    for thread in threads:
        thread.join(JOIN_SECONDS)
        assert not thread.is_alive(), "a racer hung (deadlock?)"
    return results


# (a) two approvers at the same moment


@pytest.mark.parametrize("gated", [False, True], ids=["barrier", "queued-on-lock"])
def test_two_approvers_at_once_both_count_and_the_plan_is_approved_once(gated):
    # Given a plan in review whose duty officer has acknowledged; two approval rows are left
    plan, author, (a1, a2), duty = plan_with_matrix(2)
    services.submit_plan(plan.pk, actor=author)
    r1, r2, ack = rows(plan)
    services.acknowledge_row(ack.pk, actor=duty, version=1)

    # When both approvers approve at the same moment
    calls = (
        lambda: services.approve_row(r1.pk, actor=a1, version=1, comment="первый"),
        lambda: services.approve_row(r2.pk, actor=a2, version=1, comment="второй"),
    )
    if gated:
        with PlanLockGate(plan.pk) as gate:
            results = race(*calls, gate=gate)
    else:
        results = race(*calls)

    # Then both signatures are kept (no lost update) and the plan is approved exactly once
    assert [kind for kind, _value in results] == ["ok", "ok"], results
    r1, r2, ack = rows(plan)
    assert (r1.status, r1.decided_by, r1.comment, r1.version.number) == (ApprovalStatus.APPROVED, a1, "первый", 1)
    assert (r2.status, r2.decided_by, r2.comment, r2.version.number) == (ApprovalStatus.APPROVED, a2, "второй", 1)
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.APPROVED
    assert plan_transitions(plan, PlanStatus.APPROVED).count() == 1
    assert row_transitions(r1, ApprovalStatus.APPROVED).count() == 1
    assert row_transitions(r2, ApprovalStatus.APPROVED).count() == 1


# (b) an edit racing the last approval

ROUNDS = 20


def test_edit_racing_the_last_approval_never_approves_an_unseen_version():
    author = UserFactory(username="author", roles=["author"])
    edit_first = approval_first = 0
    for round_number in range(ROUNDS):
        # Given a plan where every sign-off but the last approval is given on version 1
        plan, _author, (a1, a2), duty = plan_with_matrix(2, author=author)
        services.submit_plan(plan.pk, actor=author)
        r1, r2, ack = rows(plan)
        services.approve_row(r1.pk, actor=a1, version=1)
        services.acknowledge_row(ack.pk, actor=duty, version=1)
        step = plan.steps.get()

        # When the author's material edit and the last approval (of version 1) start together
        # (race() joins both threads before the round ends; the defaults bind this round's objects anyway)
        calls = (
            lambda step=step, round_number=round_number: plan_services.update_step_cell(
                step.pk, actor=author, field="name", value=f"Шаг 1, правка {round_number}", revision=step.revision
            ),
            lambda r2=r2, a2=a2: services.approve_row(r2.pk, actor=a2, version=1),
        )
        if round_number % 2:
            with PlanLockGate(plan.pk) as gate:
                (edit_kind, edit_value), (approval_kind, approval_value) = race(*calls, gate=gate)
        else:
            (edit_kind, edit_value), (approval_kind, approval_value) = race(*calls)

        # Then the edit always lands and makes version 2 ...
        assert edit_kind == "ok", edit_value
        plan.refresh_from_db()
        latest = versioning.latest_version(plan)
        assert latest.number == 2
        assert latest.snapshot["steps"][0]["name"] == f"Шаг 1, правка {round_number}"
        # ... and the plan is back in review with nobody's signature left on version 1
        assert plan.status == PlanStatus.IN_REVIEW
        final_rows = rows(plan)
        assert not [row for row in final_rows if row.is_decided and row.version_id != latest.pk]
        assert all(not row.is_decided and row.version is None for row in final_rows)
        version2_event = PlanEvent.objects.get(plan=plan, kind=EventKind.VERSION, comment__endswith="2")
        approvals_of_plan = list(plan_transitions(plan, PlanStatus.APPROVED))
        if approval_kind == "ok":
            # The approval came first: the plan was approved on version 1, then the edit reopened it.
            approval_first += 1
            assert approval_value.version.number == 1
            assert len(approvals_of_plan) == 1 and approvals_of_plan[0].pk < version2_event.pk
            reopened = plan_transitions(plan, PlanStatus.IN_REVIEW).filter(from_status=PlanStatus.APPROVED)
            assert reopened.count() == 1 and reopened.get().pk > version2_event.pk
        else:
            # The edit came first: the approver saw a version that is no longer current.
            edit_first += 1
            assert isinstance(approval_value, services.StaleVersion), approval_value
            assert approvals_of_plan == []
            assert not row_transitions(r2, ApprovalStatus.APPROVED).exists()
    print(f"\nedit first: {edit_first}, approval first: {approval_first}")
    assert edit_first + approval_first == ROUNDS


# (c) the same row approved twice at once


def test_double_click_signs_once():
    plan, author, (a1, a2), duty = plan_with_matrix(2)
    services.submit_plan(plan.pk, actor=author)
    r1 = rows(plan)[0]

    with PlanLockGate(plan.pk) as gate:
        results = race(
            lambda: services.approve_row(r1.pk, actor=a1, version=1, via="web"),
            lambda: services.approve_row(r1.pk, actor=a1, version=1, via="email"),
            gate=gate,
        )

    assert_signed_once(plan, r1, results, signers={a1})


def test_principal_and_deputy_at_once_sign_once():
    plan, author, (a1, a2), duty = plan_with_matrix(2)
    deputy = UserFactory(username="deputy", last_name="Иванов", first_name="П.С.", roles=["approver"])
    today = timezone.localdate()
    Delegation.objects.create(
        principal=a1,
        deputy=deputy,
        starts_on=today - datetime.timedelta(days=7),
        ends_on=today + datetime.timedelta(days=7),
    )
    services.submit_plan(plan.pk, actor=author)
    r1 = rows(plan)[0]

    results = race(
        lambda: services.approve_row(r1.pk, actor=a1, version=1),
        lambda: services.approve_row(r1.pk, actor=deputy, version=1),
    )

    row = assert_signed_once(plan, r1, results, signers={a1, deputy})
    assert row.on_behalf_of == (a1 if row.decided_by == deputy else None)


def assert_signed_once(plan, row, results, *, signers):
    kinds = sorted(kind for kind, _value in results)
    assert kinds == ["error", "ok"], results
    (loser,) = [value for kind, value in results if kind == "error"]
    assert isinstance(loser, PermissionDenied), loser
    assert "already decided" in str(loser)
    row.refresh_from_db()
    assert row.status == ApprovalStatus.APPROVED and row.decided_by in signers
    assert row_transitions(row, ApprovalStatus.APPROVED).count() == 1
    # The losing click is a recorded refusal, not a second signature.
    refused = PlanEvent.objects.filter(plan=plan, kind=EventKind.REFUSED, object_id=row.pk)
    assert refused.count() == 1 and "already decided" in refused.get().comment
    return row


# (d) self-approval through every entry point's `via`

ENTRY_POINTS = ["web", "api", "admin", "email"]


def test_self_approval_is_refused_and_recorded_for_every_entry_point():
    # Given the author holds an approval row on their own plan, and the curator holds another
    plan, author, (a1, a2), duty = plan_with_matrix(2)
    curator = UserFactory(username="curator", roles=["approver"])
    Plan.objects.filter(pk=plan.pk).update(curator=curator)
    own_row, curators_row, ack = rows(plan)
    ApprovalRow.objects.filter(pk=own_row.pk).update(user=author)
    ApprovalRow.objects.filter(pk=curators_row.pk).update(user=curator)
    services.submit_plan(plan.pk, actor=author)

    # When each of them tries to sign, through each entry point
    for via in ENTRY_POINTS:
        for actor, row in ((author, own_row), (curator, curators_row)):
            with translation.override("en"), pytest.raises(PermissionDenied) as refused:
                services.approve_row(row.pk, actor=actor, version=1, via=via)
            assert "authored or curate" in str(refused.value)

    # Then nothing is signed and each attempt is one REFUSED entry naming the entry point
    assert all(not row.is_decided for row in rows(plan))
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.IN_REVIEW
    assert not PlanEvent.objects.filter(plan=plan, kind=EventKind.TRANSITION, object_type="approvalrow").exists()
    for actor, row in ((author, own_row), (curator, curators_row)):
        refusals = list(
            PlanEvent.objects.filter(plan=plan, kind=EventKind.REFUSED, actor=actor, object_id=row.pk).order_by("id")
        )
        assert [event.comment.rsplit("(", 1)[1] for event in refusals] == [f"{via})" for via in ENTRY_POINTS]


def test_author_as_a_deputy_still_cannot_approve_their_plan():
    # A delegation does not lift the rule: the author may not sign their plan for someone else.
    plan, author, (a1, a2), duty = plan_with_matrix(2)
    today = timezone.localdate()
    Delegation.objects.create(principal=a1, deputy=author, starts_on=today, ends_on=today)
    services.submit_plan(plan.pk, actor=author)
    r1 = rows(plan)[0]

    for via in ENTRY_POINTS:
        with translation.override("en"), pytest.raises(PermissionDenied, match="authored or curate"):
            services.approve_row(r1.pk, actor=author, version=1, via=via)

    assert rows(plan)[0].status == ApprovalStatus.PENDING
    assert PlanEvent.objects.filter(plan=plan, kind=EventKind.REFUSED, actor=author).count() == len(ENTRY_POINTS)
