"""The plans resource (api/views_plans.py, docs/api.md "Plans"): list, read, create, edit, transitions.

The permission matrix at the end asks the page and the API the same thing as the same person, each on its own
copy of the plan, and expects the same answer: allowed by both, or refused by both with the same reason.
"""

import datetime
import json

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from api.choices import TokenScope
from api.tokens import issue_token
from approvals import services as approvals_services
from approvals.models import ApprovalRow
from changeplans.choices import EventKind, PlanStatus
from changeplans.filtersets import PlanFilterSet
from changeplans.models import Plan, PlanEvent, PlanService
from changeplans.views_list import list_queryset
from execution import transitions
from tests.approvals.factories import plan_with_matrix
from tests.factories import NSK, PlanFactory, ServiceFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

LIST = reverse("api:plan_list")


def detail_url(plan):
    return reverse("api:plan_detail", args=[plan.pk])


def action_url(plan, action):
    return reverse(f"api:plan_{action}", args=[plan.pk])


class Api:
    """A client that signs in with a real personal token of `user` (Authorization: Bearer)."""

    def __init__(self, user, scope=TokenScope.WRITE, language=None):
        _token, self.token = issue_token(user, name="tests", scope=scope, expires_at=None)
        self.user = user
        self.client = Client()
        self.extra = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}
        if language:  # the language follows the cookie, as on the pages (Russian without it)
            self.client.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    def _headers(self, headers):
        return {**self.extra, **{f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}}

    def get(self, url, params=None, **headers):
        return self.client.get(url, params or {}, **self._headers(headers))

    def post(self, url, body=None, **headers):
        data = json.dumps({} if body is None else body)
        return self.client.post(url, data, content_type="application/json", **self._headers(headers))

    def patch(self, url, body, **headers):
        return self.client.patch(url, json.dumps(body), content_type="application/json", **self._headers(headers))


def history(plan, **filters):
    return PlanEvent.objects.filter(plan=plan, **filters)


def approved_plan(author, *, opened=True):
    """An approved plan whose window opened five minutes ago (or opens tomorrow)."""
    start = (timezone.now() - datetime.timedelta(minutes=5)).replace(microsecond=0)
    if not opened:
        start += datetime.timedelta(days=1)
    plan = PlanFactory(author=author, window_start=start, window_end=start + datetime.timedelta(hours=3))
    Plan.objects.filter(pk=plan.pk).update(status=PlanStatus.APPROVED)
    plan.refresh_from_db()
    return plan


def running(author, duty):
    plan = approved_plan(author)
    transitions.start_plan(plan.pk, actor=duty)
    plan.refresh_from_db()
    return plan


NEW_PLAN = {
    "title": "Замена CNI на Calico",
    "goal": "Установить Calico вместо Flannel",
    "kind": "normal",
    "time_zone": "Asia/Novosibirsk",
    "window_start": "2025-03-20T20:00:00+07:00",
    "window_end": "2025-03-20T23:05:00+07:00",
    "downtime_text": "до 40 мин",
    "availability": "unavailable",
    "client_impact": True,
    "responsible_name": "Дежурный ООФИС",
    "jira_url": "https://jira.example.org/browse/INFRA-22",
}


# --- list ---------------------------------------------------------------------------------------------


def make_plans(n, author, service):
    for index in range(n):
        plan = PlanFactory(
            author=author,
            title=f"Работы {index}",
            window_start=datetime.datetime(2025, 3, 1, 20, 0, tzinfo=NSK) + datetime.timedelta(days=index),
            window_end=datetime.datetime(2025, 3, 1, 22, 0, tzinfo=NSK) + datetime.timedelta(days=index),
        )
        PlanService.objects.create(plan=plan, service=service)
        StepFactory(plan=plan, position=1)


def list_queries(api, params=None):
    api.get(LIST, params)  # the token's last use is written at most once a minute: not in the count
    with CaptureQueriesContext(connection) as captured:
        response = api.get(LIST, params)
    assert response.status_code == 200, response.content
    return len(captured), response.json()


