"""Who may see and do what with a plan. Services call these; views use them to hide buttons."""

from django.utils.translation import gettext as _

from .choices import Role
from .roles import has_role, is_administrator


def can_view_plan(user, plan):
    # Change management is open: every signed-in user sees every plan.
    return user.is_authenticated and user.is_active


def can_create_plan(user):
    return has_role(user, Role.AUTHOR) or is_administrator(user)


def edit_refusal(user, plan):
    """Why the user may not edit the plan, or None when they may."""
    if not user.is_authenticated:
        return _("Sign in to edit the plan.")
    if not plan.is_editable:
        return _("The plan is “%(status)s”: it can no longer be edited.") % {"status": plan.get_status_display()}
    if is_administrator(user):
        return None
    if plan.author_id != user.pk:
        return _("Only the author of the plan can edit it.")
    if not has_role(user, Role.AUTHOR):
        return _("You do not have the author role.")
    return None


def can_edit_plan(user, plan):
    return edit_refusal(user, plan) is None


def can_cancel_plan(user, plan):
    """The author or an administrator (whether the plan can still be cancelled is the service's check)."""
    return user.is_authenticated and (plan.author_id == user.pk or is_administrator(user))
