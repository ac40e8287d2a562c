"""Maintenance windows (changecalendar.maintenance, extension_freezes; docs/calendar.md).

To break them by hand: in maintenance._opening drop `.astimezone(UTC)` (the DST tests fail: same-tzinfo
arithmetic is wall-clock); start the day loop at the range's first local day (the across-midnight test fails);
in maintenance._merged never merge (the round-the-clock test fails); in extension_freezes.window_items drop the
`plan_outside_windows` filter (the inside-the-window page test fails).
"""

import datetime
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from changecalendar.admin import MaintenanceWindowForm
from changecalendar.maintenance import occurrences, plan_inside, plan_outside_windows
from changecalendar.models import MaintenanceWindow
from changeplans.models import PlanService
from tests.approvals.factories import plan_with_matrix
from tests.changecalendar.plan_page import plan_page
from tests.factories import PlanFactory, ServiceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NSK = zoneinfo.ZoneInfo("Asia/Novosibirsk")
UTC = datetime.UTC
TUE, THU, SAT = 2, 4, 6


def at(month, day, hour, minute=0, *, tz=BERLIN, fold=0, year=2026):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=tz, fold=fold)


def window(service, days, starts, ends, tz="Europe/Berlin", note=""):
    return MaintenanceWindow.objects.create(
        service=service,
        weekdays=days,
        starts=datetime.time(*starts),
        ends=datetime.time(*ends),
        time_zone=tz,
        note=note,
    )


@pytest.fixture
def service():
    return ServiceFactory(name="bank.example.org", display_name="Интернет-банк")


@pytest.fixture
def tue_thu(service):
    """«вт/чт 20:00–02:00» in Berlin. 2026-05-12 is a Tuesday."""
    return window(service, [TUE, THU], (20, 0), (2, 0))


def test_a_window_across_midnight(tue_thu):
    w = [tue_thu]
    assert plan_inside(at(5, 12, 21), at(5, 13, 1, 30), w)  # Tue 21:00 – Wed 01:30
    assert plan_inside(at(5, 12, 20), at(5, 13, 2), w)  # exactly the window
    assert not plan_inside(at(5, 12, 19), at(5, 12, 21), w)  # starts before it opens
    assert not plan_inside(at(5, 13, 1), at(5, 13, 3), w)  # ends after it closed
    assert not plan_inside(at(5, 13, 21), at(5, 13, 22), w)  # Wednesday
    assert plan_inside(at(5, 14, 23), at(5, 15, 0, 30), w)  # Thursday night into Friday
    # The same moments written in another zone: Tue 21:00 Berlin (CEST) is Wed 02:00 in Novosibirsk.
    assert plan_inside(at(5, 13, 2, tz=NSK), at(5, 13, 6, tz=NSK), w)


def test_occurrences_of_a_range_include_the_one_open_since_the_day_before(tue_thu):
    # From Wednesday 00:00: Tuesday's opening (until Wed 02:00) is still open.
    found = occurrences([tue_thu], at(5, 13, 0), at(5, 15, 0))
    assert [(opens.astimezone(BERLIN), closes.astimezone(BERLIN)) for _w, opens, closes in found] == [
        (at(5, 12, 20), at(5, 13, 2)),
        (at(5, 14, 20), at(5, 15, 2)),
    ]
    assert all(opens.tzinfo is UTC for _w, opens, _c in found)


def test_fall_back_night_is_an_hour_longer(service):
    # 2026-10-25 (Sunday) 03:00 CEST → 02:00 CET. Saturday 20:00 – Sunday 04:00 wall clock: 9 hours.
    sat = window(service, [SAT], (20, 0), (4, 0))
    ((_w, opens, closes),) = occurrences([sat], at(10, 24, 12), at(10, 25, 12))
    assert closes - opens == datetime.timedelta(hours=9)
    assert (opens, closes) == (
        datetime.datetime(2026, 10, 24, 18, tzinfo=UTC),
        datetime.datetime(2026, 10, 25, 3, tzinfo=UTC),
    )
    # 02:30 happens twice that night; both are inside. 03:30 CET (02:30 UTC) to 04:00 CET: inside.
    assert plan_inside(at(10, 25, 2, 30, fold=0), at(10, 25, 2, 30, fold=1), [sat])
    assert plan_inside(at(10, 25, 3, 30), at(10, 25, 4), [sat])
    assert not plan_inside(at(10, 25, 3, 30), at(10, 25, 4, 1), [sat])