@pytest.mark.parametrize("params", [{}, {"status": "draft", "service": "SERVICE"}, {"q": "Работы"}])
def test_the_list_runs_as_many_queries_for_60_plans_as_for_5(author, params):
    # Given 5 plans, then 60 (more than a page)
    service = ServiceFactory()
    params = {key: (str(service.pk) if value == "SERVICE" else value) for key, value in params.items()}
    api = Api(author)
    make_plans(5, author, service)
    few, small = list_queries(api, params)
    make_plans(55, author, service)
    # When the first page is asked again
    many, full = list_queries(api, params)
    # Then the query count is the same, and the page is full
    assert few == many
    assert len(small["results"]) == 5 and len(full["results"]) == 50 and full["next"]


def test_a_list_row_shows_what_the_plan_list_shows(author):
    service = ServiceFactory(display_name="Инфосайт")
    make_plans(1, author, service)
    row = Api(author).get(LIST).json()["results"][0]
    plan = Plan.objects.get()
    assert row == {
        "id": plan.pk,
        "url": "http://testserver" + detail_url(plan),
        "title": "Работы 0",
        "kind": "normal",
        "status": "draft",
        "status_label": "ЧЕРНОВИК",
        "time_zone": "Asia/Novosibirsk",
        "window_start": "2025-03-01T20:00:00+07:00",
        "window_end": "2025-03-01T22:00:00+07:00",
        "author": {"id": author.pk, "username": "author", "name": row["author"]["name"]},
        "service_names": ["Инфосайт"],
        "step_count": 1,
    }


def test_the_cursor_walks_every_plan_once_in_the_pages_order(author):
    make_plans(7, author, ServiceFactory())
    api = Api(author)
    seen, url, params = [], LIST, {"page_size": 3}
    while url:
        body = api.get(url, params).json()
        seen += [row["title"] for row in body["results"]]
        url, params = body["next"], None
    assert seen == [f"Работы {index}" for index in range(6, -1, -1)]  # the latest window first, as the page


def test_the_filters_are_the_plan_lists(author, other_author):
    service = ServiceFactory()
    make_plans(2, author, service)
    mine_elsewhere = PlanFactory(author=other_author, title="Другой автор")
    Plan.objects.filter(pk=mine_elsewhere.pk).update(status=PlanStatus.APPROVED)
    api = Api(author)

    def titles(**params):
        return [row["title"] for row in api.get(LIST, params).json()["results"]]

    assert titles(author=other_author.pk) == ["Другой автор"]
    assert titles(status="approved") == ["Другой автор"]
    assert titles(service=service.pk) == ["Работы 1", "Работы 0"]
    assert titles(date_from="2025-03-02", date_to="2025-03-02") == ["Работы 1"]
    # The search finds what the plan list's FilterSet finds ("автора" is a word form of "автор")
    searched = PlanFilterSet({"q": "автора"}, queryset=list_queryset())
    assert searched.is_valid()
    assert titles(q="автора") == [plan.title for plan in searched.qs] == ["Другой автор"]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "nonsense"},
        {"service": "99999999999999999999999"},
        {"author": "x"},
        {"date_from": "2025-13-45"},
        {"date_to": "1800-01-01"},
        {"q": "a\x00b"},
    ],
)
def test_a_bad_filter_is_a_400_with_the_filtersets_messages(author, params):
    response = Api(author).get(LIST, params)
    assert response.status_code == 400
    body = response.json()
    expected = PlanFilterSet(params).errors
    assert body["code"] == "invalid"
    assert body["errors"] == {field: list(messages) for field, messages in expected.items()}
    assert body["detail"]


def test_a_bad_cursor_is_a_404(author):
    response = Api(author).get(LIST, {"cursor": "garbage"})
    assert response.status_code == 404


# --- read -----------------------------------------------------------------------------------------------


