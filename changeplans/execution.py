"""Step transitions during the work: start, finish, fail, skip, with the history entry each one writes.

`actor=None` is Okno itself (an automatic step). Callers hold the transaction; `on_step_changed`
callbacks run after it commits, with the step's plan id and step id.
"""

from django.db import transaction
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from .choices import EventKind
from .models import Step
from .services import record_event

on_step_changed = []


class StepStateError(Exception):
    """The step is not in a state that allows this transition."""


def _transition(step, method, *, actor, comment=""):
    transition = getattr(step, method)
    if not can_proceed(transition):
        raise StepStateError(_("The step is already “%(status)s”.") % {"status": step.get_status_display()})
    before = step.status
    transition()
    if actor is not None and method in ("finish", "fail", "skip"):
        step.done_by = actor
    step.save()
    record_event(step.plan, actor=actor, kind=EventKind.TRANSITION, obj=step, from_status=before, to_status=step.status, comment=comment)
    for callback in on_step_changed:
        transaction.on_commit(lambda callback=callback: callback(step.plan_id, step.pk), robust=True)
    return step


def start_step(step, *, actor, comment=""):
    return _transition(step, "start", actor=actor, comment=comment)


def finish_step(step, *, actor, comment=""):
    return _transition(step, "finish", actor=actor, comment=comment)


def fail_step(step, *, actor, reason):
    return _transition(step, "fail", actor=actor, comment=reason)


def skip_step(step, *, actor, reason):
    return _transition(step, "skip", actor=actor, comment=reason)


def lock_step(step_id):
    return Step.objects.select_for_update(of=("self",)).select_related("plan").filter(pk=step_id).first()
