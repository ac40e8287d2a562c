"""The calendar pages (changecalendar.views, selectors; docs/calendar.md, "Calendar").

To break them by hand: in selectors.build_calendar drop the midnight rule (bisect_left: a plan ending at 00:00
shows on the next day, the midnight test fails); in selectors.plans_in_period use `window_end__gte` (the
adjacent-period test fails); drop `.filter(...)` of the cluster in views (the cluster filter test fails); in
views._link keep `date` from the old query (the navigation test fails); call make_entries per day (the
query-count test fails).
"""

import datetime
import re
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from changecalendar.choices import FreezeScope
from changecalendar.models import Freeze, MaintenanceWindow
from changecalendar.selectors import MONTH_CELL_LIMIT, period_for
from changeplans.choices import PlanKind, PlanStatus
from changeplans.models import Plan, PlanService
from runbooks.models import Cluster, StepAutomation
from tests.factories import PlanFactory, ServiceFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NSK = zoneinfo.ZoneInfo("Asia/Novosibirsk")
MSK = zoneinfo.ZoneInfo("Europe/Moscow")
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
URL = "/calendar/"


def at(month, day, hour, minute=0, tz=NSK, year=2026):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=tz)


def make_plan(start, end, *, services=(), status=None, **kwargs):
    kwargs.setdefault("time_zone", "Asia/Novosibirsk")
    plan = PlanFactory(window_start=start, window_end=end, **kwargs)
    for service in services:
        PlanService.objects.create(plan=plan, service=service)
    if status:
        Plan.objects.filter(pk=plan.pk).update(status=status)  # protected status: set in the database
    return plan


def cell(html, day):
    """The markup of one day (month grid, agenda, week column) by its ISO date."""
    match = re.search(rf'<section class="[^"]*" id="day-{day}".*?</section>', html, re.S)
    assert match, f"no day {day} on the page"
    return match.group(0)


def page(client, **params):
    response = client.get(URL, params)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def viewer(client, db):
    user = UserFactory(username="viewer", roles=["operator"])
    client.force_login(user)
    return user


# --- access -------------------------------------------------------------------------------------------------------


