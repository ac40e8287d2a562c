"""Running a step's automation: who may, when, and the run's life from the board to the step's status.

A run is a row first (AutomationRun, queued), handed to a Celery worker after commit (queue "automation").
The worker claims it, runs the runner in this process with a watcher thread beside it that writes the
output lines (RunLine, streamed to the board), keeps a heartbeat and looks for a cancel request. The exit
decides the step: succeeded → ВЫПОЛНЕНО, cancelled → back to waiting (a deliberate cancel is not a failure),
anything else → НЕУДАЧА with the reason. A run is never started
twice by Okno itself: a worker lost mid-run is reported (LOST) for a person to decide, not retried.
"""

import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from changeplans.choices import EventKind, PlanStatus, Role, StepStatus
from changeplans.history import record_event
from changeplans.models import Plan, Step
from changeplans.roles import has_role
from common import workers
from execution import transitions

from . import four_eyes, runners
from .choices import ACTIVE_RUN_STATUSES, RunMode, RunStatus
from .models import AutomationRun, Cluster, RunLine, Secret, StepAutomation
from .runners.base import (
    AutomationError,
    Outcome,
    Redactor,
    RunContext,
    Runner,
    Spec,
    fill,
    resolve_secrets,
    secret_names,
)

log = logging.getLogger(__name__)

OPERATOR_ROLES = (Role.OPERATOR, Role.ADMIN)
MAX_STORED_LINES = 20000
FLUSH_SECONDS = 0.2
CANCEL_POLL_SECONDS = 0.5
QUEUED_REHAND_SECONDS = 30


class RunRefused(PermissionDenied):
    """The user may not run (or cancel) this automation now; the message says why."""


def is_operator(user: User | AnonymousUser | None) -> bool:
    return user is not None and user.is_authenticated and any(has_role(user, role) for role in OPERATOR_ROLES)


def run_refusal(user: User | None, plan: Plan, step: Step, automation: StepAutomation | None) -> str | None:
    """Why `user` may not run the step's automation in production now, or None. `user` None: the scheduler."""
    if user is not None and not is_operator(user):
        return _("Only operators run automation.")
    if automation is None:
        return _("This step has no automation.")
    if plan.status != PlanStatus.IN_PROGRESS:
        return _(
            "The plan is “%(status)s”: production automation runs only while the work is in progress"
            " (a rehearsal can run before)."
        ) % {"status": plan.get_status_display()}
    if plan.rollback_started_at:
        return _("The plan is in rollback mode: automation of its steps is not run.")
    if step.status not in (StepStatus.PENDING, StepStatus.IN_PROGRESS):
        return _("The step is “%(status)s”: its automation can run while it is not done or in progress.") % {
            "status": step.get_status_display()
        }
    return None


def cancel_refusal(user: User | AnonymousUser, run: AutomationRun) -> str | None:
    own_rehearsal = run.mode == RunMode.REHEARSAL and user.is_authenticated and run.started_by_id == user.pk
    if not (is_operator(user) or own_rehearsal):
        return _("Only operators cancel automation.")
    if run.ended:
        return _("The run has already ended (“%(status)s”).") % {"status": run.get_status_display()}
    return None


def describe(automation: StepAutomation) -> str:
    """The command a person reads before running it (parameters filled, secrets as placeholders)."""
    try:
        runner = runners.get(automation.kind)
        return runner.describe(fill(automation.spec, automation.params or {}))
    except AutomationError as exc:
        return str(exc)


def hand_over(run_id: int) -> None:
    """After commit: a worker runs it (production), or this process does (tests without a worker)."""
    workers.hand_over("runbooks.tasks.execute_run_task", execute_run, run_id)


def _record_run(run: AutomationRun, step: Step, *, actor: User | None, before: str, comment: str = "") -> None:
    run.step = step
    record_event(
        step.plan,
        actor=actor,
        kind=EventKind.TRANSITION,
        obj=run,
        from_status=before,
        to_status=run.status,
        comment=comment,
    )


