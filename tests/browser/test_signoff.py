"""Sign-off in a real browser: submit, approve from the inbox, reject with a reason, fix and resubmit,
read the diff and approve the new version, re-approve after the reset, acknowledge, approved."""

import pytest
from playwright.sync_api import expect

from approvals.choices import ApprovalStatus
from approvals.models import ApprovalRow
from changeplans.choices import PlanStatus
from changeplans.models import Plan
from tests.approvals.factories import plan_with_matrix
from tests.browser.conftest import login, shot

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


def row_of(plan, user):
    return ApprovalRow.objects.get(plan=plan, user=user)


def plan_status(plan):
    return Plan.objects.get(pk=plan.pk).status


def open_as(new_context, user, errors):
    """A browser of its own (own cookies) for another person, signed in."""
    page = new_context().new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return login(page, user)


def test_sign_off_round_trip(page, new_context, transactional_db):
    # Given a draft with one step, two approvers in parallel and the duty group's acknowledgement
    plan, author, (first, second), duty = plan_with_matrix(2)
    step = plan.steps.get()
    errors = []
    plan_url = f"/plans/{plan.pk}/"

    # When the author sends it for sign-off
    login(page, author)
    page.goto(plan_url)
    page.locator("#submit-plan").click()
    # Then it is in review as version 1, without a reload
    expect(page.locator("#plan-status .okno-status")).to_have_attribute("data-status", "in_review")
    expect(page.locator("#approval-matrix")).to_have_attribute("data-version", "1")
    expect(page.locator("#submit-plan")).to_have_count(0)
    assert plan_status(plan) == PlanStatus.IN_REVIEW and plan.versions.count() == 1

    # When approver 1 signs in, follows the inbox link in the menu and approves there
    one = open_as(new_context, first, errors)
    expect(one.locator("#nav-inbox-count [data-count]")).to_have_attribute("data-count", "1")
    one.locator("#nav-inbox").click()
    inbox_row = one.locator(f"#inbox-row-{row_of(plan, first).pk}")
    expect(inbox_row.locator(".okno-inbox-version")).to_contain_text("1")
    shot(one, "signoff-inbox.png")
    inbox_row.locator(".okno-approve-comment").fill("Проверил, ок")
    inbox_row.locator(".okno-approve").click()
    # Then the row leaves the inbox and the menu badge empties
    expect(one.locator("#inbox-empty")).to_be_visible()
    expect(one.locator("#nav-inbox-count [data-count]")).to_have_count(0)
    signed = row_of(plan, first)
    assert (signed.status, signed.version.number, signed.comment) == (ApprovalStatus.APPROVED, 1, "Проверил, ок")

    # When approver 2 rejects on the plan page with a reason
    two = open_as(new_context, second, errors)
    two.goto(plan_url)
    mine = f"#approval-matrix .okno-actions-row[data-row='{row_of(plan, second).pk}']"
    two.locator(f"{mine} .okno-reject-toggle").click()
    reason = "Нет проверки связности подов после шага 1"
    two.locator(f"{mine} .okno-reject-reason").fill(reason)
    shot(two.locator("#approval-matrix"), "signoff-matrix-reject-form.png")
    two.locator(f"{mine} .okno-reject").click()
    # Then the plan is rejected and the row says so
    expect(two.locator("#plan-status .okno-status")).to_have_attribute("data-status", "rejected")
    expect(two.locator(f"#approval-row-{row_of(plan, second).pk}")).to_have_attribute("data-status", "rejected")
    assert plan_status(plan) == PlanStatus.REJECTED

    # When the author opens the plan, they see the reason
    page.goto(plan_url)
    expect(page.locator(".okno-rejection-reason")).to_have_text(reason)
    # and fix the step inline, then send the plan again
    cell = page.locator(f"#cell-{step.pk}-name")
    cell.click()
    editor = cell.locator(".okno-cell-form [name=value]")
    editor.fill("Шаг 1 и проверка связности подов")
    editor.press("Enter")
    expect(page.locator(f"#cell-{step.pk}-name")).to_have_text("Шаг 1 и проверка связности подов")
    page.locator("#submit-plan").click()
    # Then it is in review again as version 2, every earlier decision reset
    expect(page.locator("#plan-status .okno-status")).to_have_attribute("data-status", "in_review")
    expect(page.locator("#approval-matrix")).to_have_attribute("data-version", "2")
    assert plan.versions.count() == 2
    assert [r.status for r in ApprovalRow.objects.filter(plan=plan).order_by("position")] == [
        ApprovalStatus.PENDING,
        ApprovalStatus.PENDING,
        ApprovalStatus.NOT_ACKNOWLEDGED,
    ]

    # When approver 2 opens the inbox and follows "changes since version 1"
    two.goto("/approvals/inbox/")
    two.locator(f"#inbox-row-{row_of(plan, second).pk} .okno-inbox-diff").click()
    # Then the diff shows the step's old name struck out and the new words added
    expect(two.locator("#diff")).to_have_attribute("data-from", "1")
    expect(two.locator("#diff")).to_have_attribute("data-to", "2")
    expect(two.locator("#diff .okno-change")).to_have_count(1)
    expect(two.locator("#diff ins")).to_contain_text("и проверка связности подов")
    shot(two, "signoff-diff.png")
    # and they approve version 2 right there
    two.locator("#diff-actions .okno-approve").click()
    expect(two.locator(f"#diff-actions .okno-my-row[data-row='{row_of(plan, second).pk}']")).to_have_attribute(
        "data-status", "approved"
    )
    assert row_of(plan, second).version.number == 2

    # When approver 1 comes back: their approval of version 1 was reset, the inbox asks again
    one.goto("/approvals/inbox/")
    inbox_row = one.locator(f"#inbox-row-{row_of(plan, first).pk}")
    expect(inbox_row.locator(".okno-inbox-diff")).to_be_visible()
    inbox_row.locator(".okno-approve").click()
    expect(one.locator("#inbox-empty")).to_be_visible()
    assert (row_of(plan, first).status, row_of(plan, first).version.number) == (ApprovalStatus.APPROVED, 2)
    assert plan_status(plan) == PlanStatus.IN_REVIEW  # the duty officer has not acknowledged yet

    # When the duty officer acknowledges on the plan page
    officer = open_as(new_context, duty, errors)
    officer.goto(plan_url)
    officer.locator("#approval-matrix .okno-acknowledge").click()
    # Then the plan is approved: the badge and the database agree
    expect(officer.locator("#plan-status .okno-status")).to_have_attribute("data-status", "approved")
    expect(officer.locator("#signoff-bar .okno-approved-bar")).to_be_visible()
    assert plan_status(plan) == PlanStatus.APPROVED
    assert all(r.version.number == 2 for r in ApprovalRow.objects.filter(plan=plan))

    page.goto(plan_url)
    expect(page.locator("#plan-status .okno-status")).to_have_attribute("data-status", "approved")
    shot(page.locator("#approval-matrix"), "signoff-matrix-approved.png")
    assert not errors, f"JavaScript errors on the page: {errors}"