def test_anonymous_is_sent_to_the_login_page(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_an_inactive_user_is_not_let_in(client):
    user = UserFactory(username="gone", is_active=False)
    client.force_login(user)
    assert client.get(URL).status_code == 302


def test_the_navigation_links_to_the_calendar(client, viewer):
    html = client.get(reverse("changeplans:plan_list")).content.decode()
    assert 'id="nav-calendar"' in html
    assert f'href="{URL}"' in html


# --- where plans show ---------------------------------------------------------------------------------------------


def test_month_shows_each_plan_on_its_days_with_a_link_status_and_time(client, viewer):
    one = make_plan(at(12, 8, 20), at(12, 8, 23), title="Обновление узлов", status=PlanStatus.APPROVED)
    overnight = make_plan(at(12, 10, 22), at(12, 11, 2), title="Ночные работы")
    long = make_plan(at(12, 14, 9), at(12, 16, 18), title="Миграция хранилища")

    html = page(client, date="2026-12-01")

    assert "Декабрь 2026" in html
    first = cell(html, "2026-12-08")
    assert f'href="/plans/{one.pk}/"' in first and "Обновление узлов" in first
    assert "20:00–23:00" in first
    assert 'data-status="approved"' in first and "text-bg-primary" in first  # the plan list's colour
    # Over midnight: on both days, «22:00 →» then «→ 02:00»
    assert "22:00 →" in cell(html, "2026-12-10") and "Ночные работы" in cell(html, "2026-12-10")
    assert "→ 02:00" in cell(html, "2026-12-11") and "Ночные работы" in cell(html, "2026-12-11")
    # Over several days: every day, the middle one «all day»
    for day in ("2026-12-14", "2026-12-15", "2026-12-16"):
        assert f'data-plan="{long.pk}"' in cell(html, day)
    assert "весь день" in cell(html, "2026-12-15")
    assert f'data-plan="{long.pk}"' not in cell(html, "2026-12-17")
    assert f'data-plan="{overnight.pk}"' not in cell(html, "2026-12-09")


def test_a_plan_ending_at_midnight_is_not_on_the_next_day(client, viewer):
    plan = make_plan(at(12, 8, 20), at(12, 9, 0))
    html = page(client, date="2026-12-01")
    assert f'data-plan="{plan.pk}"' in cell(html, "2026-12-08")
    assert f'data-plan="{plan.pk}"' not in cell(html, "2026-12-09")


def test_month_grid_is_whole_weeks_and_leaves_out_plans_outside_it(client, viewer):
    # December 2026: Tuesday 1st … Thursday 31st; the grid runs Monday 30 Nov … Sunday 3 Jan
    inside = make_plan(at(11, 30, 10), at(11, 30, 12))
    before = make_plan(at(11, 29, 20), at(11, 30, 0))  # ends as the grid starts: not in it
    after = make_plan(at(1, 4, 0, year=2027), at(1, 4, 1, year=2027))
    html = page(client, date="2026-12-15")
    assert 'id="day-2026-11-30"' in html and 'id="day-2027-01-03"' in html
    assert 'id="day-2026-11-29"' not in html and 'id="day-2027-01-04"' not in html
    assert "okno-cal-out" in cell(html, "2026-11-30")
    assert f'data-plan="{inside.pk}"' in html
    assert f'data-plan="{before.pk}"' not in html and f'data-plan="{after.pk}"' not in html


def test_a_plan_ending_as_the_grid_starts_is_not_in_the_month(client, viewer):
    make_plan(at(11, 29, 20), at(11, 30, 0))  # the December grid starts on Monday 30 November, 00:00
    assert "В этом месяце планов нет." in page(client, date="2026-12-01")
    assert "В этом месяце планов нет." not in page(client, date="2026-11-01")


def test_a_busy_day_shows_its_first_plans_and_links_the_rest(client, viewer):
    plans = [make_plan(at(12, 8, 8 + n), at(12, 8, 9 + n)) for n in range(MONTH_CELL_LIMIT + 2)]
    html = page(client, date="2026-12-01")
    day = cell(html, "2026-12-08")
    assert day.count("okno-cal-plan ") == MONTH_CELL_LIMIT
    assert f'data-plan="{plans[0].pk}"' in day and f'data-plan="{plans[-1].pk}"' not in day
    assert "+ ещё 2" in day
    assert "view=day&amp;date=2026-12-08" in day
    # The day view lists them all
    day_html = page(client, view="day", date="2026-12-08")
    for plan in plans:
        assert f'data-plan="{plan.pk}"' in day_html


def test_kind_and_conflict_are_marked(client, viewer):
    service = ServiceFactory(display_name="Интернет-банк")
    emergency = make_plan(at(12, 8, 20), at(12, 8, 23), services=[service], kind=PlanKind.EMERGENCY)
    other = make_plan(at(12, 8, 22), at(12, 9, 1), services=[service], title="Перенос базы")
    standard = make_plan(at(12, 20, 10), at(12, 20, 11), kind=PlanKind.STANDARD)
    html = page(client, date="2026-12-01")
    day = cell(html, "2026-12-08")
    chip = re.search(rf'<a class="okno-cal-plan[^"]*"[^>]*data-plan="{emergency.pk}".*?</a>', day, re.S).group(0)
    assert "okno-cal-has-conflict" in chip and "okno-cal-conflict" in chip
    assert "«Перенос базы» (Интернет-банк)" in chip
    assert "okno-cal-emergency" in chip
    assert f'data-plan="{other.pk}"' in day
    lone = re.search(rf'<a class="okno-cal-plan[^"]*"[^>]*data-plan="{standard.pk}".*?</a>', html, re.S).group(0)
    assert "okno-cal-standard" in lone and "okno-cal-has-conflict" not in lone
    # The day view links the conflicting plans to each other
    day_html = page(client, view="day", date="2026-12-08")
    assert f'href="/plans/{other.pk}/">«Перенос базы»' in day_html


def test_times_are_in_the_viewers_zone_with_the_plans_zone(client, viewer):
    # 17:00–19:00 Moscow is 21:00–23:00 Novosibirsk (the project's zone)
    plan = make_plan(at(12, 8, 17, tz=MSK), at(12, 8, 19, tz=MSK), time_zone="Europe/Moscow")
    html = page(client, view="agenda", date="2026-12-01")
    item = cell(html, "2026-12-08")
    assert "21:00–23:00" in item and "17:00–19:00 Europe/Moscow" in item
    assert "Время: Asia/Novosibirsk" in html or "Asia/Novosibirsk" in html
    # Asked in Moscow time: the plan's own hours, and no second zone
    html = page(client, view="agenda", date="2026-12-01", tz="Europe/Moscow")
    item = cell(html, "2026-12-08")
    assert "17:00–19:00" in item and "Europe/Moscow</span>" not in item
    assert f'data-plan="{plan.pk}"' in item


def test_a_plan_moves_to_another_day_in_another_zone(client, viewer):
    # 01:00–02:00 on 9 Dec in Novosibirsk is 8 Dec 18:00–19:00 UTC
    plan = make_plan(at(12, 9, 1), at(12, 9, 2))
    assert f'data-plan="{plan.pk}"' in cell(page(client, date="2026-12-01"), "2026-12-09")
    utc = page(client, date="2026-12-01", tz="UTC")
    assert f'data-plan="{plan.pk}"' in cell(utc, "2026-12-08")
    assert "18:00–19:00" in cell(utc, "2026-12-08")


# --- views -------------------------------------------------------------------------------------------------------


def test_week_view_places_plans_by_time_with_the_today_line(client, viewer):
    now = timezone.localtime(timezone.now(), NSK)
    start = now.replace(hour=6, minute=0, second=0, microsecond=0)
    plan = make_plan(start, start + datetime.timedelta(hours=6))  # 06:00–12:00: a quarter of the day, a quarter down
    html = page(client, view="week")
    column = cell(html, now.date().isoformat())
    assert "okno-cal-today" in column
    assert 'class="okno-cal-now"' in column
    block = re.search(
        rf'<a class="okno-cal-plan okno-cal-block[^"]*" style="([^"]*)"[^>]*data-plan="{plan.pk}"', column
    )
    assert block and block.group(1).startswith("top:25.000%;height:25.000%;")
    assert html.count('<section class="okno-cal-col') == 7


def test_two_overlapping_plans_share_the_column(client, viewer):
    a = make_plan(at(12, 8, 10), at(12, 8, 14))
    b = make_plan(at(12, 8, 12), at(12, 8, 16))
    c = make_plan(at(12, 8, 18), at(12, 8, 19))
    html = page(client, view="day", date="2026-12-08")

    def style(plan):
        return re.search(rf'style="([^"]*)"[^>]*data-plan="{plan.pk}"', html).group(1)

    assert "left:0.00%;width:50.00%" in style(a)
    assert "left:50.00%;width:50.00%" in style(b)
    assert "left:0.00%;width:100.00%" in style(c)


def test_a_dst_day_is_laid_out_by_real_time(client, viewer):
    # 29 March 2026 in Berlin has 23 hours: 12:00 local is 11 real hours after midnight
    plan = make_plan(
        datetime.datetime(2026, 3, 29, 12, tzinfo=BERLIN),
        datetime.datetime(2026, 3, 29, 13, tzinfo=BERLIN),
        time_zone="Europe/Berlin",
    )
    html = page(client, view="day", date="2026-03-29", tz="UTC")  # a zone without DST first: 10:00–11:00 UTC
    assert re.search(rf'style="top:41.667%;height:4.167%;[^"]*"[^>]*data-plan="{plan.pk}"', html)


def test_agenda_lists_days_with_their_plans(client, viewer):
    plan = make_plan(at(12, 8, 20), at(12, 8, 23), title="Обновление узлов")
    html = page(client, view="agenda", date="2026-12-05")
    assert 'id="calendar-agenda"' in html
    item = cell(html, "2026-12-08")
    assert "Вторник, 8 декабря" in item and "Обновление узлов" in item and f'href="/plans/{plan.pk}/"' in item
    assert 'id="day-2026-12-09"' not in html  # an empty day is left out
    assert 'id="day-2026-11-30"' not in html  # only the month's own days


def test_an_empty_month_says_so(client, viewer):
    assert "В этом месяце планов нет." in page(client, date="2031-02-01")


# --- filters and navigation ---------------------------------------------------------------------------------------


def test_filters_narrow_the_plans(client, viewer):
    bank, mail = ServiceFactory(display_name="Банк"), ServiceFactory(display_name="Почта")
    author = UserFactory(username="writer", roles=["author"])
    a = make_plan(at(12, 8, 10), at(12, 8, 11), services=[bank], status=PlanStatus.APPROVED, author=author)
    b = make_plan(at(12, 9, 10), at(12, 9, 11), services=[mail], status=PlanStatus.DRAFT, kind=PlanKind.EMERGENCY)

    def shown(**params):
        html = page(client, date="2026-12-01", **params)
        return {pk for pk in (a.pk, b.pk) if f'data-plan="{pk}"' in html}

    assert shown() == {a.pk, b.pk}
    assert shown(service=bank.pk) == {a.pk}
    assert shown(service=mail.pk) == {b.pk}
    assert shown(author=author.pk) == {a.pk}
    assert shown(status="draft") == {b.pk}
    assert shown(kind="emergency") == {b.pk}
    assert shown(kind="emergency", service=bank.pk) == set()


def test_cluster_filter_uses_what_the_plan_touches(client, viewer):
    prod = Cluster.objects.create(name="prod-k8s")
    on_prod = make_plan(at(12, 8, 10), at(12, 8, 11))
    StepAutomation.objects.create(step=StepFactory(plan=on_prod), kind="shell", cluster=prod, spec={"argv": ["true"]})
    elsewhere = make_plan(at(12, 8, 12), at(12, 8, 13))
    html = page(client, date="2026-12-01", cluster=prod.pk)
    assert f'data-plan="{on_prod.pk}"' in html
    assert f'data-plan="{elsewhere.pk}"' not in html


def test_navigation_keeps_the_filters_and_moves_the_date(client, viewer):
    service = ServiceFactory()
    html = page(client, date="2026-12-15", service=service.pk, status="approved")
    prev = re.search(r'id="calendar-prev" href="([^"]*)"', html).group(1).replace("&amp;", "&")
    nxt = re.search(r'id="calendar-next" href="([^"]*)"', html).group(1).replace("&amp;", "&")
    week = re.search(r'id="calendar-view-week" href="([^"]*)"', html).group(1).replace("&amp;", "&")
    for link in (prev, nxt, week):
        assert f"service={service.pk}" in link and "status=approved" in link
    assert "date=2026-11-01" in prev and "view=month" in prev
    assert "date=2027-01-01" in nxt
    assert "view=week" in week and "date=2026-12-15" in week
    # The form keeps the chosen values and the page's view and date
    assert f'<option value="{service.pk}" selected>' in html
    assert 'name="date" value="2026-12-15"' in html
    # A week moves by seven days
    week_html = page(client, view="week", date="2026-12-15")
    assert "date=2026-12-22" in re.search(r'id="calendar-next" href="([^"]*)"', week_html).group(1)
    assert "14–20 декабря 2026" in week_html


def test_htmx_filter_change_returns_the_calendar_only(client, viewer):
    response = client.get(URL, {"date": "2026-12-01"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="calendar-body"')
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_the_calendar_links_to_the_ics_subscription(client, viewer):
    html = page(client)
    assert f'id="calendar-subscribe" href="{reverse("changecalendar:subscribe")}"' in html


# --- freezes and maintenance windows ------------------------------------------------------------------------------


def test_freezes_are_drawn_on_their_days_with_their_title(client, viewer):
    owner = UserFactory(username="owner")
    bank, mail = ServiceFactory(display_name="Банк"), ServiceFactory(display_name="Почта")
    Freeze.objects.create(
        title="Новогодний мораторий",
        reason="Пиковая нагрузка",
        starts_at=at(12, 28, 0),
        ends_at=at(12, 30, 0),
        owner=owner,
    )
    Freeze.objects.create(
        title="Мораторий почты",
        reason="Миграция",
        starts_at=at(12, 10, 0),
        ends_at=at(12, 11, 0),
        scope=FreezeScope.SERVICE,
        service=mail,
        owner=owner,
    )
    html = page(client, date="2026-12-01")
    frozen = cell(html, "2026-12-28")
    assert "okno-cal-frozen" in frozen and "Новогодний мораторий" in frozen and "Пиковая нагрузка" in frozen
    assert "okno-cal-frozen" in cell(html, "2026-12-29")
    assert "okno-cal-frozen" not in cell(html, "2026-12-30")  # ends at its midnight
    assert "Мораторий почты" in cell(html, "2026-12-10")
    # With another service chosen, that service's freeze is not its concern; the global one is
    html = page(client, date="2026-12-01", service=bank.pk)
    assert "Мораторий почты" not in html and "Новогодний мораторий" in html
    # The week view draws the band over its hours: 28 Dec from midnight, the whole day
    week = page(client, view="week", date="2026-12-28")
    assert re.search(r'okno-cal-band-freeze" style="top:0.000%;height:100.000%"', cell(week, "2026-12-28"))


def test_maintenance_windows_of_the_chosen_service(client, viewer):
    bank = ServiceFactory(display_name="Банк")
    MaintenanceWindow.objects.create(
        service=bank, weekdays=[2, 4], starts=datetime.time(20), ends=datetime.time(2), time_zone="Asia/Novosibirsk"
    )
    html = page(client, date="2026-12-01")
    assert "okno-cal-band-maintenance" not in html
    assert "Выберите сервис, чтобы увидеть его окна обслуживания." in html
    html = page(client, date="2026-12-01", service=bank.pk)
    tuesday, wednesday = cell(html, "2026-12-08"), cell(html, "2026-12-09")
    assert "okno-cal-band-maintenance" in tuesday and "20:00 →" in tuesday and "Банк" in tuesday
    assert "okno-cal-band-maintenance" in wednesday and "00:00–02:00" in wednesday
    assert "okno-cal-band-maintenance" not in cell(html, "2026-12-07")  # Monday
    day = page(client, view="day", date="2026-12-08", service=bank.pk)
    assert re.search(r'okno-cal-band-maintenance" style="top:83.333%;height:16.667%"', day)


# --- bad input ----------------------------------------------------------------------------------------------------


def test_bad_parameters_are_explained_and_the_rest_is_kept(client, viewer):
    service = ServiceFactory()
    html = page(client, date="2026-13-45", view="year", status="nonsense", service=service.pk)
    assert "«2026-13-45» — не дата (ГГГГ-ММ-ДД): показан сегодняшний день." in html
    assert "Неизвестный вид календаря «year»: показан месяц." in html
    assert 'id="calendar-filter-errors"' in html and "nonsense" in html
    assert f'<option value="{service.pk}" selected>' in html  # the valid filter is kept
    html = page(client, date="1500-01-01")
    assert "Календарь показывает с 2000 по 2100 год: показана ближайшая дата." in html
    assert "Январь 2000" in html
    assert 'id="calendar-prev"' not in html
    html = page(client, tz="Mars/Olympus")
    assert 'id="calendar-filter-errors"' in html and "Asia/Novosibirsk" in html


def test_period_for_clamps_the_edges():
    tz = NSK
    last = period_for("month", datetime.date(2100, 12, 20), tz)
    assert last.next_anchor is None and last.prev_anchor == datetime.date(2100, 11, 1)
    week = period_for("week", datetime.date(2026, 12, 10), tz)
    assert (week.first, week.last) == (datetime.date(2026, 12, 7), datetime.date(2026, 12, 13))


# --- cost ---------------------------------------------------------------------------------------------------------


def build(n, services, authors):
    """Two overlapping plans a day on one service (conflicts at any size), the days of December in turn."""
    for index in range(n):
        day = 1 + (index // 2) % 28
        plan = make_plan(
            at(12, day, 8 + index % 2),
            at(12, day, 10 + index % 2),
            services=[services[(index // 2) % len(services)]],
            status=[PlanStatus.DRAFT, PlanStatus.APPROVED, PlanStatus.IN_REVIEW][index % 3],
            author=authors[index % len(authors)],
        )
        StepFactory(plan=plan)


@pytest.mark.parametrize("view", ["month", "week", "day", "agenda"])
def test_query_count_does_not_grow_with_the_plans(client, viewer, view):
    services = [ServiceFactory() for _ in range(3)]
    authors = [UserFactory(username=f"a{n}", roles=["author"]) for n in range(3)]
    owner = UserFactory(username="owner")
    Freeze.objects.create(title="F", reason="r", starts_at=at(12, 5, 0), ends_at=at(12, 6, 0), owner=owner)
    MaintenanceWindow.objects.create(
        service=services[0], weekdays=[1, 2], starts=datetime.time(20), ends=datetime.time(2)
    )
    params = {"view": view, "date": "2026-12-08", "service": services[0].pk}

    def count():
        client.get(URL, params)  # warm: the session, the caches
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL, params).status_code == 200
        return len(captured)

    build(20, services, authors)
    small = count()
    build(100, services, authors)
    assert count() == small


@pytest.mark.parametrize("view", ["month", "week", "day", "agenda"])
def test_titles_are_escaped(client, viewer, view):
    # The entries are written in Python (selectors.Segment.chip): every text must still be escaped
    service = ServiceFactory(display_name='<b onmouseover="x()">svc</b>')
    make_plan(at(12, 8, 10), at(12, 8, 12), services=[service], title='<script>alert("t")</script>')
    make_plan(at(12, 8, 11), at(12, 8, 13), services=[service], title='"><img src=x onerror=y()>')
    html = page(client, view=view, date="2026-12-08")
    assert '<script>alert("t")</script>' not in html and "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    assert '<b onmouseover="x()">' not in html
