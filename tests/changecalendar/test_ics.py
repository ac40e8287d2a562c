"""The .ics files of plan windows (changeplans/ics.py) and the SEQUENCE every change raises (docs/calendar.md)."""

import datetime
import zoneinfo

import icalendar
import pytest
from django.core.management import call_command

from changeplans import ics
from changeplans import services as plan_services
from changeplans.choices import PlanKind, PlanStatus
from changeplans.models import Plan
from tests.changecalendar.ics_validator import validate
from tests.factories import PlanFactory

pytestmark = [pytest.mark.django_db]

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


@pytest.fixture
def dst_plan(author):
    """A night window across the spring DST change in Berlin: 21:00 CET → 04:00 CEST (6 real hours)."""
    return PlanFactory(
        author=author,
        title="Обновление кластера PROD",
        time_zone="Europe/Berlin",
        window_start=datetime.datetime(2026, 3, 28, 21, 0, tzinfo=BERLIN),
        window_end=datetime.datetime(2026, 3, 29, 4, 0, tzinfo=BERLIN),
    )


def header(plan):
    return {
        "title": plan.title,
        "time_zone": plan.time_zone,
        "window_start": plan.window_start,
        "window_end": plan.window_end,
    }


def test_invitation_times_carry_the_plans_zone_across_a_dst_change(dst_plan):
    data = ics.invitation(dst_plan, attendees=["ivanov@example.org"])
    read = validate(data)
    assert read["method"] == "REQUEST"
    assert read["timezones"] == ["Europe/Berlin"]
    (event,) = read["events"]
    assert event["tzid"] == "Europe/Berlin"
    # ical.js turned the local times into UTC with the VTIMEZONE it was given: the DST change is in it.
    assert event["start_utc"] == dst_plan.window_start.timestamp()
    assert event["end_utc"] == dst_plan.window_end.timestamp()
    assert event["end_utc"] - event["start_utc"] == 6 * 3600
    assert event["uid"] == ics.plan_uid(dst_plan) and event["uid"].startswith(f"plan-{dst_plan.pk}@")
    assert event["status"] == "TENTATIVE"  # a draft
    assert event["organizer"] == "mailto:it.info@example.org"
    assert event["attendees"] == ["mailto:ivanov@example.org"]
    assert f"/plans/{dst_plan.pk}/" in event["description"]
    assert b"DTSTART;TZID=Europe/Berlin:20260328T210000" in data
    assert b"DTEND;TZID=Europe/Berlin:20260329T040000" in data


def test_icalendar_reads_the_same_event_back(dst_plan):
    calendar = icalendar.Calendar.from_ical(ics.invitation(dst_plan, attendees=["a@example.org"]))
    (event,) = calendar.events
    assert event.start == dst_plan.window_start and event.end == dst_plan.window_end
    assert str(event.start.tzinfo) == "Europe/Berlin"
    assert [tz.tz_name for tz in calendar.timezones] == ["Europe/Berlin"]
    assert calendar.get_missing_tzids() == set()


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (PlanStatus.DRAFT, "TENTATIVE"),
        (PlanStatus.IN_REVIEW, "TENTATIVE"),
        (PlanStatus.APPROVED, "CONFIRMED"),
        (PlanStatus.IN_PROGRESS, "CONFIRMED"),
        (PlanStatus.COMPLETED, "CONFIRMED"),
        (PlanStatus.CANCELLED, "CANCELLED"),
    ],
)
def test_event_status_follows_the_plan(author, status, expected):
    plan = PlanFactory(author=author)
    Plan.objects.filter(pk=plan.pk).update(status=status)
    plan.refresh_from_db()
    (event,) = validate(ics.feed([plan], "x"))["events"]
    assert event["status"] == expected


