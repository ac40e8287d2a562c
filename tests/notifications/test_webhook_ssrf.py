"""Banner webhooks go only where the outbound guard allows (issue 11, finding 2): a listed name that
resolves to an internal address, odd address spellings and redirects never reach an internal server
(a real HTTP server on 127.0.0.1 that counts requests)."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings
from django.utils import translation

from changeplans import banners
from notifications import webhooks
from notifications.choices import EmailState
from notifications.models import WebhookDelivery
from tests.factories import ServiceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

SECRET = "nskes-banner-secret-0123456789"


class Counting:
    """An internal server: counts every request; answers 302 to `redirect_to` when set, else 200."""

    def __init__(self):
        self.hits = []
        self.redirect_to = ""
        counter = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                counter.hits.append((self.path, self.headers.get("Host")))
                self.send_response(302 if counter.redirect_to else 200)
                if counter.redirect_to:
                    self.send_header("Location", counter.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def internal():
    server = Counting()
    yield server
    server.stop()


@pytest.fixture
def other():
    server = Counting()
    yield server
    server.stop()


def deliver_to(url):
    service = ServiceFactory(banner_webhook_url=url, banner_webhook_secret=SECRET)
    delivery = webhooks.enqueue(
        "banner.shown", {"active": True}, url=url, subject=banners.webhook_subject(service.pk), key=f"banner:ssrf:{url}"
    )
    webhooks.deliver(delivery.pk)
    return WebhookDelivery.objects.get(pk=delivery.pk)


@pytest.mark.parametrize(
    "host",
    ["localhost", "LOCALHOST.", "0x7f000001", "2130706433", "017700000001", "127.1", "0.0.0.0", "[::ffff:127.0.0.1]"],
)
def test_a_listed_name_or_an_odd_spelling_never_reaches_an_internal_address(internal, host):
    # Given the administrator listed names (localhost among them) but no internal address
    with (
        override_settings(OKNO_WEBHOOK_ALLOWED_HOSTS=["localhost", "*.example.org", "0x7f000001", "2130706433"]),
        translation.override("en"),
    ):
        delivery = deliver_to(f"http://{host}:{internal.port}/okno/banner")
    # Then the delivery failed for good with the reason, and the internal server saw nothing
    assert internal.hits == []
    assert delivery.state == EmailState.FAILED and delivery.next_attempt_at is None
    assert "OKNO_WEBHOOK_ALLOWED_HOSTS" in delivery.last_error


def test_the_delivery_error_is_translated_and_names_the_address(internal):
    with override_settings(OKNO_WEBHOOK_ALLOWED_HOSTS=["localhost"]), translation.override("ru"):
        delivery = deliver_to(f"http://localhost:{internal.port}/okno/banner")
    assert internal.hits == []
    assert "127.0.0.1" in delivery.last_error and "OKNO_WEBHOOK_ALLOWED_HOSTS" in delivery.last_error
    assert "Okno не обращается" in delivery.last_error


@pytest.mark.parametrize("entry", ["127.0.0.1", "127.0.0.0/8"])
def test_a_listed_address_is_called(internal, entry):
    with override_settings(OKNO_WEBHOOK_ALLOWED_HOSTS=[entry]):
        delivery = deliver_to(f"http://0x7f000001:{internal.port}/okno/banner")
    assert delivery.state == EmailState.SENT
    assert internal.hits == [("/okno/banner", f"0x7f000001:{internal.port}")]


def test_a_listed_name_with_its_listed_address_is_called_with_its_host_header(internal):
    with override_settings(OKNO_WEBHOOK_ALLOWED_HOSTS=["localhost", "127.0.0.1", "::1"]):
        delivery = deliver_to(f"http://localhost:{internal.port}/okno/banner")
    assert delivery.state == EmailState.SENT
    assert internal.hits == [("/okno/banner", f"localhost:{internal.port}")]


def test_a_redirect_to_a_host_off_the_list_is_not_followed(internal, other):
    internal.redirect_to = f"http://localhost:{other.port}/steal"
    with override_settings(OKNO_WEBHOOK_ALLOWED_HOSTS=["127.0.0.1"]), translation.override("en"):
        delivery = deliver_to(f"http://127.0.0.1:{internal.port}/okno/banner")
    assert len(internal.hits) == 1 and other.hits == []
    assert (
        delivery.state == EmailState.FAILED
        and delivery.response_status == 302
        and "not followed" in delivery.last_error
    )


@pytest.fixture
def superuser_client(client, admin_user):
    client.force_login(admin_user)
    return client


@override_settings(OKNO_WEBHOOK_ALLOWED_HOSTS=["localhost", "hooks.nskes.ru"])
@pytest.mark.parametrize(
    "url", ["http://localhost:8080/hook", "http://127.0.0.1/hook", "http://169.254.169.254/latest", "http://[::1]/hook"]
)
def test_the_service_admin_refuses_an_internal_webhook_url(superuser_client, url):
    # Given a service; when an administrator saves an internal webhook URL
    service = ServiceFactory()
    change_url = f"/admin/changeplans/service/{service.pk}/change/"
    form = {
        "name": service.name,
        "display_name": service.display_name,
        "owner": "",
        "shows_banner": "on",
        "mailing_list": "",
        "announcement_from": "",
        "banner_origins": "",
        "banner_webhook_url": url,
        "banner_webhook_secret": SECRET,
    }
    with translation.override("en"):
        response = superuser_client.post(change_url, form, HTTP_ACCEPT_LANGUAGE="en")
    # Then the form comes back with the reason and what was typed; nothing is saved
    assert response.status_code == 200
    html = response.content.decode()
    assert "OKNO_WEBHOOK_ALLOWED_HOSTS" in html and url.replace("&", "&amp;") in html
    service.refresh_from_db()
    assert service.banner_webhook_url == ""