@transaction.atomic
def request_run(step_id: int, *, actor: User | None) -> AutomationRun:
    """An operator (or the scheduler, actor None) runs the step's automation: the step starts, the run is queued."""
    plan_id = Step.objects.filter(pk=step_id).values_list("plan_id", flat=True).first()
    if plan_id is None:
        raise RunRefused(_("The step no longer exists."))
    plan = Plan.objects.select_for_update().get(pk=plan_id)
    step = transitions.lock_step(step_id)
    if step is None:
        raise RunRefused(_("The step no longer exists."))
    automation = StepAutomation.objects.select_related("cluster").filter(step_id=step_id).first()
    refusal = run_refusal(actor, plan, step, automation)
    if refusal:
        raise RunRefused(refusal)
    assert automation is not None  # run_refusal refuses a step without automation
    if AutomationRun.objects.filter(step_id=step_id, mode=RunMode.PRODUCTION, status__in=ACTIVE_RUN_STATUSES).exists():
        raise RunRefused(_("The automation of this step is already running."))
    step.plan = plan
    if step.status == StepStatus.PENDING:
        transitions.start_step(step, actor=actor, comment=_("Automation started"))
    run = AutomationRun.objects.create(
        plan=plan,
        step=step,
        mode=RunMode.PRODUCTION,
        kind=automation.kind,
        cluster_name=automation.cluster.name if automation.cluster else "",
        command=describe(automation),
        timeout_seconds=automation.timeout_seconds,
        started_by=actor,
    )
    _record_run(run, step, actor=actor, before="", comment=run.command)
    transaction.on_commit(lambda: hand_over(run.pk), robust=True)
    return run


@transaction.atomic
def cancel_run(run_id: int, *, actor: User) -> AutomationRun:
    plan_id = AutomationRun.objects.filter(pk=run_id).values_list("plan_id", flat=True).first()
    if plan_id is None:
        raise RunRefused(_("The run no longer exists."))
    Plan.objects.select_for_update().filter(pk=plan_id).first()  # lock order: plan, run, step
    run = AutomationRun.objects.select_for_update(of=("self",)).select_related("step__plan").get(pk=run_id)
    refusal = cancel_refusal(actor, run)
    if refusal:
        raise RunRefused(refusal)
    run.cancel_requested_at = timezone.now()
    run.cancelled_by = actor
    if run.status == RunStatus.QUEUED:
        # Nobody has it yet: it ends here, and the worker that gets it later finds it cancelled.
        run.cancel()
        run.summary = _("Cancelled before it started.")
        run.save()
        _record_run(run, run.step, actor=actor, before=RunStatus.QUEUED)
        _settle_step(run, actor=actor)
    else:
        run.save(update_fields=["cancel_requested_at", "cancelled_by"])
    return run


# --- the worker side ---------------------------------------------------------------------------------


def _claim(run_id: int) -> AutomationRun | None:
    with transaction.atomic():
        # The row lock makes the claim a compare-and-set: of two workers handed the same run, one claims it.
        run = AutomationRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or not can_proceed(run.claim):
            return None
        run.claim(worker=f"{socket.gethostname()}:{os.getpid()}")
        run.save(update_fields=["status", "started_at", "heartbeat_at", "worker"])
        if run.mode == RunMode.PRODUCTION:
            step = Step.objects.select_related("plan").get(pk=run.step_id)
            _record_run(run, step, actor=run.started_by, before=RunStatus.QUEUED)
        return run


