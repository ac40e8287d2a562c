import datetime
import zoneinfo
from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from . import people
from .change_types import CHOOSABLE_KINDS, copied_kind, kind_refusal
from .choices import Availability, PlanKind, StepKind
from .durations import parse_duration
from .limits import MAX_DATE, MAX_ID, MAX_SMALL_NUMBER, MIN_DATE, validate_date_in_range
from .models import Plan, Service, Step, default_announcement_intro, validate_timezone
from .people import Typed
from .pickers import PartyPickField, UserPickField
from .timeparse import format_date, format_time, parse_date, parse_time


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None, **kwargs):
        # The browser's picker stays inside the range the server accepts (limits.py).
        attrs = {"min": f"{MIN_DATE.isoformat()}T00:00", "max": f"{MAX_DATE.isoformat()}T23:59", **(attrs or {})}
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M", **kwargs)


def _check_date_range(value):
    """Form-level bound of a typed date or wall-clock datetime; runs before any zone arithmetic."""
    validate_date_in_range(value)
    return value


def _in_zone(value, tz_name):
    """Read a datetime the user typed as wall-clock time of the plan's zone (not the page's)."""
    if value is None:
        return None
    naive = value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(value.tzinfo).replace(tzinfo=None)
    return naive.replace(tzinfo=zoneinfo.ZoneInfo(tz_name))


def service_labeller() -> Callable[[Service], str]:
    """A service by its display name; with its address when another service has the same display name.

    One query, at the first label (when the form is shown), whatever the number of services.
    """
    from django.db.models import Count

    shared: list[set[str]] = []

    def label(service: Service) -> str:
        if not shared:
            names = Service.objects.values("display_name").annotate(n=Count("pk")).filter(n__gt=1)
            shared.append(set(names.values_list("display_name", flat=True)))
        return f"{service.display_name} ({service.name})" if service.display_name in shared[0] else str(service)

    return label


