"""The it.info announcements: the seed's text, recipients and sender, templates in the admin, the page,
the delay notice.
"""

import datetime
import importlib
import re
from html.parser import HTMLParser

import pytest
from django.apps import apps as django_apps
from django.core import mail
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from changeplans import announcements
from changeplans.choices import Availability, EventKind, PlanStatus, StepKind, StepStatus
from changeplans.models import Banner, PlanEvent, PlanService
from demo.plans import load_demo
from notifications import messages
from notifications.choices import EmailState, ScheduleState
from notifications.models import MessageTemplate, OutboundEmail, ScheduledAction, WebhookDelivery
from tests.factories import NSK, PartyFactory, PlanFactory, ServiceFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
# The migration that ships the templates (a module name starting with a digit: imported by name).
create_shipped_templates = importlib.import_module(
    "notifications.migrations.0004_default_message_templates"
).create_templates
HX = {"HTTP_HX_REQUEST": "true"}

# Lines 9-39 of seeds/000_956b3a277b00aa01.txt with whitespace collapsed (tabs, the non-breaking space).
SEED_SUBJECT = "Установка сетевого плагина Calico в кластере Kubernetes PROD"
SEED_LINES = [
    "Уважаемые коллеги!",
    "Нам необходимо провести плановые работы для некоторых улучшений",
    "Время начала",
    "20:00/20.03.2025",
    "",
    "Плановое время окончания",
    "23:05/20.03.2025",
    "",
    "Влияние на сервисы",
    "Инфосайт, ЛК ЮЛ, ЛК ФЛ, МП Платосфера",
    "",
    "Влияние на клиентов НЭС",
    "ВЛИЯЕТ НА КЛИЕНТОВ",
    "",
    "Наличие баннера",
    "БАННЕР УСТАНОВЛЕН",
    "",
    "План работ",
    "Установка сетевого плагина Calico в кластере Kubernetes PROD",
    "",
    "Ответственный за работы",
    "Хасанов А.И. +7 (913) 712-71-78 <НЭС>",
    "",
    "Доступность сервисов во время работ",
    "БУДЕТ НЕДОСТУПЕН",
    "",
    "",
    "Приносим извинения за возникшие неудобства!",
    "С уважением,",
    "Департамент ИТ",
]
SEED_VALUES = [line for line in SEED_LINES if line]


class _Cells(HTMLParser):
    """The text of each table cell and paragraph of an e-mail, in document order."""

    def __init__(self):
        super().__init__()
        self.chunks, self.current, self.tags = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("td", "p", "br"):
            self._flush()

    def handle_endtag(self, tag):
        if tag in ("td", "p"):
            self._flush()

    def handle_data(self, data):
        if "title" not in [tag for tag, _attrs in self.tags[-1:]]:
            self.current.append(data)

    def _flush(self):
        text = " ".join("".join(self.current).split())
        if text:
            self.chunks.append(text)
        self.current = []


def cells(html):
    parser = _Cells()
    parser.feed(html)
    parser._flush()
    return parser


def assert_in_order(haystack, needles):
    position = 0
    for needle in needles:
        found = haystack.find(needle, position)
        assert found >= 0, f"{needle!r} missing after position {position}"
        position = found + len(needle)


@pytest.fixture
def demo_plan(db):
    return load_demo()


@pytest.fixture
def approved_plan(author):
    party = PartyFactory(name="Хасанов А.И.", contact="+7 (913) 712-71-78 <НЭС>")
    plan = PlanFactory(
        author=author,
        title="Обновление кластера",
        status=PlanStatus.APPROVED,
        responsible=party,
        client_impact=True,
        banner_needed=True,
        mailing_list="ops@example.org; bad-address",
    )
    PlanService.objects.create(
        plan=plan, service=ServiceFactory(display_name="Инфосайт", mailing_list="site@example.org")
    )
    return plan


# --- the seed's announcement ---------------------------------------------------------------------------


