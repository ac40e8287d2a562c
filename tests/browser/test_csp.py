"""The Content-Security-Policy in Chromium: the plan page, the board, the editors and the announcement
previews run with no policy violation, and their HTMX actions and small behaviours still work.

Violations are caught twice: the console messages Chromium prints ("Refused to execute inline script …")
and the page's own `securitypolicyviolation` events, gathered by a script Playwright adds before the page's.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from changeplans.choices import PlanStatus
from changeplans.models import Plan, PlanService
from tests.browser.conftest import login, shot
from tests.factories import PartyFactory, PlanFactory, RiskFactory, ServiceFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

# The backslash is Python's line continuation: the script keeps its one line for the push().
COLLECT = """
window.__okno_csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__okno_csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + \
(e.sourceFile || "") + ":" + e.lineNumber);
});
"""


class Violations:
    def __init__(self, page):
        self.page = page
        self.console = []
        page.add_init_script(COLLECT)
        page.on("console", self._console)

    def _console(self, message):
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text or "Refused to" in text:
            self.console.append(text)

    def assert_none(self, where):
        events = self.page.evaluate("window.__okno_csp || []")
        assert not self.console and not events, f"{where}: policy violations: {self.console + events}"


def visit(page, url):
    """Open a page and check that it came with the strict policy (no inline or eval'd script)."""
    response = page.goto(url)
    header = response.headers.get("content-security-policy") or ""
    script_src = next((d.split()[1:] for d in header.split(";") if d.split()[:1] == ["script-src"]), None)
    assert script_src == ["'self'"], f"{url}: script-src is {script_src!r} in {header!r}"
    return response


@pytest.fixture
def csp_page(page):
    violations = Violations(page)
    page.violations = violations
    return page


def test_the_plan_page_and_its_editor_work_under_the_policy(csp_page, transactional_db):
    page = csp_page
    author = UserFactory(username="editor", roles=["author"])
    plan = PlanFactory(author=author, title="Обновление ingress-nginx")
    step = StepFactory(plan=plan, position=1, name="Шаг первый")
    RiskFactory(step=step, number=1, description="Под не стартует")
    login(page, author)
    visit(page, f"/plans/{plan.pk}/")

    # An HTMX action: edit a cell inline and save it
    cell = page.locator(f"#cell-{step.pk}-name")
    cell.click()
    editor = cell.locator(".okno-cell-form [name=value]")
    expect(editor).to_be_visible()
    editor.fill("Шаг переименован")
    # Clicks inside the open editor keep it (no eval'd trigger filter decides that any more)
    editor.click()
    expect(editor).to_have_value("Шаг переименован")
    cell.locator(".okno-cell-form button[type=submit]").click()
    expect(page.locator(f"#cell-{step.pk}-name")).to_contain_text("Шаг переименован")
    expect(page.locator(f"#cell-{step.pk}-name .okno-cell-form")).to_have_count(0)

    # The risk panel opens through HTMX and its close button (data-okno-close, no onclick) empties it
    page.locator(f"#step-{step.pk} td.okno-risks").click()
    panel = page.locator(".okno-risks-form")
    expect(panel).to_be_visible()
    panel.locator("button.btn-close").click()
    expect(panel).to_have_count(0)
    page.violations.assert_none("plan page")


def test_the_board_works_under_the_policy(csp_page, transactional_db):
    page = csp_page
    author = UserFactory(username="author", roles=["author"])
    duty = UserFactory(username="duty", last_name="Иванов", first_name="П.С.", roles=["duty_officer"])
    start = (timezone.now() - timedelta(minutes=3)).replace(second=0, microsecond=0)
    plan = PlanFactory(
        author=author, title="Установка Calico", window_start=start, window_end=start + timedelta(hours=3)
    )
    Plan.objects.filter(pk=plan.pk).update(status=PlanStatus.APPROVED)
    local = start.astimezone(plan.tz)
    StepFactory(
        plan=plan,
        position=1,
        name="Бэкап etcd",
        executor=PartyFactory(name="Дежурный"),
        planned_date=local.date(),
        planned_time=local.time(),
    )
    login(page, duty)
    visit(page, f"/plans/{plan.pk}/board/")
    expect(page.locator("#board")).to_have_attribute("data-plan-id", str(plan.pk))
    # An HTMX action on the board: start the work
    page.locator("#start-plan").click()
    expect(page.locator("#board-plan-status .okno-status")).to_have_attribute("data-status", "in_progress")
    page.violations.assert_none("board")


def test_the_automation_editor_confirms_a_delete_without_inline_handlers(csp_page, transactional_db):
    from runbooks.models import StepAutomation

    page = csp_page
    author = UserFactory(username="editor", roles=["author"])
    plan = PlanFactory(author=author, title="План с автоматизацией")
    step = StepFactory(plan=plan, position=1, name="Перезапуск")
    StepAutomation.objects.create(step=step, kind="shell", spec={"argv": ["true"]}, params={}, timeout_seconds=60)
    login(page, author)
    visit(page, f"/plans/{plan.pk}/steps/{step.pk}/automation/")
    delete = page.locator("button[name=delete]")
    expect(delete).to_be_visible()
    questions = []

    # The user says no: the automation stays
    def dismiss(dialog):
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    delete.click()
    expect(delete).to_be_visible()
    assert questions and questions[0]
    assert StepAutomation.objects.filter(step=step).exists()

    # The user says yes: it is deleted
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        delete.click()
    assert not StepAutomation.objects.filter(step=step).exists()
    page.violations.assert_none("automation editor")


def test_the_runbook_editor_and_the_announcement_previews_work_under_the_policy(csp_page, transactional_db, settings):
    from runbooks import library
    from runbooks.models import Runbook

    settings.OKNO_ANNOUNCEMENT_RECIPIENTS = ["it.info@example.org"]
    page = csp_page
    author = UserFactory(username="author", roles=["author"])
    library.install()
    runbook = library.copy_runbook(
        Runbook.objects.order_by("pk").first().pk, actor=author
    )  # shipped ones are read-only
    plan = PlanFactory(
        author=author,
        title="Обновление кластера",
        status=PlanStatus.APPROVED,
        client_impact=True,
        responsible=PartyFactory(name="Хасанов А.И.", contact="+7 (913) 712-71-78"),
    )
    PlanService.objects.create(plan=plan, service=ServiceFactory(display_name="Инфосайт"))
    login(page, author)

    visit(page, f"/runbooks/{runbook.slug}/edit/")
    expect(page.locator("main form")).to_be_visible()
    page.violations.assert_none("runbook editor")

    # The previews are sandboxed srcdoc frames: they inherit the policy and still render
    visit(page, f"/plans/{plan.pk}/announcements/")
    frame = page.frame_locator("#preview-announcement iframe")
    expect(frame.locator("body")).to_contain_text("Хасанов А.И.")
    page.violations.assert_none("announcements page")


def test_an_inline_script_would_be_reported(csp_page, live_server, transactional_db):
    """The detector can fail: an inline script injected into a page is blocked and reported."""
    page = csp_page
    visit(page, "/login/")
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1'; "
        "document.body.appendChild(s); }"
    )
    page.wait_for_function("window.__okno_csp.length > 0")
    assert page.evaluate("window.__ran") is None
    with pytest.raises(AssertionError, match="policy violations"):
        page.violations.assert_none("login page")


