"""Input of the sign-off pages. Forms check the shape of what was posted; services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from . import people
from .choices import RowKind
from .models import MatrixTemplate

# Where a sign-off action was taken: the view answers with that page's refreshed part.
PARTS = ("matrix", "inbox", "diff")


class DecisionForm(forms.Form):
    """Approve, reject or acknowledge one row of the matrix, for the version the user was looking at."""

    version = forms.IntegerField(min_value=1, max_value=2**31 - 1, widget=forms.HiddenInput)  # PlanVersion.number
    comment = forms.CharField(
        label=_("Comment"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2})
    )
    part = forms.ChoiceField(choices=[(p, p) for p in PARTS], required=False, widget=forms.HiddenInput)

    def clean_part(self):
        return self.cleaned_data.get("part") or "matrix"


class ApplyTemplateForm(forms.Form):
    template = forms.ModelChoiceField(
        label=_("Matrix template"), queryset=MatrixTemplate.objects.all(), empty_label=None
    )


class DiffForm(forms.Form):
    """?from=N&to=M on the diff page; both optional (defaults are chosen by the view)."""

    def __init__(self, *args, numbers=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(n, n) for n in numbers]
        # "from" is a Python keyword, hence fields added by name.
        self.fields["from"] = forms.TypedChoiceField(choices=choices, coerce=int, required=False)
        self.fields["to"] = forms.TypedChoiceField(choices=choices, coerce=int, required=False)


class MatrixRowForm(forms.Form):
    """One row of the matrix as the author edits it; `who` is the picker's "user:5" / "group:2" (or empty)."""

    job_title = forms.CharField(label=_("Position"), required=False, max_length=300)
    who = forms.CharField(label=_("Full name"), required=False, max_length=40)
    kind = forms.ChoiceField(label=_("Kind"), choices=RowKind.choices, initial=RowKind.APPROVAL)
    stage = forms.IntegerField(
        label=_("Stage"),
        min_value=1,
        max_value=99,
        initial=1,
        error_messages={"invalid": _("The stage is a whole number from 1 to 99.")},
    )

    def clean_who(self):
        try:
            return people.resolve(self.cleaned_data.get("who", ""))
        except LookupError:
            raise forms.ValidationError(
                _("No such person or group: choose one from the list."), code="unknown"
            ) from None


class NewMatrixRowForm(MatrixRowForm):
    """A new row: every field may be left out (the row is filled in afterwards)."""

    kind = forms.ChoiceField(required=False, choices=RowKind.choices)
    stage = forms.IntegerField(required=False, min_value=1, max_value=99)

    def clean_kind(self):
        return self.cleaned_data.get("kind") or RowKind.APPROVAL


class MoveRowForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", "up"), ("down", "down")])

    @property
    def offset(self) -> int:
        return -1 if self.cleaned_data["direction"] == "up" else 1


class CopyMatrixForm(forms.Form):
    source = forms.IntegerField(
        label=_("Plan"),
        min_value=1,
        max_value=2**31 - 1,
        error_messages={
            "required": _("Choose a plan to copy the sign-off matrix from."),
            "invalid": _("Choose a plan to copy the sign-off matrix from."),
        },
    )


class SaveTemplateForm(forms.Form):
    name = forms.CharField(
        label=_("Template name"),
        max_length=200,
        error_messages={"required": _("Give the template a name.")},
    )