def test_the_detail_is_the_plan_pages_header_with_its_etag(author):
    service = ServiceFactory(name="www.nskes.ru", display_name="Инфосайт")
    plan = PlanFactory(author=author, jira_url="https://jira.example.org/browse/INFRA-22", curator=author)
    PlanService.objects.create(plan=plan, service=service, availability="degraded")
    response = Api(author).get(detail_url(plan))
    assert response.status_code == 200
    assert response["ETag"] == f'"plan-{plan.pk}-r{plan.revision}"'
    body = response.json()
    assert body["window_start"] == "2025-03-20T20:00:00+07:00"
    assert body["window_end"] == "2025-03-20T23:05:00+07:00"
    assert body["status_label"] == "ЧЕРНОВИК" and body["revision"] == plan.revision
    assert body["services"] == [
        {
            "id": service.pk,
            "name": "www.nskes.ru",
            "display_name": "Инфосайт",
            "availability": "degraded",
            "availability_label": "РАБОТАЕТ С ОГРАНИЧЕНИЯМИ",
        }
    ]
    assert body["availability"] == "degraded"
    assert body["curator"]["id"] == author.pk and body["author"]["username"] == "author"
    assert body["started_at"] is None
    assert body["links"]["page"] == "http://testserver" + reverse("changeplans:plan_detail", args=[plan.pk])
    assert body["links"]["steps"] == f"http://testserver/api/v1/plans/{plan.pk}/steps/"


def test_if_none_match_with_the_current_etag_is_a_304(author):
    plan = PlanFactory(author=author)
    api = Api(author)
    etag = api.get(detail_url(plan))["ETag"]
    assert api.get(detail_url(plan), **{"If-None-Match": etag}).status_code == 304
    Plan.objects.filter(pk=plan.pk).update(revision=plan.revision + 1)
    assert api.get(detail_url(plan), **{"If-None-Match": etag}).status_code == 200


@pytest.mark.parametrize("pk", [987654, 2**63, 10**30])
def test_a_missing_plan_is_a_404(author, pk):
    api = Api(author)
    assert api.get(f"{LIST}{pk}/").status_code == 404
    assert api.post(f"{LIST}{pk}/cancel/", {"comment": "x"}).status_code == 404


def test_english_on_request(author):
    response = Api(author, language="en").get(LIST, {"status": "nonsense"})
    assert "Select a valid choice" in response.json()["detail"]


# --- create -----------------------------------------------------------------------------------------------


def test_an_author_creates_a_plan(author):
    service = ServiceFactory()
    response = Api(author).post(LIST, {**NEW_PLAN, "services": [service.pk], "curator": author.pk})
    assert response.status_code == 201, response.content
    plan = Plan.objects.get(pk=response.json()["id"])
    assert response["Location"] == detail_url(plan)
    assert response["ETag"] == f'"plan-{plan.pk}-r1"'
    assert plan.window_start == datetime.datetime(2025, 3, 20, 13, 0, tzinfo=datetime.UTC)
    assert plan.responsible.name == "Дежурный ООФИС" and plan.curator == author
    assert [ps.service_id for ps in plan.plan_services.all()] == [service.pk]
    assert history(plan, kind=EventKind.CREATED).count() == 1
    assert response.json()["client_impact"] is True


def test_a_window_without_offset_is_wall_clock_in_the_plans_zone(author):
    body = {
        **NEW_PLAN,
        "time_zone": "Europe/Moscow",
        "window_start": "2025-03-20T20:00",
        "window_end": "2025-03-20T21:00",
    }
    response = Api(author).post(LIST, body)
    assert response.status_code == 201, response.content
    assert response.json()["window_start"] == "2025-03-20T20:00:00+03:00"


