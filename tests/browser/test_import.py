"""Import of a plan in a browser (issue 14): upload the seed .docx with its rollback column under a header the
recognizer does not know, map that column in the preview, create the draft; the plan page shows the seed's
7 steps, step 5's 13 risks and its rollback, and the plan check runs on it."""

import os
import pathlib
import re

import pytest
from playwright.sync_api import expect

from changeplans.models import Plan
from demo.plans import STEP5_RISKS, STEP5_ROLLBACK
from planio.models import PlanImport
from tests.browser.conftest import login
from tests.browser.test_csp import Violations
from tests.factories import UserFactory
from tests.planio.builders import seed_docx

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
RENAMED = "Запасной вариант"  # a header the recognizer does not know
SHOTS = pathlib.Path(os.environ.get("OKNO_IMPORT_SHOTS", "/tmp/okno-shots"))


def shot(page, name, width):
    """A full-page screenshot at a width, for a human to look at (not asserted)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": 900})
    page.screenshot(path=str(SHOTS / name), full_page=True)
    page.set_viewport_size({"width": 1440, "height": 900})


@pytest.fixture
def author_user(transactional_db):
    return UserFactory(username="importer", first_name="Алексей", last_name="Хасанов", roles=["author"])


def test_import_the_seed_fix_a_column_and_create_the_draft(page, author_user):
    violations = Violations(page)  # the pages run under the Content-Security-Policy
    login(page, author_user)
    page.set_viewport_size({"width": 1440, "height": 900})

    # The plan list leads to the import
    page.locator("#import-plan-link").click()
    expect(page.locator("h1")).to_have_text("Импорт плана")
    shot(page, "import-upload-1440.png", 1440)
    shot(page, "import-upload-390.png", 390)

    # Upload the seed whose rollback column is headed with words the recognizer does not know
    page.set_input_files(
        "#id_file",
        files=[{"name": "plan.docx", "mimeType": DOCX, "buffer": seed_docx(rename={"rollback": RENAMED})}],
    )
    with page.expect_navigation():
        page.locator("#import-submit").click()
    expect(page.locator("h1")).to_have_text("Предпросмотр импорта")
    steps = page.locator("#import-steps-table tbody tr.okno-import-step")
    expect(steps).to_have_count(7)
    first_rollback = STEP5_ROLLBACK[0][1]
    expect(page.locator("#import-steps")).not_to_contain_text(first_rollback)

    # The unknown column is marked «проверьте»; map it to the rollback
    row = page.locator("#import-columns tbody tr", has_text=RENAMED)
    expect(row).to_contain_text("проверьте")
    row.locator("select").select_option(label="Действия, если что-то пойдет не так")
    # The preview is swapped in with the actions and their ties
    step5 = page.locator("#import-step-5")
    expect(step5.locator(".okno-import-action")).to_have_count(len(STEP5_ROLLBACK))
    expect(step5).to_contain_text(first_rollback)
    expect(step5).to_contain_text("→ риски 5, 6, 7, 8")
    expect(step5.locator(".okno-f-risks li")).to_have_count(13)
    expect(page.locator("#import-columns tbody tr", has_text=RENAMED)).not_to_contain_text("проверьте")
    shot(page, "import-preview-1440.png", 1440)
    shot(page, "import-preview-390.png", 390)

    # Create the draft
    with page.expect_navigation():
        page.locator("#import-confirm").click()
    plan = Plan.objects.get()
    assert page.url.endswith(f"/plans/{plan.pk}/")
    expect(page.locator(".alert-success")).to_contain_text("Черновик плана создан из «plan.docx»")
    expect(page.locator("#steps-body tr.okno-step")).to_have_count(7)
    step5_id = plan.steps.get(position=5).pk
    risks = page.locator(f"#cell-{step5_id}-risks > div")
    expect(risks).to_have_count(13)
    expect(risks.nth(12)).to_contain_text(STEP5_RISKS[12])
    rollback = page.locator(f"#cell-{step5_id}-rollback > div")
    expect(rollback).to_have_count(len(STEP5_ROLLBACK))
    expect(rollback.first).to_contain_text(first_rollback)
    # The plan check ran on the imported plan: its window and its verdict
    expect(page.locator("#lint-panel")).to_contain_text("20.03.2025 20:00 – 20.03.2025 23:05")
    expect(page.locator("#lint-count")).to_be_visible()
    assert PlanImport.objects.get().plan_id == plan.pk
    violations.assert_none("import pages")


PASTE = """(args) => {
  const area = document.querySelector("#id_text");
  area.focus();
  const data = new DataTransfer();
  data.setData("text/plain", args.text);
  data.setData("text/html", args.html);
  const event = new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true});
  area.dispatchEvent(event);
  // A paste event made by a script inserts nothing: put the text in as the browser would.
  area.value = args.text;
  area.dispatchEvent(new Event("input", {bubbles: true}));
}"""


def test_a_paste_keeps_the_clipboard_table(page, author_user):
    from tests.planio.builders import seed_html, seed_text

    login(page, author_user)
    page.goto("/imports/new/")
    # Pasting from Word: the clipboard has the plain text and the HTML with the tables
    page.evaluate(PASTE, {"text": seed_text(), "html": seed_html()})
    expect(page.locator("#paste-html-note")).to_be_visible()
    with page.expect_navigation():
        page.locator("#import-submit").click()
    expect(page.locator("#import-steps-table tbody tr.okno-import-step")).to_have_count(7)
    imported = PlanImport.objects.get()
    assert "<table" in imported.pasted_html and imported.content_type == "text/html"

    # Typing into the text after the paste drops the HTML: the text as left is what is read
    page.goto("/imports/new/")
    page.evaluate(PASTE, {"text": seed_text(), "html": seed_html()})
    page.locator("#id_text").press("End")
    page.locator("#id_text").type(" ")
    expect(page.locator("#paste-html-note")).to_be_hidden()
    assert page.locator("input[name=paste_html][type=hidden]").input_value() == ""


def test_a_missing_window_is_typed_in_the_preview(page, author_user):
    from tests.planio.test_views import plan_docx

    login(page, author_user)
    page.goto("/imports/new/")
    page.set_input_files(
        "#id_file", files=[{"name": "no-window.docx", "mimeType": DOCX, "buffer": plan_docx(2, window=False)}]
    )
    with page.expect_navigation():
        page.locator("#import-submit").click()
    # The window is missing: red, with its field open
    window = page.locator("#header-window")
    expect(window).to_have_class(re.compile(r"\bbg-danger-subtle\b"))
    expect(page.locator("#import-problem-count")).to_contain_text("1 ячейка не распознана")
    # Creating the draft is refused at the top, the preview kept
    with page.expect_navigation():
        page.locator("#import-confirm").click()
    expect(page.locator("#import-errors")).to_be_visible()
    expect(page.locator("#import-steps-table tbody tr.okno-import-step")).to_have_count(2)
    # Typed in, the preview reads it (htmx, on leaving the field)
    page.locator("#header-input-window").fill("с 21:00 14.11.25 до 01:30 15.11.2025")
    page.locator("#header-input-window").press("Tab")
    expect(window).not_to_have_class(re.compile(r"\bbg-danger-subtle\b"))
    expect(window).to_contain_text("с 21:00 14.11.2025 до 01:30 15.11.2025")
    expect(page.locator("#import-problem-count")).to_contain_text("Все ячейки распознаны")
    with page.expect_navigation():
        page.locator("#import-confirm").click()
    expect(page.locator(".alert-success")).to_contain_text("Черновик плана создан из «no-window.docx»")
    expect(page.locator("#steps-body tr.okno-step")).to_have_count(2)
