"""The change type of a plan (docs/change-types.md): what an author may choose; the rest is the services'."""

from django.utils.translation import gettext as _

from .choices import PlanKind

# Kinds an author may choose (new plan, copy, API, header); STANDARD only comes from a standard runbook.
CHOOSABLE_KINDS = (PlanKind.NORMAL, PlanKind.EMERGENCY)


def kind_refusal(kind: str) -> str | None:
    """Why a plan may not be given this kind by hand, or None."""
    if kind == PlanKind.STANDARD:
        return _("A plan becomes a standard change only when it is made from a standard runbook.")
    if kind not in PlanKind.values:
        return _("Unknown change type.")
    return None


def copied_kind(kind: str) -> str:
    """A copy keeps the source's type, except standard: a copy is not made from the runbook."""
    return PlanKind.NORMAL if kind == PlanKind.STANDARD else kind
