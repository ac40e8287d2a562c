"""The OpenAPI schema, Swagger UI and ReDoc (api/views_docs.py, docs/api.md "Interactive documentation"): for
signed-in users, served from the project with no other host named, under the strict CSP. In Chromium:
tests/browser/test_api_docs.py."""

import re
import urllib.request
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
import yaml
from django.conf import settings
from django.contrib.staticfiles import finders
from django.templatetags.static import static

from api.choices import TokenScope
from api.tokens import issue_token
from tests.factories import UserFactory

PAGES = ["/api/v1/docs/", "/api/v1/redoc/"]
# Any absolute http(s) URL, and protocol-relative ones ("//cdn…") in attributes.
ABSOLUTE = re.compile(r"""(?:https?:)?//[\w.-]+(?::\d+)?""", re.IGNORECASE)


class References(HTMLParser):
    """Every URL a page loads: script src, link href, img src, and any other src/href."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "spec-url") and value:
                self.urls.append(value)


def references(html):
    parser = References()
    parser.feed(html)
    return parser.urls


def script_src(response):
    header = response["Content-Security-Policy"]
    return next(d.split()[1:] for d in header.split(";") if d.split()[:1] == ["script-src"])


# --- who may read them --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_pages_send_a_browser_without_a_session_to_the_login_page(client):
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url == f"/login/?next={url}"


@pytest.mark.django_db
def test_the_schema_answers_a_session_or_a_token_and_401_otherwise(client, author):
    response = client.get("/api/v1/schema/")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")

    plaintext = issue_token(author, name="docs", scope=TokenScope.READ, expires_at=None)[1]
    by_token = client.get("/api/v1/schema/", HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert by_token.status_code == 200
    client.force_login(author)
    schema = yaml.safe_load(client.get("/api/v1/schema/").content)
    assert schema["openapi"].startswith("3.") and schema["info"]["title"] == "Okno API"
    assert "/api/v1/schema/" not in schema["paths"]  # the schema does not describe itself
    assert {"/api/v1/services/", "/api/v1/plans/{id}/history/", "/api/v1/runs/{id}/"} <= set(schema["paths"])
    json_schema = client.get("/api/v1/schema/", {"format": "json"})
    assert json_schema.status_code == 200 and json_schema.json()["openapi"] == schema["openapi"]


@pytest.mark.django_db
def test_the_schema_has_russian_and_english_examples(client, author):
    client.force_login(author)
    schema = yaml.safe_load(client.get("/api/v1/schema/").content)
    service = schema["paths"]["/api/v1/services/{id}/"]["get"]["responses"]["200"]["content"]["application/json"]
    names = {example["value"]["display_name"] for example in service["examples"].values()}
    assert names == {"Биллинг", "Billing"}
    listed = schema["paths"]["/api/v1/services/"]["get"]["responses"]["200"]["content"]["application/json"]
    pages = [example["value"] for example in listed["examples"].values()]
    assert {body["results"][0]["display_name"] for body in pages} == {"Биллинг", "Billing"}  # in a cursor page
    root = schema["paths"]["/api/v1/"]["get"]["responses"]
    refusals = {
        example["value"]["detail"] for example in root["401"]["content"]["application/json"]["examples"].values()
    }
    assert refusals == {"Учетные данные не были предоставлены.", "Authentication credentials were not provided."}


# --- no other host, strict CSP --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_pages_name_no_other_host_and_keep_the_strict_policy(client, author):
    client.force_login(author)
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert not ABSOLUTE.findall(html), f"{url} names a host: {ABSOLUTE.findall(html)}"
        assert script_src(response) == ["'self'"], url
        assert "<script>" not in html and "<script >" not in html, f"{url} has an inline script"
        loaded = references(html)
        assert loaded, url
        for ref in loaded:
            path = urlsplit(urljoin("http://testserver" + url, ref)).path
            if path.startswith(static("")):
                # A static file of the project (drf-spectacular-sidecar's): collectstatic ships it.
                assert finders.find(path.removeprefix(static(""))), ref
            else:
                assert client.get(ref if ref.startswith("/") else urljoin(url, ref)).status_code == 200, ref

    # Swagger UI's start-up script is a file of its own (no inline script), naming no host either
    script = client.get("/api/v1/docs/", {"script": ""})
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    body = script.content.decode()
    assert "SwaggerUIBundle" in body and '"validatorUrl": null' in body
    assert not ABSOLUTE.findall(body), ABSOLUTE.findall(body)


def test_every_file_the_pages_load_comes_from_the_live_server(live_server, client, transactional_db):
    # The real server (static files included): the pages and every script, style and icon they load.
    user = UserFactory(username="reader", roles=["author"])
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"

    def fetch(url):
        request = urllib.request.Request(url, headers={"Cookie": cookie})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()

    for url in PAGES:
        status, html = fetch(live_server.url + url)
        assert status == 200
        for ref in references(html.decode()):
            absolute = urljoin(live_server.url + url, ref)
            assert absolute.startswith(live_server.url + "/"), absolute
            status, content = fetch(absolute)
            assert status == 200 and content, absolute