def test_seed_announcement_plain_text_is_the_seeds_text_and_layout(demo_plan):
    subject, text, _html = announcements.render(demo_plan, "announcement")
    assert subject == SEED_SUBJECT
    assert [" ".join(line.split()) for line in text.split("\n")] == SEED_LINES


def test_seed_announcement_html_is_a_two_column_table_with_every_value_in_order(demo_plan):
    _subject, _text, html = announcements.render(demo_plan, "announcement")
    parsed = cells(html)
    assert parsed.chunks == [
        "Уважаемые коллеги!",
        "Нам необходимо провести плановые работы для некоторых улучшений",
        *SEED_VALUES[2:-3],
        "Приносим извинения за возникшие неудобства!",
        "С уважением,",
        "Департамент ИТ",
    ]
    assert "Хасанов А.И. +7 (913) 712-71-78 &lt;НЭС&gt;" in html  # escaped, not a tag
    # Mail clients: inline styles only, nothing fetched from elsewhere, no scripts.
    tags = {tag for tag, _attrs in parsed.tags}
    assert not tags & {"script", "link", "img", "style", "iframe"}
    assert all(not any(name in ("src", "href") for name in attrs) for _tag, attrs in parsed.tags)
    assert re.findall(r"<tr><td[^>]*>Время начала</td><td[^>]*>20:00/20.03.2025</td></tr>", html)


def test_english_announcement_translates_labels_and_codes(demo_plan):
    subject, text, html = announcements.render(demo_plan, "announcement", language="en")
    assert_in_order(
        text,
        [
            "Dear colleagues",
            "Start time",
            "20:00/20.03.2025",
            "Impact on НЭС clients",
            "AFFECTS CLIENTS",
            "BANNER IS UP",
            "WILL BE UNAVAILABLE",
            "Kind regards,",
            "Департамент ИТ",
        ],
    )
    assert "Время начала" not in html


def test_completion_delay_and_banner_texts(demo_plan):
    finished = datetime.datetime(2025, 3, 20, 22, 47, tzinfo=NSK)
    _s, text, _h = announcements.render(demo_plan, "completion", extra={"finished_at": finished})
    assert_in_order(
        text,
        [
            "Плановые работы завершены.",
            "Фактическое время начала",  # the planned start until the work has started
            "20:00/20.03.2025",
            "Фактическое время окончания",
            "22:47/20.03.2025",
        ],
    )
    new_end = datetime.datetime(2025, 3, 21, 0, 30, tzinfo=NSK)
    subject, text, html = announcements.render(
        demo_plan, "delay", extra={"new_end": new_end, "reason": "Долгая миграция <узлов>"}
    )
    assert subject == f"Продление работ: {SEED_SUBJECT}"
    assert_in_order(
        text,
        [
            "Плановое время окончания",
            "23:05/20.03.2025",
            "Новое плановое время окончания",
            "00:30/21.03.2025",
            "Причина",
            "Долгая миграция <узлов>",
        ],
    )
    assert "Долгая миграция &lt;узлов&gt;" in html
    assert announcements.banner_text(demo_plan) == (
        "Ведутся плановые технические работы. Сервис может быть недоступен до 23:05 20.03.2025. "
        "Приносим извинения за возникшие неудобства!"
    )
    demo_plan.banner_text = "Свой текст баннера"
    assert announcements.banner_text(demo_plan) == "Свой текст баннера"


def test_values_when_the_plan_does_not_affect_clients_and_services_differ(approved_plan):
    approved_plan.client_impact, approved_plan.banner_needed = False, False
    PlanService.objects.create(
        plan=approved_plan, service=ServiceFactory(display_name="ЛК ЮЛ"), availability=Availability.DEGRADED
    )
    context = announcements.context(approved_plan, "announcement")
    _s, text, html = messages.render("announcement", context)
    assert "НЕ ВЛИЯЕТ НА КЛИЕНТОВ" in text and "БЕЗ БАННЕРА" in text
    assert "Инфосайт — БУДЕТ НЕДОСТУПЕН; ЛК ЮЛ — РАБОТАЕТ С ОГРАНИЧЕНИЯМИ" in text
    assert "Инфосайт — БУДЕТ НЕДОСТУПЕН<br>ЛК ЮЛ — РАБОТАЕТ С ОГРАНИЧЕНИЯМИ" in html


