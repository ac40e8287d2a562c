"""Input of the sign-off pages. Forms check the shape of what was posted; services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

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
