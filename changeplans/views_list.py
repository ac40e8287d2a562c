"""The lists of the plan pages: the plan list (filters, search, pages) and a plan's full history, page by page.

Each page runs a fixed number of queries however many plans, steps or events there are
(tests/changeplans/test_lists_scale.py): the rows of one page, a capped count (common/pagination.py), and
the prefetches of that page's rows. The step counts are one GROUP BY over the steps of the rows shown,
not a join over every step.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from common.pagination import paginate

from .choices import PlanStatus
from .filtersets import PlanFilterSet
from .limits import db_datetime_range
from .models import Plan, PlanEvent, PlanService, Step
from .permissions import can_create_plan


def add_row_details(plans):
    """Set `step_count`, `service_names`, `status_label` and `window_text` on the plans of a page.

    The step counts are one GROUP BY over those plans' steps (COUNT(*): the plan_id index alone), so neither the
    count of the list nor the rows skipped by an offset touch a step. The labels are translated once per page,
    not once per row (get_status_display rebuilds the lazy choices on every call); the window is written here in
    the plan's time zone («20.03.2025 20:00 – 20:30»), not by a template tag and two date filters per row."""
    ids = [plan.pk for plan in plans]
    counts = dict(Step.objects.filter(plan_id__in=ids).order_by().values_list("plan_id").annotate(n=Count("*")))
    services: dict[int, list[str]] = {}
    names = PlanService.objects.filter(plan_id__in=ids).order_by("id").values_list("plan_id", "service__display_name")
    for plan_id, name in names:
        services.setdefault(plan_id, []).append(name)
    labels = {code: str(label) for code, label in PlanStatus.choices}
    for plan in plans:
        plan.step_count = counts.get(plan.pk, 0)
        plan.service_names = services.get(plan.pk, [])
        plan.status_label = labels.get(plan.status, plan.status)
        start, end = (timezone.localtime(moment, plan.tz) for moment in (plan.window_start, plan.window_end))
        plan.window_text = f"{start:%d.%m.%Y %H:%M} – {end:%H:%M}"


# What a row of the list shows, and no more: a plan's goal, announcement and banner texts stay in the database.
ROW_FIELDS = ("pk", "title", "kind", "status", "time_zone", "window_start", "window_end", "author")


def list_queryset():
    """The plans of the list with what a row shows; dates Python cannot load are left out (check_plan_dates)."""
    return (
        Plan.objects.filter(db_datetime_range("window_start") & db_datetime_range("window_end"))
        .only(*ROW_FIELDS)
        # Prefetched, not joined: a search's matches are sorted before the page is cut, and a join would
        # look up the author of every match. Each with the columns a row shows.
        .prefetch_related(
            Prefetch("author", queryset=get_user_model().objects.only("pk", "username", "first_name", "last_name"))
        )
        .order_by("-window_start", "-id")
    )


@login_required
def plan_list(request):
    filterset = PlanFilterSet(request.GET or None, queryset=list_queryset())
    plans = filterset.qs if filterset.is_bound else filterset.queryset
    found = filterset.found  # a search counted its plans already (up to OKNO_SEARCH_RANK_LIMIT): no second count
    if found is None:
        page = paginate(request, plans)
    else:
        page = paginate(request, plans, count=found.count, count_cap=settings.OKNO_SEARCH_RANK_LIMIT)
    add_row_details(page.items)
    context = {
        "filterset": filterset,
        "plans": page,
        "page": page,
        "can_create": can_create_plan(request.user),
    }
    template = (
        "changeplans/plan_list.html#plan-table"
        if request.htmx and not request.htmx.boosted
        else "changeplans/plan_list.html"
    )
    response = render(request, template, context)
    response["Vary"] = "HX-Request"
    return response


@login_required
def plan_history_page(request, pk):
    """A plan's whole history, oldest first, a page at a time (the plan page shows the latest entries)."""
    plan = get_object_or_404(Plan.objects.only("pk", "title", "time_zone", "status"), pk=pk)
    events = PlanEvent.objects.filter(plan_id=pk).select_related("actor").order_by("at", "id")
    page = paginate(request, events)
    with timezone.override(plan.tz):
        return render(request, "changeplans/plan_history.html", {"plan": plan, "events": page, "page": page})
