import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from common.widgets import FastSelect

from .choices import PlanStatus
from .limits import validate_date_in_range
from .models import Plan, Service
from .search import Found, find_plans, search_plans


def author_choices() -> list[tuple[int, str]]:
    """Everyone who wrote a plan, as (id, name): EXISTS per user on the plan's author index, no join of every
    plan to find who wrote one."""
    users = get_user_model().objects.filter(Exists(Plan.objects.filter(author=OuterRef("pk")))).order_by("pk")
    return [
        (pk, f"{first} {last}".strip() or username)  # User.get_full_name(), else the login
        for pk, username, first, last in users.values_list("pk", "username", "first_name", "last_name")
    ]


def service_choices() -> list[tuple[int, str]]:
    """The services as (id, name), in their order: pairs, not model instances read through a server-side cursor."""
    return list(Service.objects.values_list("pk", "display_name"))


class PlanFilterSet(django_filters.FilterSet):
    """Filters of the plan list (and, later, of the API list)."""

    q = django_filters.CharFilter(label=_("Search"), method="search")
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=PlanStatus.choices, empty_label=_("All"), widget=FastSelect
    )
    service = django_filters.ChoiceFilter(
        label=_("Service"), field_name="services", choices=service_choices, empty_label=_("All"), widget=FastSelect
    )
    # Some hundred authors: their (id, name) pairs, not a model instance and a template render per option.
    author = django_filters.ChoiceFilter(
        label=_("Author"), choices=author_choices, empty_label=_("All"), widget=FastSelect
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
        self.found: Found | None = None  # the search's plans and their count, once `qs` is read
        for field in self.form.fields.values():
            css = (
                "form-select form-select-sm"
                if isinstance(field.widget, forms.Select)
                else "form-control form-control-sm"
            )
            field.widget.attrs.setdefault("class", css)

    def search(self, queryset, name, value):
        """Full-text and trigram search on PostgreSQL, icontains on SQLite (changeplans/search.py)."""
        return search_plans(queryset, value)

    def filter_queryset(self, queryset):
        """Every other filter first, then the search over the plans they leave: the search's count (`found`) is
        then the list's, and its choice of order (ranked or newest first) sees the filters."""
        for name, value in self.form.cleaned_data.items():
            if name != "q":
                queryset = self.filters[name].filter(queryset, value)
        self.found = find_plans(queryset, self.form.cleaned_data.get("q") or "")
        return queryset if self.found is None else self.found.plans
