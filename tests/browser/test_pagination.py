"""Pages of the plan list in the browser (issue 16): «Далее» reaches the older plans, a search keeps its words in
the links, and on a 390 px phone the bar fits the screen."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, shot
from tests.browser.test_phone_layout import PHONE, inside_viewport, no_sideways_scroll
from tests.changeplans.test_lists_scale import make_plans

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


def test_next_page_and_a_search_keep_their_place(page, author, settings):
    settings.OKNO_PAGE_SIZE = 20
    make_plans(author, 45, title="Плановые работы")
    make_plans(author, 25, title="Миграция базы")
    login(page, author)
    page.goto("/plans/")
    bar = page.locator("#plan-table .okno-pagination")
    expect(bar.locator(".okno-pagination-summary")).to_have_text("Показано 1–20 из 70")

    # «Далее» opens the next page of the list
    with page.expect_navigation():
        bar.locator(".okno-page-next").click()
    expect(page.locator("#plan-table .okno-pagination-summary")).to_have_text("Показано 21–40 из 70")
    assert "page=2" in page.url

    # A search (htmx) answers with its own first page, and its links keep the words
    page.fill("#id_q", "миграции")
    expect(page.locator("#plan-table .okno-pagination-summary")).to_have_text("Показано 1–20 из 25")
    with page.expect_navigation():
        page.locator("#plan-table .okno-page-next").click()
    expect(page.locator("#plan-table .okno-pagination-summary")).to_have_text("Показано 21–25 из 25")
    expect(page.locator("#plan-table tbody tr")).to_have_count(5)
    expect(page.locator("#id_q")).to_have_value("миграции")


def test_the_bar_fits_a_phone(new_context, author, settings):
    settings.OKNO_PAGE_SIZE = 10
    make_plans(author, 200)
    page = new_context(viewport=PHONE).new_page()
    login(page, author)
    page.goto("/plans/?page=10")
    bar = page.locator("#plan-table .okno-pagination")
    expect(bar.locator(".okno-pagination-summary")).to_have_text("Показано 91–100 из 200")
    shot(page, "phone-plan-list-pages.png", full_page=True)
    no_sideways_scroll(page)
    inside_viewport(bar.locator(".okno-page-prev"), page)
    inside_viewport(bar.locator(".okno-page-next"), page)
