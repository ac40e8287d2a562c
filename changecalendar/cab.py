"""The CAB agenda (/calendar/cab/): the plans waiting for sign-off in a period, by day and service, with their
sign-off progress, risks, conflicts and freezes; printable as a PDF for the weekly change advisory meeting
(docs/calendar.md, "CAB agenda").

A fixed number of queries whatever the number of plans: the plans, their services, their sign-off counts, their
risks (the first RISKS_SHOWN of each by a window function, with the total), then conflicts_for_plans and
freezes_for_plans (their own fixed counts). At most MAX_PLANS plans: the PDF is rendered while the user waits.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from approvals.choices import ApprovalStatus
from approvals.models import ApprovalRow
from changeplans.choices import Availability, PlanStatus
from changeplans.limits import MAX_DATE, MIN_DATE, db_datetime_range
from changeplans.models import Plan, PlanService, Risk
from changeplans.permissions import can_view_plan
from changeplans.roles import display_name
from changeplans.templatetags.change_types import kind_label

from .conflicts import Conflict, conflicts_for_plans
from .freezes import freezes_for_plans
from .models import Freeze

# A meeting's agenda is small; past this many plans the page says so and asks for a shorter period.
MAX_PLANS = 100
# The PDF is made while the user waits: about 0.1–0.2 s of CPU a plan (five risks each), so fewer plans.
MAX_PDF_PLANS = 30
MAX_DAYS = 31
DEFAULT_DAYS = 7
# Risks listed per plan (steps in order, then by number); the rest are counted.
RISKS_SHOWN = 5

PLAN_FIELDS = (
    "pk",
    "title",
    "kind",
    "status",
    "time_zone",
    "window_start",
    "window_end",
    "downtime_text",
    "emergency_signoff_due",
    "author",
)
_SIGNED = (ApprovalStatus.APPROVED, ApprovalStatus.ACKNOWLEDGED)
_WORST_FIRST = (Availability.UNAVAILABLE, Availability.DEGRADED, Availability.AVAILABLE)

AnyUser = AbstractBaseUser | AnonymousUser


class AgendaForm(forms.Form):
    """The period (dates in the page's time zone, both included) and whether approved plans are listed too."""

    start = forms.DateField(
        label=_("From"),
        required=False,
        input_formats=["%Y-%m-%d", "%d.%m.%Y"],
        widget=forms.DateInput(
            attrs={
                "type": "date",
                "class": "form-control form-control-sm",
                "min": MIN_DATE.isoformat(),
                "max": MAX_DATE.isoformat(),
            },
            format="%Y-%m-%d",
        ),
    )
    end = forms.DateField(
        label=_("To"),
        required=False,
        input_formats=["%Y-%m-%d", "%d.%m.%Y"],
        widget=forms.DateInput(
            attrs={
                "type": "date",
                "class": "form-control form-control-sm",
                "min": MIN_DATE.isoformat(),
                "max": MAX_DATE.isoformat(),
            },
            format="%Y-%m-%d",
        ),
    )
    approved = forms.BooleanField(
        label=_("Also approved plans not yet started"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )

    def __init__(self, data: Any = None, *, today: dt.date) -> None:
        super().__init__(data)
        self.today = today
        self.fields["start"].widget.attrs["placeholder"] = today.strftime("%d.%m.%Y")

    def _clean_date(self, name: str) -> dt.date | None:
        value = self.cleaned_data.get(name)
        if value is not None and not MIN_DATE <= value <= MAX_DATE:
            raise forms.ValidationError(_("Enter a date between 01.01.2000 and 31.12.2100."))
        return value

    def clean_start(self) -> dt.date | None:
        return self._clean_date("start")

    def clean_end(self) -> dt.date | None:
        return self._clean_date("end")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        start, end = data.get("start"), data.get("end")
        if "start" in self.errors or "end" in self.errors:
            return data
        if start is None:
            start = self.today if end is None else max(MIN_DATE, end - dt.timedelta(days=DEFAULT_DAYS - 1))
        if end is None:
            end = min(MAX_DATE, start + dt.timedelta(days=DEFAULT_DAYS - 1))
        if end < start:
            self.add_error("end", _("The end of the period is before its start."))
        elif (end - start).days + 1 > MAX_DAYS:
            self.add_error("end", _("The period is at most %(days)d days long.") % {"days": MAX_DAYS})
        data["start"], data["end"] = start, end
        return data


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # included
    tz: dt.tzinfo

    @property
    def start_at(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time.min, tzinfo=self.tz)

    @property
    def end_at(self) -> dt.datetime:
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=self.tz)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def shifted(self, days: int) -> Period:
        return Period(self.start + dt.timedelta(days=days), self.end + dt.timedelta(days=days), self.tz)


def default_period(today: dt.date, tz: dt.tzinfo) -> Period:
    """The coming week from today: a weekly meeting on any weekday leaves no day between two agendas."""
    return Period(today, today + dt.timedelta(days=DEFAULT_DAYS - 1), tz)


@dataclass(frozen=True)
class RiskItem:
    step_position: int
    number: int
    description: str
    mitigation: str


@dataclass
class AgendaPlan:
    plan: Plan
    kind_label: str
    status_label: str
    window_text: str
    zone_note: str  # the plan's zone when the page shows another one
    author_name: str
    services: list[str]
    availability: str  # the worst availability of its services
    downtime: str
    signed: int
    total: int
    post_factum: bool  # an emergency plan started before its full sign-off
    risks: list[RiskItem] = field(default_factory=list)
    risk_count: int = 0
    conflicts: list[Conflict] = field(default_factory=list)
    freezes: list[Freeze] = field(default_factory=list)

    @property
    def more_risks(self) -> int:
        return max(0, self.risk_count - len(self.risks))

    @property
    def waiting(self) -> int:
        return self.total - self.signed


@dataclass
class ServiceGroup:
    name: str
    plans: list[AgendaPlan]


@dataclass
class AgendaDay:
    date: dt.date
    groups: list[ServiceGroup]


@dataclass
class Agenda:
    period: Period
    include_approved: bool
    days: list[AgendaDay]
    count: int  # plans listed
    found: int  # plans in the period (more than `count` when capped)

    @property
    def capped(self) -> bool:
        return self.found > self.count

    @property
    def plans(self) -> list[AgendaPlan]:
        return [item for day in self.days for group in day.groups for item in group.plans]


def agenda_statuses(include_approved: bool) -> list[str]:
    return [PlanStatus.IN_REVIEW, PlanStatus.APPROVED] if include_approved else [PlanStatus.IN_REVIEW]


def agenda_queryset(period: Period, include_approved: bool):
    """The plans waiting for sign-off whose windows overlap the period: in review (and approved, when asked),
    and emergency plans started before their full sign-off whose rows still wait (post factum)."""
    pending = ApprovalRow.objects.filter(
        plan_id=OuterRef("pk"), status__in=(ApprovalStatus.PENDING, ApprovalStatus.NOT_ACKNOWLEDGED)
    )
    waiting = Q(status__in=agenda_statuses(include_approved)) | Q(
        Exists(pending),
        emergency_signoff_due__isnull=False,
        status__in=(
            PlanStatus.IN_PROGRESS,
            PlanStatus.COMPLETED,
            PlanStatus.COMPLETED_WITH_ROLLBACK,
            PlanStatus.FAILED,
        ),
    )
    return (
        Plan.objects.filter(db_datetime_range("window_start") & db_datetime_range("window_end"))
        .filter(waiting, window_start__lt=period.end_at, window_end__gt=period.start_at)
        .only(*PLAN_FIELDS)
        .prefetch_related(
            Prefetch("author", queryset=get_user_model().objects.only("pk", "username", "first_name", "last_name"))
        )
        .order_by("window_start", "id")
    )


def _services(ids: list[int]) -> dict[int, list[PlanService]]:
    result: dict[int, list[PlanService]] = defaultdict(list)
    rows = PlanService.objects.filter(plan_id__in=ids).select_related("service").order_by("id")
    for row in rows.only("plan_id", "availability", "service__display_name", "service__name"):
        result[row.plan_id].append(row)
    return result


def _signoff_counts(ids: list[int]) -> dict[int, tuple[int, int]]:
    """plan id → (signed rows, all rows): one GROUP BY."""
    counts = (
        ApprovalRow.objects.filter(plan_id__in=ids)
        .order_by()
        .values("plan_id")
        .annotate(total=Count("*"), signed=Count("pk", filter=Q(status__in=_SIGNED)))
    )
    return {row["plan_id"]: (row["signed"], row["total"]) for row in counts}


def _risks(ids: list[int]) -> tuple[dict[int, list[RiskItem]], dict[int, int]]:
    """The first RISKS_SHOWN risks of each plan (by step, then number) and each plan's count: one query."""
    order = [F("step__position").asc(), F("number").asc(), F("pk").asc()]
    rows = (
        Risk.objects.filter(step__plan_id__in=ids)
        .annotate(
            rank=Window(RowNumber(), partition_by=[F("step__plan_id")], order_by=order),
            plan_total=Window(Count("*"), partition_by=[F("step__plan_id")]),
        )
        .filter(rank__lte=RISKS_SHOWN)
        .order_by("step__plan_id", "rank")
        .values_list("step__plan_id", "step__position", "number", "description", "mitigation", "plan_total")
    )
    risks: dict[int, list[RiskItem]] = defaultdict(list)
    totals: dict[int, int] = {}
    for plan_id, position, number, description, mitigation, total in rows:
        risks[plan_id].append(RiskItem(position, number, description, mitigation))
        totals[plan_id] = total
    return risks, totals


def _worst_availability(rows: Sequence[PlanService]) -> str:
    codes = {row.availability for row in rows}
    for code in _WORST_FIRST:
        if code in codes:
            return str(Availability(code).label)
    return ""


def _window_text(plan: Plan) -> str:
    start, end = (timezone.localtime(moment, plan.tz) for moment in (plan.window_start, plan.window_end))
    if end.date() == start.date():
        return f"{start:%d.%m.%Y %H:%M} – {end:%H:%M}"
    return f"{start:%d.%m.%Y %H:%M} – {end:%d.%m.%Y %H:%M}"


def build_agenda(period: Period, *, include_approved: bool, user: AnyUser, limit: int | None = None) -> Agenda:
    """The agenda of the period for `user` (the plans they may see), grouped by the day of each plan's start
    (in its own zone, as its window is written) and then by its first service; at most `limit` plans (MAX_PLANS)."""
    limit = MAX_PLANS if limit is None else limit
    found_plans = list(agenda_queryset(period, include_approved)[: limit + 1])
    found = len(found_plans)
    if found > limit:
        found = agenda_queryset(period, include_approved).count()
    plans = [plan for plan in found_plans[:limit] if can_view_plan(user, plan)]
    ids = [plan.pk for plan in plans]
    services = _services(ids)
    signoff = _signoff_counts(ids)
    risks, risk_counts = _risks(ids)
    conflicts = conflicts_for_plans(plans)
    freezes = freezes_for_plans(plans)
    statuses = {code: str(label) for code, label in PlanStatus.choices}
    page_zone = str(timezone.get_current_timezone())
    no_service = str(_("No service"))

    by_day: dict[dt.date, dict[str, list[AgendaPlan]]] = defaultdict(lambda: defaultdict(list))
    for plan in plans:
        rows = services.get(plan.pk, [])
        signed, total = signoff.get(plan.pk, (0, 0))
        item = AgendaPlan(
            plan=plan,
            kind_label=kind_label(plan.kind),
            status_label=statuses.get(plan.status, plan.status),
            window_text=_window_text(plan),
            zone_note=plan.time_zone if plan.time_zone != page_zone else "",
            author_name=display_name(plan.author),
            services=[row.service.display_name for row in rows],
            availability=_worst_availability(rows),
            downtime=plan.downtime_text,
            signed=signed,
            total=total,
            post_factum=plan.status not in (PlanStatus.IN_REVIEW, PlanStatus.APPROVED),
            risks=risks.get(plan.pk, []),
            risk_count=risk_counts.get(plan.pk, 0),
            conflicts=conflicts.get(plan.pk, []),
            freezes=freezes.get(plan.pk, []),
        )
        day = timezone.localtime(plan.window_start, plan.tz).date()
        by_day[day][item.services[0] if item.services else no_service].append(item)

    days = [
        AgendaDay(day, [ServiceGroup(name, by_day[day][name]) for name in sorted(by_day[day], key=str.casefold)])
        for day in sorted(by_day)
    ]
    return Agenda(period, include_approved, days, count=len(plans), found=found)
