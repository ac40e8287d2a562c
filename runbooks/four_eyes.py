"""Four eyes on automation: nothing a person wrote runs before a second person approved that exact content.

A step's automation (runner kind, cluster, spec, parameters) has a content fingerprint (`content_hash`).
An approval (AutomationApproval) holds the fingerprint it covers, so any change of the content leaves the
automation unapproved: nothing is reset by hand, the fingerprints just stop matching.

Two ways to approve:
- the plan's sign-off: when the plan reaches APPROVED (approvals.services calls `record_sign_off`), each
  automation's content is in the version everyone signed (runbooks/versioning.py), and one approval row
  per automation records that version, its signers and the fingerprint. Production runs need this one.
- «Approve automation» by an operator (or administrator) who is neither the plan's author nor whoever
  last saved the automation: it lets a rehearsal run the content before the sign-off.
- a standard change (runbooks/standard.py): a plan approved with its steps as made from the runbook version an
  administrator marked gets a sign-off approval in that administrator's name (the marking approved the
  version's automation); a plan whose automation differs is not standard and needs a normal sign-off.

`run_gate` is asked by execution.execute_run right before the runner starts, with the very automation
object whose spec the runner gets: production without a sign-off approval is refused; a rehearsal without
an approval runs only what is safe by construction and skips the rest, saying why.
"""

import hashlib
import json

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import TextChoices
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from changeplans.choices import EventKind, PlanStatus
from changeplans.history import record_event
from changeplans.models import Plan
from changeplans.roles import display_name, is_service_account

from .choices import RunMode
from .models import ApprovalVia, AutomationApproval, PlanOrigin, StepAutomation

# Runners whose dry run cannot execute anything a person wrote: the Kubernetes runner has a fixed set of
# actions and sends its writes with dryRun=All (the API server validates and discards them).
SAFE_REHEARSAL_KINDS = frozenset({"kubernetes"})
# Plans whose sign-off may record an approval or an operator may approve automation for.
APPROVABLE_PLAN_STATUSES = (PlanStatus.DRAFT, PlanStatus.REJECTED, PlanStatus.IN_REVIEW, PlanStatus.APPROVED)


class ApprovalState(TextChoices):
    """History label of an approval event."""

    APPROVED = "approved", gettext_lazy("AUTOMATION APPROVED")


class ApprovalRefused(PermissionDenied):
    """The user may not approve this automation; the message says why."""


def content_hash(automation):
    """The fingerprint of what the automation would do: kind, cluster, spec and parameters, canonical JSON."""
    data = {
        "kind": automation.kind,
        "cluster": automation.cluster_id,
        "spec": automation.spec,
        "params": automation.params or {},
    }
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def writer_ids(automation, plan):
    """Who wrote the content: the plan's author, whoever last saved it, the author of the runbook version the
    plan came from. None of them may be its second pair of eyes."""
    ids = {plan.author_id, automation.updated_by_id}
    runbook_author = (
        PlanOrigin.objects.filter(plan_id=plan.pk).values_list("runbook_version__created_by_id", flat=True).first()
    )
    ids.add(runbook_author)
    return ids - {None}


def approval_of(automation, *, production=False):
    """The approval covering the automation's current content, or None (production: the sign-off's only)."""
    found = AutomationApproval.objects.filter(automation_id=automation.pk, content_hash=content_hash(automation))
    if production:
        found = found.filter(via=ApprovalVia.SIGN_OFF)
    return found.select_related("approved_by", "version").order_by("-approved_at", "-id").first()


NOT_APPROVED_REHEARSAL = gettext_lazy(
    "Skipped: waiting for a second person to approve this automation"
    " (an operator's «Approve automation», or the plan's sign-off)."
)
NOT_APPROVED_PRODUCTION = gettext_lazy(
    "Refused: this automation's content was not approved in the plan's sign-off"
    " (it changed after it, or was never signed)."
)


def run_gate(run, automation):
    """Right before a run starts: (approval, None) to run it, (None, None) to run it unapproved because it is
    safe by construction, or (None, reason) to skip (rehearsal) or refuse (production) it."""
    production = run.mode == RunMode.PRODUCTION
    approval = approval_of(automation, production=production)
    if approval is not None:
        return approval, None
    if not production and automation.kind in SAFE_REHEARSAL_KINDS:
        return None, None
    return None, str(NOT_APPROVED_PRODUCTION if production else NOT_APPROVED_REHEARSAL)


# --- approving ---------------------------------------------------------------------------------------


def _automations(plan_id):
    return list(
        StepAutomation.objects.filter(step__plan_id=plan_id)
        .select_related("step", "cluster", "updated_by")
        .order_by("step__position", "step_id")
    )