class _RunIO:
    """The run's side of the runner: output lines (stored in batches, streamed to the board), heartbeat and
    cancel look-ups. `output` may be called from any thread (it only buffers); the database work happens in
    `stop_reason`, which runners call often from the run's own thread, and in `close`."""

    def __init__(self, run: AutomationRun, redactor: Redactor, deadline: float) -> None:
        self.run_id = run.pk
        self.redactor = redactor
        self.deadline = deadline
        self.lock = threading.Lock()
        self.pending: list[str] = []
        self.seq = 0
        self.dropped = 0
        self.all_lines: list[str] = []
        self.cancelled = False
        self.heartbeat_every = float(settings.OKNO_AUTOMATION_HEARTBEAT_SECONDS)
        self.last_flush = self.last_beat = self.last_cancel_look = time.monotonic()

    def output(self, line: str) -> None:
        text = self.redactor(line)
        with self.lock:
            self.all_lines.append(text)
            if self.seq + len(self.pending) >= MAX_STORED_LINES:
                self.dropped += 1
                return
            self.pending.append(text)

    def flush(self) -> None:
        with self.lock:
            batch, self.pending = self.pending, []
        if not batch:
            return
        now = timezone.now()
        rows = []
        for text in batch:
            self.seq += 1
            rows.append(RunLine(run_id=self.run_id, seq=self.seq, at=now, text=text))
        RunLine.objects.bulk_create(rows)

    def stop_reason(self) -> str | None:
        now = time.monotonic()
        try:
            if now - self.last_flush >= FLUSH_SECONDS:
                self.last_flush = now
                self.flush()
            if not self.cancelled and now - self.last_cancel_look >= CANCEL_POLL_SECONDS:
                self.last_cancel_look = now
                self.cancelled = AutomationRun.objects.filter(
                    pk=self.run_id, cancel_requested_at__isnull=False
                ).exists()
            if now - self.last_beat >= self.heartbeat_every:
                self.last_beat = now
                AutomationRun.objects.filter(pk=self.run_id).update(heartbeat_at=timezone.now())
        except DatabaseError:  # a database hiccup must not stop the run; the next call retries
            log.exception("automation run %s: storing its progress failed", self.run_id)
        if self.cancelled:
            return "cancelled"
        if now >= self.deadline:
            return "timed_out"
        return None

    def close(self) -> str:
        self.flush()
        if self.dropped:
            self.all_lines.append(_("… %(n)d more lines were not kept.") % {"n": self.dropped})
        return "\n".join(self.all_lines)


def _prepare(run: AutomationRun, automation: StepAutomation, redactor: Redactor) -> tuple[Runner, Spec]:
    """The runner and the spec to give it, with parameters filled (checked) and secrets resolved."""
    runner = runners.get(run.kind)
    spec = fill(automation.spec, automation.params or {})
    values = {}
    for secret in Secret.objects.filter(name__in=secret_names(spec)):
        values[secret.name] = secret.value
    redactor.add(*values.values())
    cluster = automation.cluster
    if cluster is not None:
        redactor.add(*_cluster_secret_values(cluster))
    if runner.needs_cluster and cluster is None:
        raise AutomationError(_("This automation needs a cluster, and the step names none."))
    return runner, resolve_secrets(spec, values)


def _cluster_secret_values(cluster: Cluster) -> list[str]:
    values: list[str] = []
    try:
        from .kubeconfig import check_kubeconfig, secret_values

        if cluster.kubeconfig:
            values.extend(secret_values(check_kubeconfig(cluster.kubeconfig)))
    except ImportError:
        pass
    except AutomationError:
        pass  # the runner refuses it with its message
    return values