def test_a_material_edit_refreshes_the_matrix_without_a_reload(page, transactional_db):
    # Given an approved plan (version 1) open on its author's screen
    from approvals import services

    plan, author, (first,), duty = plan_with_matrix(1)
    services.submit_plan(plan.pk, actor=author)
    approval, acknowledgement = ApprovalRow.objects.filter(plan=plan).order_by("position")
    services.approve_row(approval.pk, actor=first, version=1)
    services.acknowledge_row(acknowledgement.pk, actor=duty, version=1)
    step = plan.steps.get()
    login(page, author)
    page.goto(f"/plans/{plan.pk}/")
    expect(page.locator("#plan-status .okno-status")).to_have_attribute("data-status", "approved")
    page.evaluate("window.__okno_marker = 1")

    # When the author changes the step's duration in its cell
    cell = page.locator(f"#cell-{step.pk}-duration_text")
    cell.click()
    cell.locator(".okno-cell-form [name=value]").fill("2-3 часа")
    cell.locator(".okno-cell-form [name=value]").press("Enter")
    # and confirms the question that the edit resets the signatures (tests/browser/test_confirm_reset.py)
    cell.locator(".okno-confirm-reset-yes").click()

    # Then version 2 resets the signatures: the matrix, the status and the bar follow without a reload
    expect(page.locator("#approval-matrix")).to_have_attribute("data-version", "2")
    expect(page.locator("#plan-status .okno-status")).to_have_attribute("data-status", "in_review")
    expect(page.locator(f"#approval-row-{approval.pk}")).to_have_attribute("data-status", "pending")
    expect(page.locator("#signoff-bar .okno-review-bar")).to_be_visible()
    assert page.evaluate("window.__okno_marker") == 1
    assert plan_status(plan) == PlanStatus.IN_REVIEW
