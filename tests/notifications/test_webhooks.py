"""Banner webhooks against a real HTTP server (http.server in a thread on 127.0.0.1): signature,
allow-list, timeout, retries with back-off, no redirects, permanent failures, delivery groups."""

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings
from django.utils import timezone, translation

from changeplans import banners
from notifications import groups, tasks, webhooks
from notifications.choices import EmailState
from notifications.models import WebhookDelivery
from tests.factories import PlanFactory, ServiceFactory
from tests.waiting import lock_waits_fail, row_locked_elsewhere

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

SECRET = "nskes-banner-secret-0123456789"
TEXT = "Уважаемые клиенты! 20.03.2025 с 20:00 до 23:05 проводятся плановые работы."


class Receiver:
    """A service's banner API: records every request; answers what the test put in `answers`."""

    def __init__(self):
        self.requests = []
        self.answers = []  # (status, headers) per request, in order; then 200
        self.release = threading.Event()  # a "slow" answer waits for this
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                receiver.arrived.set()
                status, headers = receiver.answers.pop(0) if receiver.answers else (200, {})
                if status == "slow":
                    receiver.release.wait(10)
                    status = 200
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                payload = b'{"ok": true}' if status < 300 else f"error {status}".encode()
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/okno/banner"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def english():
    """Refusal reasons are asserted in their English source text (tests/notifications/test_webhook_ssrf.py
    checks Russian)."""
    with translation.override("en"):
        yield


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def allowed():
    with override_settings(
        OKNO_WEBHOOK_ALLOWED_HOSTS=["127.0.0.1"],
        OKNO_WEBHOOK_TIMEOUT_SECONDS=2,
        OKNO_WEBHOOK_RETRY_SECONDS=30,
        OKNO_WEBHOOK_MAX_ATTEMPTS=3,
    ):
        yield


@pytest.fixture
def service(receiver):
    return ServiceFactory(
        name="www.nskes.ru", display_name="Инфосайт", banner_webhook_url=receiver.url, banner_webhook_secret=SECRET
    )


@pytest.fixture
def heard():
    """A group listener registered like the domain apps register theirs."""
    calls = []

    def listener(group, ok):
        calls.append((group, ok))

    groups.listeners.append(listener)
    yield calls
    groups.listeners.remove(listener)


def queue(service, key="banner:test:banner.shown", group="plan:1:step:2", **payload):
    return webhooks.enqueue(
        "banner.shown",
        {"service": service.name, "active": True, "text": TEXT, **payload},
        url=service.banner_webhook_url,
        subject=banners.webhook_subject(service.pk),
        key=key,
        group=group,
    )


def reload(delivery):
    return WebhookDelivery.objects.get(pk=delivery.pk)


def test_banner_change_reaches_the_receiver_signed(
    allowed, receiver, service, heard, django_capture_on_commit_callbacks
):
    # Given a service with a webhook; when its banner is shown (delivery runs after commit)
    plan = PlanFactory(title="Установка сетевого плагина Calico в кластере Kubernetes PROD")
    with django_capture_on_commit_callbacks(execute=True):
        banner = banners.show(service, text=TEXT, plan=plan, group="plan:1:step:3")
    # Then the receiver got one POST whose signature verifies with the shared secret
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    headers = request["headers"]
    assert request["path"] == "/okno/banner"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert headers["X-Okno-Event"] == "banner.shown"
    assert headers["X-Okno-Delivery"] == f"banner:{banner.pk}:banner.shown"
    timestamp = headers["X-Okno-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    expected = (
        "sha256=" + hmac.new(SECRET.encode(), f"{timestamp}.{request['body']}".encode(), hashlib.sha256).hexdigest()
    )
    assert hmac.compare_digest(headers["X-Okno-Signature"], expected)
    wrong = (
        "sha256=" + hmac.new(b"another secret", f"{timestamp}.{request['body']}".encode(), hashlib.sha256).hexdigest()
    )
    assert headers["X-Okno-Signature"] != wrong
    body = json.loads(request["body"])
    assert (body["event"], body["service"], body["active"], body["text"]) == (
        "banner.shown",
        "www.nskes.ru",
        True,
        TEXT,
    )
    assert body["plan"] == {"id": plan.pk, "title": "Установка сетевого плагина Calico в кластере Kubernetes PROD"}
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.response_status, delivery.last_error) == (
        EmailState.SENT,
        1,
        200,
        "",
    )
    assert heard == [("plan:1:step:3", True)]

    # When it is hidden, the receiver hears that too
    with django_capture_on_commit_callbacks(execute=True):
        banners.hide(service, plan=plan)
    assert [r["headers"]["X-Okno-Event"] for r in receiver.requests] == ["banner.shown", "banner.hidden"]
    assert json.loads(receiver.requests[1]["body"])["active"] is False