def test_emergency_and_standard_changes_are_marked(author):
    emergency = PlanFactory(author=author, kind=PlanKind.EMERGENCY, title="Авария")
    standard = PlanFactory(author=author, kind=PlanKind.STANDARD, title="Дренаж узла")
    normal = PlanFactory(author=author, title="Обычные работы")
    events = {e["uid"]: e for e in validate(ics.feed([emergency, standard, normal], "x"))["events"]}
    assert events[ics.plan_uid(emergency)]["categories"] == ["Экстренное изменение"]
    assert events[ics.plan_uid(emergency)]["summary"] == "[Экстренное изменение] Авария"
    assert events[ics.plan_uid(standard)]["categories"] == ["Стандартное изменение"]
    assert events[ics.plan_uid(normal)]["categories"] == []
    assert events[ics.plan_uid(normal)]["summary"] == "Обычные работы"


def test_a_feed_publishes_every_plan_with_each_zone_once(author, dst_plan):
    novosibirsk = PlanFactory(author=author)  # Asia/Novosibirsk
    berlin_too = PlanFactory(
        author=author,
        time_zone="Europe/Berlin",
        window_start=datetime.datetime(2026, 10, 24, 22, 0, tzinfo=BERLIN),
        window_end=datetime.datetime(2026, 10, 25, 5, 0, tzinfo=BERLIN),  # across the autumn change
    )
    read = validate(ics.feed([dst_plan, novosibirsk, berlin_too], "Okno"))
    assert read["method"] == "PUBLISH"
    assert sorted(read["timezones"]) == ["Asia/Novosibirsk", "Europe/Berlin"]
    by_uid = {e["uid"]: e for e in read["events"]}
    for plan in (dst_plan, novosibirsk, berlin_too):
        event = by_uid[ics.plan_uid(plan)]
        assert event["tzid"] == plan.time_zone
        assert (event["start_utc"], event["end_utc"]) == (plan.window_start.timestamp(), plan.window_end.timestamp())
    assert by_uid[ics.plan_uid(berlin_too)]["end_utc"] - by_uid[ics.plan_uid(berlin_too)]["start_utc"] == 8 * 3600


def test_a_window_change_keeps_the_uid_and_raises_the_sequence(author, dst_plan):
    before = validate(ics.invitation(dst_plan, attendees=["a@example.org"]))["events"][0]
    data = header(dst_plan) | {"window_end": dst_plan.window_end + datetime.timedelta(hours=1)}
    plan = plan_services.update_plan_header(dst_plan.pk, actor=author, data=data, revision=dst_plan.revision)
    after = validate(ics.invitation(plan, attendees=["a@example.org"]))["events"][0]
    assert after["uid"] == before["uid"]
    assert after["sequence"] == before["sequence"] + 1
    assert after["end_utc"] == before["end_utc"] + 3600


@pytest.mark.parametrize(
    "change",
    [
        {"title": "Новое название"},
        {"time_zone": "Asia/Novosibirsk"},
        {"window_start": datetime.datetime(2026, 3, 28, 20, 0, tzinfo=BERLIN)},
    ],
)
def test_title_zone_and_start_changes_raise_the_sequence(author, dst_plan, change):
    plan = plan_services.update_plan_header(
        dst_plan.pk, actor=author, data=header(dst_plan) | change, revision=dst_plan.revision
    )
    assert Plan.objects.get(pk=plan.pk).ics_sequence == 1


def test_an_edit_the_invitation_does_not_show_keeps_the_sequence(author, dst_plan):
    data = header(dst_plan) | {"goal": "Другая цель", "downtime_text": "до 10 мин"}
    plan_services.update_plan_header(dst_plan.pk, actor=author, data=data, revision=dst_plan.revision)
    assert Plan.objects.get(pk=dst_plan.pk).ics_sequence == 0


