"""A step's automation is material: it goes into the plan version approvers sign, as readable text.

`register()` (called from RunbooksConfig.ready) adds it to changeplans.versioning: a snapshot extender
and the label of the "automation" step key, so a change of the automation under review makes a new
version, resets the sign-offs and shows in the version diff.
"""

import json

import yaml
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import runners
from .runners.base import AutomationError, fill


def automation_text(automation):
    """Kind, cluster, what runs (the filled spec described by its runner, or the raw spec), timeout, start.

    Then the whole spec and parameters as YAML (runbooks/four_eyes.py: the sign-off approves this content).
    Always in the site's default language: the snapshot is compared with the previous version's, and a
    text that changed with the editor's language would make a new version out of nothing.
    """
    with translation.override(settings.LANGUAGE_CODE):
        try:
            runner = runners.get(automation.kind)
            label = f"{runner.label} ({automation.kind})"
        except AutomationError:
            runner, label = None, automation.kind
        try:
            if runner is None:
                raise AutomationError("")
            what = runner.describe(fill(automation.spec, automation.params or {}))
        except AutomationError:
            what = json.dumps(automation.spec, ensure_ascii=False, sort_keys=True)
        first = label
        if automation.cluster_id:
            first += ", " + _("cluster %(name)s") % {"name": automation.cluster.name}
        start = (
            _("starts at the step's planned time") if automation.start_at_planned_time else _("started by the operator")
        )
        last = _("timeout %(seconds)s s") % {"seconds": automation.timeout_seconds} + "; " + start
        # The whole content, not only the runner's one-line description: the signers approve exactly what
        # runs (dry-run argv, inline playbook, headers and body …), and any change of it makes a new version.
        content = _("specification:") + "\n" + _dump(automation.spec)
        if automation.params:
            content += "\n" + _("parameters:") + "\n" + _dump(automation.params)
        return "\n".join([first, what, content, last])


def _dump(data):
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=True, default_flow_style=False, width=1000).rstrip("\n")


def extend_snapshot(plan, steps):
    """Set step["automation"] on the steps that have automation (one query for the whole plan)."""
    from .models import StepAutomation

    by_step = {a.step_id: a for a in StepAutomation.objects.filter(step__plan=plan).select_related("cluster")}
    for step in steps:
        automation = by_step.get(step["id"])
        if automation is not None:
            step["automation"] = automation_text(automation)


def register():
    from changeplans import versioning

    if extend_snapshot not in versioning.snapshot_extenders:
        versioning.snapshot_extenders.append(extend_snapshot)
    versioning.extra_step_keys["automation"] = gettext_lazy("automation")