def test_sign_is_the_documented_hmac():
    assert (
        webhooks.sign("secret", "1700000000", '{"a":1}')
        == "sha256=" + hmac.new(b"secret", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    )


def test_deliver_twice_posts_once(allowed, receiver, service):
    delivery = queue(service)
    assert webhooks.deliver(delivery.pk) is True
    assert webhooks.deliver(delivery.pk) is False
    assert tasks.deliver_webhook(delivery.pk) is False  # the Celery task is the same call
    assert len(receiver.requests) == 1


@pytest.mark.django_db(transaction=True)
def test_a_delivery_another_deliverer_holds_is_skipped_without_waiting(allowed, receiver, service, monkeypatch):
    """SKIP LOCKED in `deliver`: a row another deliverer holds (it is calling the receiver now) is not ours.

    Break it by hand: in notifications/webhooks.py `deliver`, change `select_for_update(skip_locked=True)` to
    `select_for_update()`. The second deliverer then waits for the lock; lock_timeout turns that wait into an
    OperationalError and the test fails at once (without lock_timeout it would only pass later, after the
    holder let go, and post a second time)."""
    # Given a queued delivery (not handed over at commit: this test plays the deliverers) and another process
    # holding its row's lock (it is sending it)
    monkeypatch.setattr(webhooks, "hand_over", lambda delivery_id: None)
    delivery = queue(service)
    with row_locked_elsewhere(WebhookDelivery, delivery.pk), lock_waits_fail():
        # When a second deliverer is handed the same row, it passes over it instead of waiting or posting
        assert webhooks.deliver(delivery.pk) is False
    # Then nothing was posted and the row is as the holder left it: queued, no attempt counted by us
    assert receiver.requests == []
    delivery = reload(delivery)
    assert (delivery.state, delivery.attempts) == (EmailState.QUEUED, 0)


def test_enqueue_twice_keeps_one_row(allowed, receiver, service):
    first = queue(service)
    assert queue(service, text="другой").pk == first.pk
    assert WebhookDelivery.objects.count() == 1


@override_settings(OKNO_WEBHOOK_ALLOWED_HOSTS=["hooks.nskes.ru", "*.example.org"])
def test_a_host_off_the_allow_list_is_refused_without_a_request(receiver, service, heard):
    delivery = queue(service)
    assert webhooks.deliver(delivery.pk) is False
    delivery = reload(delivery)
    assert delivery.state == EmailState.FAILED and delivery.next_attempt_at is None
    assert "Host “127.0.0.1” is not on OKNO_WEBHOOK_ALLOWED_HOSTS" in delivery.last_error
    assert receiver.requests == []
    # For good: the sweeper does not try again, and the group has settled as failed
    assert webhooks.deliver_due(now=timezone.now() + timedelta(days=1))["requeued"] == 0
    assert receiver.requests == [] and heard == [("plan:1:step:2", False)]


@override_settings(OKNO_WEBHOOK_ALLOWED_HOSTS=["hooks.nskes.ru", "*.example.org", "Banner.Platosfera.RU"])
@pytest.mark.parametrize(
    ("host", "ok"),
    [
        ("hooks.nskes.ru", True),
        ("HOOKS.nskes.ru", True),
        ("a.example.org", True),
        ("a.b.example.org", True),
        ("banner.platosfera.ru", True),
        ("example.org", False),
        ("evilexample.org", False),
        ("hooks.nskes.ru.evil.org", False),
        ("nskes.ru", False),
        ("", False),
        (None, False),
    ],
)
def test_allow_list_matching(host, ok):
    assert webhooks.host_allowed(host) is ok


@override_settings(OKNO_WEBHOOK_ALLOWED_HOSTS=["hooks.nskes.ru"])
@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://hooks.nskes.ru/x", "https://"),
        ("https://user:pw@hooks.nskes.ru/x", "password"),
        ("https://hooks.nskes.ru:99999/x", "not a valid URL"),
        ("https://hooks.nskes.ru:8443/banner", None),
    ],
)
def test_url_checks(url, reason):
    if reason is None:
        webhooks.check_url(url)  # a port is fine
    else:
        with pytest.raises(webhooks.PermanentError, match=reason):
            webhooks.check_url(url)