def test_cancel_sends_method_cancel_with_a_higher_sequence(author, dst_plan):
    plan_services.cancel_plan(dst_plan.pk, actor=author, comment="Перенос работ")
    plan = Plan.objects.get(pk=dst_plan.pk)
    assert plan.ics_sequence == 1
    data = ics.invitation(plan, "CANCEL", attendees=["a@example.org"])
    read = validate(data)
    assert read["method"] == "CANCEL"
    (event,) = read["events"]
    assert event["status"] == "CANCELLED" and event["sequence"] == 1
    assert event["uid"] == ics.plan_uid(plan)
    assert b"METHOD:CANCEL\r\n" in data and b"STATUS:CANCELLED\r\n" in data


def test_moving_a_window_by_the_dates_command_raises_the_sequence(dst_plan):
    call_command(
        "check_plan_dates", "--plan", str(dst_plan.pk), "--start", "2026-04-01T20:00", "--end", "2026-04-01T23:00"
    )
    plan = Plan.objects.get(pk=dst_plan.pk)
    assert plan.ics_sequence == 1
    assert plan.window_start == datetime.datetime(2026, 4, 1, 20, 0, tzinfo=BERLIN)


def test_the_uid_is_stable_and_names_the_sites_host(settings, dst_plan):
    settings.OKNO_BASE_URL = "https://okno.nskes.example"
    assert ics.plan_uid(dst_plan) == f"plan-{dst_plan.pk}@okno.nskes.example"
    assert validate(ics.feed([dst_plan], "x"))["events"][0]["uid"] == ics.plan_uid(dst_plan)


def test_an_unknown_method_is_refused(dst_plan):
    with pytest.raises(ValueError):
        ics.invitation(dst_plan, "PUBLISH")  # type: ignore[arg-type]


def _unambiguous(instant, tz):
    local = instant.astimezone(tz).replace(tzinfo=None)
    return local.replace(tzinfo=tz, fold=0).utcoffset() == local.replace(tzinfo=tz, fold=1).utcoffset()


@pytest.mark.parametrize(
    ("zone", "year"),
    [
        ("Europe/Berlin", 2026),
        ("America/New_York", 2026),
        ("Australia/Lord_Howe", 2026),  # a half-hour change
        ("Europe/Moscow", 2011),  # the last DST change, then three years on +04 and back to +03
        ("Asia/Novosibirsk", 2026),  # no DST
    ],
)
def test_the_vtimezone_gives_every_hour_its_offset(author, zone, year):
    """ical.js turns each local time into UTC with our VTIMEZONE alone: it agrees with zoneinfo all year round
    and in each quarter hour around every change (a local time that happens twice cannot be told apart in
    iCalendar and is left out)."""
    tz = zoneinfo.ZoneInfo(zone)
    utc = datetime.UTC
    instants = [datetime.datetime(year, 1, 1, 13, tzinfo=utc) + datetime.timedelta(days=d) for d in range(0, 365, 3)]
    hour = datetime.datetime(year, 1, 1, tzinfo=utc)
    while hour.year == year:
        following = hour + datetime.timedelta(hours=1)
        if hour.astimezone(tz).utcoffset() != following.astimezone(tz).utcoffset():
            instants += [hour + datetime.timedelta(minutes=15 * n) for n in range(-12, 16)]
        hour = following
    half_hour = datetime.timedelta(minutes=30)
    instants = [i for i in instants if _unambiguous(i, tz) and _unambiguous(i + half_hour, tz)]
    plans = [
        Plan(
            pk=n,
            title="x",
            time_zone=zone,
            window_start=instant.astimezone(tz),
            window_end=(instant + datetime.timedelta(minutes=30)).astimezone(tz),
        )
        for n, instant in enumerate(instants, start=1)
    ]
    read = validate(ics.feed(plans, "x"))
    assert read["timezones"] == [zone]
    got = {e["uid"]: (e["start_utc"], e["end_utc"]) for e in read["events"]}
    assert got == {ics.plan_uid(p): (p.window_start.timestamp(), p.window_end.timestamp()) for p in plans}
