from approvals.choices import ApprovalStatus, RowKind
from approvals.models import ApprovalRow
from tests.factories import PlanFactory, StepFactory, UserFactory


def plan_with_matrix(approvers=2, *, author=None, stages=None, duty=True):
    """A draft with one step, `approvers` approval rows (stages from `stages`) and a duty officer's row."""
    author = author or UserFactory(username="author", roles=["author"])
    plan = PlanFactory(author=author)
    StepFactory(plan=plan, position=1, name="Шаг 1")
    users = []
    for index in range(approvers):
        user = UserFactory(
            username=f"approver{index + 1}", last_name=f"Согласующий{index + 1}", first_name="А.А.", roles=["approver"]
        )
        users.append(user)
        ApprovalRow.objects.create(
            plan=plan,
            position=index + 1,
            stage=(stages[index] if stages else 1),
            job_title="руководитель",
            person_name=f"Согласующий{index + 1} А.А.",
            user=user,
        )
    duty_user = None
    if duty:
        duty_user = UserFactory(username="duty", last_name="Дежурный", first_name="Д.Д.", roles=["duty_officer"])
        from django.contrib.auth.models import Group

        ApprovalRow.objects.create(
            plan=plan,
            position=approvers + 1,
            kind=RowKind.ACKNOWLEDGEMENT,
            person_name="Дежурный НЭС",
            group=Group.objects.get(name="duty_officer"),
            status=ApprovalStatus.NOT_ACKNOWLEDGED,
        )
    return plan, author, users, duty_user
