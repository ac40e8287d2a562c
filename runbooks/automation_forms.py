"""The form behind a step's automation editor: the spec and parameters typed as YAML (or JSON), checked
with the runner's own rules before anything is saved."""

import copy
import json

import yaml
from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import runners, yaml_safe
from .models import Cluster, Secret
from .runners.base import PLACEHOLDER, AutomationError, check_value, fill, secret_names

MAX_TIMEOUT_SECONDS = 86400


def _yaml_mapping(text, what):
    """A YAML (or JSON: YAML's subset) mapping; an empty text is an empty mapping."""
    if not text.strip():
        return {}
    try:
        data = yaml_safe.load_spec(text)  # no aliases, bounded size (issue 11)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = (
            _(" (line %(line)s, column %(column)s)") % {"line": mark.line + 1, "column": mark.column + 1}
            if mark
            else ""
        )
        raise forms.ValidationError(
            _("The %(what)s is not valid YAML or JSON%(where)s: %(problem)s")
            % {
                "what": what,
                "where": where,
                "problem": getattr(exc, "problem", None) or str(exc).splitlines()[0],
            }
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise forms.ValidationError(
            _("The %(what)s must be a mapping (“key: value” lines), not a list or a single value.") % {"what": what}
        )
    # JSONField round trip: dates and other YAML types become text the same way on every save.
    return json.loads(json.dumps(data, default=str))


def to_yaml(data):
    """The text shown in the editor for a saved spec or parameters."""
    if not data:
        return ""
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=False, width=1000)


def preview(kind, spec, params):
    """One line a person reads: the runner's description of the filled spec (secrets stay placeholders)."""
    try:
        return runners.get(kind).describe(fill(copy.deepcopy(spec), params))
    except AutomationError as exc:
        return str(exc)


class ClusterChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.get_environment_display()})"


class OpenedAtForm(forms.Form):
    """What the editor was opened at: the plan revision and the automation's stamp (runbooks/services.py),
    so a save over someone else's newer change is refused instead of overwriting it."""

    revision = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=0,
        error_messages={"required": gettext_lazy("This page is out of date: open the automation editor again.")},
    )
    original = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)


class StepAutomationForm(OpenedAtForm):
    kind = forms.ChoiceField(label=gettext_lazy("Runner"), choices=runners.choices)
    cluster = ClusterChoiceField(
        label=gettext_lazy("Cluster"),
        queryset=Cluster.objects.all(),
        required=False,
        empty_label=gettext_lazy("— none —"),
    )
    spec = forms.CharField(
        label=gettext_lazy("Specification (YAML or JSON)"),
        strip=False,
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false", "class": "font-monospace"}),
        help_text=gettext_lazy(
            "{{ name }} takes the step's parameter; {{ secret.NAME }} takes a secret inside the run only."
        ),
    )
    params = forms.CharField(
        label=gettext_lazy("Parameters (YAML mapping)"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false", "class": "font-monospace"}),
        help_text=gettext_lazy("For example “node: worker-1” or “nodes: [worker-1, worker-2]”."),
    )
    timeout_seconds = forms.IntegerField(
        label=gettext_lazy("Timeout, seconds"), min_value=1, max_value=MAX_TIMEOUT_SECONDS, initial=900
    )
    start_at_planned_time = forms.BooleanField(label=gettext_lazy("Start at the step's planned time"), required=False)

    preview = ""  # the runner's description of the filled spec, once the form is valid

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if field.widget.is_hidden:
                continue
            css = {"kind": "form-select", "cluster": "form-select", "start_at_planned_time": "form-check-input"}.get(
                name, "form-control"
            )
            field.widget.attrs["class"] = (field.widget.attrs.get("class", "") + " " + css).strip()

    @classmethod
    def initial_for(cls, automation):
        if automation is None:
            from django.conf import settings

            return {"timeout_seconds": settings.OKNO_AUTOMATION_TIMEOUT_SECONDS}
        return {
            "kind": automation.kind,
            "cluster": automation.cluster_id,
            "spec": to_yaml(automation.spec),
            "params": to_yaml(automation.params),
            "timeout_seconds": automation.timeout_seconds,
            "start_at_planned_time": automation.start_at_planned_time,
        }

    def clean_spec(self):
        spec = _yaml_mapping(self.cleaned_data["spec"], _("specification"))
        if not spec:
            raise forms.ValidationError(_("The specification is empty."))
        return spec

    def clean_params(self):
        params = _yaml_mapping(self.cleaned_data.get("params", ""), _("parameter list"))
        errors = []
        for name, value in params.items():
            if not PLACEHOLDER.fullmatch("{{ %s }}" % name):
                errors.append(
                    _(
                        "“%(name)s” cannot be a parameter name:"
                        " use Latin letters, digits and “_”, not starting with a digit."
                    )
                    % {"name": name}
                )
                continue
            values = value if isinstance(value, list) else [value]
            if isinstance(value, list) and not value:
                errors.append(_("Parameter “%(name)s” is an empty list.") % {"name": name})
            for item in values:
                if isinstance(item, (dict, list)) or item is None:
                    errors.append(
                        _("Parameter “%(name)s”: a value must be text, a number or a list of those.") % {"name": name}
                    )
                    break
                try:
                    check_value(name, item)
                except AutomationError as exc:
                    errors.append(str(exc))
                    break
        if errors:
            raise forms.ValidationError(errors)
        return params

    def clean(self):
        cleaned = super().clean()
        kind, spec, params = cleaned.get("kind"), cleaned.get("spec"), cleaned.get("params")
        if not kind or spec is None:
            return cleaned
        runner = runners.get(kind)
        try:
            runner.check(spec)
        except AutomationError as exc:
            self.add_error("spec", str(exc))
            return cleaned
        if params is not None:
            try:
                filled = fill(copy.deepcopy(spec), params)
            except AutomationError as exc:
                self.add_error("params" if "params" not in self.errors else "spec", str(exc))
            else:
                self.preview = runner.describe(filled)
        missing = sorted(
            secret_names(spec) - set(Secret.objects.filter(name__in=secret_names(spec)).values_list("name", flat=True))
        )
        if missing:
            self.add_error(
                "spec",
                _("Secret “%(name)s” does not exist: an administrator adds it under Administration → Secrets.")
                % {"name": missing[0]},
            )
        if runner.needs_cluster and not cleaned.get("cluster"):
            self.add_error("cluster", _("A “%(kind)s” automation needs a cluster.") % {"kind": runner.label})
        return cleaned
