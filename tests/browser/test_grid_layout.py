"""The step grid on a desktop and a phone (issue 13): the seed plan fits 1440 px with every column, the
sticky number column is opaque, the row actions stay in reach, and the column chooser hides columns for
the user, across reloads."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from changeplans.columns import FIELDS
from changeplans.models import GridPreference
from demo.plans import DEMO_PASSWORD, load_demo
from tests.browser.conftest import login, shot

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

LAPTOP = {"width": 1440, "height": 900}
WIDE = {"width": 1920, "height": 1080}
NARROW = {"width": 1000, "height": 800}  # the table scrolls inside its card here
PHONE = {"width": 390, "height": 844}

# The background colour of an element, "rgba(r, g, b, a)" or "rgb(r, g, b)", as its alpha (0 = see-through).
ALPHA = """el => {
  const c = getComputedStyle(el).backgroundColor;
  const m = c.match(/rgba?\\(([^)]*)\\)/);
  const parts = m ? m[1].split(',').map(s => parseFloat(s)) : [];
  return parts.length === 4 ? parts[3] : (parts.length === 3 ? 1 : 0);
}"""


def open_seed(new_context, viewport, **options):
    plan = load_demo()
    page = new_context(viewport=viewport, **options).new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, "khasanov", DEMO_PASSWORD)
    page.goto(f"/plans/{plan.pk}/")
    expect(page.locator("#steps-body tr.okno-step")).to_have_count(7)
    return plan, page, errors


def widths(page):
    return page.evaluate(
        "() => { const w = document.querySelector('.okno-steps-wrap');"
        " return {doc: document.documentElement.scrollWidth, inner: innerWidth,"
        " wrap: w.scrollWidth, wrapClient: w.clientWidth}; }"
    )


def chooser_box(page, field):
    page.locator("#column-chooser > summary").click()
    box = page.locator(f"#column-{field}")
    expect(box).to_be_visible()
    return box


@pytest.mark.parametrize("viewport", [LAPTOP, WIDE], ids=["1440", "1920"])
def test_the_seed_plan_fits_with_every_column(new_context, viewport):
    _plan, page, errors = open_seed(new_context, viewport)

    # Neither the page nor the table scrolls sideways: every column is in view
    size = widths(page)
    assert size["doc"] <= size["inner"], size
    assert size["wrap"] <= size["wrapClient"] + 1, size
    headers = page.locator("#steps-table thead th")
    assert headers.count() == len(FIELDS) + 2  # + the number and the row actions
    for i in range(headers.count()):
        box = headers.nth(i).bounding_box()
        assert box["width"] >= 30 and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], (i, box)
    # The row actions of every step are on screen
    for button in page.locator("#steps-body .okno-delete").all():
        box = button.bounding_box()
        assert box["x"] + box["width"] <= viewport["width"], box
    # Long texts wrap: step 5 (13 risks) is taller than wide
    assert page.locator("#steps-body tr.okno-step").nth(4).bounding_box()["height"] > 400
    shot(page, f"grid-{viewport['width']}.png")
    assert not errors


def test_the_sticky_number_column_is_opaque_and_the_actions_stay_in_reach(new_context):
    plan, page, errors = open_seed(new_context, NARROW)
    warned = page.locator("#steps-body tr.okno-has-warning").first
    expect(warned).to_be_visible()  # the seed has findings (steps 3, 4, 6, 7)

    # Every number cell and its header have an opaque background, a step with a finding and a just-changed
    # (flashing) step included
    page.locator("#steps-body tr.okno-step").nth(1).evaluate("row => row.classList.add('okno-highlight')")
    for cell in page.locator("#steps-table .okno-col-no").all():
        assert cell.evaluate(ALPHA) == 1, cell.evaluate("el => getComputedStyle(el).backgroundColor")
    assert warned.locator(".okno-col-no").evaluate(ALPHA) == 1

    # When the table scrolls sideways under them
    wrap = page.locator(".okno-steps-wrap")
    size = widths(page)
    assert size["wrap"] > size["wrapClient"] + 100, size
    wrap.evaluate("el => { el.scrollIntoView({block: 'start', behavior: 'instant'}); el.scrollLeft = 250; }")
    expect(wrap).to_have_js_property("scrollLeft", 250)
    # Then the number and the row actions are still the topmost thing where they stand
    for step in plan.steps.order_by("position")[:4]:
        row = page.locator(f"#step-{step.pk}")
        # the row just under the sticky header row
        row.evaluate(
            "row => { const wrap = row.closest('.okno-steps-wrap');"
            " wrap.scrollTop = row.offsetTop - wrap.querySelector('thead').offsetHeight; }"
        )
        for selector in (".okno-col-no", ".okno-col-actions"):
            box = row.locator(selector).bounding_box()
            on_top = page.evaluate(
                "([x, y, sel, id]) => { const el = document.elementFromPoint(x, y);"
                " return !!el && el.closest(sel) === document.querySelector('#' + id + ' ' + sel); }",
                [box["x"] + box["width"] / 2, box["y"] + 8, selector, f"step-{step.pk}"],
            )
            assert on_top, (step.position, selector, box)
        assert wrap.evaluate("el => el.scrollLeft") == 250
    assert row.locator(".okno-col-actions").bounding_box()["x"] + 20 < NARROW["width"]
    shot(page, "grid-scrolled.png")
    assert not errors


def test_hiding_a_column_in_the_chooser_hides_it_and_survives_a_reload(new_context):
    plan, page, errors = open_seed(new_context, LAPTOP)
    step = plan.steps.get(position=5)
    header = page.locator("#steps-table thead th.okno-f-description")
    cell = page.locator(f"#cell-{step.pk}-description")
    expect(header).to_be_visible()

    # When the author unticks "Short description of the work"
    box = chooser_box(page, "description")
    expect(page.locator("label[for=column-description]")).to_have_text("Краткое описание работ")
    with page.expect_response(lambda r: r.url.endswith("/plans/columns/")) as answer:
        box.uncheck()
    # Then the column goes at once and the choice is saved for them
    expect(header).to_be_hidden()
    expect(cell).to_be_hidden()
    assert answer.value.status == 200
    assert GridPreference.objects.get(user__username="khasanov").hidden_columns == ["description"]
    expect(page.locator("#column-chooser .okno-columns-hidden")).to_have_text("1")

    # And it stays hidden after a reload, with no flash: the table comes with the class already
    page.reload()
    expect(page.locator("#steps-table")).to_have_class(re.compile(r"\bokno-hide-description\b"))
    expect(header).to_be_hidden()
    expect(cell).to_be_hidden()
    expect(page.locator(f"#cell-{step.pk}-expected_result")).to_be_visible()
    # A row rendered again by the server (here: an editor opened and cancelled) comes hidden too
    page.locator(f"#step-{step.pk}").evaluate("row => { row.__okno_old = true; }")
    name = page.locator(f"#cell-{step.pk}-name")
    name.click()
    expect(name.locator(".okno-cell-form")).to_be_visible()
    page.keyboard.press("Escape")
    expect(name.locator(".okno-cell-form")).to_have_count(0)
    assert page.locator(f"#step-{step.pk}").evaluate("row => !row.__okno_old"), "the row was not rendered again"
    expect(cell).to_be_hidden()
    expect(page.locator(f"#step-{step.pk} td.okno-f-description")).to_be_hidden()
    box = chooser_box(page, "description")
    expect(box).not_to_be_checked()
    # Esc closes the chooser
    page.keyboard.press("Escape")
    expect(box).to_be_hidden()

    # "Show all" brings it back, for good
    chooser_box(page, "description")
    with page.expect_response(lambda r: r.url.endswith("/plans/columns/")):
        page.locator("#column-chooser .okno-columns-all").click()
    expect(header).to_be_visible()
    page.reload()
    expect(cell).to_be_visible()
    assert GridPreference.objects.get(user__username="khasanov").hidden_columns == []
    assert not errors


def test_the_last_column_cannot_be_hidden_and_the_reason_is_shown(new_context):
    _plan, page, errors = open_seed(new_context, LAPTOP)
    user = get_user_model().objects.get(username="khasanov")
    GridPreference.objects.create(user=user, hidden_columns=sorted(FIELDS - {"name"}))
    page.reload()
    name_header = page.locator("#steps-table thead th.okno-f-name")
    expect(name_header).to_be_visible()
    expect(page.locator("#steps-table thead th.okno-f-risks")).to_be_hidden()

    # When the user unticks the only column left
    box = chooser_box(page, "name")
    with page.expect_response(lambda r: r.url.endswith("/plans/columns/")) as answer:
        box.click()  # not uncheck(): the refusal ticks the box again, maybe before Playwright looks at it
    # Then the server refuses, the column comes back and the reason is shown
    assert answer.value.status == 400
    expect(page.locator("#column-chooser .okno-columns-error")).to_have_text("Оставьте хотя бы один столбец.")
    expect(box).to_be_checked()
    expect(name_header).to_be_visible()
    assert GridPreference.objects.get(user__username="khasanov").hidden_columns == sorted(FIELDS - {"name"})
    assert not errors


def test_the_chooser_on_a_phone(new_context):
    _plan, page, errors = open_seed(new_context, PHONE, is_mobile=True, has_touch=True)
    # Neither the page nor the table scrolls sideways: each step is a card (static/okno/phone.css)
    size = widths(page)
    assert size["doc"] <= PHONE["width"] + 1, size
    assert size["wrap"] <= size["wrapClient"] + 1, size

    # The chooser opens within the screen and works with a tap
    page.locator("#column-chooser > summary").tap()
    menu = page.locator("#column-chooser .okno-columns-menu")
    expect(menu).to_be_visible()
    box = menu.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    shot(page, "grid-columns-phone.png")
    with page.expect_response(lambda r: r.url.endswith("/plans/columns/")):
        page.locator("label[for=column-risk_mitigation]").tap()
    expect(page.locator("#steps-table td.okno-f-risk_mitigation").first).to_be_hidden()
    # A tap outside closes it
    page.locator("#plan-header h1").tap()
    expect(menu).to_be_hidden()
    assert not errors


def test_a_lost_connection_puts_the_column_back_and_says_so(new_context):
    _plan, page, errors = open_seed(new_context, LAPTOP)
    header = page.locator("#steps-table thead th.okno-f-description")
    # Given the server cannot be reached
    page.route("**/plans/columns/", lambda route: route.abort())
    # When the user unticks a column
    box = chooser_box(page, "description")
    expect(box).to_be_checked()
    # click(), not uncheck(): the refused save may tick the box again before Playwright looks at it
    box.click()
    # Then the column comes back (the choice was not saved) and the reason is shown
    expect(page.locator("#column-chooser .okno-columns-error")).to_have_text(
        "Столбцы не сохранены: нет связи с сервером."
    )
    expect(box).to_be_checked()
    expect(header).to_be_visible()
    assert not GridPreference.objects.exists()
    assert not errors
