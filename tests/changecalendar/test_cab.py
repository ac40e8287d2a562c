"""The CAB agenda (changecalendar.cab, views_cab; docs/calendar.md, "CAB agenda").

To break it by hand: in cab.agenda_queryset drop `window_end__gt=period.start_at` (the period test fails), or
add PlanStatus.DRAFT to agenda_statuses (the statuses test fails); in cab.build_agenda group by
`item.services[-1]` (the grouping test fails); in cab._risks drop `.filter(rank__lte=RISKS_SHOWN)` (the risks
test fails); turn `_risks` into a query per plan (the query-count test fails).
"""

import datetime
import io
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from approvals.choices import ApprovalStatus, RowKind
from approvals.models import ApprovalRow
from changecalendar import views_cab
from changecalendar.choices import FreezeScope
from changecalendar.models import Freeze
from changeplans.choices import PlanKind, PlanStatus
from changeplans.models import Plan, PlanService
from changeplans.templatetags.change_types import kind_label
from tests.factories import PartyFactory, PlanFactory, RiskFactory, ServiceFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NSK = zoneinfo.ZoneInfo("Asia/Novosibirsk")
URL = reverse("changecalendar:cab")
PDF_URL = reverse("changecalendar:cab_pdf")
# Monday 16.03.2025 … Sunday 22.03.2025 (the seed's week).
WEEK = {"start": "2025-03-16", "end": "2025-03-22"}


def at(day, hour, minute=0):
    return datetime.datetime(2025, 3, day, hour, minute, tzinfo=NSK)


def make_plan(start, end, *, services=(), status=PlanStatus.IN_REVIEW, **fields):
    plan = PlanFactory(window_start=start, window_end=end, **fields)
    for service in services:
        PlanService.objects.create(plan=plan, service=service)
    Plan.objects.filter(pk=plan.pk).update(status=status)  # protected status: set in the database
    plan.refresh_from_db()
    return plan


def add_rows(plan, approved=0, pending=1, acknowledgement=False):
    position = 0
    for status in [ApprovalStatus.APPROVED] * approved + [ApprovalStatus.PENDING] * pending:
        position += 1
        ApprovalRow.objects.create(plan=plan, position=position, person_name=f"Согласующий {position}", status=status)
    if acknowledgement:
        ApprovalRow.objects.create(
            plan=plan,
            position=position + 1,
            kind=RowKind.ACKNOWLEDGEMENT,
            person_name="Дежурный",
            status=ApprovalStatus.NOT_ACKNOWLEDGED,
        )


@pytest.fixture
def viewer(client):
    # An ordinary login with no role: the plan list's rule (every signed-in user sees every plan).
    user = UserFactory(username="reader")
    client.force_login(user)
    return user


def agenda_ids(response):
    return [item.plan.pk for item in response.context["agenda"].plans]


def test_anonymous_is_sent_to_the_login_page(client):
    for url in (URL, PDF_URL):
        response = client.get(url)
        assert response.status_code == 302
        assert reverse("login") in response["Location"]


def test_a_forged_post_is_refused(client, viewer):
    assert client.post(URL, WEEK).status_code == 405
    assert client.post(PDF_URL, WEEK).status_code == 405