def test_a_time_crossing_midnight_is_written_in_the_plans_zone(author):
    plan = PlanFactory(
        author=author,
        time_zone="Europe/Moscow",
        window_start=datetime.datetime(2025, 3, 20, 20, 0, tzinfo=datetime.UTC),
        window_end=datetime.datetime(2025, 3, 20, 22, 30, tzinfo=datetime.UTC),
    )
    context = announcements.context(plan, "announcement")
    assert (context["start"], context["end"]) == ("23:00/20.03.2025", "01:30/21.03.2025")


# --- recipients and sender ------------------------------------------------------------------------------


def test_recipients_are_plan_then_services_then_settings_deduplicated_and_invalid_reported(author, settings):
    settings.OKNO_ANNOUNCEMENT_RECIPIENTS = ["it.info@example.org", "SVC@example.org"]
    plan = PlanFactory(
        author=author,
        mailing_list="Ops@Example.org; bad-address,dev@example.org\nops@example.org  Иван Петров <ivan@example.org>",
    )
    PlanService.objects.create(
        plan=plan, service=ServiceFactory(display_name="Инфосайт", mailing_list="svc@example.org, DEV@example.org")
    )
    PlanService.objects.create(plan=plan, service=ServiceFactory(display_name="ЛК ЮЛ", mailing_list="x@\n"))
    found = announcements.recipients(plan)
    assert found.addresses == [
        "Ops@Example.org",
        "dev@example.org",
        "ivan@example.org",
        "svc@example.org",
        "it.info@example.org",
    ]
    assert [(r.address, r.source) for r in found.invalid] == [("bad-address", "план работ"), ("x@", "ЛК ЮЛ")]
    assert found.valid[3].source == "Инфосайт"


def test_sender_is_the_plans_then_the_first_services_then_the_setting(author, settings):
    settings.OKNO_ANNOUNCEMENT_FROM = "it.info@nskes.example"
    plan = PlanFactory(author=author)
    PlanService.objects.create(plan=plan, service=ServiceFactory())
    PlanService.objects.create(plan=plan, service=ServiceFactory(announcement_from="lk@nskes.example"))
    plan = type(plan).objects.get(pk=plan.pk)
    assert announcements.sender(plan) == "lk@nskes.example"
    plan.announcement_from = "rfc@nskes.example"
    assert announcements.sender(plan) == "rfc@nskes.example"
    empty = PlanFactory(author=author)
    assert announcements.sender(empty) == "it.info@nskes.example"


def test_send_queues_one_email_per_valid_recipient_once(approved_plan, settings, django_capture_on_commit_callbacks):
    settings.OKNO_ANNOUNCEMENT_RECIPIENTS = ["it.info@example.org"]
    settings.OKNO_ANNOUNCEMENT_FROM = "it.info@nskes.example"
    # Given a plan whose lists hold three valid addresses and one invalid one
    with django_capture_on_commit_callbacks(execute=True):
        first = announcements.send(
            approved_plan,
            "announcement",
            key_prefix=f"announcement:{approved_plan.pk}:1",
            group=f"plan:{approved_plan.pk}:step:1",
        )
    # When the same announcement is sent again
    with django_capture_on_commit_callbacks(execute=True):
        second = announcements.send(
            approved_plan,
            "announcement",
            key_prefix=f"announcement:{approved_plan.pk}:1",
            group=f"plan:{approved_plan.pk}:step:1",
        )
    # Then each valid address got it once, from the configured sender, and nothing went to the invalid one
    assert [e.to for e in first] == ["ops@example.org", "site@example.org", "it.info@example.org"]
    assert [e.pk for e in second] == [e.pk for e in first]
    assert sorted(m.to[0] for m in mail.outbox) == ["it.info@example.org", "ops@example.org", "site@example.org"]
    assert {m.from_email for m in mail.outbox} == {"it.info@nskes.example"}
    assert {e.key for e in first} == {
        f"announcement:{approved_plan.pk}:1:{a}" for a in ("ops@example.org", "site@example.org", "it.info@example.org")
    }
    assert mail.outbox[0].subject == "Обновление кластера"
    assert "Уважаемые коллеги!" in mail.outbox[0].body
    assert mail.outbox[0].alternatives[0][1] == "text/html"


