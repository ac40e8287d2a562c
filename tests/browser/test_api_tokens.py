"""The API-tokens page in Chromium: create a token, copy it with the button, reload, revoke after confirming."""

import re

import pytest
from playwright.sync_api import expect

from api.models import ApiToken
from api.tokens import authenticate_token
from tests.browser.conftest import login, shot
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


def test_create_copy_reload_revoke(page, live_server):
    user = UserFactory(username="tokens", roles=["author"])
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    login(page, user)

    # Given the page, reached from the user menu
    page.locator("#nav-tokens").click()
    expect(page.locator("h1")).to_have_text("API-токены")

    # When a token is created
    page.fill("#id_name", "GitLab CI")
    page.select_option("#id_scope", "write")
    page.locator("#token-create button[type=submit]").click()

    # Then it is shown once with the warning, and the copy button puts it on the clipboard
    value = page.locator("#new-token-value")
    expect(value).to_have_value(re.compile(r"^okno_[0-9a-f]{12}_"))
    plaintext = value.input_value()
    expect(page.locator("#new-token")).to_contain_text("показан только один раз")
    shot(page, "api-tokens-created.png", full_page=True)
    page.locator("[data-okno-copy]").click()
    expect(page.locator("[data-okno-copy]")).to_have_text("Скопировано")
    assert page.evaluate("navigator.clipboard.readText()") == plaintext
    assert authenticate_token(plaintext).name == "GitLab CI"

    # And a reload (the browser sends the form again) shows no token and creates none
    page.reload()
    expect(page.locator("#token-table")).to_contain_text("GitLab CI")
    expect(page.locator("#new-token")).to_have_count(0)
    assert plaintext not in page.content()
    assert ApiToken.objects.count() == 1

    # When it is revoked, dismissing the question first keeps it
    questions = []

    def answer(accept):
        def handler(dialog):
            questions.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return handler

    page.once("dialog", answer(False))
    page.locator("#token-table button", has_text="Отозвать").click()
    expect(page.locator("#token-table .badge")).to_have_text("активен")
    page.once("dialog", answer(True))
    page.locator("#token-table button", has_text="Отозвать").click()

    # Then it is revoked and no longer works
    expect(page.locator("#token-table .badge")).to_have_text("отозван")
    assert "Отозвать токен «GitLab CI»?" in questions[0] and len(questions) == 2
    assert authenticate_token(plaintext) is None
    shot(page, "api-tokens-revoked.png", full_page=True)