def test_grouped_by_day_then_service(client, viewer):
    bank, site = ServiceFactory(display_name="Интернет-банк"), ServiceFactory(display_name="Инфосайт")
    thursday_site = make_plan(at(20, 20), at(20, 23), services=[site, bank], title="Чт сайт")
    thursday_bank = make_plan(at(20, 10), at(20, 11), services=[bank], title="Чт банк")
    tuesday = make_plan(at(18, 20), at(18, 21), services=[site], title="Вт сайт")
    loose = make_plan(at(18, 9), at(18, 10), title="Вт без сервиса")

    response = client.get(URL, WEEK)

    assert response.status_code == 200
    days = response.context["agenda"].days
    assert [day.date for day in days] == [datetime.date(2025, 3, 18), datetime.date(2025, 3, 20)]
    assert [(group.name, [i.plan.pk for i in group.plans]) for group in days[0].groups] == [
        ("Без сервиса", [loose.pk]),
        ("Инфосайт", [tuesday.pk]),
    ]
    # A plan on several services is listed once, under its first, with all of them shown.
    assert [(group.name, [i.plan.pk for i in group.plans]) for group in days[1].groups] == [
        ("Интернет-банк", [thursday_bank.pk]),
        ("Инфосайт", [thursday_site.pk]),
    ]
    html = response.content.decode()
    assert "Вторник, 18.03.2025" in html and "Четверг, 20.03.2025" in html
    assert html.index("Вт без сервиса") < html.index("Вт сайт") < html.index("Чт банк") < html.index("Чт сайт")
    assert "Инфосайт, Интернет-банк" in html


def test_the_period_takes_overlapping_windows_only(client, viewer):
    inside = make_plan(at(17, 20), at(17, 22), title="Внутри")
    from_before = make_plan(at(15, 22), at(16, 2), title="Начат раньше")  # 15.03 22:00 – 16.03 02:00
    ends_at_start = make_plan(at(15, 20), at(16, 0), title="Кончается в начале")  # adjacent: not in
    starts_at_end = make_plan(at(23, 0), at(23, 2), title="Начинается после")
    response = client.get(URL, WEEK)
    assert set(agenda_ids(response)) == {inside.pk, from_before.pk}
    assert ends_at_start.pk not in agenda_ids(response) and starts_at_end.pk not in agenda_ids(response)
    # The next period picks the later one up; the page links to it.
    assert "start=2025-03-23&amp;end=2025-03-29" in response.content.decode()
    assert agenda_ids(client.get(URL, {"start": "2025-03-23", "end": "2025-03-29"})) == [starts_at_end.pk]


def test_which_statuses_wait_for_sign_off(client, viewer):
    review = make_plan(at(17, 20), at(17, 22))
    approved = make_plan(at(17, 20), at(17, 22), status=PlanStatus.APPROVED)
    for status in (PlanStatus.DRAFT, PlanStatus.REJECTED, PlanStatus.CANCELLED, PlanStatus.COMPLETED):
        make_plan(at(17, 20), at(17, 22), status=status)
    # An emergency plan started before its full sign-off stays on the agenda while a row waits.
    emergency = make_plan(
        at(17, 1),
        at(17, 3),
        status=PlanStatus.IN_PROGRESS,
        kind=PlanKind.EMERGENCY,
        emergency_signoff_due=at(18, 1),
    )
    add_rows(emergency, approved=1, pending=1)
    signed_emergency = make_plan(
        at(17, 1), at(17, 3), status=PlanStatus.COMPLETED, kind=PlanKind.EMERGENCY, emergency_signoff_due=at(18, 1)
    )
    add_rows(signed_emergency, approved=2, pending=0)

    response = client.get(URL, WEEK)
    assert sorted(agenda_ids(response)) == sorted([review.pk, emergency.pk])
    assert "sign-off after the start" not in response.content.decode()
    assert "подписание после начала" in response.content.decode()
    with_approved = client.get(URL, {**WEEK, "approved": "on"})
    assert sorted(agenda_ids(with_approved)) == sorted([review.pk, approved.pk, emergency.pk])
    assert 'name="approved" class="form-check-input" id="id_approved" checked' in with_approved.content.decode()


def test_default_period_is_the_coming_week(client, viewer, monkeypatch):
    today = datetime.date(2025, 3, 19)
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args, **kwargs: today)
    make_plan(at(25, 20), at(25, 21), title="Через шесть дней")
    make_plan(at(26, 20), at(26, 21), title="Через семь дней")
    response = client.get(URL)
    period = response.context["period"]
    assert (period.start, period.end) == (today, datetime.date(2025, 3, 25))
    assert [item.plan.title for item in response.context["agenda"].plans] == ["Через шесть дней"]
    # "This week" and "Next week" run Monday to Sunday.
    html = response.content.decode()
    assert "?start=2025-03-17&amp;end=2025-03-23" in html and "?start=2025-03-24&amp;end=2025-03-30" in html