def test_no_valid_recipient_sends_nothing(author, settings):
    settings.OKNO_ANNOUNCEMENT_RECIPIENTS = []
    plan = PlanFactory(author=author, mailing_list="nobody")
    assert announcements.send(plan, "announcement", key_prefix="a", group="g") == []
    assert not OutboundEmail.objects.exists()


def test_header_form_refuses_invalid_addresses_in_russian(author_client, author):
    plan = PlanFactory(author=author)
    url = reverse("changeplans:plan_header", args=[plan.pk])
    data = {
        "title": plan.title,
        "kind": "normal",
        "time_zone": "Asia/Novosibirsk",
        "window_start": "2025-03-20T20:00",
        "window_end": "2025-03-20T23:05",
        "availability": "unavailable",
        "revision": plan.revision,
        "mailing_list": "ops@example.org, не-адрес; x@",
        "announcement_intro": "Текст",
    }
    response = author_client.post(url, data, **HX)
    content = response.content.decode()
    assert "Неправильные адреса электронной почты: не-адрес, x@" in content
    assert "ops@example.org, не-адрес; x@" in content  # what was typed stays
    plan.refresh_from_db()
    assert plan.mailing_list == ""


# --- templates in the admin ---------------------------------------------------------------------------------


@pytest.fixture
def shipped_templates(db):
    """The MessageTemplate rows exactly as the migration ships them, whatever a reused database holds
    (a transactional test's flush empties the table; --reuse-db keeps it empty for the next run)."""
    MessageTemplate.objects.all().delete()
    create_shipped_templates(django_apps, None)


@pytest.fixture
def admin_client_ru(client, admin_user, shipped_templates):
    client.force_login(admin_user)
    return client


def _template_form(row, **changes):
    data = {"subject": row.subject, "text": row.text, "html": row.html}
    data.update(changes)
    return data


def test_the_migration_creates_every_template_and_they_match_the_defaults():
    """Checked by running the migration's own function on an empty table, not by reading the database.

    With --reuse-db the table holds whatever an earlier run left: nothing after a transactional test's
    flush, or rows of an older version of the migration. Break it by hand: drop "banner" from KINDS in
    notifications/migrations/0004_default_message_templates.py: the test fails with or without --reuse-db.
    """
    assert ("notifications", "0004_default_message_templates") in MigrationRecorder(connection).applied_migrations()
    MessageTemplate.objects.all().delete()
    create_shipped_templates(django_apps, None)
    rows = {(row.kind, row.language): row for row in MessageTemplate.objects.all()}
    kinds, languages = ("announcement", "completion", "delay", "banner"), ("ru", "en")
    assert set(rows) == {(kind, language) for kind in kinds for language in languages}
    for (kind, language), row in rows.items():
        subject, text, html = messages.default_template(kind, language)
        assert (row.subject, row.text, row.html) == (subject, text, html)
        assert text.strip(), f"the shipped {kind}/{language} template is empty"
    # Run again (a database where an administrator edited a row): edited rows are left alone
    MessageTemplate.objects.filter(kind="delay", language="ru").update(text="Изменено")
    create_shipped_templates(django_apps, None)
    assert MessageTemplate.objects.count() == 8
    assert MessageTemplate.objects.get(kind="delay", language="ru").text == "Изменено"