def test_create_refuses_with_the_create_forms_messages(author, client):
    # Given the same wrong input on the create page and in the API
    wrong = {**NEW_PLAN, "window_end": "2025-03-20T19:00:00+07:00", "jira_url": "not a url", "title": ""}
    response = Api(author).post(LIST, wrong)
    client.force_login(author)
    page = client.post(
        reverse("changeplans:plan_create"),
        {**wrong, "window_start": "2025-03-20T20:00", "window_end": "2025-03-20T19:00", "client_impact": "on"},
    )
    # Then both refuse, with the same messages
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"title", "window_end", "jira_url"}
    for messages in errors.values():
        for message in messages:
            assert escape(message) in page.content.decode()
    assert not Plan.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"title": "a\x00b"},
        {"title": ["a list"]},
        {"services": [2**70]},
        {"services": "1"},
        {"curator": 10**30},
        {"curator": 987654},
        {"time_zone": "../../etc/passwd"},
        {"window_start": "9999-12-31T23:59:59-12:00"},
        {"window_start": "2025-02-30T10:00"},
        {"kind": "nonsense"},
        {"unknown": 1},
    ],
)
def test_garbage_is_a_400_never_a_500(author, body):
    response = Api(author).post(LIST, {**NEW_PLAN, **body})
    assert response.status_code == 400, response.content
    assert response.json()["errors"]


def test_a_json_list_is_a_400(author):
    response = Api(author).client.post(
        LIST, "[1, 2]", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {Api(author).token}"
    )
    assert response.status_code == 400


# --- edit -------------------------------------------------------------------------------------------------


def test_patch_changes_only_the_fields_sent(author):
    service = ServiceFactory()
    plan = PlanFactory(author=author, goal="Цель", curator=author)
    old_title = plan.title
    PlanService.objects.create(plan=plan, service=service, availability="degraded")
    api = Api(author)
    etag = api.get(detail_url(plan))["ETag"]
    response = api.patch(detail_url(plan), {"title": "Новое название"}, **{"If-Match": etag})
    assert response.status_code == 200, response.content
    plan.refresh_from_db()
    assert plan.title == "Новое название" and plan.goal == "Цель" and plan.curator == author
    assert plan.window_start == datetime.datetime(2025, 3, 20, 20, 0, tzinfo=NSK)
    assert list(plan.plan_services.values_list("service_id", "availability")) == [(service.pk, "degraded")]
    assert response["ETag"] == f'"plan-{plan.pk}-r{plan.revision}"' != etag
    assert history(plan, kind=EventKind.EDITED).get().changes == {"title": [old_title, "Новое название"]}


def test_patch_moves_the_window_given_with_an_offset(author):
    plan = PlanFactory(author=author)
    api = Api(author)
    etag = api.get(detail_url(plan))["ETag"]
    body = {"window_start": "2025-03-21T13:00:00Z", "window_end": "2025-03-21T14:00:00Z", "curator": None}
    response = api.patch(detail_url(plan), body, **{"If-Match": etag})
    assert response.status_code == 200, response.content
    assert response.json()["window_start"] == "2025-03-21T20:00:00+07:00"


def test_an_edit_that_resets_signatures_asks_first(author):
    # Given a plan under sign-off that one approver has signed
    plan, author, approvers, _duty = plan_with_matrix(2, author=author)
    version = approvals_services.submit_plan(plan.pk, actor=author)
    row = ApprovalRow.objects.get(plan=plan, user=approvers[0])
    approvals_services.approve_row(row.pk, actor=approvers[0], version=version.number)
    api = Api(author)
    etag = api.get(detail_url(plan))["ETag"]
    # When the author moves the window without confirming
    body = {"window_end": "2025-03-21T01:00:00+07:00"}
    asked = api.patch(detail_url(plan), body, **{"If-Match": etag})
    # Then nothing is saved and the answer says how many signatures would go
    assert asked.status_code == 409 and asked.json()["code"] == "confirm_reset"
    assert asked.json()["signatures"] == 1
    row.refresh_from_db()
    assert row.status == "approved"
    # And with confirm_reset it is saved and the signature is reset
    done = api.patch(detail_url(plan), {**body, "confirm_reset": True}, **{"If-Match": etag})
    assert done.status_code == 200, done.content
    row.refresh_from_db()
    assert row.status == "pending"