def test_a_slow_receiver_hits_the_timeout_and_is_tried_again(allowed, receiver, service):
    # Given a receiver that answers the first call only after the timeout
    receiver.answers = [("slow", {})]
    delivery = queue(service)
    with override_settings(OKNO_WEBHOOK_TIMEOUT_SECONDS=0.3):
        assert webhooks.deliver(delivery.pk) is False
    receiver.release.set()
    delivery = reload(delivery)
    assert delivery.state == EmailState.FAILED and delivery.attempts == 1
    assert "timed out after 0.3 s" in delivery.last_error
    assert delivery.next_attempt_at is not None
    # When the sweeper runs after the back-off, it is tried again and sent
    result = webhooks.deliver_due(now=delivery.next_attempt_at + timedelta(seconds=1))
    assert result == {"requeued": 1, "gave_up": 0, "sent": 1, "not_sent": 0}
    delivery = reload(delivery)
    assert (delivery.state, delivery.attempts) == (EmailState.SENT, 2)
    # Both attempts carried the same delivery key, so the receiver can fold a duplicate
    assert len({r["headers"]["X-Okno-Delivery"] for r in receiver.requests}) == 1 and len(receiver.requests) == 2


def test_500_then_200_is_sent_on_the_second_attempt_after_the_back_off(allowed, receiver, service, heard):
    receiver.answers = [(500, {})]
    delivery = queue(service)
    before = timezone.now()
    assert webhooks.deliver(delivery.pk) is False
    delivery = reload(delivery)
    assert (delivery.state, delivery.response_status, delivery.attempts) == (EmailState.FAILED, 500, 1)
    assert "HTTP 500" in delivery.last_error and "error 500" in delivery.last_error
    # The back-off is OKNO_WEBHOOK_RETRY_SECONDS after the first failure
    assert timedelta(seconds=29) < delivery.next_attempt_at - before < timedelta(seconds=32)
    assert heard == []  # not settled yet
    # Before the back-off has passed nothing is tried
    assert webhooks.deliver_due(now=delivery.next_attempt_at - timedelta(seconds=1))["requeued"] == 0
    assert len(receiver.requests) == 1
    # After it, the second attempt is sent
    assert webhooks.deliver_due(now=delivery.next_attempt_at + timedelta(seconds=1))["sent"] == 1
    delivery = reload(delivery)
    assert (delivery.state, delivery.attempts, delivery.response_status, delivery.last_error) == (
        EmailState.SENT,
        2,
        200,
        "",
    )
    assert len(receiver.requests) == 2 and heard == [("plan:1:step:2", True)]


def test_back_off_doubles_and_gives_up_at_the_cap(allowed, receiver, service, heard):
    receiver.answers = [(503, {}), (429, {}), (502, {})]
    delivery = queue(service)
    waits = []
    now = timezone.now()
    webhooks.deliver(delivery.pk)
    for _ in range(2):
        delivery = reload(delivery)
        waits.append(round((delivery.next_attempt_at - timezone.now()).total_seconds()))
        now = delivery.next_attempt_at + timedelta(seconds=1)
        webhooks.deliver_due(now=now)
    delivery = reload(delivery)
    assert waits == [30, 60]
    # Third failure with OKNO_WEBHOOK_MAX_ATTEMPTS=3: given up
    assert (delivery.state, delivery.attempts, delivery.next_attempt_at, delivery.response_status) == (
        EmailState.FAILED,
        3,
        None,
        502,
    )
    assert webhooks.deliver_due(now=now + timedelta(days=1)) == {"requeued": 0, "gave_up": 0, "sent": 0, "not_sent": 0}
    assert len(receiver.requests) == 3 and heard == [("plan:1:step:2", False)]