def test_an_admin_edit_changes_the_next_rendering(admin_client_ru, demo_plan):
    row = MessageTemplate.objects.get(kind="announcement", language="ru")
    url = reverse("admin:notifications_messagetemplate_change", args=[row.pk])
    text = "Коллеги!\r\nНачало: {{ start }}\r\nКонец: {{ end }}\r\n{{ signature }}"
    response = admin_client_ru.post(url, _template_form(row, subject="[it.info] {{ subject }}", text=text, html=""))
    assert response.status_code == 302, response.content.decode()[:2000]
    subject, text, html = announcements.render(demo_plan, "announcement")
    assert subject == f"[it.info] {SEED_SUBJECT}"
    assert text == "Коллеги!\nНачало: 20:00/20.03.2025\nКонец: 23:05/20.03.2025\nДепартамент ИТ"
    assert "Начало: 20:00/20.03.2025<br>Конец" in html  # no HTML template: the text with line breaks


def test_a_broken_template_is_refused_with_a_russian_message(admin_client_ru, demo_plan):
    row = MessageTemplate.objects.get(kind="announcement", language="ru")
    url = reverse("admin:notifications_messagetemplate_change", args=[row.pk])
    before = row.text
    response = admin_client_ru.post(url, _template_form(row, text="Начало\n{% if start %}{{ start }}\n{% endfor %}"))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Ошибка в шаблоне в строке 3" in content and "endfor" in content
    response = admin_client_ru.post(url, _template_form(row, html="<p>{{ strat }}</p>"))
    assert "Неизвестные переменные: strat" in response.content.decode()
    row.refresh_from_db()
    assert row.text == before


def test_admin_preview_and_reset_to_default(admin_client_ru, demo_plan):
    row = MessageTemplate.objects.get(kind="announcement", language="ru")
    MessageTemplate.objects.filter(pk=row.pk).update(text="Изменено {{ start }}", html="")
    preview = admin_client_ru.get(reverse("admin:notifications_messagetemplate_preview_saved", args=[row.pk]))
    assert "Изменено 20:00/20.03.2025" in preview.content.decode()
    typed = admin_client_ru.post(
        reverse("admin:notifications_messagetemplate_preview_saved", args=[row.pk]),
        {"subject": "{{ subject }}", "text": "Набрано {{ end }}", "html": ""},
    )
    assert "Набрано 23:05/20.03.2025" in typed.content.decode()
    assert MessageTemplate.objects.get(pk=row.pk).text == "Изменено {{ start }}"  # a preview saves nothing
    admin_client_ru.post(reverse("admin:notifications_messagetemplate_reset", args=[row.pk]))
    row.refresh_from_db()
    assert (row.subject, row.text, row.html) == messages.default_template("announcement", "ru")


def test_without_a_row_the_shipped_default_is_used(demo_plan):
    MessageTemplate.objects.all().delete()
    _s, text, _h = announcements.render(demo_plan, "announcement")
    assert [" ".join(line.split()) for line in text.split("\n")] == SEED_LINES


# --- the announcements page --------------------------------------------------------------------------------


def page_url(plan):
    return reverse("execution:plan_announcements", args=[plan.pk])


def test_page_needs_login(client, approved_plan):
    response = client.get(page_url(approved_plan))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_user_who_may_not_view_the_plan_gets_403(client, approved_plan, settings):
    # An inactive account that a backend still lets in (e.g. a directory backend) may not view plans.
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.AllowAllUsersModelBackend"]
    user = UserFactory(username="left", is_active=False)
    client.force_login(user)
    assert client.get(page_url(approved_plan)).status_code == 403
    assert (
        client.post(reverse("execution:plan_delay_notice", args=[approved_plan.pk]), {"action": "preview"}).status_code
        == 403
    )


