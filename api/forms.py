"""The form that creates a personal API token (/account/tokens/)."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .choices import TokenScope
from .tokens import DEFAULT_EXPIRY_DAYS, EXPIRY_DAYS


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Token name"),
        max_length=100,
        help_text=_("What the token is for, e.g. “GitLab CI of the billing service”."),
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm", "autocomplete": "off"}),
    )
    scope = forms.ChoiceField(
        label=_("Scope"),
        choices=TokenScope.choices,
        initial=TokenScope.READ,
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    expires_in_days = forms.TypedChoiceField(
        label=_("Expires in"),
        coerce=int,
        choices=[(days, days) for days in EXPIRY_DAYS],  # labelled in __init__, in the request's language
        initial=DEFAULT_EXPIRY_DAYS,
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    # A one-time value of the page that showed the form: a reload that sends the form again creates no second token.
    nonce = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["expires_in_days"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(days, ngettext("%(n)d day", "%(n)d days", days) % {"n": days}) for days in EXPIRY_DAYS]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Give the token a name."))
        return name
