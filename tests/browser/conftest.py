"""Browser tests: Playwright's Python package drives Debian's chromium against pytest-django's live server.

Chromium is never downloaded (`playwright install` cannot reach anything here): the system one is used.
Without /usr/bin/chromium the tests skip on a developer's machine and fail in CI.
"""

import os
import pathlib

import pytest

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls in such a
# thread unless told that it is safe (it is: the loop only talks to the browser).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("OKNO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SHOTS = pathlib.Path(os.environ.get("OKNO_SHOTS", "/tmp/okno-shots"))
FACTORY_PASSWORD = "okno-test-password"  # tests/factories.py UserFactory
DESKTOP = {"width": 1400, "height": 900}
# OKNO_BROWSER_LATENCY_MS=400 makes every page of every browser test a slow-network page (races hunt).
LATENCY_MS = int(os.environ.get("OKNO_BROWSER_LATENCY_MS", "0") or 0)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) for the browser tests"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_context(browser, live_server, transactional_db):
    """Open a fresh browser context (own cookies) on the live server; closed after the test."""
    from playwright.sync_api import expect

    # htmx round trips and WeasyPrint are fast here, but a loaded CI machine is not.
    expect.set_options(timeout=10_000)
    contexts = []

    def make(**kwargs):
        options = {"base_url": live_server.url, "accept_downloads": True, "viewport": DESKTOP, "locale": "ru-RU"}
        options.update(kwargs)
        context = browser.new_context(**options)
        context.set_default_timeout(15_000)
        if LATENCY_MS:
            context.on("page", lambda page: slow_network(page, LATENCY_MS))
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    # The pages' live streams are threads of the test server: end them before the test's database goes
    # (one that went on querying after its test aborted a whole run with "Database access not allowed").
    from execution.live_limits import stop_sync_streams

    stop_sync_streams(timeout=10)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"okno_{report.when}_failed", report.failed)
    return report


@pytest.fixture
def page(new_context, request):
    page = new_context().new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    if getattr(request.node, "okno_call_failed", False):
        # What the browser showed when the test failed, for whoever reads the failure.
        try:
            shot(page, f"failed-{request.node.name}.png", full_page=True)
        except Exception:  # noqa: BLE001 (a closed page must not hide the real failure)
            pass
    # A JavaScript exception on any page is a bug even when the test's assertions passed.
    assert not errors, f"JavaScript errors on the page: {errors}"


def login(page, user, password=FACTORY_PASSWORD):
    """Sign in through the login form and wait for the plan list."""
    username = user if isinstance(user, str) else user.get_username()
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    if "/login/" in page.url:
        raise AssertionError(f"could not sign in as {username}: still on {page.url}")
    return page


def shot(target, name, **kwargs):
    """Save a screenshot of a page or a locator for a human to look at (not asserted)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    target.screenshot(path=str(path), **kwargs)
    return path


def slow_network(page, latency_ms=400):
    """Make every request of the page take latency_ms longer (Chromium's own network emulation): answers
    land after the user's next action, as on a slow link, which is where races between them show."""
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": latency_ms, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    return page