def test_sign_off_progress_risks_conflicts_and_freezes_are_shown(client, viewer):
    bank = ServiceFactory(display_name="Интернет-банк")
    plan = make_plan(at(20, 20), at(20, 23), services=[bank], title="Перенос БД", downtime_text="30 мин")
    add_rows(plan, approved=2, pending=3, acknowledgement=True)
    step = StepFactory(plan=plan, position=1)
    later_step = StepFactory(plan=plan, position=2)
    for number in range(1, 5):
        RiskFactory(step=later_step, number=number, description=f"Риск шага два {number}", mitigation="")
    for number in range(1, 4):
        RiskFactory(step=step, number=number, description=f"Риск шага один {number}", mitigation=f"Мера {number}")
    other = make_plan(at(20, 22), at(21, 1), services=[bank], title="Обновление банка", status=PlanStatus.APPROVED)
    owner = UserFactory(username="freeze-owner")
    Freeze.objects.create(
        title="Квартальная отчётность",
        reason="Отчёт",
        starts_at=at(19, 0),
        ends_at=at(21, 0),
        scope=FreezeScope.SERVICE,
        service=bank,
        owner=owner,
    )
    Freeze.objects.create(
        title="Мораторий другого сервиса",
        reason="—",
        starts_at=at(19, 0),
        ends_at=at(21, 0),
        scope=FreezeScope.SERVICE,
        service=ServiceFactory(),
        owner=owner,
    )

    response = client.get(URL, WEEK)

    (item,) = response.context["agenda"].plans
    assert (item.signed, item.total) == (2, 6)
    # The first RISKS_SHOWN by step and number, the rest counted.
    assert [(risk.step_position, risk.number) for risk in item.risks] == [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2)]
    assert (item.risk_count, item.more_risks) == (7, 2)
    assert [conflict.other_id for conflict in item.conflicts] == [other.pk]
    assert [freeze.title for freeze in item.freezes] == ["Квартальная отчётность"]
    html = response.content.decode()
    assert "2 из 6 подписей" in html
    assert "Риск шага один 1" in html and "→ Мера 1" in html and "Риск шага два 2" in html
    assert "Риск шага два 3" not in html and "и ещё 2 риска на странице плана" in html
    assert f'href="/plans/{other.pk}/"' in html and "Обновление банка" in html and "сервис Интернет-банк" in html
    assert "Квартальная отчётность" in html and "Мораторий другого сервиса" not in html
    assert "30 мин" in html


@pytest.mark.parametrize(
    "typed, message",
    [
        ({"start": "32.13.2025", "end": "2025-03-22"}, "Введите правильную дату."),
        ({"start": "2025-03-22", "end": "2025-03-16"}, "Конец периода раньше его начала."),
        ({"start": "2025-03-01", "end": "2025-04-15"}, "Период — не больше 31 дня."),
        ({"start": "1999-12-31", "end": "2000-01-02"}, "Введите дату между 01.01.2000 и 31.12.2100."),
    ],
)
def test_bad_dates_are_explained_and_kept(client, viewer, typed, message):
    response = client.get(URL, typed)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    for value in typed.values():
        assert f'value="{value}"' in html  # what the user typed stays in the form
    # The PDF of a bad period is not made: the page explains instead.
    pdf = client.get(PDF_URL, typed)
    assert pdf.status_code == 400 and pdf["Content-Type"].startswith("text/html") and message in pdf.content.decode()


