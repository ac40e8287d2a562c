"""The change calendar in a real browser (issue 18, item 1): a month of 30 plans, filters, a click to the plan, the
conflict mark, and the phone layout (days as cards, the agenda one tap away)."""

import datetime
import re
import zoneinfo

import pytest
from playwright.sync_api import expect

from changeplans.choices import PlanKind, PlanStatus
from changeplans.models import Plan, PlanService
from tests.browser.conftest import login, shot
from tests.factories import PlanFactory, ServiceFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

NSK = zoneinfo.ZoneInfo("Asia/Novosibirsk")
PHONE = {"width": 390, "height": 844}
MONTH = "/calendar/?date=2026-12-01"


def month_of_plans(count=30):
    """`count` plans in December 2026 on two services, at most three a day; plans 0 and 1 overlap on the bank
    (1 December, 09:00–11:00 and 10:00–12:00)."""
    bank = ServiceFactory(display_name="Интернет-банк")
    mail = ServiceFactory(display_name="Почта")
    statuses = [PlanStatus.DRAFT, PlanStatus.IN_REVIEW, PlanStatus.APPROVED, PlanStatus.COMPLETED]
    plans = []
    for n in range(count):
        day = 1 + n % 28
        hour = 9 if n < 28 else 20
        start = datetime.datetime(2026, 12, day, hour, tzinfo=NSK)
        if n == 1:
            start = datetime.datetime(2026, 12, 1, 10, tzinfo=NSK)
        plan = PlanFactory(
            title=f"Работы {n:02d}",
            window_start=start,
            window_end=start + datetime.timedelta(hours=2),
            kind=PlanKind.EMERGENCY if n == 5 else PlanKind.NORMAL,
        )
        PlanService.objects.create(plan=plan, service=bank if n in (0, 1) or n % 2 == 0 else mail)
        Plan.objects.filter(pk=plan.pk).update(status=statuses[n % len(statuses)])
        plans.append(plan)
    return plans, bank, mail


def shown_ids(page):
    return {
        int(value)
        for value in page.locator("#calendar-month .okno-cal-plan").evaluate_all(
            "els => els.filter(e => e.offsetParent !== null).map(e => e.dataset.plan)"
        )
    }


def test_month_of_30_plans_filters_conflict_and_click(page, transactional_db):
    plans, bank, mail = month_of_plans(30)
    viewer = UserFactory(username="viewer", roles=["operator"])
    login(page, viewer)

    # When the viewer opens the calendar from the navigation and goes to December 2026
    page.locator("#nav-calendar").click()
    expect(page.locator("#calendar-month")).to_be_visible()
    page.goto(MONTH)
    expect(page.locator("#calendar-title")).to_have_text("Декабрь 2026")
    shot(page, "calendar-month.png", full_page=True)

    # Then all 30 plans are on the grid, each in its status colour
    assert shown_ids(page) == {plan.pk for plan in plans}
    expect(page.locator(f'#day-2026-12-03 .okno-cal-plan[data-plan="{plans[2].pk}"]')).to_have_class(
        re.compile(r"\btext-bg-primary\b")
    )
    # and the two overlapping bank plans carry the conflict mark naming each other; the lone plan does not
    first = page.locator(f'.okno-cal-plan[data-plan="{plans[0].pk}"]')
    expect(first.locator(".okno-cal-conflict")).to_be_visible()
    expect(first.locator(".okno-cal-conflict")).to_have_attribute(
        "title", re.compile("«Работы 01» \\(Интернет-банк\\)")
    )
    expect(page.locator(f'.okno-cal-plan[data-plan="{plans[2].pk}"] .okno-cal-conflict')).to_have_count(0)
    expect(page.locator(f'.okno-cal-plan[data-plan="{plans[5].pk}"] .okno-cal-emergency')).to_be_visible()

    # When they choose the mail service in the filters
    page.select_option("#id_service", str(mail.pk))
    # Then only the mail plans stay (the calendar is swapped in place) and the address keeps the filter
    mail_ids = {plan.pk for plan in plans if plan.services.filter(pk=mail.pk).exists()}
    expect(page.locator(f'.okno-cal-plan[data-plan="{plans[0].pk}"]')).to_have_count(0)
    assert shown_ids(page) == mail_ids
    expect(page).to_have_url(re.compile(f"service={mail.pk}"))
    # and the next month keeps it
    page.locator("#calendar-next").click()
    expect(page.locator("#calendar-title")).to_have_text("Январь 2027")
    expect(page).to_have_url(re.compile(f"service={mail.pk}.*date=2027-01-01|date=2027-01-01.*service={mail.pk}"))
    expect(page.locator("#id_service")).to_have_value(str(mail.pk))
    page.locator("#calendar-prev").click()
    expect(page.locator("#calendar-title")).to_have_text("Декабрь 2026")

    # When they click a plan
    target = plans[3]
    page.locator(f'.okno-cal-plan[data-plan="{target.pk}"]').click()
    # Then its page opens
    expect(page).to_have_url(re.compile(f"/plans/{target.pk}/$"))
    expect(page.locator("h1")).to_contain_text(target.title)


def test_phone_shows_days_as_an_agenda(new_context, transactional_db):
    plans, bank, _mail = month_of_plans(30)
    viewer = UserFactory(username="viewer", roles=["operator"])
    page = new_context(viewport=PHONE).new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, viewer)

    # When the month opens on a 390 px phone
    page.goto(MONTH)
    day = page.locator("#day-2026-12-01")
    expect(day).to_be_visible()
    shot(page, "calendar-phone.png", full_page=True)
    # Then the days are cards one under another with their full date, the weekday row and empty days hidden
    expect(page.locator(".okno-cal-weekdays")).to_be_hidden()
    expect(day.locator(".okno-cal-full")).to_have_text("Вторник, 1 декабря")
    expect(page.locator("#day-2026-11-30")).to_be_hidden()  # November's day in the first week
    expect(page.locator("#day-2026-12-31")).to_be_hidden()  # nothing on it
    second = page.locator("#day-2026-12-02").bounding_box()
    first = day.bounding_box()
    assert second["y"] > first["y"] + first["height"] - 1 and abs(second["x"] - first["x"]) < 1
    width, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert width <= inner
    # and a plan's title is whole on the card
    chip = page.locator(f'.okno-cal-plan[data-plan="{plans[0].pk}"]')
    box = chip.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= inner
    # The filters fold away behind a button
    expect(page.locator("#id_service")).to_be_hidden()
    page.get_by_role("button", name="Фильтры").click()
    expect(page.locator("#id_service")).to_be_visible()

    # When they switch to the agenda
    page.locator("#calendar-view-agenda").click()
    expect(page.locator("#calendar-agenda")).to_be_visible()
    expect(page.locator("#day-2026-12-01 .okno-cal-adate")).to_have_text("Вторник, 1 декабря")
    expect(page.locator(f'#calendar-agenda [data-plan="{plans[0].pk}"] .okno-cal-conflict-line')).to_contain_text(
        "Работы 01"
    )
    shot(page, "calendar-phone-agenda.png", full_page=True)
    width, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert width <= inner
    # and tapping a plan opens it
    page.locator(f'#calendar-agenda [data-plan="{plans[4].pk}"] a').first.click()
    expect(page).to_have_url(re.compile(f"/plans/{plans[4].pk}/$"))
    assert not errors, errors
