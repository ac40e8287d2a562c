"""The freeze form of /calendar/freezes/ (administrators) and the Django admin: messages in the user's language."""

from typing import Any, cast

from django import forms
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from changeplans.forms import LocalDateTimeInput
from changeplans.models import Service
from changeplans.roles import display_name
from runbooks.models import Cluster

from .choices import FreezeScope
from .models import Freeze


class FreezeForm(forms.ModelForm):
    class Meta:
        model = Freeze
        fields = ["title", "reason", "starts_at", "ends_at", "scope", "service", "cluster", "owner"]
        widgets = {
            "starts_at": LocalDateTimeInput(),
            "ends_at": LocalDateTimeInput(),
            "reason": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["service"]).queryset = Service.objects.order_by("name")
        cast(forms.ModelChoiceField, self.fields["cluster"]).queryset = Cluster.objects.order_by("name")
        owner = cast(forms.ModelChoiceField, self.fields["owner"])
        owner.queryset = User.objects.filter(is_active=True).order_by("last_name", "first_name", "username")
        owner.label_from_instance = display_name  # type: ignore[method-assign]
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select form-select-sm")
            else:
                widget.attrs.setdefault("class", "form-control form-control-sm")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("starts_at"), cleaned.get("ends_at")
        if start and end and end <= start:
            self.add_error("ends_at", ValidationError(_("The freeze must end after it starts."), code="order"))
        scope = cleaned.get("scope")
        if scope == FreezeScope.SERVICE:
            if not cleaned.get("service"):
                self.add_error("service", ValidationError(_("Choose the service the freeze applies to."), code="need"))
            cleaned["cluster"] = None
        elif scope == FreezeScope.CLUSTER:
            if not cleaned.get("cluster"):
                self.add_error("cluster", ValidationError(_("Choose the cluster the freeze applies to."), code="need"))
            cleaned["service"] = None
        elif scope == FreezeScope.GLOBAL:
            cleaned["service"] = cleaned["cluster"] = None
        return cleaned
