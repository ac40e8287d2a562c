"""The plan editor in a real browser: sign-in, creating a plan, inline cells, reordering, lint, PDF, conflicts,
roles, phone.
"""

import datetime
import re
import urllib.parse
import zoneinfo

import pytest
from django.conf import settings
from playwright.sync_api import expect

from changeplans.models import Plan, Step
from demo.plans import DEMO_PASSWORD, load_demo
from tests.browser.conftest import FACTORY_PASSWORD, login, shot
from tests.factories import PlanFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


@pytest.fixture
def author_user(transactional_db):
    return UserFactory(username="editor", first_name="Анна", last_name="Редакторова", roles=["author"])


@pytest.fixture
def small_plan(author_user):
    """A draft with three five-minute steps at 20:00, 20:05 and 20:10 inside the 20:00–23:05 window."""
    plan = PlanFactory(author=author_user, title="Обновление ingress-nginx")
    for position, minute in enumerate((0, 5, 10), start=1):
        StepFactory(plan=plan, position=position, name=f"Шаг номер {position}", planned_time=datetime.time(20, minute))
    return plan


def steps_of(plan):
    return list(Step.objects.filter(plan=plan).order_by("position"))


def row_ids(page):
    return page.eval_on_selector_all("#steps-body tr.okno-step", "rows => rows.map(r => Number(r.dataset.step))")


def open_plan(page, plan):
    page.goto(f"/plans/{plan.pk}/")
    expect(page.locator("#steps-body")).to_be_visible()
    # A marker on window survives htmx swaps and dies with a full reload.
    page.evaluate("window.__okno_marker = 1")


def assert_not_reloaded(page):
    assert page.evaluate("window.__okno_marker") == 1, "the page was reloaded instead of swapping a fragment"


def count_requests(page):
    page.evaluate(
        "() => { window.__okno_requests = 0; "
        "document.addEventListener('htmx:beforeRequest', () => window.__okno_requests++); }"
    )


def requests_started(page):
    """htmx requests started since count_requests(); read in a task after the click's own."""
    return page.evaluate("() => new Promise(resolve => setTimeout(() => resolve(window.__okno_requests), 0))")


def open_cell(page, step, field):
    cell = page.locator(f"#cell-{step.pk}-{field}")
    cell.click()
    editor = cell.locator(".okno-cell-form [name=value]")
    expect(editor).to_be_visible()
    return cell, editor


# 1. Sign-in