def _add_history(plan, steps=1, deliveries=1):
    auto = []
    for index in range(steps):
        step = StepFactory(plan=plan, position=index + 1, kind=StepKind.ANNOUNCEMENT, name=f"Рассылка {index + 1}")
        ScheduledAction.objects.create(
            key=f"plan-step:{step.pk}",
            kind="plan.step",
            subject=f"plan:{plan.pk}",
            due_at=datetime.datetime(2025, 3, 20, 16, 0, tzinfo=NSK),
            state=ScheduleState.FAILED,
            attempts=5,
            last_error="SMTP down",
        )
        auto.append(step)
    for index in range(deliveries):
        OutboundEmail.objects.create(
            key=f"k{plan.pk}:{index}",
            to=f"user{index}@example.org",
            subject="Тема",
            text="т",
            group=f"plan:{plan.pk}:step:{auto[0].pk}",
            state=EmailState.FAILED if index == 0 else EmailState.SENT,
            attempts=2,
            last_error="550 mailbox unavailable" if index == 0 else "",
        )
        service = ServiceFactory()
        WebhookDelivery.objects.create(
            key=f"w{plan.pk}:{index}",
            url="https://lk.example.org/banner",
            body="{}",
            subject=f"service:{service.pk}",
            group=f"plan:{plan.pk}:step:{auto[0].pk}",
            state=EmailState.SENT,
        )
        Banner.objects.create(
            service=service,
            plan=plan,
            text="Ведутся работы",
            shown_from=datetime.datetime(2025, 3, 20, 20, 0, tzinfo=NSK),
        )
    return auto


def test_page_shows_sender_recipients_previews_steps_deliveries_and_banners(author_client, approved_plan):
    _add_history(approved_plan, steps=1, deliveries=2)
    response = author_client.get(page_url(approved_plan))
    content = response.content.decode()
    assert response.status_code == 200
    assert "ops@example.org" in content and "site@example.org" in content
    assert 'id="invalid-recipients"' in content and "bad-address" in content
    # three previews, HTML in a sandboxed frame
    assert content.count('<iframe sandbox=""') == 3
    assert 'srcdoc="&lt;!DOCTYPE html&gt;' in content
    assert "Обновление кластера" in content and "Продление работ" in content and "Работы завершены" in content
    # the automatic step and its scheduled row, due in the plan's zone
    assert "Рассылка 1" in content and "16:00 20.03.2025" in content and "SMTP down" in content
    # deliveries: the failed one highlighted
    assert re.search(
        r'<tr class="table-danger" data-state="failed"><td>[^<]*Рассылка 1</td><td>user0@example.org', content
    )
    assert "550 mailbox unavailable" in content and "https://lk.example.org/banner" in content
    # each webhook call names its service (its subject "service:<id>")
    for delivery in WebhookDelivery.objects.all():
        name = Banner.objects.get(service_id=int(delivery.subject.partition(":")[2])).service.display_name
        assert re.search(
            rf'<td>[^<]*Рассылка 1</td><td>{name}</td><td class="text-break">https://lk.example.org/banner', content
        )
    assert "Ведутся работы" in content


def test_plan_page_links_to_the_announcements(author_client, approved_plan):
    content = author_client.get(reverse("changeplans:plan_detail", args=[approved_plan.pk])).content.decode()
    assert f'href="{page_url(approved_plan)}"' in content


def test_page_query_count_does_not_grow_with_steps_and_deliveries(author_client, author):
    def queries(plan):
        with CaptureQueriesContext(connection) as captured:
            response = author_client.get(page_url(plan))
        assert response.status_code == 200
        return len(captured)

    small, large = (PlanFactory(author=author, status=PlanStatus.APPROVED) for _ in range(2))
    _add_history(small, steps=1, deliveries=1)
    _add_history(large, steps=6, deliveries=20)
    assert queries(small) == queries(large)


# --- the delay notice ---------------------------------------------------------------------------------------


def delay_url(plan):
    return reverse("execution:plan_delay_notice", args=[plan.pk])


def test_delay_validation_keeps_what_was_typed(author_client, approved_plan):
    response = author_client.post(
        delay_url(approved_plan), {"action": "preview", "new_end": "2025-03-20T22:00", "reason": ""}, **HX
    )
    content = response.content.decode()
    assert response.status_code == 422
    assert "Укажите причину задержки." in content
    assert 'value="2025-03-20T22:00"' in content
    response = author_client.post(
        delay_url(approved_plan), {"action": "preview", "new_end": "2025-03-20T22:00", "reason": "Долго"}, **HX
    )
    content = response.content.decode()
    assert response.status_code == 422
    assert "Новое плановое время окончания должно быть позже планового (23:05/20.03.2025)." in content
    assert "Долго</textarea>" in content and 'value="2025-03-20T22:00"' in content
    assert not OutboundEmail.objects.exists()