class PlanForm(forms.ModelForm):
    """The plan header as the plan page and the create page show it (inc/plan_form_fields.html).

    A form saves only the fields it shows: every field here is in the template (tests/changeplans/
    test_views.py checks it), and the services write only the keys `header_data()` returns. The sender
    and the banner text are set in the admin; an older form listed them unseen and blanked them on save.
    """

    services = forms.ModelMultipleChoiceField(
        label=_("Affected services"),
        queryset=Service.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    availability = forms.ChoiceField(
        label=_("Availability of services during the work"),
        choices=Availability.choices,
        initial=Availability.UNAVAILABLE,
    )
    responsible_name = PartyPickField(
        label=_("Responsible for the work"),
        required=False,
        kind="user,party",
        help_text=_("A person from the list (type the surname), or a team or contractor as text."),
    )
    curator = UserPickField(label=capfirst(Plan._meta.get_field("curator").verbose_name), required=False)
    responsible_contact = forms.CharField(label=_("Contact of the responsible"), required=False, max_length=200)
    # The change type (docs/change-types.md): normal or emergency by hand; a change is recorded with its reason.
    kind = forms.ChoiceField(label=_("Change type"), choices=PlanKind.choices, initial=PlanKind.NORMAL)
    kind_reason = forms.CharField(
        label=_("Reason for changing the type"),
        required=False,
        max_length=500,
        help_text=_("Required when the change type changes: it goes into the plan's history."),
    )
    revision = forms.IntegerField(widget=forms.HiddenInput, required=False)
    jira_url = forms.URLField(
        label=capfirst(Plan._meta.get_field("jira_url").verbose_name), required=False, assume_scheme="https"
    )

    class Meta:
        model = Plan
        fields = [
            "title",
            "goal",
            "kind",
            "time_zone",
            "window_start",
            "window_end",
            "downtime_text",
            "stated_duration_text",
            "client_impact",
            "banner_needed",
            "curator",
            "jira_url",
            "mailing_list",
            "announcement_subject",
            "announcement_intro",
        ]
        widgets = {
            "window_start": LocalDateTimeInput(),
            "window_end": LocalDateTimeInput(),
            "goal": forms.Textarea(attrs={"rows": 2}),
            "mailing_list": forms.Textarea(attrs={"rows": 2}),
            "announcement_intro": forms.Textarea(attrs={"rows": 2}),
            "time_zone": forms.TextInput(attrs={"list": "okno-time-zones", "autocomplete": "off"}),
        }
        help_texts = {
            "downtime_text": _("e.g. “up to 40 min”, “1 h”, “none”"),
            "stated_duration_text": _("e.g. “4 h 30 min”"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        plan = self.instance
        if plan.pk:
            tz = plan.tz
            for name in ("window_start", "window_end"):
                value = getattr(plan, name)
                if value:
                    self.initial[name] = value.astimezone(tz).replace(tzinfo=None)
            self.initial["services"] = [ps.service_id for ps in plan.plan_services.all()]
            first = next(iter(plan.plan_services.all()), None)
            if first:
                self.initial["availability"] = first.availability
            if plan.responsible:
                self.initial["responsible_name"] = plan.responsible.name
            self.initial["responsible_contact"] = plan.responsible_contact
            if plan.curator_id:
                self.initial["curator"] = plan.curator  # one query here, not one per render of the picker
            self.initial["revision"] = plan.revision
        elif "announcement_intro" not in (kwargs.get("initial") or {}):
            self.initial["announcement_intro"] = default_announcement_intro()  # in the creator's language
        self.fields["services"].label_from_instance = service_labeller()
        # The list offers what an author may choose; a standard plan also shows its own type (kept unchanged).
        offered = [k for k in PlanKind if k in CHOOSABLE_KINDS or (plan.pk and k == plan.kind)]
        self.fields["kind"].widget.choices = [(k.value, k.label) for k in offered]
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.CheckboxSelectMultiple):
                pass
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select form-select-sm")
            else:
                widget.attrs.setdefault("class", "form-control form-control-sm")

    def clean_time_zone(self):
        # Validated before clean() builds datetimes in this zone (ZoneInfo would read any path).
        value = (self.cleaned_data.get("time_zone") or "").strip()
        validate_timezone(value)
        return value

    def clean_window_start(self):
        return _check_date_range(self.cleaned_data.get("window_start"))

    def clean_window_end(self):
        return _check_date_range(self.cleaned_data.get("window_end"))

    def clean_kind(self):
        kind = self.cleaned_data.get("kind") or PlanKind.NORMAL
        unchanged = self.instance.pk and kind == self.instance.kind
        refusal = None if unchanged else kind_refusal(kind)
        if refusal:
            raise ValidationError(refusal, code="kind_not_choosable")
        return kind

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        changed_kind = self.instance.pk and kind and kind != self.instance.kind
        if changed_kind and not cleaned.get("kind_reason", "").strip():
            self.add_error("kind_reason", _("Give a reason for changing the change type."))
        tz_name = cleaned.get("time_zone")
        if tz_name:
            for name in ("window_start", "window_end"):
                if cleaned.get(name):
                    cleaned[name] = _in_zone(cleaned[name], tz_name)
        start, end = cleaned.get("window_start"), cleaned.get("window_end")
        if start and end and end <= start:
            self.add_error("window_end", _("The window must end after it starts."))
        # downtime_text and stated_duration_text are read by Plan.clean(), which the model form runs.
        return cleaned

    def clean_mailing_list(self):
        from .announcements import parse_addresses

        value = self.cleaned_data.get("mailing_list", "")
        _valid, invalid = parse_addresses(value)
        if invalid:
            raise ValidationError(
                _(
                    "Not valid e-mail addresses: %(addresses)s."
                    " Separate addresses with commas, semicolons or new lines."
                ),
                code="invalid_addresses",
                params={"addresses": ", ".join(invalid)},
            )
        return value

    def header_data(self):
        """The header as the services take it: the responsible's name and the plan's own copy of the contact.

        Parties are looked up by name and never changed here: the contact belongs to this plan only.
        """
        data = {name: self.cleaned_data[name] for name in self.Meta.fields}
        data["kind_reason"] = self.cleaned_data.get("kind_reason", "")
        data["responsible_name"] = self.cleaned_data.get("responsible_name") or Typed("")
        data["responsible_contact"] = self.cleaned_data.get("responsible_contact", "").strip()
        return data


class TypedTextField(forms.Field):
    """A text cell read on the server (timeparse.py), not by the browser's picker: it keeps what was typed."""

    def __init__(self, parse: Callable[[str], Any], show: Callable[[Any], str], **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
        super().__init__(**kwargs)
        self.parse, self.show = parse, show

    def to_python(self, value: Any) -> Any:
        return self.parse(value) if isinstance(value, str) else value

    def prepare_value(self, value: Any) -> Any:
        return value if isinstance(value, str) or value is None else self.show(value)


class StepCellForm(forms.Form):
    """One cell of the step table; the field is chosen per request."""

    revision = forms.IntegerField(widget=forms.HiddenInput)
    original = forms.CharField(widget=forms.HiddenInput, required=False, strip=False)

    TEXTAREA_FIELDS = {"description", "expected_result", "risk_mitigation", "affected_systems"}
    suggestion = None  # the executor cell: the user an unlinked executor's name matches

    def __init__(self, field_name, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.field_name = field_name
        model_field = Step._meta.get_field(field_name)
        if field_name == "executor":
            # A user, a party or a group from the picker, or the text as typed (services.get_or_create_party).
            field = PartyPickField(label=model_field.verbose_name, required=False, kind="any", submit=True)
            if not self.is_bound:  # «Is this the user Иванов П.С.?» under a name typed as text
                self.suggestion = people.suggested_user(str(self.initial.get("value") or ""))
        elif field_name == "duration_text":
            field = forms.CharField(
                label=model_field.verbose_name,
                required=False,
                max_length=50,
                help_text=_("e.g. “5 min”, “2-3 hours”, “1.5 hours”"),
            )
        elif field_name == "planned_date":
            field = TypedTextField(
                parse_date,
                format_date,
                label=model_field.verbose_name,
                required=False,
                help_text=_("e.g. “20.03.2025”, “20.03.25”"),
            )
        elif field_name == "planned_time":
            field = TypedTextField(
                parse_time,
                format_time,
                label=model_field.verbose_name,
                required=False,
                help_text=_("e.g. “21:00”, “21-00”, “2100”"),
            )
        elif field_name == "kind":
            field = forms.ChoiceField(label=model_field.verbose_name, choices=StepKind.choices)
        elif field_name == "planned_downtime":
            field = forms.CharField(
                label=model_field.verbose_name,
                required=False,
                max_length=100,
                help_text=_("e.g. “up to 40 min”, “1 h”, “none”"),
            )
        else:
            field = model_field.formfield()
            if field_name in self.TEXTAREA_FIELDS:
                field.widget = forms.Textarea(attrs={"rows": 4})
        if field_name == "name":
            field.required = True
        css = "form-select form-select-sm" if isinstance(field.widget, forms.Select) else "form-control form-control-sm"
        field.widget.attrs.setdefault("class", css)
        field.widget.attrs.setdefault("autofocus", True)
        self.fields["value"] = field

    def clean_value(self):
        value = self.cleaned_data.get("value")
        if self.field_name == "duration_text":
            parse_duration(value)
            return (value or "").strip()
        if isinstance(value, str):
            return value.strip()
        return value


class RiskForm(forms.Form):
    id = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput)
    number = forms.IntegerField(
        label=_("No."),
        min_value=1,
        max_value=MAX_SMALL_NUMBER,
        widget=forms.NumberInput(attrs={"class": "form-control form-control-sm", "style": "width:4.5em"}),
    )
    description = forms.CharField(
        label=_("Risk"), widget=forms.Textarea(attrs={"rows": 2, "class": "form-control form-control-sm"})
    )
    mitigation = forms.CharField(
        label=_("Mitigation"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control form-control-sm"}),
    )


class RollbackActionForm(forms.Form):
    id = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput)
    risk_numbers = forms.CharField(
        label=_("For risks"),
        required=False,
        widget=forms.TextInput(
            attrs={"class": "form-control form-control-sm", "placeholder": "5/6/7/8", "style": "width:7em"}
        ),
    )
    text = forms.CharField(
        label=_("Action"), widget=forms.Textarea(attrs={"rows": 2, "class": "form-control form-control-sm"})
    )

    def clean_risk_numbers(self):
        raw = self.cleaned_data.get("risk_numbers", "")
        parts = [p for p in raw.replace(",", "/").replace(";", "/").replace(" ", "/").split("/") if p]
        if not all(p.isascii() and p.isdigit() and len(p) <= 4 and 0 < int(p) <= MAX_SMALL_NUMBER for p in parts):
            raise ValidationError(_("Write risk numbers separated by “/”, e.g. 5/6/7/8."))
        return sorted({int(p) for p in parts})


RiskFormSet = forms.formset_factory(RiskForm, extra=0, can_delete=True)
RollbackActionFormSet = forms.formset_factory(RollbackActionForm, extra=0, can_delete=True)


class StepRisksForm(forms.Form):
    revision = forms.IntegerField(widget=forms.HiddenInput)
    risk_mitigation = forms.CharField(
        label=_("Risk mitigation (whole step)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control form-control-sm"}),
    )
    no_rollback_needed = forms.BooleanField(
        label=_("No rollback needed"), required=False, widget=forms.CheckboxInput(attrs={"class": "form-check-input"})
    )


class CancelPlanForm(forms.Form):
    comment = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}))


