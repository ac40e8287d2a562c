"""Done when (issue 13): the author builds a 6-row matrix with an empty position and a duty group and submits —
no administrator involved. Everything through the plan page in Chromium: add rows, type positions, pick people
and the duty group by typing, set kinds and stages, reorder, remove, submit."""

import re

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from approvals.choices import ApprovalStatus, RowKind
from approvals.models import ApprovalRow, MatrixTemplate, MatrixTemplateRow
from changeplans.choices import PlanStatus
from changeplans.models import Plan, PlanEvent
from tests.browser.conftest import login, shot
from tests.factories import PlanFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

PEOPLE = [
    # username, surname, initials
    ("matveev", "Матвеев", "И.Б."),
    ("kochetov", "Кочетов", "В.Н."),
    ("kuzmina", "Кузьмина", "О.В."),
    ("shpagin", "Шпагин", "А.В."),
    ("marchenko", "Марченко", "М.С."),
]


def rows_of(plan):
    return list(ApprovalRow.objects.filter(plan=plan).order_by("position"))


def pick(page, row, text, label):
    """Type in the row's person field and choose `label` from the list with the keyboard."""
    who = row.locator("input.okno-matrix-who")
    who.click()
    who.press_sequentially(text)
    exact = page.locator(".okno-picker-label", has_text=re.compile(f"^{re.escape(label)}$"))
    option = page.get_by_role("listbox").get_by_role("option").filter(has=exact)
    expect(option).to_have_count(1)
    for _ in range(int(option.get_attribute("data-index")) + 1):
        who.press("ArrowDown")
    expect(option).to_have_attribute("aria-selected", "true")
    who.press("Enter")
    expect(who).to_have_value(label)


def matrix_settled(page):
    """Wait until no htmx request of the page is on its way."""
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def test_the_author_builds_a_six_row_matrix_and_submits(page, transactional_db):
    # Given a draft with one step and no matrix, its author (no administrator anywhere), five colleagues and
    # the duty officers' group
    author = UserFactory(username="khasanov", last_name="Хасанов", first_name="А.И.", roles=["author"])
    people = {u: UserFactory(username=u, last_name=s, first_name=i, roles=["approver"]) for u, s, i in PEOPLE}
    duty_group = Group.objects.get_or_create(name="duty_officer")[0]
    UserFactory(username="duty", last_name="Дежурный", first_name="Д.Д.", roles=["duty_officer"])
    plan = PlanFactory(author=author, title="Замена CNI Flannel на Calico")
    StepFactory(plan=plan, position=1)
    assert not author.is_superuser and not author.groups.filter(name="admin").exists()

    login(page, author)
    page.goto(f"/plans/{plan.pk}/")
    builder = page.locator("#matrix-builder")
    expect(builder).to_be_visible()
    expect(page.locator("#submit-plan")).to_be_disabled()
    expect(page.locator("#submit-refusal")).to_contain_text("В листе согласования нет строк")
    edit_rows = builder.locator("tr.okno-matrix-edit-row")

    # When the author adds six rows, typing each position and picking each person (row 2 has no position)
    wanted = [
        ("Директор по ИТ", "матв", "Матвеев И.Б.", "1"),
        ("", "кочет", "Кочетов В.Н.", "1"),
        ("владелец продукта", "кузьм", "Кузьмина О.В.", "1"),
        ("инженер Интакт", "шпаг", "Шпагин А.В.", "1"),
        ("начальник ОРИС", "марч", "Марченко М.С.", "2"),
    ]
    for index, (title, typed, label, stage) in enumerate(wanted):
        matrix_settled(page)  # the row picked above is saved (its answer swaps the matrix, the button with it)
        page.locator("#matrix-add-row").click()
        expect(edit_rows).to_have_count(index + 1)
        row = edit_rows.nth(index)
        job = row.locator("input.okno-matrix-job")
        expect(job).to_be_focused()  # the new row is ready to type in
        if title:
            job.fill(title)
        pick(page, row, typed, label)
        if stage != "1":
            row.locator("input.okno-matrix-stage").fill(stage)
            row.locator("input.okno-matrix-stage").press("Enter")
    # The sixth row: the duty group acknowledges (kind first: a group cannot approve)
    matrix_settled(page)
    page.locator("#matrix-add-row").click()
    expect(edit_rows).to_have_count(6)
    duty_row = edit_rows.nth(5)
    duty_row.locator("select.okno-matrix-kind").select_option("acknowledgement")
    pick(page, duty_row, "дежур", "Дежурный")

    # When a seventh row is added by mistake and removed, and the last approver is moved up one place
    matrix_settled(page)
    page.locator("#matrix-add-row").click()
    expect(edit_rows).to_have_count(7)
    edit_rows.nth(6).locator(".okno-matrix-delete").click()
    expect(edit_rows).to_have_count(6)
    edit_rows.nth(4).locator(".okno-matrix-up").click()
    expect(edit_rows.nth(3).locator("input.okno-matrix-who")).to_have_value("Марченко М.С.")
    expect(page.locator("#submit-plan")).to_be_enabled()
    shot(page.locator("#approval-matrix"), "matrix-builder.png")

    # Then the rows in the database are what the page shows
    assert [(r.position, r.job_title, r.person_name, r.kind, r.stage) for r in rows_of(plan)] == [
        (1, "Директор по ИТ", "Матвеев И.Б.", RowKind.APPROVAL, 1),
        (2, "", "Кочетов В.Н.", RowKind.APPROVAL, 1),
        (3, "владелец продукта", "Кузьмина О.В.", RowKind.APPROVAL, 1),
        (4, "начальник ОРИС", "Марченко М.С.", RowKind.APPROVAL, 2),
        (5, "инженер Интакт", "Шпагин А.В.", RowKind.APPROVAL, 1),
        (6, "", "Дежурный", RowKind.ACKNOWLEDGEMENT, 2),  # a new row takes the stage of the last one
    ]

    # When the author sends the plan for sign-off
    page.locator("#submit-plan").click()
    # Then the plan is НА СОГЛАСОВАНИИ as version 1, the matrix read-only, its rows asked
    status = page.locator("#plan-status .okno-status")
    expect(status).to_have_attribute("data-status", "in_review")
    expect(status).to_have_text("НА СОГЛАСОВАНИИ")
    expect(page.locator("#approval-matrix")).to_have_attribute("data-version", "1")
    expect(page.locator("#matrix-builder")).to_have_count(0)
    expect(page.locator("#approval-matrix tbody tr[data-row]")).to_have_count(6)
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.IN_REVIEW
    saved = rows_of(plan)
    assert [r.user_id for r in saved] == [
        people["matveev"].pk,
        people["kochetov"].pk,
        people["kuzmina"].pk,
        people["marchenko"].pk,
        people["shpagin"].pk,
        None,
    ]
    assert saved[5].group_id == duty_group.pk and saved[5].status == ApprovalStatus.NOT_ACKNOWLEDGED
    assert [r.status for r in saved[:5]] == [ApprovalStatus.PENDING] * 5
    # Every change was the author's, recorded in the plan's history
    assert set(PlanEvent.objects.filter(plan=plan).values_list("actor__username", flat=True)) == {"khasanov"}
    assert PlanEvent.objects.filter(plan=plan, comment__startswith="Лист согласования").count() >= 13


