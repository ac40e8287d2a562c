"""The embeddable banner in a real browser: a customer's page on another origin embeds
/banners/embed.js from Okno's live server; the banner appears when the plan's "banner on" step fires
at the window's start and disappears when its "banner off" step fires at the end.

The steps are fired by the durable scheduler, `scheduler.run_due()` in a background thread (as
`manage.py run_scheduler` does); the Celery worker path is covered by tests/integration.
"""

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from playwright.sync_api import expect

from changeplans import banners
from changeplans.choices import PlanStatus, StepKind, StepStatus
from changeplans.models import Plan, PlanService, Step
from execution import automatic_steps
from notifications import scheduler
from notifications.models import ScheduledAction
from tests.browser.conftest import shot
from tests.factories import PlanFactory, ServiceFactory, StepFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

TEXT = (
    "Уважаемые клиенты! 20.03.2025 с 20:00 до 23:05 (НСК) проводятся плановые работы. "
    "Личный кабинет может быть недоступен. Приносим извинения за неудобства!"
)


def approved_plan_with_banner_steps(service, *, on_in, off_in):
    """An approved plan on `service` whose "banner on" / "banner off" steps start `on_in` / `off_in` seconds
    from now."""
    now = timezone.now()
    plan = PlanFactory(
        window_start=now + timedelta(seconds=on_in), window_end=now + timedelta(seconds=off_in), banner_text=TEXT
    )
    PlanService.objects.create(plan=plan, service=service)
    steps = {}
    for position, (kind, seconds) in enumerate(((StepKind.BANNER_ON, on_in), (StepKind.BANNER_OFF, off_in)), start=1):
        local = (now + timedelta(seconds=seconds)).astimezone(plan.tz)
        steps[kind] = StepFactory(
            plan=plan,
            position=position,
            kind=kind,
            name=kind.label,
            planned_date=local.date(),
            planned_time=local.time(),
        )
    Plan.objects.filter(pk=plan.pk).update(status=PlanStatus.APPROVED)
    automatic_steps.sync_plan(plan.pk)
    return plan, steps


def fired_at(step):
    row = ScheduledAction.objects.get(key=automatic_steps.step_key(step.pk))
    return row.fired_at.timestamp() if row.fired_at else None


PAGE = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Инфосайт НЭС</title>
<style>body {{ margin: 0; font-family: sans-serif; }} header {{ background: #0b4f8a; color: #fff; padding: 16px; }}
main {{ padding: 16px; }}</style></head>
<body><header><h1 id="site-title">Инфосайт НЭС</h1></header>
<main><p>Оплата электроэнергии, показания счётчиков, личный кабинет.</p></main>
<script>
  window.oknoEvents = [];
  document.addEventListener("okno:banner", function (event) {{
    window.oknoEvents.push({{active: event.detail.active, text: event.detail.text, at: Date.now()}});
  }});
</script>
<script src="{okno}/banners/embed.js" data-service="www.nskes.ru" data-interval="1" async></script>
</body></html>
"""


class Site:
    """A customer's site: one static page on its own origin (127.0.0.1, a port of its own)."""

    def __init__(self, okno_url):
        html = PAGE.format(okno=okno_url).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(html)))
                self.end_headers()
                self.wfile.write(html)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sites(live_server):
    started = []

    def start():
        site = Site(live_server.url)
        started.append(site)
        return site

    yield start
    for site in started:
        site.stop()


@pytest.fixture
def scheduler_thread(transactional_db):
    """`run_due()` in a loop in a thread of its own (its own database connection), like run_scheduler."""
    stop, errors = threading.Event(), []

    def loop():
        try:
            while not stop.is_set():
                scheduler.run_due()
                stop.wait(0.05)
        except Exception as exc:  # noqa: BLE001 (reported by the test)
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield errors
    stop.set()
    thread.join(5)


def json_response(response):
    return response.url.endswith("/banners/www.nskes.ru.json")


