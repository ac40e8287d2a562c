"""The change calendar's demo (demo/change_calendar.py): a freeze, a maintenance window and three plans in the seed's
week that the CAB agenda shows, one conflicting with the seed plan, one emergency."""

import datetime
import io
import zoneinfo

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from approvals.choices import RowKind
from approvals.services import acknowledge_row
from changecalendar.conflicts import conflicts_of
from changecalendar.maintenance import occurrences
from changecalendar.models import Freeze, MaintenanceWindow
from changeplans.choices import PlanKind, PlanStatus
from changeplans.models import Plan
from demo.change_calendar import (
    DEMO_CALENDAR_PLANS,
    DEMO_FREEZE,
    DEMO_WEEK_START,
    load_calendar_demo,
    new_year_freeze,
)
from demo.plans import DEMO_PASSWORD, DEMO_TIME_ZONE, load_demo
from execution.transitions import start_refusal

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def loaded():
    return load_demo(), load_calendar_demo()


def test_three_plans_around_the_seed(loaded):
    seed, plans = loaded
    conflicting, emergency, approved = plans
    assert [plan.title for plan in plans] == [spec.title for spec in DEMO_CALENDAR_PLANS]
    assert (conflicting.status, emergency.status, approved.status) == (
        PlanStatus.IN_REVIEW,
        PlanStatus.IN_REVIEW,
        PlanStatus.APPROVED,
    )
    assert emergency.kind == PlanKind.EMERGENCY
    # The conflict is on the seed's service, and both plans show it.
    assert conflicting.pk in [conflict.other_id for conflict in conflicts_of(seed)]
    reasons = {reason.label for conflict in conflicts_of(conflicting) for reason in conflict.reasons}
    assert "Инфосайт" in reasons
    assert all(plan.steps.get().risks.exists() for plan in plans)


def test_freeze_and_maintenance_window(loaded):
    seed, _plans = loaded
    freeze = Freeze.objects.get()
    assert freeze.title == DEMO_FREEZE["title"] and freeze.scope == "global"
    local = [
        timezone.localtime(moment, zoneinfo.ZoneInfo(DEMO_TIME_ZONE)) for moment in (freeze.starts_at, freeze.ends_at)
    ]
    year = timezone.localdate(timezone=zoneinfo.ZoneInfo(DEMO_TIME_ZONE)).year
    assert (local[0].month, local[0].day, local[1].month, local[1].day) == (12, 31, 1, 11)
    assert local[1].year == local[0].year + 1 and local[0].year in (year - 1, year)
    assert local[1] > timezone.now()  # the coming holidays: the freeze shows on today's calendar
    window = MaintenanceWindow.objects.get()
    assert window.service.name == "www.nskes.ru" and window.weekdays == [2, 4]
    # The seed's Thursday window lies inside the Thursday 20:00–02:00 maintenance window.
    opened = occurrences([window], seed.window_start - datetime.timedelta(hours=1), seed.window_end)
    assert any(start <= seed.window_start and seed.window_end <= end for _window, start, end in opened)


def test_loading_again_changes_nothing(loaded):
    counts = (Plan.objects.count(), Freeze.objects.count(), MaintenanceWindow.objects.count())
    again = load_calendar_demo()
    assert [plan.pk for plan in again] == [plan.pk for plan in loaded[1]]
    assert (Plan.objects.count(), Freeze.objects.count(), MaintenanceWindow.objects.count()) == counts


def test_the_cab_agenda_of_the_demo_week(client, loaded):
    seed, (conflicting, emergency, approved) = loaded
    client.login(username="kochetov", password=DEMO_PASSWORD)
    end = DEMO_WEEK_START + datetime.timedelta(days=6)
    response = client.get(reverse("changecalendar:cab"), {"start": DEMO_WEEK_START, "end": end})
    listed = [item.plan.pk for item in response.context["agenda"].plans]
    assert listed == [emergency.pk, seed.pk, conflicting.pk]
    with_approved = client.get(reverse("changecalendar:cab"), {"start": DEMO_WEEK_START, "end": end, "approved": "on"})
    assert approved.pk in [item.plan.pk for item in with_approved.context["agenda"].plans]


def test_the_command_prints_the_cab_link():
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert "/calendar/cab/?start=2025-03-17&end=2025-03-23" in out.getvalue()
    assert Plan.objects.filter(title=DEMO_CALENDAR_PLANS[0].title).count() == 1


@pytest.mark.parametrize(
    ("today", "year"),
    [(datetime.date(2026, 12, 7), 2026), (datetime.date(2027, 1, 10), 2026), (datetime.date(2027, 1, 11), 2027)],
)
def test_the_demo_freeze_is_the_coming_new_year(today, year):
    starts_at, ends_at = new_year_freeze(today)
    assert (starts_at.date(), ends_at.date()) == (datetime.date(year, 12, 31), datetime.date(year + 1, 1, 11))


def test_the_demo_emergency_plan_starts_after_the_duty_officers_acknowledgement(loaded):
    _seed, plans = loaded
    emergency = next(plan for plan in plans if plan.kind == PlanKind.EMERGENCY)
    duty = User.objects.get(username="duty")
    assert start_refusal(duty, emergency)  # Кочетов В.Н. approved; the duty officer has not acknowledged yet
    row = emergency.approval_rows.get(kind=RowKind.ACKNOWLEDGEMENT)
    acknowledge_row(row.pk, actor=duty, version=emergency.versions.get().number)
    emergency.refresh_from_db()
    assert start_refusal(duty, emergency) is None
