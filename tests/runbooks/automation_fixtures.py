"""Plans with automated steps for the automation tests (the `running_plan` fixture is in tests/conftest.py)."""

from datetime import timedelta

from django.utils import timezone

from changeplans.choices import PlanStatus
from changeplans.models import Plan
from runbooks.models import StepAutomation
from tests.factories import PlanFactory


def make_plan(author, status=PlanStatus.APPROVED):
    start = (timezone.now() - timedelta(minutes=5)).replace(microsecond=0)
    plan = PlanFactory(author=author, window_start=start, window_end=start + timedelta(hours=3))
    Plan.objects.filter(pk=plan.pk).update(status=status)
    plan.refresh_from_db()
    return plan


def automate(step, argv=None, *, kind="shell", spec=None, params=None, timeout=60, approved=True, **extra):
    """A step's automation; `approved`: as if the plan's sign-off had approved this content (four eyes,
    runbooks/four_eyes.py; tests of the rule itself pass approved=False and approve it the real way)."""
    automation = StepAutomation.objects.create(
        step=step,
        kind=kind,
        spec=spec if spec is not None else {"argv": argv},
        params=params or {},
        timeout_seconds=timeout,
        **extra,
    )
    if approved:
        approve_as_signed(automation)
    return automation


def approve_as_signed(automation):
    from runbooks.four_eyes import content_hash
    from runbooks.models import ApprovalVia, AutomationApproval

    return AutomationApproval.objects.create(
        automation=automation, content_hash=content_hash(automation), via=ApprovalVia.SIGN_OFF, signers="test fixture"
    )
