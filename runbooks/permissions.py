"""Who may see automation runs: their pages, logs, live output and a plan's rehearsal results.

A run's log is what the command printed: host names, versions, and whatever a secret-masking list could
not catch. Plans are open to every signed-in user (changeplans.permissions.can_view_plan); run output is
not: only those who may see the plan AND have a stake in it — administrators, operators, duty officers,
the plan's author and curator, and the people on its sign-off matrix (with their deputies of the day).
"""

from django.utils import timezone

from changeplans.choices import Role
from changeplans.permissions import can_view_plan
from changeplans.roles import has_role

STAFF_ROLES = (Role.ADMIN, Role.OPERATOR, Role.DUTY_OFFICER)


def _on_sign_off_matrix(user, plan):
    from django.db.models import Q

    from approvals.models import ApprovalRow, Delegation

    today = timezone.localdate()
    principals = Delegation.objects.filter(deputy=user, starts_on__lte=today, ends_on__gte=today).values("principal_id")
    group_ids = user.groups.values("pk")
    return (
        ApprovalRow.objects.filter(plan_id=plan.pk)
        .filter(
            Q(user=user)
            | Q(decided_by=user)
            | Q(on_behalf_of=user)
            | Q(group_id__in=group_ids)
            | Q(user_id__in=principals)
        )
        .exists()
    )


def can_view_runs(user, plan):
    """May `user` see the automation runs (pages, logs, streams, rehearsal results) of `plan`?"""
    if not can_view_plan(user, plan):
        return False
    if any(has_role(user, role) for role in STAFF_ROLES):
        return True
    if user.pk in (plan.author_id, plan.curator_id):
        return True
    return _on_sign_off_matrix(user, plan)


def can_view_run(user, run):
    return can_view_runs(user, run.plan)
