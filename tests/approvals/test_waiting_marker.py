"""The waiting marker (approvals/waiting.py) against the rows themselves, through every transition (issue 16).

The badge and the inbox read `ApprovalRow.waiting` instead of recomputing each row's open stage from the plans
in review. After every step of a plan's life here, `waiting.drifted()` (the marker against the recomputed rule,
the query the badge ran before) must be empty, and each person's badge and inbox must equal what the rule and
the person's rows, deputies and groups give. Leave out one `waiting.sync` in approvals/services.py (or the
cancel hook) and the step after it fails.
"""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from approvals import selectors, services, waiting
from approvals.choices import ApprovalStatus, RowKind
from approvals.models import ApprovalRow, Delegation, MatrixTemplate, MatrixTemplateRow
from changeplans import services as plan_services
from changeplans.choices import PlanStatus
from tests.approvals.factories import plan_with_matrix
from tests.factories import PlanFactory, StepFactory, UserFactory

pytestmark = pytest.mark.django_db


def expected_pks(user):
    """The rows waiting for `user` by the rule itself (no marker): the query the badge ran before issue 16."""
    today = timezone.localdate()
    principals = Delegation.objects.filter(deputy=user, starts_on__lte=today, ends_on__gte=today).values("principal_id")
    groups = user.groups.values("pk")
    mine = (
        Q(user=user)
        | Q(kind=RowKind.APPROVAL, user_id__in=principals)
        | Q(kind=RowKind.ACKNOWLEDGEMENT, group_id__in=groups)
    )
    return sorted(ApprovalRow.objects.filter(waiting.truth()).filter(mine).values_list("pk", flat=True))


def check(people, **expected_counts):
    """No drift; each person's badge, counted rows and inbox rows are the rule's; optional counts by name."""
    assert list(waiting.drifted().values_list("pk", flat=True)) == []
    for name, user in people.items():
        truth = expected_pks(user)
        assert selectors.inbox_access(user)[1] == len(truth), name
        assert selectors.waiting_count(user) == len(truth), name
        assert sorted(selectors.waiting_rows(user).values_list("pk", flat=True)) == truth, name
        assert sorted(row.pk for row in selectors.inbox_rows(user)) == truth, name
        if name in expected_counts:
            assert len(truth) == expected_counts[name], name


def edit_step(plan, author, name):
    step = plan.steps.order_by("position").first()
    plan_services.update_step_cell(step.pk, actor=author, field="name", value=name, revision=step.revision)


def rows_of(plan):
    return list(ApprovalRow.objects.filter(plan=plan).order_by("position"))


@pytest.fixture
def staged(db):
    """A draft: approver1 and approver2 in stage 1, approver3 in stage 2, the duty group's acknowledgement; a
    deputy who signs for approver3 today."""
    plan, author, approvers, duty = plan_with_matrix(3, stages=[1, 1, 2])
    deputy = UserFactory(username="deputy", roles=["approver"])
    today = timezone.localdate()
    Delegation.objects.create(principal=approvers[2], deputy=deputy, starts_on=today, ends_on=today)
    people = {"a1": approvers[0], "a2": approvers[1], "a3": approvers[2], "duty": duty, "deputy": deputy}
    people["author"] = author
    return plan, author, approvers, duty, deputy, people


def version(plan):
    return plan.versions.order_by("-number").first().number


def test_every_transition_keeps_the_marker(staged, django_capture_on_commit_callbacks):
    plan, author, (a1, a2, a3), duty, deputy, people = staged
    check(people, a1=0, duty=0)  # a draft: nothing waits

    services.submit_plan(plan.pk, actor=author)
    check(people, a1=1, a2=1, a3=0, deputy=0, duty=1)  # stage 1 and the acknowledgement

    r1, r2, r3, ack = rows_of(plan)
    services.approve_row(r1.pk, actor=a1, version=version(plan))
    check(people, a1=0, a2=1, a3=0, duty=1)
    services.acknowledge_row(ack.pk, actor=duty, version=version(plan))
    check(people, duty=0)
    services.approve_row(r2.pk, actor=a2, version=version(plan))
    check(people, a2=0, a3=1, deputy=1)  # stage 2 opens: approver3 and the deputy see it

    # A new version in review resets every signature: stage 1 and the acknowledgement wait again.
    edit_step(plan, author, "Новое имя шага")
    check(people, a1=1, a2=1, a3=0, deputy=0, duty=1)

    for row, actor in ((r1, a1), (r2, a2)):
        services.approve_row(row.pk, actor=actor, version=version(plan))
    services.acknowledge_row(ack.pk, actor=duty, version=version(plan))
    services.approve_row(r3.pk, actor=deputy, version=version(plan))  # for approver3
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPROVED
    check(people, a1=0, a2=0, a3=0, deputy=0, duty=0)

    # An edit of the approved plan sends it back to review.
    edit_step(plan, author, "Ещё одно имя")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.IN_REVIEW
    check(people, a1=1, a2=1, duty=1)

    # A rejection: the plan goes back to its author, nothing waits; a resubmission asks stage 1 again.
    services.reject_row(r2.pk, actor=a2, version=version(plan), comment="Нет плана отката")
    check(people, a1=0, a2=0, duty=0)
    services.submit_plan(plan.pk, actor=author)
    check(people, a1=1, a2=1, duty=1)

    # A plan cancelled in review: nothing waits, inside the cancelling transaction already.
    with django_capture_on_commit_callbacks(execute=False):
        plan_services.cancel_plan(plan.pk, actor=author, comment="Перенесли")
        check(people, a1=0, a2=0, duty=0)
    check(people, a1=0, a2=0, duty=0)


