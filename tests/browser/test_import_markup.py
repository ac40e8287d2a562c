"""An attacker's document in a real browser: its markup stays text in the import preview and on the imported plan
(the rest of the import attacks: tests/security/test_import_attacks.py)."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory
from tests.planio import builders
from tests.security.test_import_attacks import DOCX, IMG, SCRIPT, docx_of, xss_spec

# --- (6) in a real browser: nothing of the document runs, the policy sees no violation ------------------------------


@pytest.mark.browser
def test_in_chromium_the_documents_markup_never_runs(new_context):
    from playwright.sync_api import expect

    from tests.browser.conftest import login
    from tests.browser.test_csp import Violations

    page = new_context().new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    violations = Violations(page)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    author = UserFactory(username="xss-author", roles=["author"])
    login(page, author)
    page.goto(reverse("planio:new"))
    data = docx_of(xss_spec(), builders.Layout(extra_columns=(f"Колонка {SCRIPT}",)))
    page.set_input_files("#id_file", files=[{"name": f"{IMG}.docx", "mimeType": DOCX, "buffer": data}])
    with page.expect_navigation():
        page.locator("#import-submit").click()
    expect(page.locator("#import-steps-table")).to_contain_text(f"Шаг {SCRIPT}")
    # A correction through htmx swaps the preview in: still text
    page.locator("#header-goal details summary").click()
    page.locator("#header-input-goal").fill(f"{SCRIPT}{IMG}")
    page.locator("#header-input-goal").dispatch_event("change")
    expect(page.locator("#header-goal .okno-import-value")).to_contain_text(f"{SCRIPT}{IMG}")
    with page.expect_navigation():
        page.locator("#import-confirm").click()
    expect(page.locator("body")).to_contain_text(f"План {SCRIPT}")
    expect(page.locator("#plan-attachments")).to_contain_text("<img src=x onerror=alert(2)>.docx")  # '"' as %22
    assert page.locator("img[src=x]").count() == 0 and page.locator("script:not([src])").count() == 0
    assert dialogs == [] and errors == []
    violations.assert_none("import preview and the imported plan")
