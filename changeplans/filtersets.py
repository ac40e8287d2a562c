import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from .choices import PlanStatus
from .limits import validate_date_in_range
from .models import Plan, Service
from .search import search_plans


class PlanFilterSet(django_filters.FilterSet):
    """Filters of the plan list (and, later, of the API list)."""

    q = django_filters.CharFilter(label=_("Search"), method="search")
    status = django_filters.ChoiceFilter(label=_("Status"), choices=PlanStatus.choices, empty_label=_("All"))
    service = django_filters.ModelChoiceFilter(
        label=_("Service"), field_name="services", queryset=Service.objects.all(), empty_label=_("All")
    )
    author = django_filters.ModelChoiceFilter(
        label=_("Author"),
        # EXISTS per user on the plan's author index: no join of every plan to find who wrote one.
        queryset=get_user_model().objects.filter(Exists(Plan.objects.filter(author=OuterRef("pk")))),
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
        """Full-text and trigram search on PostgreSQL, icontains on SQLite (changeplans/search.py)."""
        return search_plans(queryset, value)
