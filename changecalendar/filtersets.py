"""The calendar's filters: service, cluster, author, status, change type, and the zone the times are shown in."""

from typing import Any

import django_filters
from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from changeplans.choices import PlanKind, PlanStatus
from changeplans.context_processors import TIME_ZONE_CHOICES
from changeplans.filtersets import author_choices, service_choices
from changeplans.models import Plan
from common.widgets import FastSelect
from runbooks.models import Cluster


def cluster_choices() -> list[tuple[int, str]]:
    return list(Cluster.objects.order_by("name").values_list("pk", "name"))


def zone_choices() -> list[tuple[str, str]]:
    """The project's zone first (the default), then the zones the plan form suggests."""
    zones = [settings.TIME_ZONE, *(zone for zone in TIME_ZONE_CHOICES if zone != settings.TIME_ZONE)]
    return [(zone, zone) for zone in zones]


class CalendarFilterSet(django_filters.FilterSet):
    service = django_filters.ChoiceFilter(
        label=_("Service"), field_name="services", choices=service_choices, empty_label=_("All"), widget=FastSelect
    )
    # Applied by the view over the period's plans (changecalendar.plan_keys): a plan's cluster comes from its
    # runbook parameters and its automation targets, not from a column.
    cluster = django_filters.ChoiceFilter(
        label=_("Cluster"), choices=cluster_choices, empty_label=_("All"), method="keep", widget=FastSelect
    )
    author = django_filters.ChoiceFilter(
        label=_("Author"), choices=author_choices, empty_label=_("All"), widget=FastSelect
    )
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=PlanStatus.choices, empty_label=_("All"), widget=FastSelect
    )
    kind = django_filters.ChoiceFilter(
        label=_("Change type"), choices=PlanKind.choices, empty_label=_("All"), widget=FastSelect
    )
    tz = django_filters.ChoiceFilter(
        label=_("Time zone"), choices=zone_choices, empty_label=None, method="keep", widget=FastSelect
    )

    class Meta:
        model = Plan
        fields = ["service", "cluster", "author", "status", "kind", "tz"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.form.fields.values():
            css = (
                "form-select form-select-sm"
                if isinstance(field.widget, forms.Select)
                else "form-control form-control-sm"
            )
            field.widget.attrs.setdefault("class", css)

    def keep(self, queryset: QuerySet[Plan], name: str, value: Any) -> QuerySet[Plan]:
        return queryset

    def chosen(self, name: str) -> str | None:
        """A valid value of a filter, or None (an invalid one is reported by the form and ignored)."""
        if not self.is_bound:
            return None
        self.form.is_valid()
        return self.form.cleaned_data.get(name) or None
