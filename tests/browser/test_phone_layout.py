"""Phones (issue 15, items 9 and 10): at 390 px the inbox and the plan page show cards that fit the screen,
the sign buttons inside it; the navigation offers each role only the pages it may open."""

import pytest
from playwright.sync_api import expect

from approvals.models import ApprovalRow
from approvals.services import submit_plan
from changeplans.choices import Role
from tests.approvals.factories import plan_with_matrix
from tests.browser.conftest import login, shot
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

PHONE = {"width": 390, "height": 844}


def no_sideways_scroll(page):
    """The page itself never scrolls sideways (a table may not push it wider than the screen)."""
    width, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"the page is {width} px wide on a {inner} px screen"


def inside_viewport(locator, page):
    box = locator.bounding_box()
    assert box is not None
    inner = page.evaluate("window.innerWidth")
    assert box["x"] >= 0 and box["x"] + box["width"] <= inner, f"{box} is outside the {inner} px screen"


def test_an_approver_signs_from_a_phone(new_context, transactional_db):
    # Given a plan in review with a long title, two approvers
    plan, author, (first, second), _duty = plan_with_matrix(2)
    plan.title = "Установка сетевого плагина Calico в кластере Kubernetes PROD с переключением трафика"
    plan.save(update_fields=["title"])
    submit_plan(plan.pk, actor=author)
    row = ApprovalRow.objects.get(plan=plan, user=first)
    page = new_context(viewport=PHONE).new_page()
    login(page, first)

    # When the first approver opens the inbox on a 390 px phone
    page.goto("/approvals/inbox/")
    card = page.locator(f"#inbox-row-{row.pk}")
    expect(card).to_be_visible()
    shot(page, "phone-inbox.png", full_page=True)
    # Then nothing scrolls sideways, and both sign buttons are on the screen
    no_sideways_scroll(page)
    inside_viewport(card.locator(".okno-approve"), page)
    inside_viewport(card.locator(".okno-reject-toggle"), page)
    # and the cells carry their column's name (the header row is hidden on phones)
    expect(page.locator(".okno-inbox thead")).to_be_hidden()
    expect(card.locator("td.okno-inbox-changes")).to_have_attribute("data-label", "С моего последнего решения")

    # When they approve there
    card.locator(".okno-approve").click()
    # Then the row leaves the inbox
    expect(page.locator("#inbox-empty")).to_be_visible()

    # When they open the plan page on the phone
    page.goto(f"/plans/{plan.pk}/")
    step = plan.steps.get()
    expect(page.locator(f"#step-{step.pk}")).to_be_visible()
    shot(page, "phone-plan.png", full_page=True)
    # Then every step is a card on the screen: no sideways scroll, the status badge and the name whole
    no_sideways_scroll(page)
    inside_viewport(page.locator(f"#step-{step.pk} .okno-f-status .badge"), page)
    inside_viewport(page.locator(f"#cell-{step.pk}-description"), page)
    label = page.evaluate(
        "getComputedStyle(document.querySelector('#cell-%d-description'), '::before').content" % step.pk
    )
    assert label == '"Краткое описание работ"'
    # and every row of the sign-off matrix shows its status whole
    badges = page.locator("#approval-matrix .okno-status")
    for i in range(badges.count()):
        inside_viewport(badges.nth(i), page)

    # When the second approver opens the plan on their phone
    other = new_context(viewport=PHONE).new_page()
    login(other, second)
    other.goto(f"/plans/{plan.pk}/")
    # Then their sign buttons in the matrix are on the screen, with no sideways scroll
    mine = other.locator("#approval-matrix .okno-actions-row")
    inside_viewport(mine.locator(".okno-approve"), other)
    inside_viewport(mine.locator(".okno-reject-toggle"), other)
    no_sideways_scroll(other)
    shot(other, "phone-plan-matrix.png", full_page=True)


def test_the_desktop_keeps_the_tables(page, transactional_db):
    # Given a plan in review
    plan, author, (first, _second), _duty = plan_with_matrix(2)
    submit_plan(plan.pk, actor=author)
    login(page, first)
    # When the approver opens the inbox and the plan at desktop width
    page.goto("/approvals/inbox/")
    # Then they are tables with their header rows
    expect(page.locator(".okno-inbox thead")).to_be_visible()
    page.goto(f"/plans/{plan.pk}/")
    expect(page.locator("#steps-table thead")).to_be_visible()
    assert page.evaluate("getComputedStyle(document.querySelector('#steps-body tr')).display") == "table-row"


def test_the_author_builds_the_matrix_on_a_phone(new_context, transactional_db):
    # Given a draft with a two-row matrix
    plan, author, _approvers, _duty = plan_with_matrix(2)
    page = new_context(viewport=PHONE).new_page()
    login(page, author)

    # When the author opens the draft on a 390 px phone
    page.goto(f"/plans/{plan.pk}/")
    builder = page.locator("#matrix-builder")
    expect(builder).to_be_visible()
    shot(page, "phone-matrix-builder.png", full_page=True)

    # Then every row is a card with labelled fields and its buttons on the screen, nothing scrolls sideways
    no_sideways_scroll(page)
    row = builder.locator("tr.okno-matrix-edit-row").first
    for selector in (
        ".okno-matrix-job",
        ".okno-matrix-who",
        ".okno-matrix-kind",
        ".okno-matrix-stage",
        ".okno-matrix-delete",
    ):
        inside_viewport(row.locator(selector).first, page)
    labels = page.evaluate(
        "[...document.querySelectorAll('#matrix-builder tr.okno-matrix-edit-row:first-child td[data-label]')]"
        ".map((td) => getComputedStyle(td, '::before').content)"
    )
    assert labels == ['"Должность"', '"ФИО"', '"Вид"', '"Этап"'], labels


@pytest.mark.parametrize("role", [Role.AUTHOR, Role.APPROVER, Role.DUTY_OFFICER, Role.OPERATOR, Role.ADMIN])
def test_the_navigation_offers_only_pages_the_role_may_open(page, role, transactional_db):
    # Given a user with one role
    user = UserFactory(username=f"nav-{role}", roles=[role])
    login(page, user)
    # When they follow each link of the navigation
    links = page.locator("#okno-nav a.nav-link")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert hrefs
    for href in hrefs:
        response = page.goto(href)
        # Then none refuses them
        assert response is not None and response.status == 200, f"{role}: {href} answered {response.status}"
    # and «New plan» is there exactly for those who may create plans
    page.goto("/")
    expect(page.locator("#nav-new-plan")).to_have_count(1 if role in (Role.AUTHOR, Role.ADMIN) else 0)
