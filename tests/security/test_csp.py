"""Finding 8: a Content-Security-Policy that the pages satisfy without inline scripts.

Every main page (as an administrator, on the demo plan and the shipped runbooks) carries the header,
its script-src allows no inline code and no eval, and its HTML holds no inline <script>, no on*= handler,
no javascript: URL and no hx-on. A scan of every template catches pages not rendered here.
"""

import importlib
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.conf import settings

from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

TEMPLATES = Path(settings.BASE_DIR) / "templates"
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json", "text/template"}
# The migration that ships the message templates (a module name starting with a digit: imported by name).
create_shipped_templates = importlib.import_module(
    "notifications.migrations.0004_default_message_templates"
).create_templates


def policy(response):
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{response.request['PATH_INFO']}: no Content-Security-Policy header"
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def has_trigger_filter(value):
    """`click[ctrlKey]` is evaluated as code; `from:input[name=q]` is only a CSS selector."""
    return any("[" in token and not token.startswith(("from:", "target:")) for token in re.split(r"[\s,]+", value))


class InlineCode(HTMLParser):
    """Collects what a strict script-src would block: inline scripts, event handler attributes, javascript: URLs."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name, value in attrs.items():
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            if name.startswith("hx-on"):
                self.found.append(f"<{tag} {name}=…>")
            if value and value.strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:…>")
            if (
                name in ("hx-vals", "hx-vars", "hx-headers")
                and value
                and value.strip().startswith(("js:", "javascript:"))
            ):
                self.found.append(f"<{tag} {name}=js:…>")
            if name == "hx-trigger" and value and has_trigger_filter(value):
                self.found.append(f"<{tag} hx-trigger={value!r}> (a filter needs eval)")
        if tag == "script" and "src" not in attrs and (attrs.get("type") or "").lower() not in DATA_SCRIPT_TYPES:
            self._in_inline_script = True

    def handle_endtag(self, tag):
        if tag == "script" and self._in_inline_script:
            self.found.append("inline <script>")
            self._in_inline_script = False


def inline_code(html):
    parser = InlineCode()
    parser.feed(html)
    return parser.found


@pytest.fixture
def shipped_templates(db):
    """The MessageTemplate rows as the migration ships them, made here rather than read from what the database
    holds: a transactional test's flush empties the table, and --reuse-db keeps it empty for the next run.

    Check by hand: run a transactional test (tests/notifications/test_sweeper.py), then this file with
    --reuse-db: without this fixture the main pages test fails with "the shipped message templates are
    missing"."""
    from notifications.models import MessageTemplate

    MessageTemplate.objects.all().delete()
    create_shipped_templates(django_apps, None)


@pytest.fixture
def demo(db, shipped_templates):
    from changeplans.models import Step
    from demo.plans import load_demo
    from runbooks import library

    plan = load_demo()
    library.install()
    step = Step.objects.filter(plan=plan).order_by("position").first()
    return plan, step


def main_pages(plan, step, admin):
    from runbooks import library
    from runbooks.models import Runbook

    shipped = Runbook.objects.order_by("pk").first()
    runbook = library.copy_runbook(shipped.pk, actor=admin) if shipped else None  # shipped ones are not edited in place
    pages = [
        "/plans/",
        "/plans/new/",
        f"/plans/{plan.pk}/",
        f"/plans/{plan.pk}/board/",
        f"/plans/{plan.pk}/announcements/",
        "/approvals/inbox/",
        "/runbooks/",
        "/runbooks/new/",
        "/runbooks/import/",
        f"/plans/{plan.pk}/steps/{step.pk}/automation/",
        "/admin/",
    ]
    if runbook is not None:
        pages += [f"/runbooks/{runbook.slug}/", f"/runbooks/{runbook.slug}/edit/"]
    from notifications.models import MessageTemplate

    template = MessageTemplate.objects.order_by("pk").first()
    assert template is not None, "the shipped message templates are missing"
    pages += [f"/admin/notifications/messagetemplate/{template.pk}/change/", "/admin/axes/accessattempt/"]
    return pages


def test_every_main_page_has_a_strict_policy_and_no_inline_code(client, demo):
    plan, step = demo
    # Also an approver: "Awaiting my sign-off" is only for those asked to sign (approvals.selectors.may_sign).
    admin = UserFactory(username="root", is_staff=True, is_superuser=True, roles=["admin", "approver"])
    client.force_login(admin)
    problems = {}
    for url in main_pages(plan, step, admin):
        response = client.get(url)
        assert response.status_code == 200, url
        directives = policy(response)
        script_src = directives.get("script-src", directives.get("default-src"))
        assert script_src == ["'self'"], (url, script_src)
        found = inline_code(response.content.decode())
        if found:
            problems[url] = found
    assert not problems, problems


def test_the_login_page_has_the_policy_and_no_inline_code(client):
    response = client.get("/login/")
    directives = policy(response)
    assert directives["script-src"] == ["'self'"]
    assert not inline_code(response.content.decode())


def test_the_policy_directives(client):
    directives = policy(client.get("/login/"))
    assert directives["default-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert set(directives["img-src"]) == {"'self'", "data:"}
    assert "'unsafe-eval'" not in " ".join(sum(directives.values(), []))


def test_htmx_is_told_not_to_evaluate_code(client):
    """hx-on, js: values and trigger filters would need eval: htmx is configured not to try."""
    html = client.get("/login/").content.decode()
    match = re.search(r'<meta name="htmx-config" content=\'([^\']*)\'', html)
    assert match, "no htmx-config meta tag"
    import json

    config = json.loads(match.group(1))
    assert config["allowEval"] is False


def test_no_template_holds_inline_code():
    problems = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        if "email" in path.parts or "pdf" in path.parts:
            continue  # e-mails and PDFs are not pages of the site
        text = path.read_text(encoding="utf-8")
        found = inline_code(text)
        found += [m.group(0) for m in re.finditer(r"\son[a-z]+\s*=", text)]
        if found:
            problems[str(path.relative_to(TEMPLATES))] = found
    assert not problems, problems


def test_public_banner_endpoints_stay_usable_from_other_origins(client, db):
    """Customers' sites load /banners/embed.js and read /banners/<service>.json from another origin."""
    from tests.factories import ServiceFactory

    service = ServiceFactory(name="lk", banner_origins="https://www.example.org")
    script = client.get("/banners/embed.js", HTTP_ORIGIN="https://www.example.org")
    assert script.status_code == 200
    assert script.headers.get("Cross-Origin-Resource-Policy", "cross-origin") == "cross-origin"
    data = client.get(f"/banners/{service.name}.json", HTTP_ORIGIN="https://www.example.org")
    assert data.status_code == 200
    assert data.headers["Access-Control-Allow-Origin"] == "https://www.example.org"
    assert data.headers.get("Cross-Origin-Resource-Policy", "cross-origin") == "cross-origin"
