"""Event subscriptions against a real HTTP receiver (http.server in a thread on 127.0.0.1) and the real webhook
outbox: signed POSTs in order across a whole plan flow, a retry that holds later events, the chat formats,
the filters, the admin form (docs/events.md)."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from approvals import services as approvals
from changeplans.choices import EventKind, PlanStatus, StepStatus
from changeplans.history import record_event
from changeplans.models import Plan, PlanEvent, Step
from execution import events_out, transitions
from notifications import subscriptions, tasks, webhooks
from notifications.admin_subscriptions import EventSubscriptionForm
from notifications.choices import EmailState, SubscriptionFormat
from notifications.models import EventSubscription, SubscriptionEvent, WebhookDelivery
from tests.approvals.factories import plan_with_matrix
from tests.factories import PlanFactory, ServiceFactory, StepFactory
from tests.notifications.test_webhooks import Receiver

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

SECRET = "okno-events-secret-0123456789"
BOT_TOKEN = "123456789:AAH-telegram-bot-token_0123456789"
FLOW = [
    "plan.submitted",
    "plan.approved",
    "plan.started",
    "step.done",
    "step.failed",
    "step.done",
    "plan.finished",
]


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture(autouse=True)
def allowed():
    with override_settings(
        OKNO_WEBHOOK_ALLOWED_HOSTS=["127.0.0.1"],
        OKNO_WEBHOOK_TIMEOUT_SECONDS=2,
        OKNO_WEBHOOK_RETRY_SECONDS=30,
        OKNO_WEBHOOK_MAX_ATTEMPTS=3,
        OKNO_BASE_URL="https://okno.example.org",
    ):
        yield


def subscribe(url, **fields):
    return EventSubscription.objects.create(
        name=fields.pop("name", "CI"), url=url, secret=fields.pop("secret", SECRET), **fields
    )


def verify(request, secret=SECRET):
    """What a receiver does (docs/events.md): HMAC-SHA256 over "<timestamp>.<body>" with the shared secret."""
    headers = request["headers"]
    message = f"{headers['X-Okno-Timestamp']}.{request['body']}".encode()
    expected = "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["X-Okno-Signature"], expected)


def bodies(receiver):
    return [json.loads(request["body"]) for request in receiver.requests]


def run_flow(commit):
    """Submit, approve, acknowledge, start, tick two steps (one fails and is retried), finish: each after commit."""
    plan, author, (approver,), duty = plan_with_matrix(1)
    now = timezone.now()  # the window is open now: no overrun alert joins the flow
    Plan.objects.filter(pk=plan.pk).update(window_start=now - timedelta(minutes=5), window_end=now + timedelta(hours=3))
    StepFactory(plan=plan, position=2, name="Установка <Calico> & проверка")
    approver_row, ack_row = list(plan.approval_rows.order_by("position"))
    step1, step2 = Step.objects.filter(plan=plan).order_by("position")
    with commit(execute=True):
        approvals.submit_plan(plan.pk, actor=author)
    with commit(execute=True):
        approvals.approve_row(approver_row.pk, actor=approver, version=1)
    with commit(execute=True):
        approvals.acknowledge_row(ack_row.pk, actor=duty, version=1)
    with commit(execute=True):
        transitions.start_plan(plan.pk, actor=duty)
    for step_id, actions in ((step1.pk, ["start", "done"]), (step2.pk, ["start", "failed", "retry", "start", "done"])):
        for action in actions:
            with commit(execute=True):
                transitions.tick(
                    step_id, action, actor=duty, reason="Поды не поднялись" if action == "failed" else None
                )
    with commit(execute=True):
        transitions.finish_plan(plan.pk, actor=duty, outcome="completed")
    return plan, duty


def test_a_plan_flow_reaches_the_receiver_signed_and_in_order_with_a_retry_after_a_failure(
    receiver, django_capture_on_commit_callbacks
):
    # Given a JSON subscription whose receiver fails the first call (HTTP 500) and then answers 200
    subscription = subscribe(receiver.url)
    receiver.answers = [(500, {})]
    # When a whole plan runs through the services
    plan, duty = run_flow(django_capture_on_commit_callbacks)
    # Then only the first event was tried: everything later waits behind its retry
    assert [r["headers"]["X-Okno-Event"] for r in receiver.requests] == ["plan.submitted"]
    queue = list(SubscriptionEvent.objects.filter(subscription=subscription).order_by("sequence"))
    assert [row.event for row in queue] == FLOW
    assert [row.sequence for row in queue] == list(range(1, 8))
    assert [row.released_at is not None for row in queue] == [True] + [False] * 6
    first = WebhookDelivery.objects.get()
    assert (first.state, first.response_status, first.attempts) == (EmailState.FAILED, 500, 1)
    # When the sweeper runs after the back-off, the retry goes first and the held events follow in order
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.deliver_due(now=first.next_attempt_at + timedelta(seconds=1))
    events = [r["headers"]["X-Okno-Event"] for r in receiver.requests]
    assert events == ["plan.submitted", *FLOW]
    # Every POST verifies with the secret (and not with another one); the retry carried the same delivery key
    assert all(verify(request) for request in receiver.requests)
    assert not verify(receiver.requests[0], secret="another-secret-0123456789")
    deliveries = [r["headers"]["X-Okno-Delivery"] for r in receiver.requests]
    assert deliveries[0] == deliveries[1] == f"sub{subscription.pk}:ev{queue[0].key.split(':ev')[1]}"
    # The bodies carry the order: sequence numbers and the history entries' ids and times both increase
    sent = bodies(receiver)[1:]
    assert [body["sequence"] for body in sent] == list(range(1, 8))
    assert [body["id"] for body in sent] == sorted(body["id"] for body in sent)
    assert [body["at"] for body in sent] == sorted(body["at"] for body in sent)
    assert sent[-1]["outcome"] == PlanStatus.COMPLETED and sent[-1]["plan"]["status"] == PlanStatus.COMPLETED
    assert sent[4]["step"]["status"] == StepStatus.FAILED and sent[4]["comment"] == "Поды не поднялись"
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {EmailState.SENT}


def test_the_json_payload(receiver, django_capture_on_commit_callbacks):
    # Given a Russian and an English subscription, and a plan of a service
    russian = subscribe(receiver.url, name="ru", events=["plan.started", "step.done"])
    english = subscribe(receiver.url, name="en", language="en", events=["step.done"])
    service = ServiceFactory(name="www.nskes.ru", display_name="Инфосайт")
    plan, _author, _approvers, duty = plan_with_matrix(1)
    plan.services.add(service)
    Plan.objects.filter(pk=plan.pk).update(status=PlanStatus.APPROVED)
    step = Step.objects.get(plan=plan)
    # When the work starts and the step is done
    with django_capture_on_commit_callbacks(execute=True):
        transitions.start_plan(plan.pk, actor=duty)
    with django_capture_on_commit_callbacks(execute=True):
        transitions.tick(step.pk, "start", actor=duty)
    with django_capture_on_commit_callbacks(execute=True):
        transitions.tick(step.pk, "done", actor=duty, comment="ок")
    # Then the Russian subscription got both events, the English one the step, each in its language
    by_delivery = {r["headers"]["X-Okno-Delivery"]: json.loads(r["body"]) for r in receiver.requests}
    plan.refresh_from_db()  # times as stored (UTC)
    entry = PlanEvent.objects.filter(plan=plan, object_type="step", to_status=StepStatus.DONE).get()
    body = by_delivery[f"sub{russian.pk}:ev{entry.pk}"]
    assert body == {
        "event": "step.done",
        "id": entry.pk,
        "at": entry.at.isoformat(),
        "plan": {
            "id": plan.pk,
            "title": plan.title,
            "url": f"https://okno.example.org/plans/{plan.pk}/",
            "status": PlanStatus.IN_PROGRESS,
            "window": {"start": plan.window_start.isoformat(), "end": plan.window_end.isoformat()},
            "services": ["www.nskes.ru"],
        },
        "step": {"id": step.pk, "position": 1, "name": "Шаг 1", "status": StepStatus.DONE},
        "actor": {"username": "duty", "name": "Дежурный Д.Д."},
        "comment": "ок",
        "sequence": 2,
        "language": "ru",
        "summary": f"План №{plan.pk}, шаг 1 «Шаг 1»: выполнен (Дежурный Д.Д.)",
    }
    english_body = by_delivery[f"sub{english.pk}:ev{entry.pk}"]
    assert english_body["summary"] == f"Plan No. {plan.pk}, step 1 “Шаг 1”: done (Дежурный Д.Д.)"
    assert english_body["sequence"] == 1 and english_body["language"] == "en"
    assert len(receiver.requests) == 3


def test_chat_formats(receiver, django_capture_on_commit_callbacks):
    # Given a Mattermost, a Slack and a Telegram subscription (all three at the local receiver)
    base = f"http://127.0.0.1:{receiver.port}"
    mattermost = subscribe(f"{base}/hooks/mm", format=SubscriptionFormat.MATTERMOST, secret="")
    slack = subscribe(f"{base}/services/T0/B0/x", format=SubscriptionFormat.SLACK, secret="", language="en")
    telegram = subscribe(base, format=SubscriptionFormat.TELEGRAM, secret=BOT_TOKEN, telegram_chat_id="-100123")
    plan = PlanFactory(title="Calico <PROD> & [etcd]_*")
    # When a step of the plan fails
    step = StepFactory(plan=plan, position=3, name="Шаг <3>")
    with django_capture_on_commit_callbacks(execute=True):
        record_event(
            plan,
            actor=None,
            kind=EventKind.TRANSITION,
            obj=step,
            from_status="in_progress",
            to_status="failed",
            comment="a < b & c",
        )
    requests = {r["path"]: (r, json.loads(r["body"])) for r in receiver.requests}
    link = f"https://okno.example.org/plans/{plan.pk}/"
    # Then Mattermost gets markdown with the title escaped and a link
    assert requests["/hooks/mm"][1]["text"] == (
        f"❌ План №{plan.pk}, шаг 3 «Шаг \\<3\\>»: неудача (Okno): a \\< b & c\n"
        f"[Calico \\<PROD\\> & \\[etcd\\]\\_\\*]({link})"
    )
    # Slack: &, < and > escaped, the link in Slack's <url|text>
    assert requests["/services/T0/B0/x"][1]["text"] == (
        f"❌ Plan No. {plan.pk}, step 3 “Шаг &lt;3&gt;”: failed (Okno): a &lt; b &amp; c\n"
        f"<{link}|Calico &lt;PROD&gt; &amp; [etcd]_*>"
    )
    # Telegram: sendMessage of the bot, HTML escaped; the token is in the request only, not in the row
    request, body = requests[f"/bot{BOT_TOKEN}/sendMessage"]
    assert body["chat_id"] == "-100123" and body["parse_mode"] == "HTML"
    assert body["text"] == (
        f"❌ План №{plan.pk}, шаг 3 «Шаг &lt;3&gt;»: неудача (Okno): a &lt; b &amp; c\n"
        f'<a href="{link}">Calico &lt;PROD&gt; &amp; [etcd]_*</a>'
    )
    delivery = WebhookDelivery.objects.get(subject=subscriptions.subject(telegram.pk))
    assert delivery.url == f"{base}/bot{{secret}}/sendMessage" and BOT_TOKEN not in delivery.body
    assert verify(request, secret=BOT_TOKEN)
    # Chats without a secret are still signed (a key derived from SECRET_KEY): unsigned calls are never sent
    assert {d.subject: d.state for d in WebhookDelivery.objects.all()} == {
        subscriptions.subject(s.pk): EmailState.SENT for s in (mattermost, slack, telegram)
    }


def test_a_telegram_token_never_reaches_the_error_text(django_capture_on_commit_callbacks):
    # Given a Telegram subscription whose URL turns out invalid when sending (the refusal quotes the URL)
    telegram = subscribe(
        "http://127.0.0.1:99999", format=SubscriptionFormat.TELEGRAM, secret=BOT_TOKEN, telegram_chat_id="1"
    )
    plan = PlanFactory()
    with django_capture_on_commit_callbacks(execute=True):
        record_event(plan, actor=None, kind=EventKind.TRANSITION, from_status="in_progress", to_status="failed")
    # Then the error names the URL with the placeholder, never the token
    delivery = WebhookDelivery.objects.get(subject=subscriptions.subject(telegram.pk))
    assert delivery.state == EmailState.FAILED and delivery.next_attempt_at is None
    assert "http://127.0.0.1:99999/bot{secret}/sendMessage" in delivery.last_error
    assert BOT_TOKEN not in delivery.last_error and BOT_TOKEN not in delivery.url


def test_filters_by_service_and_event_and_an_inactive_subscription_gets_nothing(
    receiver, django_capture_on_commit_callbacks
):
    # Given subscriptions limited to a service, to an event, and one switched off
    billing, site = ServiceFactory(name="billing.nskes.ru"), ServiceFactory(name="www.nskes.ru")
    for_billing = subscribe(receiver.url, name="billing", services=["billing.nskes.ru"])
    only_cancelled = subscribe(receiver.url, name="cancelled", events=["plan.cancelled"])
    switched_off = subscribe(receiver.url, name="off", active=False)
    site_plan, billing_plan = PlanFactory(), PlanFactory()
    site_plan.services.add(site)
    billing_plan.services.add(site, billing)
    # When both plans start
    for plan in (site_plan, billing_plan):
        with django_capture_on_commit_callbacks(execute=True):
            record_event(plan, actor=None, kind=EventKind.TRANSITION, from_status="approved", to_status="in_progress")
    # Then only the billing subscription heard, and only of the billing plan
    assert [(r.subscription_id, r.payload["plan"]["id"]) for r in SubscriptionEvent.objects.all()] == [
        (for_billing.pk, billing_plan.pk)
    ]
    assert [r["headers"]["X-Okno-Delivery"].split(":")[0] for r in receiver.requests] == [f"sub{for_billing.pk}"]
    assert not SubscriptionEvent.objects.filter(subscription__in=[only_cancelled, switched_off]).exists()


def test_entries_that_are_not_events_send_nothing_and_an_event_is_queued_once(
    receiver, django_capture_on_commit_callbacks
):
    subscription = subscribe(receiver.url)
    plan = PlanFactory()
    with django_capture_on_commit_callbacks(execute=True):
        record_event(plan, actor=None, kind=EventKind.EDITED, comment="заголовок")
        record_event(plan, actor=None, kind=EventKind.TRANSITION, from_status="approved", to_status="in_review")
        entry = record_event(plan, actor=None, kind=EventKind.TRANSITION, from_status="draft", to_status="in_review")
    assert [r.event for r in SubscriptionEvent.objects.all()] == ["plan.submitted"]
    # The same history entry handed over twice (a listener called again) queues and posts nothing more
    events_out.publish(plan.pk, entry.pk)
    assert SubscriptionEvent.objects.filter(subscription=subscription).count() == 1 and len(receiver.requests) == 1


def test_an_overrun_alert_is_an_event(receiver, django_capture_on_commit_callbacks):
    subscribe(receiver.url, language="en")
    plan = PlanFactory()
    step = StepFactory(plan=plan, position=2, name="Calico")
    with django_capture_on_commit_callbacks(execute=True):
        record_event(
            plan,
            actor=None,
            kind=EventKind.ALERT,
            obj=step,
            comment="Шаг 2 идёт дольше максимума",
            changes={"alert": "step_overrun", "step_id": step.pk, "elapsed_minutes": 75, "max_minutes": 60},
        )
        record_event(
            plan, actor=None, kind=EventKind.ALERT, changes={"alert": "projection_overrun", "late_minutes": 20}
        )
    first, second = bodies(receiver)
    assert first["event"] == "plan.overrun" and first["alert"]["elapsed_minutes"] == 75
    assert first["summary"] == f"Plan No. {plan.pk}, step 2 “Calico” has run 1 h 15 min, longer than its maximum of 1 h"
    assert second["summary"] == f"Plan No. {plan.pk}: the projected end is 20 min after the window closes"


def test_a_delivery_given_up_for_good_releases_the_next(receiver, django_capture_on_commit_callbacks):
    # Given a receiver that refuses the first call for good (404)
    subscribe(receiver.url)
    receiver.answers = [(404, {})]
    plan = PlanFactory()
    with django_capture_on_commit_callbacks(execute=True):
        record_event(plan, actor=None, kind=EventKind.TRANSITION, from_status="draft", to_status="in_review")
    with django_capture_on_commit_callbacks(execute=True):
        record_event(plan, actor=None, kind=EventKind.TRANSITION, from_status="in_review", to_status="approved")
    # Then the second event is not held forever behind the failed one
    assert [r["headers"]["X-Okno-Event"] for r in receiver.requests] == ["plan.submitted", "plan.approved"]
    assert list(WebhookDelivery.objects.order_by("id").values_list("state", flat=True)) == [
        EmailState.FAILED,
        EmailState.SENT,
    ]


def test_the_sweeper_releases_what_waits(receiver, django_capture_on_commit_callbacks, monkeypatch):
    # Given an event queued whose release was lost (the process died before releasing it)
    subscribe(receiver.url)
    monkeypatch.setattr(subscriptions, "release", lambda subscription_id: None)
    plan = PlanFactory()
    with django_capture_on_commit_callbacks(execute=True):
        record_event(plan, actor=None, kind=EventKind.TRANSITION, from_status="draft", to_status="in_review")
    assert receiver.requests == [] and SubscriptionEvent.objects.get().released_at is None
    # When the sweeper task runs, it goes out
    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.deliver_due()
    assert result["subscriptions"] == 1
    assert [r["headers"]["X-Okno-Event"] for r in receiver.requests] == ["plan.submitted"]


def test_a_deleted_subscription_stops(receiver, django_capture_on_commit_callbacks):
    subscription = subscribe(receiver.url)
    receiver.answers = [(500, {})]
    plan = PlanFactory()
    with django_capture_on_commit_callbacks(execute=True):
        record_event(plan, actor=None, kind=EventKind.TRANSITION, from_status="draft", to_status="in_review")
    subscription.delete()
    delivery = WebhookDelivery.objects.get()
    webhooks.deliver_due(now=delivery.next_attempt_at + timedelta(seconds=1))
    delivery.refresh_from_db()
    assert delivery.state == EmailState.FAILED and "was deleted" in delivery.last_error
    assert len(receiver.requests) == 1


# --- the admin ---------------------------------------------------------------------------------------


def form(**data):
    fields = {"name": "CI", "active": True, "format": "json", "language": "ru", **data}
    return EventSubscriptionForm(data=fields)


@override_settings(OKNO_WEBHOOK_ALLOWED_HOSTS=["hooks.nskes.ru", "api.telegram.org"], LANGUAGE_CODE="en")
def test_the_form_refuses_a_url_off_the_allow_list_and_checks_the_secret():
    from django.utils import translation

    with translation.override("en"):
        refused = form(url="https://evil.example.org/x", secret=SECRET)
        assert not refused.is_valid()
        assert refused.errors["url"] == [
            "Okno may not call this URL: Host “evil.example.org” is not on OKNO_WEBHOOK_ALLOWED_HOSTS:"
            " Okno calls only the hosts listed there."
        ]
        assert form(url="https://hooks.nskes.ru/okno").errors["secret"] == [
            "A webhook needs a secret: calls are signed with it."
        ]
        assert form(url="https://hooks.nskes.ru/okno", secret="short").errors["secret"] == [
            "The secret is too short: at least 16 characters."
        ]
        telegram = form(url="https://api.telegram.org", format="telegram")
        assert set(telegram.errors) == {"secret", "telegram_chat_id"}
        assert form(url="hooks.nskes.ru/mm", format="mattermost").is_valid()  # a bare host means https
    with translation.override("ru"):
        refused = form(url="https://evil.example.org/x", secret=SECRET)
        assert refused.errors["url"][0].startswith("Okno не может обращаться по этому адресу: Узел «evil.example.org»")


@override_settings(OKNO_WEBHOOK_ALLOWED_HOSTS=["hooks.nskes.ru"])
def test_the_admin_saves_and_never_shows_the_secret(admin_user, client):
    ServiceFactory(name="billing.nskes.ru", display_name="Биллинг")
    client.force_login(admin_user)
    add = reverse("admin:notifications_eventsubscription_add")
    page = client.get(add)
    assert page.status_code == 200 and "billing.nskes.ru" in page.content.decode()
    response = client.post(
        add,
        {
            "name": "Биллинг в Mattermost",
            "active": "on",
            "format": "json",
            "language": "ru",
            "url": "https://hooks.nskes.ru/okno",
            "secret": SECRET,
            "events": ["plan.started", "plan.finished"],
            "services": ["billing.nskes.ru"],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    subscription = EventSubscription.objects.get()
    assert (subscription.secret, subscription.created_by, subscription.events, subscription.services) == (
        SECRET,
        admin_user,
        ["plan.started", "plan.finished"],
        ["billing.nskes.ru"],
    )
    change = reverse("admin:notifications_eventsubscription_change", args=[subscription.pk])
    assert SECRET not in client.get(change).content.decode()
    # Saving again with the secret left empty keeps it
    client.post(
        change,
        {"name": "Биллинг", "active": "on", "format": "json", "language": "en", "url": "https://hooks.nskes.ru/okno"},
    )
    subscription.refresh_from_db()
    assert (subscription.name, subscription.secret, subscription.events) == ("Биллинг", SECRET, [])
    # The queue is read-only
    assert client.get(reverse("admin:notifications_subscriptionevent_changelist")).status_code == 200
    assert client.get(reverse("admin:notifications_subscriptionevent_add")).status_code == 403