def approve_refusal(user, plan, automations=None):
    """Why `user` may not approve the plan's automation for rehearsals now, or None."""
    from runbooks.runs import is_operator

    if not is_operator(user):
        return _("Only an operator approves automation.")
    if is_service_account(user):
        return _("A service account cannot approve automation: a person does.")
    if plan.status not in APPROVABLE_PLAN_STATUSES:
        return _("The plan is “%(status)s”: automation is approved before the work.") % {
            "status": plan.get_status_display()
        }
    automations = _automations(plan.pk) if automations is None else automations
    if not automations:
        return _("The plan has no automated steps.")
    if user.pk == plan.author_id:
        return _("The plan's author cannot approve its automation: a second person does.")
    pending = _pending(automations)
    if not pending:
        return _("The automation as it is now is already approved.")
    own = [a for a in pending if user.pk in writer_ids(a, plan)]
    if own:
        return _("You wrote (last saved) the automation of step %(n)s: a second person approves it.") % {
            "n": own[0].step.position
        }
    return None


def _pending(automations):
    """The automations whose current content has no approval at all."""
    _hashes, found = current_approvals(automations)
    approved = {automation_id for automation_id, _via in found}
    return [a for a in automations if a.pk not in approved]


@transaction.atomic
def approve_automation(plan_id, *, actor, seen=None):
    """An operator approves the current content of every not yet approved automation of the plan (for
    rehearsals). `seen`: the fingerprints the operator's page showed; content changed since is refused, so
    nobody approves text they did not see. Returns the approvals made."""
    plan = Plan.objects.select_for_update().get(pk=plan_id)  # the lock every plan edit takes
    automations = _automations(plan_id)
    refusal = approve_refusal(actor, plan, automations)
    if refusal:
        raise ApprovalRefused(refusal)
    pending = _pending(automations)
    if seen is not None:
        changed = [a for a in pending if content_hash(a) not in set(seen)]
        if changed:
            raise ApprovalRefused(
                _(
                    "The automation of step %(n)s changed after you opened the page:"
                    " look at it again and approve what you see."
                )
                % {"n": changed[0].step.position}
            )
    made = []
    for automation in pending:
        approval = AutomationApproval.objects.create(
            automation=automation,
            content_hash=content_hash(automation),
            via=ApprovalVia.OPERATOR,
            approved_by=actor,
        )
        record_event(
            plan,
            actor=actor,
            kind=EventKind.TRANSITION,
            obj=approval,
            to_status=ApprovalState.APPROVED,
            comment=_("Step %(n)s: approved for rehearsals, fingerprint %(hash)s")
            % {"n": automation.step.position, "hash": approval.content_hash[:12]},
        )
        made.append(approval)
    return made


def record_sign_off(plan, version, rows, actor):
    """The plan has just reached APPROVED on `version` (inside the sign-off's transaction): every automation's
    content was in that version, so the signers approved it. Signers who wrote it do not count."""
    from approvals.choices import RowKind

    automations = _automations(plan.pk)
    for automation in automations:
        writers = writer_ids(automation, plan)
        signers = [
            row
            for row in rows
            if row.kind == RowKind.APPROVAL
            and row.decided_by_id
            and not ({row.decided_by_id, row.on_behalf_of_id} & writers)
        ]
        if not signers:
            continue
        digest = content_hash(automation)
        names = ", ".join(display_name(row.decided_by) for row in signers)
        approval = AutomationApproval.objects.create(
            automation=automation,
            content_hash=digest,
            via=ApprovalVia.SIGN_OFF,
            approved_by=signers[-1].decided_by,
            signers=names[:1000],
            version=version,
        )
        record_event(
            plan,
            actor=actor,
            kind=EventKind.TRANSITION,
            obj=approval,
            to_status=ApprovalState.APPROVED,
            comment=_("Step %(n)s: approved by the sign-off of version %(v)s, fingerprint %(hash)s")
            % {"n": automation.step.position, "v": version.number if version else "—", "hash": digest[:12]},
        )


def current_approvals(automations):
    """(automation id → fingerprint, (automation id, via) → latest approval of that fingerprint): one query."""
    hashes = {a.pk: content_hash(a) for a in automations}
    found = {}
    approvals = (
        AutomationApproval.objects.filter(automation_id__in=list(hashes))
        .select_related("approved_by", "version")
        .order_by("-approved_at", "-id")
    )
    for approval in approvals:
        if approval.content_hash == hashes[approval.automation_id]:
            found.setdefault((approval.automation_id, approval.via), approval)
    return hashes, found


def state(plan):
    """Per automated step of the plan: is its current content approved, by whom, via what."""
    automations = _automations(plan.pk)
    hashes, found = current_approvals(automations)
    rows = []
    for automation in automations:
        signed = found.get((automation.pk, ApprovalVia.SIGN_OFF))
        rows.append(
            {
                "automation": automation,
                "step": automation.step,
                "approval": signed or found.get((automation.pk, ApprovalVia.OPERATOR)),
                "signed": signed is not None,
                "safe": automation.kind in SAFE_REHEARSAL_KINDS,
                "hash": hashes[automation.pk],
            }
        )
    return rows
