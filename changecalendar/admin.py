"""Freezes, their exceptions and maintenance windows in the Django admin (the freezes also on /calendar/freezes/)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from notifications.admin_base import ReadOnlyAdmin

from . import maintenance
from .forms_freezes import FreezeForm
from .models import Freeze, FreezeException, MaintenanceWindow


@admin.register(Freeze)
class FreezeAdmin(admin.ModelAdmin):
    form = FreezeForm
    list_display = ["title", "starts_at", "ends_at", "scope", "service", "cluster", "owner"]
    list_filter = ["scope"]
    search_fields = ["title", "reason"]
    date_hierarchy = "starts_at"
    raw_id_fields = ["owner"]
    list_select_related = ["service", "cluster", "owner"]

    def save_model(self, request, obj, form, change):
        if obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(FreezeException)
class FreezeExceptionAdmin(ReadOnlyAdmin):
    """Read-only: asked on the plan page, decided by the owner's row in the plan's matrix."""

    list_display = ["plan", "freeze", "requested_by", "requested_at"]
    list_select_related = ["plan", "freeze", "requested_by"]
    search_fields = ["plan__title", "freeze__title"]


WEEKDAY_CHOICES = [(day + 1, name) for day, name in WEEKDAYS.items()]  # ISO: 1 = Monday


class MaintenanceWindowForm(forms.ModelForm):
    weekdays = forms.TypedMultipleChoiceField(
        label=_("days of the week"), choices=WEEKDAY_CHOICES, coerce=int, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = MaintenanceWindow
        fields = ["service", "weekdays", "starts", "ends", "time_zone", "note"]
        help_texts = {"ends": _("At or before the opening time: the window closes the next day (20:00–02:00).")}

    def clean_weekdays(self):
        days = sorted(set(self.cleaned_data.get("weekdays") or ()))
        if not days:
            raise ValidationError(_("Choose at least one day of the week."), code="required")
        return days


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(admin.ModelAdmin):
    form = MaintenanceWindowForm
    list_display = ["service", "hours", "note"]
    list_select_related = ["service"]
    search_fields = ["service__name", "service__display_name", "note"]

    @admin.display(description=_("opens"))
    def hours(self, obj):
        return maintenance.describe(obj)