@override_settings(OKNO_BANNER_CACHE_SECONDS=1)
def test_banner_appears_when_shown_and_disappears_when_hidden(page, new_context, sites, scheduler_thread):
    cache.clear()
    site, stranger = sites(), sites()
    # Given the service lists the customer's site (and only it) as a banner origin
    service = ServiceFactory(
        name="www.nskes.ru", display_name="Инфосайт", banner_origins=f"{site.origin}\nhttps://www.nskes.ru"
    )
    assert site.origin != stranger.origin

    # When the customer's page loads, it asks Okno and shows nothing (no banner yet)
    with page.expect_response(json_response) as first:
        page.goto(site.origin + "/")
    assert first.value.status == 200 and first.value.json()["active"] is False
    assert first.value.headers["access-control-allow-origin"] == site.origin
    expect(page.locator(".okno-banner")).to_have_count(0)

    # And a page on an origin the service does not list is refused by the browser (CORS)
    other = new_context().new_page()
    with other.expect_console_message(lambda message: "CORS" in message.text):
        other.goto(stranger.origin + "/")

    # When an approved plan's window opens in 2 s ("banner on") and closes 8 s from now ("banner off")
    plan, steps = approved_plan_with_banner_steps(service, on_in=2, off_in=8)
    on, off = steps[StepKind.BANNER_ON], steps[StepKind.BANNER_OFF]

    # Then the banner appears on the page: fixed at the top, role=status, the text as text
    bar = page.locator(".okno-banner")
    expect(bar).to_be_visible(timeout=8_000)
    expect(bar).to_have_attribute("role", "status")
    expect(bar.locator(".okno-banner-text")).to_have_text(TEXT)
    assert bar.evaluate("el => getComputedStyle(el.parentNode).position") == "fixed"
    box = bar.bounding_box()
    assert box["y"] == 0 and box["width"] == page.viewport_size["width"]
    # the page's own header is pushed below the banner, not hidden under it
    assert page.locator("#site-title").bounding_box()["y"] >= box["height"]
    shot(page, "banner-embed-desktop.png")
    assert fired_at(on) and not fired_at(off)
    assert Step.objects.get(pk=on.pk).status == StepStatus.DONE

    # And on a phone the text wraps inside the screen
    phone = new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    phone.goto(site.origin + "/")
    phone_bar = phone.locator(".okno-banner")
    expect(phone_bar).to_be_visible()
    phone_box = phone_bar.bounding_box()
    assert phone_box["width"] <= 390 and phone_box["height"] > 40
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "banner-embed-phone.png")

    # The page on the refused origin never showed it
    expect(other.locator(".okno-banner")).to_have_count(0)

    # When the hide action fires, the banner disappears and the page's layout is as before
    expect(bar).to_have_count(0, timeout=12_000)
    expect(page.locator("#okno-banners-spacer")).to_have_count(0)
    assert Step.objects.get(pk=off.pk).status == StepStatus.DONE
    events = page.evaluate("window.oknoEvents")
    assert [(e["active"], e["text"]) for e in events] == [(True, TEXT), (False, "")]
    shown_after, hidden_after = events[0]["at"] / 1000 - fired_at(on), events[1]["at"] / 1000 - fired_at(off)
    print(
        f"\nbanner delays (data-interval=1, max-age=1): shown in the browser {shown_after:.2f} s "
        "after the 'banner on' step fired, "
        f"gone {hidden_after:.2f} s after 'banner off' fired"
    )
    assert 0 < shown_after < 5 and 0 < hidden_after < 5
    assert scheduler_thread == []


@override_settings(OKNO_BANNER_CACHE_SECONDS=1)
def test_a_visitor_may_close_the_banner_until_a_new_one_is_shown(page, sites, transactional_db):
    cache.clear()
    site = sites()
    service = ServiceFactory(name="www.nskes.ru", display_name="Инфосайт", banner_origins=site.origin)
    banners.show(service, text=TEXT)
    # Given the banner is up on the customer's page
    page.goto(site.origin + "/")
    bar = page.locator(".okno-banner")
    expect(bar).to_be_visible()
    # When the visitor closes it, it stays closed across polls and a reload of the tab
    page.get_by_role("button", name="Скрыть объявление").click()
    expect(bar).to_have_count(0)
    with page.expect_response(json_response) as answer:
        page.reload()
    assert answer.value.json()["active"] is True
    with page.expect_response(json_response):
        pass  # one more poll with the banner still active
    expect(bar).to_have_count(0)
    # Then a new banner (another text) is shown again
    banners.show(service, text="Работы продлены до 23:30 (НСК).")
    expect(bar.locator(".okno-banner-text")).to_have_text("Работы продлены до 23:30 (НСК).")