class CopyPlanForm(forms.Form):
    """The new window of a plan's copy, as wall-clock time of the plan's zone; by default one week later."""

    window_start = forms.DateTimeField(label=_("Window start"), widget=LocalDateTimeInput())
    window_end = forms.DateTimeField(label=_("Window end"), widget=LocalDateTimeInput())
    kind = forms.ChoiceField(label=_("Change type"), choices=PlanKind.choices)

    def __init__(self, *args: Any, plan: Plan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plan = plan
        self.fields["kind"].required = False  # left out (the API): the source's type, a standard one's copy normal
        self.fields["kind"].widget.attrs.setdefault("class", "form-select form-select-sm")
        self.fields["kind"].widget.choices = [(k.value, k.label) for k in CHOOSABLE_KINDS]
        self.initial.setdefault("kind", copied_kind(plan.kind))
        week = datetime.timedelta(days=7)
        for name in ("window_start", "window_end"):
            self.initial.setdefault(name, (getattr(plan, name) + week).astimezone(plan.tz).replace(tzinfo=None))
            self.fields[name].widget.attrs.setdefault("class", "form-control form-control-sm")

    def clean_kind(self):
        kind = self.cleaned_data.get("kind") or None
        refusal = kind_refusal(kind) if kind else None
        if refusal:
            raise ValidationError(refusal, code="kind_not_choosable")
        return kind

    def clean_window_start(self):
        return _in_zone(_check_date_range(self.cleaned_data.get("window_start")), self.plan.time_zone)

    def clean_window_end(self):
        return _in_zone(_check_date_range(self.cleaned_data.get("window_end")), self.plan.time_zone)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("window_start"), cleaned.get("window_end")
        if start and end and end <= start:
            self.add_error("window_end", _("The window must end after it starts."))
        return cleaned