# --- transitions ----------------------------------------------------------------------------------------


def test_submit(author):
    plan, author, _approvers, _duty = plan_with_matrix(1, author=author)
    response = Api(author).post(action_url(plan, "submit"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["version"] == 1 and body["plan"]["status"] == "in_review"
    assert body["detail"] == "Отправлено на согласование, версия 1"


def test_submit_without_a_matrix_is_refused_as_on_the_page(author, client):
    plan = PlanFactory(author=author)
    StepFactory(plan=plan)
    response = Api(author).post(action_url(plan, "submit"))
    client.force_login(author)
    page = client.post(reverse("approvals:plan_submit", args=[plan.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == page.status_code == 422
    assert response.json()["detail"] == toast(page) == "В листе согласования нет строк: добавьте согласующих."


def test_cancel_needs_a_comment(author):
    plan = PlanFactory(author=author)
    api = Api(author)
    refused = api.post(action_url(plan, "cancel"), {"comment": "  "})
    assert refused.status_code == 400 and refused.json()["errors"]["comment"]
    done = api.post(action_url(plan, "cancel"), {"comment": "Перенос"})
    assert done.status_code == 200 and done.json()["plan"]["status"] == "cancelled"
    assert history(plan, to_status="cancelled").get().comment == "Перенос"
    again = api.post(action_url(plan, "cancel"), {"comment": "Ещё раз"})
    assert again.status_code == 422
    assert again.json()["detail"] == "План, который уже начат или завершён, отменить нельзя."


def test_copy_makes_a_draft_in_the_new_window(author):
    plan = PlanFactory(author=author)
    StepFactory(plan=plan, position=1)
    response = Api(author).post(
        action_url(plan, "copy"), {"window_start": "2025-03-27T20:00", "window_end": "2025-03-27T23:05"}
    )
    assert response.status_code == 201, response.content
    copy = Plan.objects.get(pk=response.json()["plan"]["id"])
    assert response["Location"] == detail_url(copy)
    assert copy.steps.count() == 1 and copy.status == PlanStatus.DRAFT
    assert copy.window_start == datetime.datetime(2025, 3, 27, 20, 0, tzinfo=NSK)
    bad = Api(author).post(action_url(plan, "copy"), {"window_start": "2025-03-27T20:00"})
    assert bad.status_code == 400 and "window_end" in bad.json()["errors"]


def test_start_early_needs_a_reason(author, duty):
    plan = approved_plan(author, opened=False)
    api = Api(duty)
    refused = api.post(action_url(plan, "start"))
    assert refused.status_code == 422 and "чтобы начать раньше" in refused.json()["detail"]
    done = api.post(action_url(plan, "start"), {"override_reason": "Окно согласовано раньше"})
    assert done.status_code == 200 and done.json()["plan"]["status"] == "in_progress"
    assert history(plan, to_status="in_progress").get().comment.endswith("Окно согласовано раньше")
    again = api.post(action_url(plan, "start"), {"override_reason": "ещё"})
    assert again.status_code == 409 and again.json()["code"] == "conflict"


def test_rollback_then_finish(author, duty):
    plan = running(author, duty)
    api = Api(duty)
    assert api.post(action_url(plan, "rollback")).status_code == 422  # a reason is needed
    rolled = api.post(action_url(plan, "rollback"), {"reason": "Поды не поднялись"})
    assert rolled.status_code == 200 and rolled.json()["plan"]["rollback_started_at"]
    wrong = api.post(action_url(plan, "finish"), {"outcome": "completed"})
    assert wrong.status_code == 422
    assert wrong.json()["detail"] == "План в режиме отката: он завершается как «завершено с откатом» или «неудача»."
    unknown = api.post(action_url(plan, "finish"), {"outcome": "maybe"})
    assert unknown.status_code == 422
    done = api.post(action_url(plan, "finish"), {"outcome": "completed_with_rollback", "comment": "Откатили"})
    assert done.status_code == 200 and done.json()["plan"]["status"] == "completed_with_rollback"


# --- the same answer as the page, for every role ----------------------------------------------------------

ROLES = ["author_own", "author_other", "approver", "duty", "operator", "admin", "nobody", "read_only"]


@pytest.fixture
def people(author, other_author, approver, duty, operator, admin_user):
    nobody = UserFactory(username="nobody")
    return {
        "author_own": author,
        "author_other": other_author,
        "approver": approver,
        "duty": duty,
        "operator": operator,
        "admin": admin_user,
        "nobody": nobody,
        "read_only": author,
    }


def toast(response):
    return json.loads(response["HX-Trigger"])["okno:toast"]["text"]


PAGE_HEADER = {
    "title": "Новое название",
    "goal": "Цель",
    "kind": "normal",
    "time_zone": "Asia/Novosibirsk",
    "window_start": "2025-03-20T20:00",
    "window_end": "2025-03-20T23:05",
    "availability": "unavailable",
    "announcement_intro": "Нам необходимо провести работы",
}

HTMX = {"HTTP_HX_REQUEST": "true"}


def _fresh(endpoint, author, duty):
    """A plan in the state the endpoint needs (one for the page, one for the API)."""
    if endpoint == "submit":
        plan = PlanFactory(author=author)
        StepFactory(plan=plan, position=1)
        ApprovalRow.objects.create(
            plan=plan, position=1, job_title="руководитель", person_name="Согласующий", user=UserFactory()
        )
        return plan
    if endpoint == "start":
        return approved_plan(author)
    if endpoint in ("finish", "rollback"):
        return running(author, duty)
    return PlanFactory(author=author)


def _page(client, endpoint, plan):
    """The page's request for the endpoint, as the browser sends it."""
    if endpoint == "list":
        return client.get(reverse("changeplans:plan_list"))
    if endpoint == "detail":
        return client.get(reverse("changeplans:plan_detail", args=[plan.pk]))
    if endpoint == "create":
        return client.post(reverse("changeplans:plan_create"), PAGE_HEADER)
    if endpoint == "edit":
        return client.post(
            reverse("changeplans:plan_header", args=[plan.pk]), {**PAGE_HEADER, "revision": plan.revision}, **HTMX
        )
    if endpoint == "submit":
        return client.post(reverse("approvals:plan_submit", args=[plan.pk]), **HTMX)
    if endpoint == "cancel":
        return client.post(reverse("changeplans:plan_cancel", args=[plan.pk]), {"comment": "Перенос"}, **HTMX)
    if endpoint == "copy":
        window = {"window_start": "2025-03-27T20:00", "window_end": "2025-03-27T23:05"}
        return client.post(reverse("changeplans:plan_copy", args=[plan.pk]), window)
    board = {"start": "board_start", "finish": "board_finish", "rollback": "board_rollback"}[endpoint]
    data = {"finish": {"outcome": "completed"}, "rollback": {"reason": "Поды не поднялись"}}.get(endpoint, {})
    return client.post(reverse(f"execution:{board}", args=[plan.pk]), data, **HTMX)


def _api(api, endpoint, plan):
    if endpoint == "list":
        return api.get(LIST)
    if endpoint == "detail":
        return api.get(detail_url(plan))
    if endpoint == "create":
        return api.post(LIST, {**NEW_PLAN, "title": "Новое название"})
    if endpoint == "edit":
        return api.patch(
            detail_url(plan), {"title": "Новое название"}, **{"If-Match": f'"plan-{plan.pk}-r{plan.revision}"'}
        )
    body = {
        "cancel": {"comment": "Перенос"},
        "copy": {"window_start": "2025-03-27T20:00", "window_end": "2025-03-27T23:05"},
        "finish": {"outcome": "completed"},
        "rollback": {"reason": "Поды не поднялись"},
    }.get(endpoint, {})
    return api.post(action_url(plan, endpoint), body)


ALLOWED = {
    "list": set(ROLES),
    "detail": set(ROLES),
    "create": {"author_own", "author_other", "admin"},
    "edit": {"author_own", "admin"},
    "submit": {"author_own", "admin"},
    "cancel": {"author_own", "admin"},
    "copy": {"author_own", "author_other", "admin"},
    "start": {"duty", "operator", "admin"},
    "finish": {"duty", "operator", "admin"},
    "rollback": {"duty", "operator", "admin"},
}
READS = {"list", "detail"}


@pytest.mark.parametrize("endpoint", list(ALLOWED))
@pytest.mark.parametrize("role", ROLES)
def test_every_endpoint_answers_every_role_as_the_page_does(endpoint, role, people, author, duty):
    user = people[role]
    # Given two plans in the same state: one for the page, one for the API
    page_plan, api_plan = _fresh(endpoint, author, duty), _fresh(endpoint, author, duty)
    # When the same person asks the page and the API
    response = _api(Api(user, TokenScope.READ if role == "read_only" else TokenScope.WRITE), endpoint, api_plan)
    allowed = role in ALLOWED[endpoint] and (role != "read_only" or endpoint in READS)
    # Then the API allows exactly what it should
    assert (200 <= response.status_code < 300) == allowed, (response.status_code, response.content)
    if role == "read_only":
        if not allowed:
            assert response.status_code == 403
            assert "только для чтения" in response.json()["detail"]
        return  # a read-only token has no page to compare with
    client = Client()
    client.force_login(user)
    page = _page(client, endpoint, page_plan)
    # And the page answers the same: allowed (a page, a redirect or a refreshed fragment), or refused alike
    if allowed:
        assert page.status_code in (200, 302), page.status_code
        if "HX-Trigger" in page:
            assert json.loads(page["HX-Trigger"])["okno:toast"]["level"] == "success"
        return
    assert page.status_code == response.status_code == 403
    reason = response.json()["detail"]
    assert response.json()["code"] == "refused"
    if "HX-Trigger" in page:
        assert toast(page) == reason
    else:
        assert escape(reason) in page.content.decode()


def test_a_refusal_is_the_same_reason_in_english(author, other_author, client):
    plan = PlanFactory(author=author)
    response = Api(other_author, language="en").post(action_url(plan, "cancel"), {"comment": "x"})
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Only the author or an administrator can cancel the plan.",
        "code": "refused",
    }


# --- session authentication ------------------------------------------------------------------------------


def test_the_browsers_session_works_with_its_csrf_token(author):
    plan = PlanFactory(author=author)
    client = Client(enforce_csrf_checks=True)
    client.force_login(author)
    assert client.get(detail_url(plan)).status_code == 200
    # Without the CSRF token a write is refused, and nothing happens
    refused = client.post(action_url(plan, "cancel"), json.dumps({"comment": "x"}), content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.DRAFT
    # With it (the cookie a page set, sent back in the header) the write goes through
    client.get(reverse("changeplans:plan_list"))
    csrf = client.cookies[settings.CSRF_COOKIE_NAME].value
    done = client.post(
        action_url(plan, "cancel"),
        json.dumps({"comment": "Перенос"}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=csrf,
    )
    assert done.status_code == 200, done.content
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.CANCELLED


def test_without_credentials_is_a_401(client, author):
    assert client.get(LIST).status_code == 401
    assert client.post(LIST, {}).status_code == 401


def test_a_plan_in_progress_can_no_longer_be_edited_as_on_the_page(author, duty, client):
    plan = running(author, duty)
    response = Api(author).patch(detail_url(plan), {"title": "Другое"}, **{"If-Match": f'"plan-{plan.pk}-r1"'})
    client.force_login(author)
    page = client.post(
        reverse("changeplans:plan_header", args=[plan.pk]), {**PAGE_HEADER, "revision": plan.revision}, **HTMX
    )
    assert response.status_code == page.status_code == 403
    assert response.json()["detail"] == toast(page) == "План в статусе «ВЫПОЛНЯЕТСЯ»: его больше нельзя редактировать."