def test_spring_forward_night_is_an_hour_shorter(service):
    # 2026-03-29 (Sunday) 02:00 CET → 03:00 CEST. Saturday 22:00 – Sunday 06:00 wall clock: 7 hours.
    sat = window(service, [SAT], (22, 0), (6, 0))
    ((_w, opens, closes),) = occurrences([sat], at(3, 28, 12), at(3, 29, 12))
    assert closes - opens == datetime.timedelta(hours=7)
    assert closes == datetime.datetime(2026, 3, 29, 4, tzinfo=UTC)  # 06:00 CEST
    assert plan_inside(at(3, 29, 1), at(3, 29, 5, 30), [sat])
    assert not plan_inside(at(3, 29, 5, 30), at(3, 29, 6, 30), [sat])
    # A window opening in the missing hour (02:30) opens at 03:30 CEST, the offset before the change (PEP 495).
    gap = window(service, [7], (2, 30), (5, 0))
    ((_w, opens, _closes),) = occurrences([gap], at(3, 29, 0), at(3, 29, 12))
    assert opens == datetime.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_round_the_clock_windows_join_across_midnight(service):
    daily = window(service, [1, 2, 3, 4, 5, 6, 7], (0, 0), (0, 0))  # ends at its start: 24 hours
    assert plan_inside(at(5, 12, 22), at(5, 14, 3), [daily])


def test_two_windows_of_a_service_either_may_hold_the_plan(service):
    nights = window(service, [TUE], (20, 0), (23, 0))
    weekend = window(service, [SAT], (8, 0), (12, 0))
    plan = PlanFactory(window_start=at(5, 16, 9), window_end=at(5, 16, 11))
    assert not plan_outside_windows(plan, [nights, weekend])
    assert plan_outside_windows(plan, [nights])
    assert not plan_outside_windows(plan, [])  # no windows: nothing to be outside of


def test_the_plan_check_warns_naming_the_service_and_its_windows(client, service, tue_thu):
    plan, author, _approvers, _duty = plan_with_matrix(1)  # Thursday 20.03.2025 20:00–23:05 Novosibirsk
    PlanService.objects.create(plan=plan, service=service)
    quiet = ServiceFactory(display_name="Без окон")
    PlanService.objects.create(plan=plan, service=quiet)
    client.force_login(author)
    html = plan_page(client, plan.pk)
    # 20:00 Novosibirsk is 14:00 in Berlin: outside «вт/чт 20:00–02:00».
    assert 'data-code="maintenance_window"' in html and "Интернет-банк" in html
    assert "Вт, Чт 20:00–02:00 (Europe/Berlin)" in html
    assert "text-bg-warning" in html and 'data-service="%d"' % quiet.pk not in html
    assert 'class="okno-lint-error" data-code="maintenance_window"' not in html  # a warning, not an error


def test_no_warning_inside_the_window(client, service):
    plan, author, _approvers, _duty = plan_with_matrix(1)
    window(service, [4], (19, 0), (23, 30), tz="Asia/Novosibirsk")  # Thursday in the plan's own zone
    PlanService.objects.create(plan=plan, service=service)
    client.force_login(author)
    html = plan_page(client, plan.pk)
    assert 'data-code="maintenance_window"' not in html


def test_the_warning_follows_a_window_edit(client, service):
    plan, author, _approvers, _duty = plan_with_matrix(1)
    w = window(service, [4], (19, 0), (23, 30), tz="Asia/Novosibirsk")
    PlanService.objects.create(plan=plan, service=service)
    MaintenanceWindow.objects.filter(pk=w.pk).update(ends=datetime.time(22, 0))  # the plan ends at 23:05
    client.force_login(author)
    html = plan_page(client, plan.pk)
    assert 'data-code="maintenance_window"' in html


def test_the_page_query_count_does_not_grow_with_windows_and_services(client):
    plan, author, _approvers, _duty = plan_with_matrix(1)
    client.force_login(author)

    def add(n):
        for _index in range(n):
            service = ServiceFactory()
            PlanService.objects.create(plan=plan, service=service)
            window(service, [1], (1, 0), (2, 0))
            window(service, [2], (1, 0), (2, 0))

    def count():
        plan_page(client, plan.pk)
        with CaptureQueriesContext(connection) as queries:  # the page and what its placeholders fetch
            plan_page(client, plan.pk)
        return len(queries)

    add(1)
    few = count()
    add(6)
    assert count() == few


def test_the_admin_form_needs_a_day_and_keeps_iso_days(service):
    data = {"service": service.pk, "starts": "20:00", "ends": "02:00", "time_zone": "Europe/Berlin", "note": ""}
    empty = MaintenanceWindowForm(data={**data, "weekdays": []})
    assert not empty.is_valid() and "weekdays" in empty.errors
    form = MaintenanceWindowForm(data={**data, "weekdays": ["4", "2"]})
    assert form.is_valid(), form.errors
    assert form.save().weekdays == [2, 4]