def test_a_refused_decision_changes_no_marker(staged):
    plan, author, (a1, a2, a3), duty, deputy, people = staged
    services.submit_plan(plan.pk, actor=author)
    r1, r2, r3, ack = rows_of(plan)
    with pytest.raises(services.Refused):
        services.approve_row(r3.pk, actor=a3, version=1)  # stage 2 is not open
    with pytest.raises(services.StaleVersion):
        services.approve_row(r1.pk, actor=a1, version=9)
    check(people, a1=1, a3=0, duty=1)


def test_matrix_edits_of_a_draft_and_a_rejected_plan(staged):
    plan, author, (a1, a2, a3), duty, deputy, people = staged
    other = UserFactory(username="other", roles=["approver"])
    people["other"] = other
    row = services.add_matrix_row(plan.pk, actor=author, person=other, stage=1)
    check(people, other=0)
    services.submit_plan(plan.pk, actor=author)
    check(people, other=1, a3=0)
    services.reject_row(row.pk, actor=other, version=1, comment="Нет")
    check(people, other=0)
    # Rejected: the matrix may change; still nothing waits until it is submitted again.
    services.update_matrix_row(row.pk, actor=author, job_title="", person=other, kind=RowKind.APPROVAL, stage=2)
    services.move_matrix_row(row.pk, actor=author, offset=-1)
    a3_row = next(r for r in rows_of(plan) if r.user_id == a3.pk)
    services.update_matrix_row(a3_row.pk, actor=author, job_title="", person=a3, kind=RowKind.APPROVAL, stage=1)
    check(people, other=0, a3=0)
    services.submit_plan(plan.pk, actor=author)
    check(people, a1=1, a3=1, deputy=1, other=0)  # approver3 now in stage 1, `other` in stage 2
    # Rejected again, then the matrix replaced: by a template, by a copy, a row deleted.
    services.reject_row(a3_row.pk, actor=a3, version=version(plan), comment="Нет")
    template = MatrixTemplate.objects.create(name="Шаблон")
    MatrixTemplateRow.objects.create(template=template, position=1, person_name="Другой", user=other)
    services.apply_template(plan.pk, actor=author, template_id=template.pk)
    check(people, other=0)
    source, *_ = plan_with_matrix(1, author=author, duty=False)
    services.copy_matrix(plan.pk, actor=author, source_plan_id=source.pk)
    services.delete_matrix_row(rows_of(plan)[0].pk, actor=author)
    services.add_matrix_row(plan.pk, actor=author, person=a2)
    check(people, a2=0)
    services.submit_plan(plan.pk, actor=author)
    check(people, a2=1, other=0, a1=0)


def test_deputies_and_groups_are_read_when_asked(staged):
    # The marker knows no person: a delegation or a group membership given later counts at once.
    plan, author, (a1, a2, a3), duty, deputy, people = staged
    services.submit_plan(plan.pk, actor=author)
    late_deputy = UserFactory(username="late", roles=["approver"])
    people["late"] = late_deputy
    check(people, late=0)
    today = timezone.localdate()
    delegation = Delegation.objects.create(principal=a1, deputy=late_deputy, starts_on=today, ends_on=today)
    check(people, late=1)
    delegation.ends_on = delegation.starts_on = today - datetime.timedelta(days=1)
    delegation.save()
    check(people, late=0)
    late_deputy.groups.add(Group.objects.get(name="duty_officer"))
    check(people, late=1)  # the acknowledgement of the duty group, not approver1's row


def test_the_admin_keeps_the_marker(client, staged):
    plan, author, (a1, a2, a3), duty, deputy, people = staged
    services.submit_plan(plan.pk, actor=author)
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    people["extra"] = extra = UserFactory(username="extra", roles=["approver"])
    client.force_login(admin)
    form = {"plan": plan.pk, "position": 9, "kind": RowKind.APPROVAL, "stage": 1, "person_name": "Extra"}
    response = client.post(reverse("admin:approvals_approvalrow_add"), {**form, "user": extra.pk})
    assert response.status_code == 302
    check(people, extra=1)
    row = ApprovalRow.objects.get(plan=plan, user=extra)
    response = client.post(
        reverse("admin:approvals_approvalrow_change", args=[row.pk]), {**form, "stage": 2, "user": extra.pk}
    )
    assert response.status_code == 302
    check(people, extra=0, a3=0, a1=1)  # in stage 2 now, beside approver3: stage 1 is still open
    response = client.post(reverse("admin:approvals_approvalrow_delete", args=[row.pk]), {"post": "yes"})
    assert response.status_code == 302
    check(people, a1=1)


def test_rows_written_behind_the_services_are_found_and_mended(staged):
    plan, author, (a1, a2, a3), duty, deputy, people = staged
    services.submit_plan(plan.pk, actor=author)
    r1 = rows_of(plan)[0]
    ApprovalRow.objects.filter(pk=r1.pk).update(waiting=False)  # as a raw write would leave it
    assert list(waiting.drifted().values_list("pk", flat=True)) == [r1.pk]
    assert selectors.inbox_access(a1)[1] == 0  # the badge reads the marker only
    assert waiting.mark_all() == 3
    check(people, a1=1)
    lonely = PlanFactory(author=author)
    StepFactory(plan=lonely, position=1)
    ApprovalRow.objects.create(plan=lonely, position=1, person_name="Без плана", user=a1, status=ApprovalStatus.PENDING)
    check(people, a1=1)  # a draft's row: no drift, nothing waits