def test_login_wrong_password_then_right(page, author_user):
    page.goto("/login/")
    page.fill("#id_username", "editor")
    page.fill("#id_password", "not-the-password")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()

    assert page.url.endswith("/login/")
    expect(page.locator("main .alert-danger")).to_be_visible()
    expect(page.locator("#id_username")).to_have_value("editor")
    expect(page.locator("#id_password")).to_have_value("")

    page.fill("#id_password", FACTORY_PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.url.endswith("/plans/")
    expect(page.locator("#plan-table")).to_be_visible()
    expect(page.locator("main .alert-danger")).to_have_count(0)


# 2. Creating a plan


def test_create_plan(page, author_user):
    login(page, author_user)
    page.goto("/plans/new/")
    # The time zone defaults to the company's zone; the window crosses midnight.
    expect(page.locator("#id_time_zone")).to_have_value(settings.TIME_ZONE)
    page.fill("#id_title", "Замена сертификатов kube-apiserver")
    page.fill("#id_window_start", "2025-04-01T22:30")
    page.fill("#id_window_end", "2025-04-02T01:15")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()

    plan = Plan.objects.get(title="Замена сертификатов kube-apiserver")
    assert page.url.endswith(f"/plans/{plan.pk}/")
    expect(page.locator("#plan-header h1")).to_have_text("Замена сертификатов kube-apiserver")
    expect(page.locator("#plan-header")).to_contain_text("22:30 01.04.2025")
    expect(page.locator("#plan-header")).to_contain_text("01:15 02.04.2025")
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    assert plan.time_zone == settings.TIME_ZONE
    assert plan.author == author_user
    assert plan.window_start == datetime.datetime(2025, 4, 1, 22, 30, tzinfo=tz)
    assert plan.window_end == datetime.datetime(2025, 4, 2, 1, 15, tzinfo=tz)
    assert plan.status == "draft"


def test_create_plan_with_window_backwards_keeps_input(page, author_user):
    login(page, author_user)
    page.goto("/plans/new/")
    page.fill("#id_title", "Окно задом наперёд")
    page.fill("#id_window_start", "2025-04-01T22:30")
    page.fill("#id_window_end", "2025-04-01T21:00")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()

    assert page.url.endswith("/plans/new/")
    expect(page.locator("#id_window_end ~ .invalid-feedback")).to_be_visible()
    expect(page.locator("#id_title")).to_have_value("Окно задом наперёд")
    expect(page.locator("#id_window_start")).to_have_value("2025-04-01T22:30")
    assert not Plan.objects.filter(title="Окно задом наперёд").exists()


# 3. Inline cell editing


def test_edit_cell_inline(page, small_plan, author_user):
    step = steps_of(small_plan)[1]
    login(page, author_user)
    open_plan(page, small_plan)

    cell, editor = open_cell(page, step, "name")
    expect(editor).to_have_value("Шаг номер 2")
    editor.fill("Снять дамп etcd")
    editor.press("Enter")

    expect(page.locator(f"#cell-{step.pk}-name")).to_have_text("Снять дамп etcd")
    expect(page.locator(".okno-cell-form")).to_have_count(0)
    assert_not_reloaded(page)
    step.refresh_from_db()
    assert step.name == "Снять дамп etcd"
    assert step.revision == 2
    shot(page, "plan-small-after-edit.png", full_page=True)


def test_edit_cell_with_submit_button(page, small_plan, author_user):
    step = steps_of(small_plan)[0]
    login(page, author_user)
    open_plan(page, small_plan)

    cell, editor = open_cell(page, step, "description")  # a text area: Enter is a new line
    editor.fill("Первая строка")
    editor.press("Enter")
    editor.type("вторая строка")
    cell.locator(".okno-cell-form button[type=submit]").click()

    expect(page.locator(f"#cell-{step.pk}-description")).to_contain_text("вторая строка")
    assert_not_reloaded(page)
    step.refresh_from_db()
    assert step.description == "Первая строка\nвторая строка"


def test_invalid_duration_shows_error_and_keeps_text(page, small_plan, author_user):
    step = steps_of(small_plan)[0]
    login(page, author_user)
    open_plan(page, small_plan)

    cell, editor = open_cell(page, step, "duration_text")
    editor.fill("abc")
    editor.press("Enter")

    expect(cell.locator(".okno-cell-error")).to_be_visible()
    expect(cell.locator("[name=value]")).to_have_value("abc")
    assert_not_reloaded(page)
    step.refresh_from_db()
    assert (step.duration_text, step.duration_min, step.duration_max, step.revision) == ("5 мин", 5, 5, 1)

    # Correcting the text saves it and closes the editor.
    cell.locator("[name=value]").fill("2-3 часа")
    cell.locator("[name=value]").press("Enter")
    expect(page.locator(f"#cell-{step.pk}-duration_text")).to_have_text("2-3 часа")
    step.refresh_from_db()
    assert (step.duration_min, step.duration_max) == (120, 180)


def test_time_cell_reads_times_as_typed_and_refuses_a_time_that_does_not_exist(page, small_plan, author_user):
    # Issue 13: the native time picker turned "21-00" into "no time" and saved it with HTTP 200.
    step = steps_of(small_plan)[0]
    login(page, author_user)
    open_plan(page, small_plan)

    cell, editor = open_cell(page, step, "planned_time")
    expect(editor).to_have_value("20:00")
    editor.fill("")
    editor.press_sequentially("21-00")
    editor.press("Enter")

    expect(page.locator(f"#cell-{step.pk}-planned_time")).to_have_text("21:00")
    expect(page.locator(".okno-cell-form")).to_have_count(0)
    step.refresh_from_db()
    assert step.planned_time == datetime.time(21, 0)

    cell, editor = open_cell(page, step, "planned_time")
    editor.fill("")
    editor.press_sequentially("25-99")
    editor.press("Enter")

    expect(cell.locator(".okno-cell-error")).to_contain_text("Времени «25-99» не бывает")
    expect(cell.locator("[name=value]")).to_have_value("25-99")
    assert_not_reloaded(page)
    step.refresh_from_db()
    assert (step.planned_time, step.revision) == (datetime.time(21, 0), 2)
    cell.locator("[name=value]").press("Escape")
    expect(page.locator(f"#cell-{step.pk}-planned_time")).to_have_text("21:00")


def test_header_save_keeps_the_fields_the_form_does_not_show(page, small_plan, author_user):
    # Issue 13: the header form blanked the announcement sender and the banner text it does not show.
    Plan.objects.filter(pk=small_plan.pk).update(announcement_from="rfc@nskes.example", banner_text="Свой баннер")
    login(page, author_user)
    open_plan(page, small_plan)

    page.locator("#plan-header").get_by_role("button", name="Изменить шапку").click()
    title = page.locator("#plan-header [name=title]")
    title.fill("Обновление ingress-nginx до 1.12")
    page.locator("#plan-header button[type=submit]").click()

    expect(page.locator("#plan-header h1")).to_have_text("Обновление ingress-nginx до 1.12")
    plan = Plan.objects.get(pk=small_plan.pk)
    assert (plan.title, plan.announcement_from, plan.banner_text) == (
        "Обновление ingress-nginx до 1.12",
        "rfc@nskes.example",
        "Свой баннер",
    )


def test_escape_cancels_the_editor(page, small_plan, author_user):
    step = steps_of(small_plan)[0]
    login(page, author_user)
    open_plan(page, small_plan)

    cell, editor = open_cell(page, step, "name")
    editor.fill("Не сохранять")
    editor.press("Escape")

    expect(page.locator(".okno-cell-form")).to_have_count(0)
    expect(page.locator(f"#cell-{step.pk}-name")).to_have_text("Шаг номер 1")
    step.refresh_from_db()
    assert step.name == "Шаг номер 1"


# 4. Reordering


def test_move_steps_up_and_down(page, small_plan, author_user):
    first, second, third = steps_of(small_plan)
    login(page, author_user)
    open_plan(page, small_plan)
    assert row_ids(page) == [first.pk, second.pk, third.pk]
    expect(page.locator(f"#step-{first.pk} .okno-move-up")).to_be_disabled()
    expect(page.locator(f"#step-{third.pk} .okno-move-down")).to_be_disabled()

    page.locator(f"#step-{first.pk} .okno-move-down").click()
    expect(page.locator("#steps-body tr.okno-step").first).to_have_attribute("data-step", str(second.pk))
    assert row_ids(page) == [second.pk, first.pk, third.pk]
    assert [s.pk for s in steps_of(small_plan)] == [second.pk, first.pk, third.pk]
    assert [s.position for s in steps_of(small_plan)] == [1, 2, 3]
    # The number column follows the new order.
    expect(page.locator(f"#step-{second.pk} .okno-col-no strong")).to_have_text("1")

    page.locator(f"#step-{third.pk} .okno-move-up").click()
    expect(page.locator("#steps-body tr.okno-step").nth(1)).to_have_attribute("data-step", str(third.pk))
    assert row_ids(page) == [second.pk, third.pk, first.pk]
    assert [s.pk for s in steps_of(small_plan)] == [second.pk, third.pk, first.pk]
    assert_not_reloaded(page)


def test_drag_step_by_its_number(page, small_plan, author_user):
    first, second, third = steps_of(small_plan)
    login(page, author_user)
    open_plan(page, small_plan)

    # Drop the third step onto the upper half of the first row.
    page.locator(f"#step-{third.pk} td.okno-col-no").drag_to(
        page.locator(f"#step-{first.pk} td.okno-col-no"), target_position={"x": 5, "y": 3}
    )
    expect(page.locator(f"#step-{third.pk} .okno-col-no strong")).to_have_text("1")
    assert row_ids(page) == [third.pk, first.pk, second.pk]
    assert [s.pk for s in steps_of(small_plan)] == [third.pk, first.pk, second.pk]
    assert_not_reloaded(page)


# 5. Insert and delete


def test_insert_and_delete_step(page, small_plan, author_user):
    first, second, third = steps_of(small_plan)
    login(page, author_user)
    open_plan(page, small_plan)

    page.locator(f"#step-{first.pk} .okno-insert").click()
    expect(page.locator("#steps-body tr.okno-step")).to_have_count(4)
    steps = steps_of(small_plan)
    assert len(steps) == 4
    new = steps[1]
    assert new.pk not in (first.pk, second.pk, third.pk)
    assert [s.pk for s in steps] == [first.pk, new.pk, second.pk, third.pk]
    assert row_ids(page) == [s.pk for s in steps]
    expect(page.locator(f"#step-{new.pk} .okno-col-no strong")).to_have_text("2")
    expect(page.locator(f"#cell-{new.pk}-name")).to_have_text(new.name)

    dialogs = []

    def accept(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.locator(f"#step-{second.pk} .okno-delete").click()
    expect(page.locator(f"#step-{second.pk}")).to_have_count(0)
    expect(page.locator("#steps-body tr.okno-step")).to_have_count(3)
    assert len(dialogs) == 1 and "3" in dialogs[0]
    assert not Step.objects.filter(pk=second.pk).exists()
    assert [(s.pk, s.position) for s in steps_of(small_plan)] == [(first.pk, 1), (new.pk, 2), (third.pk, 3)]
    assert row_ids(page) == [first.pk, new.pk, third.pk]
    expect(page.locator(f"#step-{third.pk} .okno-col-no strong")).to_have_text("3")
    assert_not_reloaded(page)


def test_add_step_at_end_and_dismissed_delete_keeps_it(page, small_plan, author_user):
    first, second, third = steps_of(small_plan)
    login(page, author_user)
    open_plan(page, small_plan)

    page.locator("#add-step").click()
    expect(page.locator("#steps-body tr.okno-step")).to_have_count(4)
    last = steps_of(small_plan)[-1]
    assert last.position == 4 and last.pk not in (first.pk, second.pk, third.pk)
    assert row_ids(page)[-1] == last.pk

    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    count_requests(page)
    page.locator(f"#step-{first.pk} .okno-delete").click()
    # htmx asks (window.confirm) and would start the request in the same task as the click
    assert len(dialogs) == 1
    assert requests_started(page) == 0
    expect(page.locator("#steps-body tr.okno-step")).to_have_count(4)
    assert Step.objects.filter(pk=first.pk).exists()


# 6. Lint warnings


def test_lint_warning_appears_and_disappears(page, small_plan, author_user):
    step = steps_of(small_plan)[2]
    login(page, author_user)
    open_plan(page, small_plan)
    finding = page.locator(f'#lint-panel [data-code="step_outside_window"] a[href="#cell-{step.pk}-planned_date"]')
    expect(finding).to_have_count(0)

    # Five days after the window.
    cell, editor = open_cell(page, step, "planned_date")
    editor.fill("2025-03-25")
    editor.press("Enter")
    expect(page.locator(f"#cell-{step.pk}-planned_date")).to_have_text("25.03.2025")
    expect(finding).to_have_count(1)
    # htmx keeps a swapped element's old attributes for its settle delay: assert with retries.
    expect(page.locator(f"#step-{step.pk}")).to_have_class(re.compile(r"\bokno-has-warning\b"))
    assert_not_reloaded(page)
    step.refresh_from_db()
    assert step.planned_date == datetime.date(2025, 3, 25)
    shot(page, "plan-small-lint.png")

    cell, editor = open_cell(page, step, "planned_date")
    expect(editor).to_have_value("25.03.2025")  # a text cell (issue 13): the date as the table shows it
    editor.fill("20.03.25")
    editor.press("Enter")
    expect(page.locator(f"#cell-{step.pk}-planned_date")).to_have_text("20.03.2025")
    expect(finding).to_have_count(0)
    expect(page.locator(f"#step-{step.pk}")).not_to_have_class(re.compile(r"\bokno-has-warning\b"))
    assert_not_reloaded(page)
    step.refresh_from_db()
    assert step.planned_date == datetime.date(2025, 3, 20)


# 7. PDF


def test_download_pdf(page):
    plan = load_demo()
    login(page, "khasanov", DEMO_PASSWORD)
    open_plan(page, plan)
    with page.expect_download(timeout=60_000) as info:
        page.locator("#pdf-link").click()
    download = info.value
    assert download.failure() is None
    data = open(download.path(), "rb").read()
    assert data.startswith(b"%PDF")
    assert len(data) > 10_000
    assert download.suggested_filename.endswith(".pdf")


# 8. Edit conflict


def test_edit_conflict_keeps_typed_text(new_context, small_plan, author_user):
    step = steps_of(small_plan)[0]
    page_a = new_context().new_page()
    page_b = new_context().new_page()
    for p in (page_a, page_b):
        login(p, author_user)
        open_plan(p, small_plan)

    # B opens the editor first, then A saves the same cell.
    _, editor_b = open_cell(page_b, step, "name")
    _, editor_a = open_cell(page_a, step, "name")
    editor_a.fill("Версия A")
    editor_a.press("Enter")
    expect(page_a.locator(f"#cell-{step.pk}-name")).to_have_text("Версия A")
    step.refresh_from_db()
    assert step.name == "Версия A"

    editor_b.fill("Версия B")
    editor_b.press("Enter")
    cell_b = page_b.locator(f"#cell-{step.pk}-name")
    expect(cell_b.locator(".okno-conflict")).to_be_visible()
    expect(cell_b.locator(".okno-conflict")).to_contain_text("Версия A")
    expect(cell_b.locator(".okno-conflict")).to_contain_text("Редакторова")  # who changed it
    expect(cell_b.locator("[name=value]")).to_have_value("Версия B")
    assert_not_reloaded(page_b)
    step.refresh_from_db()
    assert step.name == "Версия A"

    # Saving again overwrites A's version on purpose.
    cell_b.locator("[name=value]").press("Enter")
    expect(cell_b).to_have_text("Версия B")
    step.refresh_from_db()
    assert step.name == "Версия B"


# 9. Who may edit


def test_approver_sees_plan_read_only_and_forged_post_is_refused(page, small_plan):
    step = steps_of(small_plan)[0]
    order = [s.pk for s in steps_of(small_plan)]
    approver = UserFactory(username="checker", roles=["approver"])
    login(page, approver)
    open_plan(page, small_plan)

    expect(page.locator(f"#cell-{step.pk}-name")).to_have_text("Шаг номер 1")
    expect(page.locator("#steps-body tr.okno-step")).to_have_count(3)
    expect(page.locator("#add-step")).to_have_count(0)
    expect(page.locator("#steps-table [hx-get], #steps-table [hx-post]")).to_have_count(0)
    expect(page.locator(".okno-move-up, .okno-move-down, .okno-insert, .okno-delete")).to_have_count(0)
    expect(page.locator("#steps-body [draggable=true]")).to_have_count(0)
    assert page.locator("#steps-body").get_attribute("data-reorder-url") is None
    # Clicking a cell opens nothing: not even a request starts (htmx would start it during the click).
    count_requests(page)
    page.locator(f"#cell-{step.pk}-name").click()
    assert requests_started(page) == 0
    expect(page.locator(".okno-cell-form")).to_have_count(0)

    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    url = f"/plans/steps/{step.pk}/cell/name/"
    form = {"value": "Подделка", "revision": "1"}
    response = page.request.post(url, form=form, headers={"X-CSRFToken": token})
    assert response.status == 403
    assert "CSRF verification failed" not in response.text()
    assert "Редактировать план может только его автор." in response.text()  # the app's reason, not CSRF's
    # As htmx would send it: 403 with the reason as a toast (which a CSRF failure would not carry).
    response = page.request.post(url, form=form, headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status == 403
    assert "okno:toast" in response.headers.get("hx-trigger", "")
    ids = [str(s.pk) for s in reversed(steps_of(small_plan))]
    for forged, data in (
        (f"/plans/{small_plan.pk}/steps/add/", {}),
        (f"/plans/steps/{step.pk}/delete/", {}),
        (f"/plans/steps/{step.pk}/move/", {"direction": "down"}),
        (f"/plans/{small_plan.pk}/steps/reorder/", {"step": ids}),
    ):
        body = urllib.parse.urlencode(data, doseq=True)
        headers = {"X-CSRFToken": token, "Content-Type": "application/x-www-form-urlencoded"}
        assert page.request.post(forged, data=body, headers=headers).status == 403, forged
    step.refresh_from_db()
    assert step.name == "Шаг номер 1" and step.revision == 1
    assert [s.pk for s in steps_of(small_plan)] == order


# 10. Phone


def test_phone_viewport(new_context):
    plan = load_demo()
    page = new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2
    ).new_page()
    login(page, "khasanov", DEMO_PASSWORD)
    page.goto(f"/plans/{plan.pk}/")
    expect(page.locator("#steps-body tr.okno-step").first).to_be_visible()
    shot(page, "phone.png")
    shot(page, "phone-full.png", full_page=True)

    # Neither the page nor the step table scrolls sideways: on a phone each step is a card (static/okno/phone.css).
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    wrap = page.locator(".okno-steps-wrap")
    sizes = wrap.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert sizes[0] <= sizes[1] + 1, sizes
    wrap.evaluate("el => el.scrollIntoView({block: 'start', behavior: 'instant'})")
    shot(page, "phone-table.png")

    # The title is on screen and wraps instead of running off it.
    title = page.locator("#plan-header h1")
    expect(title).to_have_text(plan.title)
    box = title.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    assert page.evaluate("parseFloat(getComputedStyle(document.querySelector('#plan-header h1')).fontSize)") >= 14
    shot(page, "phone-table-scrolled.png")


# Screenshots for a human (not asserted beyond loading)


def test_screenshots_desktop(page):
    plan = load_demo()
    login(page, "khasanov", DEMO_PASSWORD)
    expect(page.locator("#plan-table tbody tr")).to_have_count(1)
    shot(page, "list.png", full_page=True)
    page.goto(f"/plans/{plan.pk}/")
    expect(page.locator("#steps-body tr.okno-step").first).to_be_visible()
    shot(page, "plan.png")
    shot(page, "plan-full.png", full_page=True)
    # The right-hand half of the step table, which a full-page shot cuts off.
    wrap = page.locator(".okno-steps-wrap")
    wrap.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    shot(wrap, "plan-steps-right.png")
    # A cell editor open on the longest step.
    step5 = plan.steps.get(position=5)
    page.locator(f"#cell-{step5.pk}-description").click()
    expect(page.locator(f"#cell-{step5.pk}-description .okno-cell-form")).to_be_visible()
    page.locator(f"#cell-{step5.pk}-description").evaluate(
        "el => el.scrollIntoView({block: 'center', behavior: 'instant'})"
    )
    shot(page, "plan-cell-editor.png")
    page.locator(f"#cell-{step5.pk}-description [name=value]").press("Escape")
    expect(page.locator(".okno-cell-form")).to_have_count(0)
    # The risks panel of that step.
    page.locator(f"#step-{step5.pk} .okno-risks").click()
    expect(page.locator(f"#risks-{step5.pk} .okno-risks-form")).to_be_visible()
    page.locator(f"#risks-{step5.pk}").scroll_into_view_if_needed()
    shot(page, "plan-risks-panel.png")
    page.goto("/plans/new/")
    shot(page, "plan-new.png", full_page=True)


def test_open_editor_survives_a_save_elsewhere_and_still_saves(page, small_plan, author_user):
    # Given an editor open on step 1's description with unsaved text
    first, second = steps_of(small_plan)[:2]
    login(page, author_user)
    open_plan(page, small_plan)
    _, pending = open_cell(page, first, "description")
    pending.fill("Текст, который ещё не сохранён")
    # When another cell of the same step and one of another step are saved
    _, name = open_cell(page, first, "name")
    name.fill("Переименованный шаг")
    name.press("Enter")
    expect(page.locator(f"#cell-{first.pk}-name")).to_have_text("Переименованный шаг")
    _, other = open_cell(page, second, "jira_key")
    other.fill("OPS-42")
    other.press("Enter")
    expect(page.locator(f"#cell-{second.pk}-jira_key")).to_have_text("OPS-42")
    # Then the first editor is still open with its text, and saving it is not a conflict
    kept = page.locator(f"#cell-{first.pk}-description .okno-cell-form [name=value]")
    expect(kept).to_have_value("Текст, который ещё не сохранён")
    kept.focus()
    kept.press("Control+Enter")
    expect(page.locator(f"#cell-{first.pk}-description")).to_have_text("Текст, который ещё не сохранён")
    expect(page.locator(".okno-conflict")).to_have_count(0)
    assert_not_reloaded(page)
    first.refresh_from_db()
    assert (first.name, first.description) == ("Переименованный шаг", "Текст, который ещё не сохранён")


def test_history_updates_without_reload(page, small_plan, author_user):
    step = steps_of(small_plan)[0]
    login(page, author_user)
    open_plan(page, small_plan)
    _, editor = open_cell(page, step, "name")
    editor.fill("Новое имя шага")
    editor.press("Enter")
    expect(page.locator("#history tbody tr")).to_have_count(1)
    expect(page.locator("#history")).to_contain_text("Новое имя шага")
    assert_not_reloaded(page)
