"""The plan's append-only history: `record_event` writes one `PlanEvent`; listeners hear it after commit."""

from collections.abc import Callable

from django.db import transaction

from .models import PlanEvent

# Called after commit with (plan id, event id): the live board's stream registers here (execution/apps.py).
on_event_recorded: list[Callable[[int, int], None]] = []


def record_event(plan, *, actor, kind, obj=None, from_status="", to_status="", comment="", changes=None) -> PlanEvent:
    event = PlanEvent.objects.create(
        plan=plan,
        actor=actor,
        kind=kind,
        object_type=obj._meta.model_name if obj is not None else "plan",
        object_id=obj.pk if obj is not None else plan.pk,
        object_label=str(obj if obj is not None else plan)[:300],
        from_status=from_status,
        to_status=to_status,
        comment=comment,
        changes=changes or {},
    )
    for listener in on_event_recorded:
        transaction.on_commit(lambda listener=listener: listener(event.plan_id, event.pk), robust=True)
    return event
