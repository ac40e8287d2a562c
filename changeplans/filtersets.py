import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import PlanStatus
from .limits import validate_date_in_range
from .models import Plan, Service


class PlanFilterSet(django_filters.FilterSet):
    """Filters of the plan list (and, later, of the API list)."""

    q = django_filters.CharFilter(label=_("Search"), method="search")
    status = django_filters.ChoiceFilter(label=_("Status"), choices=PlanStatus.choices, empty_label=_("All"))
    service = django_filters.ModelChoiceFilter(
        label=_("Service"), field_name="services", queryset=Service.objects.all(), empty_label=_("All")
    )
    author = django_filters.ModelChoiceFilter(
        label=_("Author"),
        queryset=get_user_model().objects.filter(authored_plans__isnull=False).distinct(),
        empty_label=_("All"),
    )
    date_from = django_filters.DateFilter(
        label=_("From"),
        field_name="window_end",
        lookup_expr="date__gte",
        validators=[validate_date_in_range],
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = django_filters.DateFilter(
        label=_("To"),
        field_name="window_start",
        lookup_expr="date__lte",
        validators=[validate_date_in_range],
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = Plan
        fields = ["q", "status", "service", "author", "date_from", "date_to"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.form.fields.values():
            css = (
                "form-select form-select-sm"
                if isinstance(field.widget, forms.Select)
                else "form-control form-control-sm"
            )
            field.widget.attrs.setdefault("class", css)
        self.form.fields["author"].label_from_instance = lambda user: user.get_full_name() or user.username

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(title__icontains=value)
            | Q(goal__icontains=value)
            | Q(jira_url__icontains=value)
            | Q(steps__name__icontains=value)
        ).distinct()
