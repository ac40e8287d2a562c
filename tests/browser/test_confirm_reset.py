"""Editing an approved plan asks first (issue 13): the question at the cell, Cancel keeps everything,
confirming saves and the matrix shows the reset."""

import pytest
from playwright.sync_api import expect

from approvals import services
from approvals.choices import ApprovalStatus
from approvals.models import ApprovalRow
from changeplans.choices import PlanStatus
from changeplans.models import Plan, Step
from tests.approvals.factories import plan_with_matrix
from tests.browser.conftest import login, shot

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


def test_editing_an_approved_plan_asks_first(page, transactional_db):
    # Given an approved plan: one approver signed, the duty group acknowledged (2 signatures)
    plan, author, (first,), duty = plan_with_matrix(1)
    services.submit_plan(plan.pk, actor=author)
    approval, acknowledgement = ApprovalRow.objects.filter(plan=plan).order_by("position")
    services.approve_row(approval.pk, actor=first, version=1)
    services.acknowledge_row(acknowledgement.pk, actor=duty, version=1)
    step = plan.steps.get()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, author)
    page.goto(f"/plans/{plan.pk}/")
    expect(page.locator("#plan-status .okno-status")).to_have_attribute("data-status", "approved")

    # When the author renames the step and presses Enter
    cell = page.locator(f"#cell-{step.pk}-name")
    cell.click()
    cell.locator(".okno-cell-form [name=value]").fill("Шаг 1 с проверкой")
    cell.locator(".okno-cell-form [name=value]").press("Enter")
    # Then the cell asks first, naming the signatures, and keeps what was typed; nothing is saved
    question = cell.locator(".okno-confirm-reset")
    expect(question).to_contain_text("Это изменение сбросит 2 подписи и вернёт план на согласование")
    expect(question.locator(".okno-confirm-reset-yes")).to_have_text("Сохранить и сбросить подписи")
    expect(cell.locator(".okno-cell-form [name=value]")).to_have_value("Шаг 1 с проверкой")
    shot(cell, "confirm-reset-question.png")
    assert Step.objects.get(pk=step.pk).name == "Шаг 1"

    # When they cancel
    question.locator(".okno-confirm-reset-no").click()
    # Then the cell shows the old name and the plan stays approved with its signatures
    expect(cell.locator(".okno-cell-form")).to_have_count(0)
    expect(cell).to_have_text("Шаг 1")
    expect(page.locator("#plan-status .okno-status")).to_have_attribute("data-status", "approved")
    expect(page.locator(f"#approval-row-{approval.pk}")).to_have_attribute("data-status", "approved")
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.APPROVED
    assert plan.versions.count() == 1

    # When they edit again and confirm
    cell.click()
    cell.locator(".okno-cell-form [name=value]").fill("Шаг 1 с проверкой")
    cell.locator(".okno-cell-form [name=value]").press("Enter")
    cell.locator(".okno-confirm-reset-yes").click()
    # Then the cell is saved and the matrix shows the reset: version 2, back in review, rows pending
    expect(cell).to_have_text("Шаг 1 с проверкой")
    expect(page.locator("#approval-matrix")).to_have_attribute("data-version", "2")
    expect(page.locator("#plan-status .okno-status")).to_have_attribute("data-status", "in_review")
    expect(page.locator(f"#approval-row-{approval.pk}")).to_have_attribute("data-status", "pending")
    assert ApprovalRow.objects.get(pk=approval.pk).status == ApprovalStatus.PENDING
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.IN_REVIEW

    # And an edit that resets nothing now (no signature left) saves at once
    cell.click()
    cell.locator(".okno-cell-form [name=value]").fill("Шаг 1 с проверкой связи")
    cell.locator(".okno-cell-form [name=value]").press("Enter")
    expect(cell).to_have_text("Шаг 1 с проверкой связи")
    expect(page.locator(".okno-confirm-reset")).to_have_count(0)
    assert not errors, f"JavaScript errors on the page: {errors}"


def test_step_buttons_and_the_header_ask_first(page, transactional_db):
    # Given an approved plan with two steps
    plan, author, (first,), duty = plan_with_matrix(1)
    Step.objects.create(plan=plan, position=2, name="Шаг 2")
    services.submit_plan(plan.pk, actor=author)
    approval, acknowledgement = ApprovalRow.objects.filter(plan=plan).order_by("position")
    services.approve_row(approval.pk, actor=first, version=1)
    services.acknowledge_row(acknowledgement.pk, actor=duty, version=1)
    one, two = plan.steps.order_by("position")
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, author)
    page.goto(f"/plans/{plan.pk}/")

    # When the author moves step 1 down, the question appears next to the button; Cancel removes it
    page.locator(f"#step-{one.pk} .okno-move-down").click()
    question = page.locator(".okno-confirm-reset")
    expect(question).to_contain_text("сбросит 2 подписи")
    question.locator(".okno-confirm-reset-no").click()
    expect(page.locator(".okno-confirm-reset")).to_have_count(0)
    assert [s.pk for s in plan.steps.order_by("position")] == [one.pk, two.pk]
    # When they move it again and confirm, the order changes and the plan is back in review
    page.locator(f"#step-{one.pk} .okno-move-down").click()
    page.locator(".okno-confirm-reset-yes").click()
    expect(page.locator("#steps-body tr.okno-step").first).to_have_attribute("id", f"step-{two.pk}")
    expect(page.locator("#plan-status .okno-status")).to_have_attribute("data-status", "in_review")
    assert [s.pk for s in plan.steps.order_by("position")] == [two.pk, one.pk]
    assert not errors, f"JavaScript errors on the page: {errors}"
