"""The archive PDF's appendix "Automation": every production run of the plan with its exact command and full log.

`register()` (called from RunbooksConfig.ready) adds `appendix` to changeplans.pdf.appendices. The command
and log were redacted when the run ended; they are redacted again here with every secret known now, so a
secret added or a kubeconfig replaced later still never reaches the archive.
"""

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from changeplans.roles import display_name

from . import yaml_safe
from .choices import RunMode
from .models import AutomationRun, Cluster, Secret
from .runners.base import Redactor

# A run's log in the PDF stops after this many lines (a chatty run would make a PDF of thousands of pages).
MAX_LOG_LINES = 3000


def _kubeconfig_values(kubeconfig_text):
    try:
        from .kubeconfig import secret_values
    except ImportError:
        return []
    try:
        config = yaml_safe.load(kubeconfig_text, **yaml_safe.SPEC_LIMITS)
        return secret_values(config) if isinstance(config, dict) else []
    except Exception:  # noqa: BLE001 - a malformed kubeconfig: its runs were refused; the Secret rows still redact
        return []


def redactor_for(cluster_names):
    """Every Secret value and the credentials of the named clusters' kubeconfigs."""
    redactor = Redactor(Secret.objects.values_list("value", flat=True))
    for kubeconfig in (
        Cluster.objects.filter(name__in=cluster_names).exclude(kubeconfig="").values_list("kubeconfig", flat=True)
    ):
        redactor.add(*_kubeconfig_values(kubeconfig))
    return redactor


def _clock(moment, tz):
    return moment.astimezone(tz).strftime("%H:%M:%S %d.%m.%Y") if moment else "—"


def _log(text, redact):
    lines = redact(text).splitlines()
    if len(lines) <= MAX_LOG_LINES:
        return "\n".join(lines), 0
    return "\n".join(lines[:MAX_LOG_LINES]), len(lines) - MAX_LOG_LINES


def appendix(plan, viewer=None):
    """HTML of "Appendix. Automation", or "" when the plan has no production run or `viewer` (None: the
    archive itself) may not see the plan's run logs (runbooks.permissions)."""
    from .permissions import can_view_runs

    if viewer is not None and not can_view_runs(viewer, plan):
        return ""
    runs = list(
        AutomationRun.objects.filter(plan=plan, mode=RunMode.PRODUCTION)
        .select_related("step", "started_by")
        .order_by("step__position", "created_at", "id")
    )
    if not runs:
        return ""
    redact = redactor_for({run.cluster_name for run in runs if run.cluster_name})
    tz = plan.tz
    rows = []
    for run in runs:
        log, cut = _log(run.log, redact)
        rows.append(
            {
                "position": run.step.position,
                "step_name": run.step.name,
                "kind": run.kind,
                "cluster": run.cluster_name,
                "mode": run.get_mode_display(),
                "status": run.status,
                "status_label": run.get_status_display(),
                "started_at": _clock(run.started_at, tz),
                "finished_at": _clock(run.finished_at, tz),
                "started_by": display_name(run.started_by),
                "exit_code": "" if run.exit_code is None else run.exit_code,
                "summary": redact(run.summary),
                "command": redact(run.command),
                "log": log,
                "cut": cut,
                "cut_note": _("%(n)s more lines are not printed: the full log is in Okno (run No. %(run)s).")
                % {"n": cut, "run": run.pk}
                if cut
                else "",
            }
        )
    return render_to_string("runbooks/pdf/appendix.html", {"plan": plan, "runs": rows, "time_zone": plan.time_zone})


def register():
    from changeplans import pdf

    if appendix not in pdf.appendices:
        pdf.appendices.append(appendix)