def test_the_admin_asks_before_resetting_a_message_template(csp_page, transactional_db):
    from notifications.models import MessageTemplate

    page = csp_page
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    MessageTemplate.objects.filter(
        kind="completion", language="ru"
    ).delete()  # flushed or shipped: start from one we know
    template = MessageTemplate.objects.create(
        kind="completion", language="ru", subject="Изменённая тема", text="Работы завершены."
    )
    visit(page, "/admin/login/")
    page.fill("#id_username", admin.username)
    page.fill("#id_password", "okno-test-password")
    with page.expect_navigation():
        page.locator("input[type=submit], button[type=submit]").first.click()
    url = f"/admin/notifications/messagetemplate/{template.pk}/change/"
    visit(page, url)
    questions = []

    def dismiss(dialog):
        questions.append(dialog.message)
        dialog.dismiss()

    # The administrator says no: nothing is reset
    page.once("dialog", dismiss)
    page.locator("button[name=_reset]").click()
    assert questions and questions[0]
    assert MessageTemplate.objects.get(pk=template.pk).subject == "Изменённая тема"
    assert page.url.endswith(url)
    page.violations.assert_none("admin message template")


def test_the_lockout_page_in_the_browser(csp_page, transactional_db):
    """Guessing through the real login form ends on the lockout page, in the site's layout, under the policy."""
    from django.conf import settings

    page = csp_page
    user = UserFactory(username="victim")
    for n in range(settings.OKNO_LOGIN_FAILURE_LIMIT):
        visit(page, "/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", f"wrong-{n}")
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()
    visit(page, "/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "okno-test-password")
    with page.expect_navigation() as navigation:
        page.locator("main form button[type=submit]").click()
    assert navigation.value.status == 429
    expect(page.locator("#okno-lockout")).to_contain_text("Слишком много неудачных попыток входа")
    expect(page.locator("nav.okno-navbar")).to_be_visible()
    shot(page, "login-lockout.png", full_page=True)
    page.violations.assert_none("lockout page")