def execute_run(run_id: int) -> AutomationRun | None:
    """Run one queued run to its end (called by the Celery task, or in-process without a worker)."""
    run = _claim(run_id)
    if run is None:
        return None
    automation = StepAutomation.objects.select_related("cluster").filter(step_id=run.step_id).first()
    redactor = Redactor()
    io = _RunIO(run, redactor, time.monotonic() + run.timeout_seconds)
    workdir = Path(tempfile.mkdtemp(prefix=f"okno-run-{run.pk}-"))
    try:
        if automation is None:
            raise AutomationError(_("The step's automation was removed."))
        approval, unapproved = four_eyes.run_gate(run, automation)
        if unapproved and run.mode == RunMode.REHEARSAL:
            io.output(unapproved)
            return _finish(run.pk, Outcome(status=RunStatus.SKIPPED, summary=unapproved), redactor, io.close())
        if unapproved:
            raise AutomationError(unapproved)
        if approval is not None:
            AutomationRun.objects.filter(pk=run.pk).update(approval=approval)
        runner, spec = _prepare(run, automation, redactor)
        ctx = RunContext(
            workdir=workdir,
            output=io.output,
            stop_reason=io.stop_reason,
            dry_run=run.mode == RunMode.REHEARSAL,
            cluster=automation.cluster,
            timeout=run.timeout_seconds,
            redactor=redactor,
        )
        outcome = runner.run(spec, ctx)
    except AutomationError as exc:
        io.output(str(exc))
        outcome = Outcome(status=RunStatus.REFUSED, summary=str(exc))
    except Exception as exc:  # the runner's bug: the run fails visibly instead of hanging in "running"
        log.exception("automation run %s crashed", run.pk)
        io.output(f"{type(exc).__name__}: {exc}")
        outcome = Outcome(status=RunStatus.FAILED, summary=f"{type(exc).__name__}: {exc}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return _finish(run.pk, outcome, redactor, io.close())


def _summary(outcome: Outcome, run: AutomationRun) -> str:
    if outcome.summary:
        return outcome.summary
    if outcome.status == RunStatus.SUCCEEDED:
        return _("Exit code %(code)s.") % {"code": outcome.exit_code if outcome.exit_code is not None else 0}
    if outcome.status == RunStatus.TIMED_OUT:
        return _("Stopped after the timeout of %(s)d s.") % {"s": run.timeout_seconds}
    if outcome.status == RunStatus.CANCELLED:
        return _("Cancelled.")
    if outcome.exit_code is not None:
        return _("Exit code %(code)s.") % {"code": outcome.exit_code}
    return run.get_status_display()


def _finish(run_id: int, outcome: Outcome, redactor: Redactor, full_log: str) -> AutomationRun:
    """End a running run with the runner's outcome (or the sweeper's LOST); a run that ended
    meanwhile stays as it is."""
    with transaction.atomic():
        plan_id = AutomationRun.objects.filter(pk=run_id).values_list("plan_id", flat=True).get()
        Plan.objects.select_for_update().filter(pk=plan_id).first()  # lock order: plan, run, step
        run = AutomationRun.objects.select_for_update(of=("self",)).select_related("cancelled_by").get(pk=run_id)
        before = run.status
        end = run.ending(outcome.status)
        if before != RunStatus.RUNNING:  # cancelled while queued, or the sweeper found it lost: that stands
            return run
        end()
        run.exit_code = outcome.exit_code
        if outcome.command:
            run.command = redactor(outcome.command)
        run.summary = redactor(_summary(outcome, run))
        if outcome.status == RunStatus.CANCELLED and run.cancelled_by:
            from changeplans.roles import display_name

            run.summary = _("Cancelled by %(who)s.") % {"who": display_name(run.cancelled_by)}
        run.log = full_log
        run.save()
        if run.mode == RunMode.PRODUCTION:
            step = transitions.lock_step(run.step_id)
            assert step is not None  # the run, locked above, is deleted with its step
            _record_run(run, step, actor=run.started_by, before=before, comment=run.summary)
            _settle_step(run, actor=run.cancelled_by if outcome.status == RunStatus.CANCELLED else run.started_by)
        return run


def _settle_step(run: AutomationRun, *, actor: User | None) -> None:
    """The run's end decides the step, if it is still in progress (a person may have ticked it meanwhile)."""
    step = transitions.lock_step(run.step_id)
    if step is None or step.status != StepStatus.IN_PROGRESS:
        return
    if run.status == RunStatus.SUCCEEDED:
        transitions.finish_step(step, actor=actor, comment=_("Automation: %(summary)s") % {"summary": run.summary})
    elif run.status == RunStatus.CANCELLED:
        # A deliberate cancel is not a failure: the step waits again, the cancel stays in the history.
        transitions.reset_step(
            step, actor=actor, comment=_("Automation cancelled: %(summary)s") % {"summary": run.summary}
        )
    else:
        transitions.fail_step(
            step,
            actor=actor,
            reason=_("Automation “%(status)s”: %(summary)s")
            % {"status": run.get_status_display(), "summary": run.summary},
        )


# --- the sweeper: lost workers, lost hand-overs -----------------------------------------------------


def sweep(now: datetime | None = None) -> dict[str, int]:
    """Runs whose worker stopped beating are LOST (the step fails for a person to decide: the automation
    may have half-run, so Okno never starts it again by itself); queued runs nobody took are handed over again."""
    now = now or timezone.now()
    lost_after = timedelta(seconds=float(settings.OKNO_AUTOMATION_LOST_SECONDS))
    lost = 0
    for run_id in AutomationRun.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=now - lost_after).values_list(
        "pk", flat=True
    ):
        outcome = Outcome(
            status=RunStatus.LOST,
            summary=_("The worker running it stopped answering; check the system's state before running it again."),
        )
        log_text = "\n".join(RunLine.objects.filter(run_id=run_id).order_by("seq").values_list("text", flat=True))
        if _finish(run_id, outcome, Redactor(), log_text).status == RunStatus.LOST:
            lost += 1
    stale = AutomationRun.objects.filter(
        status=RunStatus.QUEUED, created_at__lt=now - timedelta(seconds=QUEUED_REHAND_SECONDS)
    )
    rehanded = 0
    for run_id in stale.values_list("pk", flat=True):
        hand_over(run_id)
        rehanded += 1
    return {"lost": lost, "rehanded": rehanded}