def test_delay_notice_preview_then_send_once(
    author_client, author, approved_plan, settings, django_capture_on_commit_callbacks
):
    settings.OKNO_ANNOUNCEMENT_RECIPIENTS = ["it.info@example.org"]
    form = {"new_end": "2025-03-21T00:30", "reason": "Миграция узлов идёт дольше"}
    # Given the preview of the notice
    preview = author_client.post(delay_url(approved_plan), {**form, "action": "preview"}, **HX)
    content = preview.content.decode()
    assert preview.status_code == 200
    assert 'name="number" value="1"' in content and "00:30/21.03.2025" in content and 'id="delay-confirm"' in content
    assert not OutboundEmail.objects.exists()
    # When it is sent, and the same form is posted again (a double click)
    with django_capture_on_commit_callbacks(execute=True):
        first = author_client.post(delay_url(approved_plan), {**form, "number": "1", "action": "send"}, **HX)
    with django_capture_on_commit_callbacks(execute=True):
        second = author_client.post(delay_url(approved_plan), {**form, "number": "1", "action": "send"}, **HX)
    # Then every recipient got it once, and the history says so once
    assert first.status_code == 200 and second.status_code == 200
    assert sorted(m.to[0] for m in mail.outbox) == ["it.info@example.org", "ops@example.org", "site@example.org"]
    emails = OutboundEmail.objects.filter(group=f"plan:{approved_plan.pk}:delay:1")
    assert {e.key for e in emails} == {
        f"delay:{approved_plan.pk}:1:{a}" for a in ("it.info@example.org", "ops@example.org", "site@example.org")
    }
    assert mail.outbox[0].subject == "Продление работ: Обновление кластера"
    assert "Миграция узлов идёт дольше" in mail.outbox[0].body and "00:30/21.03.2025" in mail.outbox[0].body
    assert "Уведомление о задержке уже отправлено" in second.content.decode()
    events = PlanEvent.objects.filter(plan=approved_plan, kind=EventKind.EDITED, actor=author)
    assert events.count() == 1 and "00:30/21.03.2025" in events.get().comment


def test_a_second_different_delay_notice_gets_the_next_number(
    author_client, approved_plan, django_capture_on_commit_callbacks
):
    # Two people previewed notice No. 1; the first sends it
    with django_capture_on_commit_callbacks(execute=True):
        author_client.post(
            delay_url(approved_plan),
            {"new_end": "2025-03-21T00:30", "reason": "Первая", "number": "1", "action": "send"},
            **HX,
        )
    sent = OutboundEmail.objects.count()
    # The second one's notice differs: it is not dropped as a duplicate, nor sent under No. 1
    response = author_client.post(
        delay_url(approved_plan),
        {"new_end": "2025-03-21T01:30", "reason": "Вторая", "number": "1", "action": "send"},
        **HX,
    )
    content = response.content.decode()
    assert OutboundEmail.objects.count() == sent
    assert 'name="number" value="2"' in content and "Тем временем отправлено другое уведомление о задержке" in content
    with django_capture_on_commit_callbacks(execute=True):
        author_client.post(
            delay_url(approved_plan),
            {"new_end": "2025-03-21T01:30", "reason": "Вторая", "number": "2", "action": "send"},
            **HX,
        )
    assert OutboundEmail.objects.filter(group=f"plan:{approved_plan.pk}:delay:2").count() == sent


def test_only_the_plans_people_and_roles_send_delay_notices(client, approved_plan):
    form = {"new_end": "2025-03-21T00:30", "reason": "Долго", "number": "1", "action": "send"}
    client.force_login(UserFactory(username="someone", roles=["approver"]))
    assert client.post(delay_url(approved_plan), form).status_code == 403
    assert client.post(delay_url(approved_plan), form, **HX).status_code == 403
    assert "Отправить уведомление о задержке" not in client.get(page_url(approved_plan)).content.decode()
    client.force_login(UserFactory(username="duty1", roles=["duty_officer"]))
    assert client.post(delay_url(approved_plan), {**form, "action": "preview"}, **HX).status_code == 200
    assert not OutboundEmail.objects.exists()


