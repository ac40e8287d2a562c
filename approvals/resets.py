"""How many signatures a material edit would reset: the plan editor asks before it saves (see versioning)."""

from changeplans.models import Plan

from .choices import ApprovalStatus
from .models import ApprovalRow

DECIDED = (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED, ApprovalStatus.ACKNOWLEDGED)


def signatures_to_reset(plan: Plan) -> int:
    """The decided rows of the plan: services.reset_for_new_version resets every one of them."""
    return ApprovalRow.objects.filter(plan=plan, status__in=DECIDED).count()
