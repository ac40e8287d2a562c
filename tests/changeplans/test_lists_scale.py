"""Lists that scale (issue 16): every list has pages and no silent cap, the plan list's queries do not grow with
plans or steps, and search finds by Russian word forms, English words, Jira key fragments and people's names,
title matches first (docs/search.md)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from changeplans import search
from changeplans.models import Plan, PlanSearchDocument, Step
from changeplans.views_list import list_queryset
from common.pagination import paginate
from notifications.models import MailboxMessage
from tests.factories import NSK, PartyFactory, PlanFactory, ServiceFactory, StepFactory, UserFactory

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
START = datetime.datetime(2025, 3, 20, 20, 0, tzinfo=NSK)


def make_plans(author, count, *, steps=0, title="Плановые работы"):
    """`count` plans, one hour apart (plan 1 the oldest), each with `steps` steps, in a few queries."""
    plans = Plan.objects.bulk_create(
        Plan(
            title=f"{title} {n}",
            time_zone="Asia/Novosibirsk",
            window_start=START + datetime.timedelta(hours=n),
            window_end=START + datetime.timedelta(hours=n, minutes=30),
            author=author,
        )
        for n in range(1, count + 1)
    )
    Step.objects.bulk_create(
        Step(plan=plan, position=p, name=f"Шаг {p}") for plan in plans for p in range(1, steps + 1)
    )
    return plans


def titles(html):
    return [line for line in html.splitlines() if "fw-semibold text-decoration-none" in line]


def list_html(client, **params):
    response = client.get(reverse("changeplans:plan_list"), params)
    assert response.status_code == 200
    return response.content.decode()


# --- pages -----------------------------------------------------------------------------------------------


def test_plan_501_is_reachable_on_page_11(author_client, author, settings):
    settings.OKNO_PAGE_SIZE = 50
    make_plans(author, 520)
    first = list_html(author_client)
    assert "Плановые работы 520<" in first and "Плановые работы 20<" not in first
    assert "Показано 1–50 из 520" in first
    # Newest first: plan 20 is the 501st row, the first of page 11; the oldest is the last of it.
    last = list_html(author_client, page=11)
    assert len(titles(last)) == 20
    assert "Плановые работы 20<" in last and "Плановые работы 1<" in last
    assert "Показано 501–520 из 520" in last
    # A page past the end shows the last page, not an error.
    assert "Показано 501–520 из 520" in list_html(author_client, page=99)


def test_page_links_keep_the_filters(author_client, author, settings):
    settings.OKNO_PAGE_SIZE = 5
    plans = make_plans(author, 12)
    for plan in plans[:8]:
        plan.submit()
        plan.save()
    html = list_html(author_client, status="in_review")
    assert "Показано 1–5 из 8" in html
    assert 'href="?status=in_review&amp;page=2"' in html
    page2 = list_html(author_client, status="in_review", page=2)
    assert "Показано 6–8 из 8" in page2 and len(titles(page2)) == 3
    # The htmx answer to the filter form carries the bar too, with the filter in its links.
    fragment = author_client.get(reverse("changeplans:plan_list"), {"status": "in_review"}, **HX).content.decode()
    assert "<html" not in fragment and 'href="?status=in_review&amp;page=2"' in fragment


def test_count_stops_at_the_cap_and_every_page_stays_reachable(rf, author, settings):
    settings.OKNO_LIST_COUNT_CAP = 20
    make_plans(author, 30)
    request = rf.get("/plans/", {"page": "3"})
    page = paginate(request, list_queryset(), per_page=10)
    assert page.capped and page.count == 20 and page.num_pages is None
    assert [plan.title for plan in page][-1] == "Плановые работы 1"
    assert not page.has_next and page.has_previous
    first = paginate(rf.get("/plans/"), list_queryset(), per_page=10)
    assert first.capped and first.has_next and first.next_url == "?page=2"


def test_list_queries_do_not_grow_with_plans_or_steps(author_client, author, django_assert_num_queries):
    service = ServiceFactory()
    for plan in make_plans(author, 10, steps=3, title="Ранние"):
        plan.services.add(service)
    with CaptureQueriesContext(connection) as few:
        list_html(author_client)
    with CaptureQueriesContext(connection) as few_search:
        list_html(author_client, q="ранние")
    for plan in make_plans(author, 190, steps=20, title="Поздние"):
        plan.services.add(service)
    with django_assert_num_queries(len(few)):
        list_html(author_client)
    with django_assert_num_queries(len(few_search)):
        html = list_html(author_client, q="ранние")
    assert "Показано 1–10 из 10" in html


def test_step_count_is_right_without_a_join(author_client, author):
    (plan,) = make_plans(author, 1, steps=7, title="Семь шагов")
    make_plans(author, 3, steps=2)
    html = list_html(author_client)
    row = html[html.index(f"{plan.title}<") :]
    assert '<td class="text-end">7</td>' in row[: row.index("</tr>")]
    with CaptureQueriesContext(connection) as queries:
        list_html(author_client)
    # The list's own query reads no step: the counts come from one GROUP BY over the page's plans.
    plan_queries = [q["sql"] for q in queries if 'FROM "changeplans_plan"' in q["sql"]]
    assert plan_queries and not any("changeplans_step" in sql for sql in plan_queries)


def test_every_signed_in_user_sees_every_plan_and_others_none(client, author):
    make_plans(author, 3)
    response = client.get(reverse("changeplans:plan_list"), {"page": "2"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    operator = UserFactory(username="operator", roles=["operator"])
    client.force_login(operator)
    html = list_html(client, q="Плановые")
    assert len(titles(html)) == 3  # change management is open: others' plans too


def test_history_page_has_pages(author_client, author, settings):
    settings.OKNO_PAGE_SIZE = 3
    plan = PlanFactory(author=author)
    from changeplans.history import record_event

    for n in range(7):
        record_event(plan, actor=author, kind="edited", comment=f"правка {n}")
    url = reverse("changeplans:plan_history", args=[plan.pk])
    html = author_client.get(url, {"page": 3}).content.decode()
    assert "правка 6" in html and "правка 5" not in html and "Показано 7–7 из 7" in html
    page = author_client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
    assert f'href="{url}"' in page


def test_mailbox_has_pages(client, settings):
    settings.OKNO_PAGE_SIZE = 2
    settings.EMAIL_BACKEND = "notifications.mailbox.MailboxBackend"
    for n in range(5):
        MailboxMessage.objects.create(from_email="a@example.org", to="b@example.org", subject=f"Письмо {n}")
    staff = UserFactory(username="staff", is_staff=True)
    client.force_login(staff)
    html = client.get(reverse("notifications:mailbox"), {"page": 3}).content.decode()
    assert html.count("okno-mailbox-row") == 1 and "Показано 5–5 из 5" in html


# --- search ------------------------------------------------------------------------------------------------


@pytest.fixture
def found(author_client):
    def run(text):
        return titles(list_html(author_client, q=text))

    return run


def _title_in(text, rows):
    return any(f">{text}<" in row for row in rows)


@pytest.mark.postgres
def test_search_finds_a_russian_word_in_another_form(author, found):
    PlanFactory(author=author, title="Миграция etcd на новые узлы")
    PlanFactory(author=author, title="Обновление Velero")
    rows = found("миграции")
    assert _title_in("Миграция etcd на новые узлы", rows) and not _title_in("Обновление Velero", rows)
    assert _title_in("Миграция etcd на новые узлы", found("миграц"))  # a word being typed is a prefix


@pytest.mark.postgres
def test_search_finds_an_english_word_and_a_step_name(author, found):
    PlanFactory(author=author, title="Database migrations")
    plan = PlanFactory(author=author, title="Работы на кластере")
    StepFactory(plan=plan, position=1, name="Перезапуск ingress-контроллеров")
    assert _title_in("Database migrations", found("migration"))
    assert _title_in("Работы на кластере", found("контроллер"))


@pytest.mark.postgres
def test_search_finds_a_jira_key_and_its_fragment(author, found):
    PlanFactory(author=author, title="С ключом", jira_url="https://jira.example.org/browse/INFRA-22")
    PlanFactory(author=author, title="Другой ключ", jira_url="https://jira.example.org/browse/OPS-7")
    assert _title_in("С ключом", found("INFRA-22"))
    rows = found("infra-2")
    assert _title_in("С ключом", rows) and not _title_in("Другой ключ", rows)


@pytest.mark.postgres
def test_search_finds_people_by_a_name_typed_approximately(author, found):
    kochetov = UserFactory(username="kochetov", last_name="Кочетов", first_name="Виктор", roles=["author"])
    PlanFactory(author=kochetov, title="План Кочетова")
    PlanFactory(author=author, title="Курирует Кочетов", curator=kochetov)
    PlanFactory(author=author, title="Исполняет подрядчик", responsible=PartyFactory(name="ООО Ромашка"))
    PlanFactory(author=author, title="Чужой план")
    rows = found("Кочетв")
    assert _title_in("План Кочетова", rows) and _title_in("Курирует Кочетов", rows)
    assert not _title_in("Чужой план", rows)
    assert _title_in("Исполняет подрядчик", found("Ромашк"))


@pytest.mark.postgres
def test_a_title_match_comes_before_a_step_match(author, found):
    in_title = PlanFactory(author=author, title="Замена сертификатов", window_start=START, window_end=START)
    later = START + datetime.timedelta(days=30)
    in_step = PlanFactory(author=author, title="Обслуживание узлов", window_start=later, window_end=later)
    StepFactory(plan=in_step, position=1, name="Замена сертификатов kubelet")
    rows = found("сертификаты")
    # The plan with the word in a step is newer, so without the rank it would be first.
    assert [_title_in(in_title.title, [row]) for row in rows] == [True, False]


@pytest.mark.postgres
def test_words_in_very_many_plans_come_newest_first(author, found, settings):
    settings.OKNO_SEARCH_RANK_LIMIT = 2
    in_title = PlanFactory(author=author, title="Замена сертификатов", window_start=START, window_end=START)
    for days in (1, 2):
        later = START + datetime.timedelta(days=days)
        plan = PlanFactory(author=author, title=f"Обслуживание {days}", window_start=later, window_end=later)
        StepFactory(plan=plan, position=1, name="Замена сертификатов kubelet")
    rows = found("сертификаты")
    # Three found, more than the limit: by date, the title match last (it is the oldest).
    assert len(rows) == 3 and _title_in(in_title.title, rows[-1:]) and _title_in("Обслуживание 2", rows[:1])


@pytest.mark.postgres
def test_the_search_document_follows_edits_of_plans_and_steps(author, found):
    plan = PlanFactory(author=author, title="Плановые работы")
    step = StepFactory(plan=plan, position=1, name="Обновить etcd")
    assert _title_in("Плановые работы", found("etcd"))
    step.name = "Обновить calico"
    step.save()
    assert not found("etcd") and _title_in("Плановые работы", found("calico"))
    step.delete()
    assert not found("calico")
    plan.title = "Перенос Postgres"
    plan.save()
    assert _title_in("Перенос Postgres", found("postgres"))
    # Bulk inserts are kept too (runbooks and imports add steps in one statement).
    Step.objects.bulk_create([Step(plan=plan, position=2, name="Проверить репликацию")])
    assert _title_in("Перенос Postgres", found("репликация"))
    assert PlanSearchDocument.objects.filter(plan=plan).count() == 1


@pytest.mark.postgres
def test_search_reads_no_step_rows(author_client, author):
    make_plans(author, 3, steps=5)
    with CaptureQueriesContext(connection) as queries:
        list_html(author_client, q="шаг")
    searches = [q["sql"] for q in queries if "changeplans_plansearchdocument" in q["sql"]]
    assert searches and not any("changeplans_step" in sql for sql in searches)


def test_the_sqlite_fallback_searches_the_same_fields(author, monkeypatch, author_client):
    # The branch SQLite takes, run here on purpose: icontains over title, goal, Jira link, steps, people.
    monkeypatch.setattr(search, "uses_full_text", lambda using="default": False)
    in_title = PlanFactory(author=author, title="Upgrade Calico", window_start=START, window_end=START)
    later = START + datetime.timedelta(days=1)
    in_step = PlanFactory(author=author, title="Cluster work", window_start=later, window_end=later)
    StepFactory(plan=in_step, position=1, name="check calico pods")
    PlanFactory(author=author, title="Jira only", jira_url="https://jira.example.org/browse/INFRA-22")
    PlanFactory(author=author, title="Nothing here")
    rows = titles(list_html(author_client, q="calico"))
    assert len(rows) == 2 and in_title.title in rows[0] and in_step.title in rows[1]
    assert [r for r in titles(list_html(author_client, q="infra-2")) if "Jira only" in r]
    sql = str(search.search_plans(Plan.objects.all(), "calico").query)
    assert "changeplans_plansearchdocument" not in sql and "EXISTS" in sql


def test_what_reaches_postgresql_is_only_words():
    assert search.tsquery("миграция & !etcd | 'x':*") == "миграция:* & etcd:* & x:*"
    assert search.tsquery("&|!") == ""


@pytest.mark.postgres
def test_a_search_counts_its_plans_once(author_client, author):
    make_plans(author, 3, title="Замена узлов")
    with CaptureQueriesContext(connection) as queries:
        html = list_html(author_client, q="узлы")
    assert "Показано 1–3 из 3" in html
    # One count of the plans found serves the order (ranked or newest first) and the pages.
    counts = [q["sql"] for q in queries if q["sql"].startswith("SELECT COUNT(*)") and '"changeplans_plan"' in q["sql"]]
    assert len(counts) == 1


@pytest.mark.postgres
def test_a_common_word_is_ranked_when_the_filters_leave_few(author, author_client, settings):
    # The word is in more plans than the rank limit, but the status filter leaves two: those are ranked.
    settings.OKNO_SEARCH_RANK_LIMIT = 2
    in_title = PlanFactory(author=author, title="Замена сертификатов", window_start=START, window_end=START)
    for days in (1, 2):
        later = START + datetime.timedelta(days=days)
        plan = PlanFactory(author=author, title=f"Обслуживание {days}", window_start=later, window_end=later)
        StepFactory(plan=plan, position=1, name="Замена сертификатов kubelet")
    for plan in Plan.objects.exclude(title="Обслуживание 1"):
        plan.submit()
        plan.save()
    rows = titles(list_html(author_client, q="сертификаты", status="in_review"))
    assert len(rows) == 2 and _title_in(in_title.title, rows[:1])


@pytest.mark.postgres
def test_a_common_word_and_a_name_find_both(author, author_client, settings):
    # Words in more plans than the limit are read plan by plan; a plan found only by its author is found too.
    settings.OKNO_SEARCH_RANK_LIMIT = 1
    kochetov = UserFactory(username="kochetov", last_name="Кочетов", first_name="Виктор", roles=["author"])
    for days in (1, 2):
        later = START + datetime.timedelta(days=days)
        PlanFactory(author=author, title=f"Звонок Кочетову {days}", window_start=later, window_end=later)
    PlanFactory(author=kochetov, title="Без слова", window_start=START, window_end=START)
    PlanFactory(author=author, title="Чужой план", window_start=START, window_end=START)
    rows = titles(list_html(author_client, q="Кочетов"))
    assert len(rows) == 3 and _title_in("Без слова", rows[-1:]) and _title_in("Звонок Кочетову 2", rows[:1])


def test_the_service_and_author_filters(author_client, author):
    service = ServiceFactory(display_name="Инфосайт <www>")
    other_author = UserFactory(username="petrov", last_name="Петров", first_name="Иван", roles=["author"])
    mine = make_plans(author, 2, title="Мой")
    mine[0].services.add(service)
    make_plans(other_author, 1, title="Чужой")
    html = list_html(author_client, service=service.pk)
    assert [_title_in("Мой 1", [row]) for row in titles(html)] == [True]
    assert f'<option value="{service.pk}" selected>Инфосайт &lt;www&gt;</option>' in html
    html = list_html(author_client, author=other_author.pk)
    assert len(titles(html)) == 1 and "Чужой 1<" in html
    assert f'<option value="{other_author.pk}" selected>Иван Петров</option>' in html
    # Whoever wrote no plan is not offered; a value not offered is refused, not applied.
    nobody = UserFactory(username="nobody", roles=["author"])
    assert f'<option value="{nobody.pk}"' not in html
    assert len(titles(list_html(author_client, author=nobody.pk))) == 3


@pytest.mark.postgres
@pytest.mark.parametrize("text", ["сертификаты", "INFRA-2", "Кочетов", "нет такого слова"])
def test_both_ways_of_searching_find_the_same_plans_in_the_same_order(author, monkeypatch, text):
    # Words in many plans are read plan by plan, rarer ones through the GIN index: the same plans either way.
    kochetov = UserFactory(username="kochetov", last_name="Кочетов", first_name="Виктор", roles=["author"])
    for days in range(6):
        at = START + datetime.timedelta(days=days)
        plan = PlanFactory(
            author=kochetov if days == 2 else author,
            title="Замена сертификатов" if days % 2 else f"Работы {days}",
            jira_url=f"https://jira.example.org/browse/INFRA-2{days}" if days in (1, 4) else "",
            window_start=at,
            window_end=at,
        )
        StepFactory(plan=plan, position=1, name="Проверка сертификатов" if days == 0 else "Шаг")
    results = []
    for share in (0.0, 2.0):  # every word "common"; no word "common"
        monkeypatch.setattr(search, "COMMON_SHARE", share)
        found = search.find_plans(list_queryset(), text)
        results.append(([plan.title for plan in found.plans], found.count))
    assert results[0] == results[1]
    assert text == "нет такого слова" or results[0][1] > 0
