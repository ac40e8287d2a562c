"""The CAB agenda in Chromium: the period form, the PDF download, a phone's width, no policy violation."""

import datetime
import zoneinfo

import pytest
from playwright.sync_api import expect

from changeplans.choices import PlanStatus
from changeplans.models import Plan, PlanService
from tests.browser.conftest import login, shot
from tests.browser.test_csp import Violations
from tests.browser.test_phone_layout import PHONE, no_sideways_scroll
from tests.factories import PlanFactory, RiskFactory, ServiceFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

NSK = zoneinfo.ZoneInfo("Asia/Novosibirsk")


def in_review(title, start, end, service):
    plan = PlanFactory(title=title, window_start=start, window_end=end)
    PlanService.objects.create(plan=plan, service=service)
    Plan.objects.filter(pk=plan.pk).update(status=PlanStatus.IN_REVIEW)
    return plan


@pytest.fixture
def agenda_plans(transactional_db):
    bank = ServiceFactory(display_name="Интернет-банк")
    first = in_review(
        "Перенос базы данных интернет-банка на новый кластер PostgreSQL",
        datetime.datetime(2025, 3, 20, 20, 0, tzinfo=NSK),
        datetime.datetime(2025, 3, 20, 23, 0, tzinfo=NSK),
        bank,
    )
    second = in_review(
        "Обновление сертификатов интернет-банка",
        datetime.datetime(2025, 3, 20, 22, 0, tzinfo=NSK),
        datetime.datetime(2025, 3, 20, 23, 30, tzinfo=NSK),
        bank,
    )
    RiskFactory(
        step=StepFactory(plan=first, position=1),
        number=1,
        description="Репликация не догонит мастер за окно работ",
        mitigation="Начать репликацию за сутки",
    )
    return first, second


def test_choose_the_period_and_download_the_pdf(page, agenda_plans):
    first, second = agenda_plans
    violations = Violations(page)
    login(page, UserFactory(username="cab-reader", roles=["approver"]))

    # Given the agenda of this week, where the March plans are not
    page.goto("/calendar/cab/")
    expect(page.locator("#cab-empty")).to_be_visible()

    # When the reader picks the seed's week in the form
    page.fill("#id_start", "2025-03-17")
    page.fill("#id_end", "2025-03-23")
    page.get_by_role("button", name="Показать").click()

    # Then both plans are listed with their conflict, and the address keeps the period
    card = page.locator(f"#cab-plan-{first.pk}")
    expect(card).to_be_visible()
    expect(card.locator(".okno-cab-conflicts")).to_contain_text(second.title)
    expect(card.locator(".okno-cab-risks")).to_contain_text("Репликация не догонит мастер")
    assert "start=2025-03-17" in page.url and "end=2025-03-23" in page.url
    shot(page, "cab-desktop.png", full_page=True)

    # And the PDF of that period downloads
    with page.expect_download() as info:
        page.locator("#cab-pdf").click()
    assert info.value.suggested_filename == "cab-2025-03-17-2025-03-23.pdf"
    with open(info.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    violations.assert_none("the CAB agenda")


def test_on_a_phone(new_context, agenda_plans):
    first, _second = agenda_plans
    page = new_context(viewport=PHONE).new_page()
    login(page, UserFactory(username="cab-phone"))
    page.goto("/calendar/cab/?start=2025-03-17&end=2025-03-23")
    expect(page.locator(f"#cab-plan-{first.pk}")).to_be_visible()
    shot(page, "cab-phone.png", full_page=True)
    no_sideways_scroll(page)
