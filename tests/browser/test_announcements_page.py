"""The announcements page in a real browser: previews in sandboxed frames, the delay notice from typing to sending."""

import pytest
from playwright.sync_api import expect

from changeplans.choices import PlanStatus
from changeplans.models import PlanService
from notifications.models import OutboundEmail
from tests.browser.conftest import login, shot, slow_network
from tests.factories import PartyFactory, PlanFactory, ServiceFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


@pytest.mark.parametrize("latency", [0, 400], ids=["fast", "slow-network"])
def test_previews_and_delay_notice(page, transactional_db, settings, latency):
    if latency:
        slow_network(page, latency)  # each answer lands after the next action would start
    settings.OKNO_ANNOUNCEMENT_RECIPIENTS = ["it.info@example.org"]
    # Given an approved plan whose list holds a valid and an invalid address
    author = UserFactory(username="author", roles=["author"])
    plan = PlanFactory(
        author=author,
        title="Обновление кластера",
        status=PlanStatus.APPROVED,
        client_impact=True,
        responsible=PartyFactory(name="Хасанов А.И.", contact="+7 (913) 712-71-78 <НЭС>"),
        mailing_list="ops@example.org, не-адрес",
    )
    PlanService.objects.create(plan=plan, service=ServiceFactory(display_name="Инфосайт"))
    login(page, author)

    # When the author opens the announcements page from the plan page
    page.goto(f"/plans/{plan.pk}/")
    page.locator("#announcements-link").click()
    # Then the recipients, the invalid address and the announcement as the mail client shows it are there
    expect(page.locator("#recipients")).to_contain_text("ops@example.org")
    expect(page.locator("#invalid-recipients")).to_contain_text("не-адрес")
    frame = page.frame_locator("#preview-announcement iframe")
    expect(frame.locator("body")).to_contain_text("Хасанов А.И. +7 (913) 712-71-78 <НЭС>")
    expect(frame.locator("body")).to_contain_text("ВЛИЯЕТ НА КЛИЕНТОВ")
    shot(page, "announcements-page.png", full_page=True)
    page.locator("#tab-delay").click()
    expect(page.frame_locator("#preview-delay iframe").locator("body")).to_contain_text(
        "Новое плановое время окончания"
    )

    # When a delay notice is asked for with an end before the planned one and no reason
    form = page.locator("#delay-form")
    form.locator("input[name=new_end]").fill("2025-03-20T22:00")
    form.locator("button[value=preview]").click()
    if latency:
        # while the answer is on its way the fields take no typing (it would be lost when the answer lands)
        expect(form.locator("textarea[name=reason]")).to_be_disabled()
    # Then the errors are shown and what was typed stays. (Wait for the answer's error itself: the
    # planned end is on the page before the answer, and typing on before it lands would be lost.)
    expect(page.locator("#delay-form .invalid-feedback")).to_contain_text("Укажите причину задержки.")
    expect(page.locator("#delay-notice")).to_contain_text("23:05/20.03.2025")
    expect(page.locator("#delay-form input[name=new_end]")).to_have_value("2025-03-20T22:00")

    # When it is corrected and previewed
    page.locator("#delay-form input[name=new_end]").fill("2025-03-21T00:30")
    page.locator("#delay-form textarea[name=reason]").fill("Миграция узлов идёт дольше")
    page.locator("#delay-form button[value=preview]").click()
    # Then the notice is shown as it will go out, and nothing is sent yet
    expect(page.frame_locator("#delay-notice iframe").locator("body")).to_contain_text("00:30/21.03.2025")
    expect(page.frame_locator("#delay-notice iframe").locator("body")).to_contain_text("Миграция узлов идёт дольше")
    assert not OutboundEmail.objects.exists()
    shot(page.locator("#delay-notice"), "announcements-delay-preview.png")

    # When it is sent
    send = page.locator("#delay-confirm button[value=send]")
    send.scroll_into_view_if_needed()
    send.click()
    # Then each valid recipient gets it once and the deliveries list shows them
    expect(page.locator("#delay-sent")).to_be_visible()
    expect(page.locator("#email-deliveries")).to_contain_text("ops@example.org")
    expect(page.locator("#email-deliveries")).to_contain_text("it.info@example.org")
    assert sorted(OutboundEmail.objects.values_list("to", flat=True)) == ["it.info@example.org", "ops@example.org"]
    shot(page, "announcements-delay-sent.png", full_page=True)