# --- automation that starts at the step's planned time ----------------------------------------------

SCHEDULED_RUN = "runbooks.scheduled_run"


def _scheduled_key(step_id: int) -> str:
    return f"runbooks:step:{step_id}:run"


def schedule_plan(plan_id: int) -> None:
    """While the plan is in progress, steps whose automation starts at the planned time have a scheduler row."""
    from notifications import scheduler

    plan = Plan.objects.filter(pk=plan_id).first()
    if plan is None:
        return
    active = plan.status == PlanStatus.IN_PROGRESS and not plan.rollback_started_at
    automations = StepAutomation.objects.filter(step__plan_id=plan_id, start_at_planned_time=True).select_related(
        "step"
    )
    with transaction.atomic():
        for automation in automations:
            step = automation.step
            due = step.planned_start(plan.tz) or timezone.now()
            scheduler.put(
                _scheduled_key(step.pk),
                max(due, plan.started_at or due),
                SCHEDULED_RUN,
                {"step": step.pk},
                subject=f"plan:{plan_id}",
                active=active and step.status == StepStatus.PENDING,
            )
    transaction.on_commit(scheduler.kick, robust=True)


def _run_at_planned_time(payload: dict[str, Any]) -> str:
    try:
        run = request_run(payload["step"], actor=None)
    except RunRefused as exc:
        return str(exc)
    return _("Run #%(id)s queued.") % {"id": run.pk}


def connect() -> None:
    from approvals import services as approvals
    from changeplans.models import STATUS_CHOICES_BY_OBJECT
    from notifications import scheduler

    scheduler.register(SCHEDULED_RUN)(_run_at_planned_time)
    transitions.on_plan_changed.append(schedule_plan)
    if four_eyes.record_sign_off not in approvals.on_plan_approved:
        approvals.on_plan_approved.append(four_eyes.record_sign_off)
    STATUS_CHOICES_BY_OBJECT["automationapproval"] = four_eyes.ApprovalState