def test_the_template_and_copy_lists_load_when_the_author_opens_their_control(page, transactional_db):
    # Given a draft without a matrix, a matrix template and another plan with a matrix
    author = UserFactory(username="khasanov", last_name="Хасанов", first_name="А.И.", roles=["author"])
    boss = UserFactory(username="matveev", last_name="Матвеев", first_name="И.Б.", roles=["approver"])
    plan = PlanFactory(author=author, title="Замена CNI Flannel на Calico")
    StepFactory(plan=plan, position=1)
    source = PlanFactory(author=author, title="Обновление кластера")
    ApprovalRow.objects.create(plan=source, position=1, person_name="Кто-то", job_title="Директор")
    template = MatrixTemplate.objects.create(name="PROD Kubernetes")
    MatrixTemplateRow.objects.create(
        template=template, position=1, job_title="Директор по ИТ", person_name="Матвеев И.Б.", user=boss
    )

    login(page, author)
    page.goto(f"/plans/{plan.pk}/")
    templates = page.locator("#matrix-template option")
    sources = page.locator("#matrix-copy-source option")
    expect(templates).to_have_text(["Загрузка…"])  # nothing read until the author opens the control
    # When the author opens «Шаблон · из другого плана · сохранить как шаблон»
    page.locator(".okno-matrix-more summary").click()
    # Then both lists arrive
    expect(templates).to_have_text(["PROD Kubernetes"])
    expect(sources).to_have_text([f"№{source.pk} Обновление кластера"])
    # And applying the template works as before
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#apply-template").click()
    expect(page.locator("#matrix-builder tr.okno-matrix-edit-row")).to_have_count(1)
    expect(page.locator("#matrix-builder input.okno-matrix-job")).to_have_value("Директор по ИТ")
    assert [r.job_title for r in rows_of(plan)] == ["Директор по ИТ"]
