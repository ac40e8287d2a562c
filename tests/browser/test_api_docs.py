"""Swagger UI and ReDoc in Chromium (api/views_docs.py, docs/api.md "Interactive documentation"): Swagger UI renders
the operations and calls the API with the session, ReDoc renders, under the strict CSP and with no file from another
host. The pages without a browser: tests/api/test_docs_ui.py."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, shot
from tests.factories import ServiceFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

# Policy violations, as tests/browser/test_csp.py gathers them.
COLLECT = """
window.__okno_csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__okno_csp.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def test_swagger_ui_renders_the_operations_and_calls_the_api_under_the_policy(page, live_server):
    ServiceFactory(name="billing.example.org", display_name="Биллинг")
    user = UserFactory(username="reader", roles=["author"])
    console, requests = [], []
    page.add_init_script(COLLECT)
    page.on("console", lambda message: console.append(message.text))
    page.on("request", lambda request: requests.append(request.url))
    login(page, user)

    # Given Swagger UI, opened by a signed-in user
    response = page.goto("/api/v1/docs/")
    assert "script-src 'self';" in response.headers["content-security-policy"] + ";"
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    assert operations.count() >= 10
    services = page.locator(".opblock-get", has=page.locator("[data-path='/api/v1/services/']"))
    expect(services).to_have_count(1)

    # When the services list is tried out with the session
    services.locator(".opblock-summary").click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()

    # Then the API answers, and nothing broke the policy or came from another host
    expect(services.locator(".live-responses-table tbody .response-col_status").first).to_have_text("200")
    expect(services.locator(".live-responses-table")).to_contain_text("billing.example.org")
    shot(page, "api-swagger-ui.png", full_page=False)
    violations = page.evaluate("window.__okno_csp")
    refused = [text for text in console if "Content Security Policy" in text or "Refused to" in text]
    assert not violations and not refused, violations + refused
    foreign = [url for url in requests if not url.startswith((live_server.url + "/", "data:", "blob:"))]
    assert not foreign, foreign


# ReDoc's sidebar always shows Redocly's logo from their CDN (no option turns it off): the policy blocks it
# before any request leaves, and ReDoc drops the image when it fails to load. The one violation a page expects.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def test_redoc_renders_under_the_policy(page, live_server):
    user = UserFactory(username="reader", roles=["author"])
    console, finished, failed = [], [], []
    page.add_init_script(COLLECT)
    page.on("console", lambda message: console.append(message.text))
    page.on("requestfinished", lambda request: finished.append(request.url))
    # Chromium may abort its own favicon fetch (net::ERR_ABORTED) while ReDoc lays out: not a load that failed.
    page.on(
        "requestfailed",
        lambda request: None if request.url.endswith("/favicon.svg") else failed.append(request.url),
    )
    login(page, user)

    page.goto("/api/v1/redoc/")

    # ReDoc lays out the whole schema before it shows anything: give a loaded machine time
    expect(page.get_by_text("Okno API").first).to_be_visible(timeout=30_000)
    expect(page.locator("[data-section-id^='tag/services']").first).to_be_attached()
    expect(page.locator("img[alt='redocly logo']")).to_have_count(0)  # dropped after the policy refused it
    shot(page, "api-redoc.png", full_page=False)
    violations = page.evaluate("window.__okno_csp")
    assert violations == [f"img-src {REDOC_LOGO}"], violations
    refused = [text for text in console if "Content Security Policy" in text or "Refused to" in text]
    assert all(REDOC_LOGO in text for text in refused), refused
    assert not [text for text in console if "Failed to load resource" in text], console
    foreign = [url for url in finished if not url.startswith((live_server.url + "/", "data:", "blob:"))]
    assert not foreign, foreign
    assert set(failed) <= {REDOC_LOGO}, failed
