import datetime
import zoneinfo

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from changeplans.forms import LocalDateTimeInput
from changeplans.limits import validate_date_in_range
from changeplans.models import validate_timezone

from . import definition, display, from_plan, instantiate
from .choices import ParameterType
from .models import Cluster, Runbook

PARAM_PREFIX = "p_"


def _css(field):
    widget = field.widget
    if isinstance(widget, forms.Select):
        widget.attrs.setdefault("class", "form-select form-select-sm")
    elif not isinstance(widget, forms.CheckboxInput):
        widget.attrs.setdefault("class", "form-control form-control-sm")
    return field


class RunbookPlanForm(forms.Form):
    """The runbook's parameters, typed, and the work window. Parameter fields are named "p_<name>"."""

    window_start = forms.DateTimeField(
        label=_("Window start"), widget=LocalDateTimeInput(), validators=[validate_date_in_range]
    )
    window_end = forms.DateTimeField(
        label=_("Window end"),
        required=False,
        widget=LocalDateTimeInput(),
        validators=[validate_date_in_range],
        help_text=_("Empty: the steps' maximum durations with the slack after risky and long steps."),
    )
    time_zone = forms.CharField(label=_("Time zone"), initial=settings.TIME_ZONE, validators=[validate_timezone])

    def __init__(self, definition, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.definition = definition
        self.param_fields = []
        for param in definition.get("parameters", []):
            name = PARAM_PREFIX + param["name"]
            required = param.get("required", True) and param.get("default") in (None, "")
            common = {
                "label": display.param_label(param),
                "required": required,
                "help_text": display.param_help(param),
            }
            default = param.get("default")
            ptype = param["type"]
            if ptype == ParameterType.CLUSTER:
                names = list(Cluster.objects.values_list("name", flat=True))
                field = forms.ChoiceField(choices=[("", "—")] + [(n, n) for n in names], **common)
            elif ptype == ParameterType.CHOICE:
                field = forms.ChoiceField(choices=[("", "—")] + [(c, c) for c in param.get("choices", [])], **common)
            elif ptype == ParameterType.NODE_LIST:
                field = forms.CharField(
                    widget=forms.Textarea(
                        attrs={
                            "rows": 4,
                            "class": "form-control form-control-sm font-monospace",
                            "placeholder": "worker-1\nworker-2",
                        }
                    ),
                    **common,
                )
                if isinstance(default, list):
                    default = "\n".join(default)
            else:
                field = forms.CharField(max_length=300, **common)
            if default not in (None, ""):
                field.initial = default
            self.fields[name] = _css(field)
            self.param_fields.append(name)
        for name in ("window_start", "window_end", "time_zone"):
            _css(self.fields[name])

    def parameter_bound_fields(self):
        return [self[name] for name in self.param_fields]

    def window_bound_fields(self):
        return [self["window_start"], self["window_end"], self["time_zone"]]

    def clean(self):
        cleaned = super().clean()
        raw = {name[len(PARAM_PREFIX) :]: self.data.get(name, "") for name in self.param_fields}
        try:
            cleaned["parameters"] = instantiate.clean_parameters(self.definition, raw)
        except instantiate.ParameterError as exc:
            for param, message in exc.errors.items():
                field = PARAM_PREFIX + param
                if field not in self.errors:
                    self.add_error(field, message)
        tz_name = cleaned.get("time_zone")
        if tz_name and not self.has_error("time_zone"):
            tz = zoneinfo.ZoneInfo(tz_name)
            for name in ("window_start", "window_end"):
                value = cleaned.get(name)
                if isinstance(value, datetime.datetime):
                    # The wall-clock time as typed, in the chosen zone (not the page's).
                    cleaned[name] = value.replace(tzinfo=None).replace(tzinfo=tz)
        start, end = cleaned.get("window_start"), cleaned.get("window_end")
        if start and end and end <= start:
            self.add_error("window_end", _("The window must end after it starts."))
        return cleaned


class RunbookSourceForm(forms.Form):
    source = forms.CharField(
        label=_("YAML"),
        strip=False,
        widget=forms.Textarea(
            attrs={"rows": 30, "class": "form-control font-monospace okno-yaml", "spellcheck": "false"}
        ),
    )
    comment = forms.CharField(
        label=_("What changed"),
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}),
    )


class RunbookImportForm(forms.Form):
    file = forms.FileField(
        label=_("YAML file"),
        widget=forms.ClearableFileInput(
            attrs={"class": "form-control form-control-sm", "accept": ".yaml,.yml,text/yaml"}
        ),
    )
    comment = forms.CharField(
        label=_("What changed"),
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}),
    )

    MAX_BYTES = 512 * 1024

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise ValidationError(_("The file is larger than 512 KB."))
        try:
            self.cleaned_data["text"] = upload.read().decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError(_("The file is not UTF-8 text.")) from None
        return upload


class SaveAsRunbookForm(forms.Form):
    """«Save as a runbook»: its name, code, description, how start times are kept, values that become parameters."""

    title = forms.CharField(label=_("Runbook title"), max_length=300)
    slug = forms.SlugField(
        label=_("Code"),
        max_length=100,
        required=False,
        help_text=_("Latin letters, digits and “-”; empty: made from the plan's number."),
    )
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    timing = forms.ChoiceField(
        label=_("Start times"),
        choices=[
            (from_plan.TIMING_OFFSETS, _("as in the plan: offsets from the window start")),
            (
                from_plan.TIMING_SEQUENTIAL,
                _("one after another by duration, with slack after steps with risks and long steps"),
            ),
        ],
        initial=from_plan.TIMING_OFFSETS,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    replacements = forms.CharField(
        label=_("Values that become parameters"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control form-control-sm font-monospace"}),
        help_text=_(
            "One a line, “name = value”, e.g. “cluster = prod-k8s”: every occurrence of the value in the texts"
            " and the automation becomes {{ name }}, and the plan's value is the parameter's default."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("title", "slug", "description"):
            _css(self.fields[name])

    def clean_slug(self):
        slug = self.cleaned_data["slug"].strip()
        if slug and not definition.SLUG_RE.match(slug):
            raise ValidationError(_("Use lower-case Latin letters, digits and hyphens, e.g. node-maintenance."))
        if slug and Runbook.objects.filter(slug=slug).exists():
            raise ValidationError(_("A runbook with this code already exists: choose another one."))
        return slug

    def clean_replacements(self):
        found, errors = from_plan.parse_replacements(self.cleaned_data["replacements"])
        if errors:
            raise ValidationError(errors)
        self.cleaned_data["parsed_replacements"] = found
        return self.cleaned_data["replacements"]


class StandardMarkingForm(forms.Form):
    """Mark the runbook's current version as a standard change, or withdraw the marking (runbooks.standard)."""

    action = forms.ChoiceField(choices=[("mark", "mark"), ("unmark", "unmark")], widget=forms.HiddenInput)
    version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    comment = forms.CharField(
        label=_("Comment"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Give a reason: it is kept in the runbook's marking history.")},
    )