def test_no_delay_notice_before_the_plan_is_approved(author_client, author):
    plan = PlanFactory(author=author)
    response = author_client.post(
        delay_url(plan), {"new_end": "2025-03-21T00:30", "reason": "Долго", "action": "preview"}, **HX
    )
    assert response.status_code == 422
    assert (
        "Уведомление о задержке отправляется только для утверждённого или выполняемого плана"
        in response.content.decode()
    )


# --- "run now" on an automatic step ------------------------------------------------------------------------


def test_run_now_sends_the_announcement_step(client, approved_plan, django_capture_on_commit_callbacks):
    step = StepFactory(plan=approved_plan, position=1, kind=StepKind.ANNOUNCEMENT, name="Произвести рассылку")
    client.force_login(UserFactory(username="duty2", roles=["duty_officer"]))
    url = reverse("execution:announcement_step_fire", args=[approved_plan.pk, step.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, **HX)
    assert response.status_code == 200
    emails = OutboundEmail.objects.filter(group=f"plan:{approved_plan.pk}:step:{step.pk}")
    assert sorted(e.to for e in emails) == sorted(["ops@example.org", "site@example.org", "it.info@example.org"])
    step.refresh_from_db()
    assert step.status == StepStatus.DONE
    assert ScheduledAction.objects.get(key=f"plan-step:{step.pk}").state == ScheduleState.DONE


def test_run_now_refusals_are_shown(author_client, author, approved_plan):
    step = StepFactory(plan=approved_plan, position=1, kind=StepKind.ANNOUNCEMENT)
    url = reverse("execution:announcement_step_fire", args=[approved_plan.pk, step.pk])
    # The author is not a duty officer: 403 with the reason as a toast
    response = author_client.post(url, **HX)
    assert response.status_code == 403 and "HX-Trigger" in response
    # A plan not approved: the reason comes back as a warning
    draft = PlanFactory(author=author)
    other = StepFactory(plan=draft, position=1, kind=StepKind.ANNOUNCEMENT)
    author_client.force_login(UserFactory(username="op", roles=["operator"]))
    response = author_client.post(reverse("execution:announcement_step_fire", args=[draft.pk, other.pk]), follow=True)
    with translation.override("ru"):
        assert gettext("The plan is not approved: nothing is sent before it is.") in response.content.decode()
    assert not OutboundEmail.objects.exists()


def test_admin_pages_show_the_variables_and_the_buttons(admin_client_ru, demo_plan):
    row = MessageTemplate.objects.get(kind="delay", language="ru")
    change = admin_client_ru.get(reverse("admin:notifications_messagetemplate_change", args=[row.pk])).content.decode()
    assert reverse("admin:notifications_messagetemplate_preview_saved", args=[row.pk]) in change
    assert reverse("admin:notifications_messagetemplate_reset", args=[row.pk]) in change
    assert "<code>{{ new_end }}</code>" in change and "<code>{{ reason }}</code>" in change
    assert "Установка сетевого плагина Calico" in change  # the sample is the newest plan
    listing = admin_client_ru.get(reverse("admin:notifications_messagetemplate_changelist"))
    assert listing.status_code == 200
    add = admin_client_ru.get(reverse("admin:notifications_messagetemplate_add"))
    assert add.status_code == 200 and reverse("admin:notifications_messagetemplate_preview") in add.content.decode()


@pytest.mark.parametrize("language", ["ru", "en"])
@pytest.mark.parametrize("kind", ["announcement", "completion", "delay", "banner"])
def test_every_shipped_template_passes_the_admins_check(demo_plan, kind, language):
    label, context = messages.sample_context(kind, language)
    assert demo_plan.title in label
    assert messages.validate(*messages.default_template(kind, language), context=context, language=language) == {}