def test_a_russian_date_is_read_too(client, viewer):
    plan = make_plan(at(17, 20), at(17, 22))
    assert agenda_ids(client.get(URL, {"start": "16.03.2025", "end": "22.03.2025"})) == [plan.pk]


def test_the_agenda_is_capped_and_says_so(client, viewer, monkeypatch):
    monkeypatch.setattr(views_cab, "MAX_PLANS", 2)
    plans = [make_plan(at(17, hour), at(17, hour + 1)) for hour in (10, 12, 14)]
    response = client.get(URL, WEEK)
    assert agenda_ids(response) == [plans[0].pk, plans[1].pk]
    assert "Показаны только первые 2 из 3 планов" in response.content.decode()


def test_the_pdf_is_capped_lower_and_both_say_so(client, viewer, monkeypatch):
    monkeypatch.setattr(views_cab, "MAX_PDF_PLANS", 1)
    first, second = (make_plan(at(17, hour), at(17, hour + 1), title=f"План в {hour}") for hour in (10, 12))
    page = client.get(URL, WEEK).content.decode()
    assert "В PDF попадут первые 1 планов" in page and "План в 12" in page
    pdf = client.get(PDF_URL, WEEK)
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages).split())
    assert "В этом PDF только первые 1 из 2 планов" in text
    assert first.title in text and second.title not in text


def _populate(count, bank, owner):
    for index in range(count):
        plan = make_plan(at(17 + index % 5, 8 + index % 12), at(17 + index % 5, 9 + index % 12), services=[bank])
        add_rows(plan, approved=index % 3, pending=2, acknowledgement=True)
        step = StepFactory(plan=plan, position=1, executor=PartyFactory())
        RiskFactory(step=step, number=1)
        RiskFactory(step=step, number=2)
    Freeze.objects.create(title=f"Мораторий {count}", reason="—", starts_at=at(16, 0), ends_at=at(23, 0), owner=owner)


def test_queries_do_not_grow_with_the_number_of_plans(client, viewer):
    bank = ServiceFactory()
    owner = UserFactory(username="freeze-owner")

    def measure():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(URL, WEEK)
        assert response.status_code == 200
        return len(response.context["agenda"].plans), len(queries)

    _populate(3, bank, owner)
    small_plans, small = measure()
    _populate(27, bank, owner)
    large_plans, large = measure()
    assert (small_plans, large_plans) == (3, 30)
    assert large == small, f"{small} queries for 3 plans, {large} for 30"


def test_pdf_is_a_pdf_with_the_plans(client, viewer):
    bank = ServiceFactory(display_name="Интернет-банк")
    first = make_plan(at(18, 20), at(18, 22), services=[bank], title="Перенос базы данных банка")
    second = make_plan(
        at(20, 20), at(20, 23), services=[bank], title="Экстренная замена сертификата", kind=PlanKind.EMERGENCY
    )
    add_rows(second, approved=1, pending=1)
    RiskFactory(step=StepFactory(plan=first, position=1), number=1, description="Долгая репликация")

    response = client.get(PDF_URL, WEEK)
    with translation.override("ru"):
        emergency = kind_label(PlanKind.EMERGENCY)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="cab-2025-03-16-2025-03-22.pdf"'
    reader = PdfReader(io.BytesIO(response.content))
    text = " ".join((page.extract_text() or "") for page in reader.pages)
    text = " ".join(text.split()).replace("\u2010 ", "")  # words hyphenated at a line's end
    assert "Повестка CAB" in text
    for plan in (first, second):
        assert plan.title in text
    assert emergency in text and "Долгая репликация" in text and "1 из 2 подписей" in text
    assert reader.pages[0].mediabox.width > reader.pages[0].mediabox.height  # A4 landscape


def test_an_empty_pdf_says_so(client, viewer):
    response = client.get(PDF_URL, WEEK)
    reader = PdfReader(io.BytesIO(response.content))
    assert "Нет планов" in " ".join(reader.pages[0].extract_text().split())