def test_a_redirect_is_not_followed(allowed, receiver, service, heard):
    receiver.answers = [(302, {"Location": f"http://127.0.0.1:{receiver.port}/elsewhere"})]
    delivery = queue(service)
    assert webhooks.deliver(delivery.pk) is False
    delivery = reload(delivery)
    assert [r["path"] for r in receiver.requests] == ["/okno/banner"]
    assert delivery.state == EmailState.FAILED and delivery.next_attempt_at is None and delivery.response_status == 302
    assert "redirect" in delivery.last_error and "/elsewhere" in delivery.last_error
    assert heard == [("plan:1:step:2", False)]


def test_a_404_fails_for_good(allowed, receiver, service, heard):
    receiver.answers = [(404, {})]
    delivery = queue(service)
    webhooks.deliver(delivery.pk)
    delivery = reload(delivery)
    assert (delivery.state, delivery.response_status, delivery.next_attempt_at) == (EmailState.FAILED, 404, None)
    assert "HTTP 404" in delivery.last_error
    assert webhooks.deliver_due(now=timezone.now() + timedelta(days=1))["requeued"] == 0
    assert len(receiver.requests) == 1 and heard == [("plan:1:step:2", False)]


def test_a_refused_connection_is_retried(allowed, service):
    # Given the receiver is down (a port bound but not listening)
    import socket

    with socket.socket() as down:
        down.bind(("127.0.0.1", 0))
        service.banner_webhook_url = f"http://127.0.0.1:{down.getsockname()[1]}/okno/banner"
        service.save()
        delivery = queue(service)
        webhooks.deliver(delivery.pk)
    delivery = reload(delivery)
    assert delivery.state == EmailState.FAILED and delivery.next_attempt_at is not None
    assert "Connection" in delivery.last_error or "refused" in delivery.last_error


def test_a_service_without_a_secret_is_not_called(allowed, receiver, service, heard):
    service.banner_webhook_secret = ""
    service.save()
    delivery = queue(service)
    webhooks.deliver(delivery.pk)
    delivery = reload(delivery)
    assert delivery.state == EmailState.FAILED and delivery.next_attempt_at is None and "secret" in delivery.last_error
    assert receiver.requests == []


def test_the_secret_is_read_when_sending_and_a_deleted_service_is_not_called(allowed, receiver, service):
    # Given two queued calls; the secret changes after queueing, then the service is deleted
    first, second = queue(service, key="k1"), queue(service, key="k2")
    assert WebhookDelivery.objects.get(pk=first.pk).subject == f"service:{service.pk}"
    service.banner_webhook_secret = "a-new-secret-0123456789"
    service.save()
    webhooks.deliver(first.pk)
    headers = receiver.requests[0]["headers"]
    assert headers["X-Okno-Signature"] == webhooks.sign(
        "a-new-secret-0123456789", headers["X-Okno-Timestamp"], receiver.requests[0]["body"]
    )
    service.delete()
    webhooks.deliver(second.pk)
    second = reload(second)
    assert second.state == EmailState.FAILED and second.next_attempt_at is None and "was deleted" in second.last_error
    assert len(receiver.requests) == 1


def test_a_subject_nobody_resolves_is_not_called(allowed, receiver):
    delivery = webhooks.enqueue("thing.changed", {}, url=receiver.url, subject="thing:1", key="k")
    webhooks.deliver(delivery.pk)
    delivery = reload(delivery)
    assert (
        delivery.state == EmailState.FAILED
        and delivery.next_attempt_at is None
        and "no secret resolver" in delivery.last_error
    )
    assert receiver.requests == []


def test_a_row_stuck_in_sending_is_rescued(allowed, receiver, service):
    # Given a worker that died mid-call: the row stayed "sending"
    delivery = queue(service)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        state=EmailState.SENDING, attempts=1, claimed_at=timezone.now() - timedelta(minutes=10)
    )
    result = webhooks.deliver_due()
    delivery = reload(delivery)
    assert result["requeued"] == 1 and delivery.state == EmailState.SENT and delivery.attempts == 2
    assert len(receiver.requests) == 1


def test_the_sweeper_task_covers_webhooks(allowed, receiver, service):
    delivery = queue(service)
    result = tasks.deliver_due()
    assert result["webhooks"]["sent"] == 1 and reload(delivery).state == EmailState.SENT


def test_no_row_for_a_service_without_a_webhook(service):
    service.banner_webhook_url = ""
    assert queue(service) is None
    assert not WebhookDelivery.objects.exists()
