"""The change type (docs/change-types.md): chosen at creation (page, copy, API) as normal or emergency, never standard
by hand; a later change is recorded (KIND_CHANGED, from/to, reason) and shown; the badge on every page."""

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from api.choices import TokenScope
from api.tokens import issue_token
from approvals import services as signoff
from changeplans import services
from changeplans.choices import EventKind, PlanKind, PlanStatus
from changeplans.models import Plan, PlanEvent
from changeplans.pdf import render_plan_html
from changeplans.templatetags.change_types import plan_kind_badge
from tests.approvals.factories import plan_with_matrix
from tests.factories import PlanFactory, StepFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

HX = {"HTTP_HX_REQUEST": "true"}
NEW = {
    "title": "Срочное восстановление ingress",
    "time_zone": "Asia/Novosibirsk",
    "window_start": "2025-03-20T20:00",
    "window_end": "2025-03-20T22:00",
    "availability": "unavailable",
}


def kind_events(plan):
    return list(PlanEvent.objects.filter(plan=plan, kind=EventKind.KIND_CHANGED).order_by("id"))


def header(plan, **changes):
    return {
        "title": plan.title,
        "goal": plan.goal,
        "announcement_intro": plan.announcement_intro,
        "kind": plan.kind,
        "time_zone": plan.time_zone,
        "window_start": "2025-03-20T20:00",
        "window_end": "2025-03-20T23:05",
        "availability": "unavailable",
        "revision": plan.revision,
        **changes,
    }


# --- creation ---------------------------------------------------------------------------------------------


def test_the_new_plan_form_offers_normal_and_emergency_only(author_client):
    html = author_client.get(reverse("changeplans:plan_create")).content.decode()
    assert 'value="emergency"' in html and 'value="normal"' in html and 'value="standard"' not in html


def test_an_emergency_plan_is_created_and_marked(author_client):
    response = author_client.post(reverse("changeplans:plan_create"), {**NEW, "kind": "emergency"})
    assert response.status_code == 302
    plan = Plan.objects.get(title=NEW["title"])
    assert plan.kind == PlanKind.EMERGENCY
    page = author_client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
    assert 'data-kind="emergency"' in page and "ЭКСТРЕННОЕ" in page


def test_a_forged_standard_kind_is_refused_and_nothing_typed_is_lost(author_client):
    response = author_client.post(reverse("changeplans:plan_create"), {**NEW, "kind": "standard"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "только когда он создан по стандартному регламенту" in html
    assert f'value="{NEW["title"]}"' in html
    assert not Plan.objects.filter(title=NEW["title"]).exists()


# --- changing the type ------------------------------------------------------------------------------------


def test_the_author_changes_the_type_with_a_reason_recorded_in_the_history(author_client, author):
    plan = PlanFactory(author=author)
    url = reverse("changeplans:plan_header", args=[plan.pk])
    response = author_client.post(url, header(plan, kind="emergency"), **HX)
    assert "Укажите причину смены типа изменения" in response.content.decode()
    assert Plan.objects.get(pk=plan.pk).kind == PlanKind.NORMAL and kind_events(plan) == []

    response = author_client.post(url, header(plan, kind="emergency", kind_reason="Авария на проде"), **HX)
    assert response.status_code == 200
    assert Plan.objects.get(pk=plan.pk).kind == PlanKind.EMERGENCY
    (event,) = kind_events(plan)
    assert event.changes == {"kind": ["normal", "emergency"]} and event.comment == "Авария на проде"
    assert event.actor == author
    # Not an ordinary edit too: the type is told once.
    assert not PlanEvent.objects.filter(plan=plan, kind=EventKind.EDITED).exists()
    page = author_client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
    assert "Тип изменения изменён" in page and "Обычные → Экстренные" in page and "Авария на проде" in page


def test_a_forged_standard_kind_in_the_header_is_refused(author_client, author):
    plan = PlanFactory(author=author)
    url = reverse("changeplans:plan_header", args=[plan.pk])
    html = author_client.post(url, header(plan, kind="standard", kind_reason="хочу без согласования"), **HX)
    assert "стандартному регламенту" in html.content.decode()
    assert Plan.objects.get(pk=plan.pk).kind == PlanKind.NORMAL and kind_events(plan) == []


def test_a_standard_plan_keeps_its_type_through_a_header_edit(author_client, author):
    plan = PlanFactory(author=author, kind=PlanKind.STANDARD)
    url = reverse("changeplans:plan_header", args=[plan.pk])
    response = author_client.post(url, header(plan, title="Новое название"), **HX)
    assert response.status_code == 200
    plan.refresh_from_db()
    assert (plan.title, plan.kind) == ("Новое название", PlanKind.STANDARD) and kind_events(plan) == []


def test_standard_to_normal_by_the_standard_change_check(author):
    plan = PlanFactory(author=author, kind=PlanKind.STANDARD)
    services.change_plan_kind(plan.pk, actor=None, kind=PlanKind.NORMAL, reason="Шаги изменены")
    (event,) = kind_events(plan)
    assert event.changes == {"kind": ["standard", "normal"]} and event.actor is None
    assert Plan.objects.get(pk=plan.pk).kind == PlanKind.NORMAL


def test_who_and_when_may_change_the_type(author, other_author):
    plan = PlanFactory(author=author)
    with pytest.raises(PermissionDenied):
        services.change_plan_kind(plan.pk, actor=other_author, kind=PlanKind.EMERGENCY, reason="чужой план")
    with pytest.raises(ValidationError):
        services.change_plan_kind(plan.pk, actor=author, kind=PlanKind.STANDARD, reason="без согласования")
    with pytest.raises(ValidationError):
        services.change_plan_kind(plan.pk, actor=author, kind=PlanKind.EMERGENCY, reason="  ")
    with pytest.raises(PermissionDenied):  # nobody but the author (or the standard check's downgrade)
        services.change_plan_kind(plan.pk, actor=None, kind=PlanKind.EMERGENCY, reason="скрипт")
    Plan.objects.filter(pk=plan.pk).update(status=PlanStatus.IN_PROGRESS)
    with pytest.raises(PermissionDenied):
        services.change_plan_kind(plan.pk, actor=author, kind=PlanKind.EMERGENCY, reason="поздно")
    assert kind_events(plan) == [] and Plan.objects.get(pk=plan.pk).kind == PlanKind.NORMAL


def test_a_forged_header_post_by_another_author_is_refused(client, author, other_author):
    plan = PlanFactory(author=author)
    client.force_login(other_author)
    url = reverse("changeplans:plan_header", args=[plan.pk])
    response = client.post(url, header(plan, kind="emergency", kind_reason="чужой"), **HX)
    assert response.status_code == 403 and Plan.objects.get(pk=plan.pk).kind == PlanKind.NORMAL


def test_changing_the_type_under_sign_off_makes_a_new_version():
    plan, author, (a1,), duty = plan_with_matrix(1)
    signoff.submit_plan(plan.pk, actor=author)
    services.change_plan_kind(plan.pk, actor=author, kind=PlanKind.EMERGENCY, reason="Авария")
    assert plan.versions.count() == 2  # the type is material: an approver signs it


# --- copy -------------------------------------------------------------------------------------------------


def test_a_copy_chooses_its_type_and_a_standard_plans_copy_is_normal(author_client, author):
    plan = PlanFactory(author=author, kind=PlanKind.STANDARD)
    StepFactory(plan=plan, position=1)
    url = reverse("changeplans:plan_copy", args=[plan.pk])
    window = {"window_start": "2025-03-27T20:00", "window_end": "2025-03-27T23:05"}
    html = author_client.get(url).content.decode()
    assert 'value="standard"' not in html and 'value="normal" selected' in html
    assert 'value="2025-03-27T20:00"' in html  # by default one week later
    response = author_client.post(url, {**window, "kind": "standard"})
    assert response.status_code == 200 and "стандартному регламенту" in response.content.decode()
    assert Plan.objects.count() == 1
    author_client.post(url, {**window, "kind": "emergency"})
    assert Plan.objects.exclude(pk=plan.pk).get().kind == PlanKind.EMERGENCY
    copy = services.copy_plan(plan.pk, actor=author, window_start=plan.window_start, window_end=plan.window_end)
    assert copy.kind == PlanKind.NORMAL


# --- API --------------------------------------------------------------------------------------------------


class Api:
    def __init__(self, user):
        _token, token = issue_token(user, name="tests", scope=TokenScope.WRITE, expires_at=None)
        self.client, self.auth = Client(), {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def send(self, method, url, body, **headers):
        call = getattr(self.client, method)
        return call(url, json.dumps(body), content_type="application/json", **self.auth, **headers)


def test_the_api_refuses_a_standard_kind_and_records_a_change(author):
    api = Api(author)
    body = {**NEW, "window_start": "2025-03-20T20:00:00+07:00", "window_end": "2025-03-20T22:00:00+07:00"}
    response = api.send("post", reverse("api:plan_list"), {**body, "kind": "standard"})
    assert response.status_code == 400 and "kind" in response.json()["errors"], response.content.decode()
    response = api.send("post", reverse("api:plan_list"), {**body, "kind": "emergency"})
    assert response.status_code == 201 and response.json()["kind"] == "emergency"
    plan = Plan.objects.get()
    url = reverse("api:plan_detail", args=[plan.pk])
    etag = api.client.get(url, **api.auth)["ETag"]
    response = api.send("patch", url, {"kind": "normal"}, HTTP_IF_MATCH=etag)
    assert response.status_code == 400 and "kind_reason" in response.json()["errors"]
    response = api.send("patch", url, {"kind": "normal", "kind_reason": "Не авария"}, HTTP_IF_MATCH=etag)
    assert response.status_code == 200 and response.json()["kind"] == "normal"
    assert kind_events(plan)[0].changes == {"kind": ["emergency", "normal"]}
    response = api.send("post", reverse("api:plan_copy", args=[plan.pk]), {"kind": "standard"})
    assert response.status_code == 400 and "kind" in response.json()["errors"]


# --- the badge everywhere ---------------------------------------------------------------------------------


def test_the_badge(author):
    assert plan_kind_badge(PlanFactory(author=author)) == ""
    assert "ЭКСТРЕННОЕ" in plan_kind_badge("emergency") and "text-bg-danger" in plan_kind_badge("emergency")
    assert "СТАНДАРТНОЕ" in plan_kind_badge({"kind": "standard"}) and "text-bg-primary" in plan_kind_badge("standard")


def test_the_badge_on_the_list_the_inbox_the_announcements_and_the_pdf(client):
    plan, author, (a1,), duty = plan_with_matrix(1)
    Plan.objects.filter(pk=plan.pk).update(kind=PlanKind.EMERGENCY)
    StepFactory(plan=PlanFactory(author=author, title="Обычный план"), position=1)
    signoff.submit_plan(plan.pk, actor=author)
    client.force_login(a1)
    for url in (
        reverse("changeplans:plan_list"),
        reverse("approvals:inbox"),
        reverse("execution:plan_announcements", args=[plan.pk]),
        reverse("execution:plan_board", args=[plan.pk]),
    ):
        html = client.get(url).content.decode()
        assert html.count('data-kind="emergency"') == 1, url
    html = render_plan_html(plan.pk)
    assert 'class="kind-banner kind-emergency">ЭКСТРЕННОЕ' in html


def test_the_plan_list_badge_costs_no_query(author_client, author, django_assert_max_num_queries):
    for n in range(3):
        PlanFactory(author=author, kind=PlanKind.EMERGENCY if n % 2 else PlanKind.NORMAL)
    url = reverse("changeplans:plan_list")
    author_client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        author_client.get(url)
    for n in range(20):
        PlanFactory(author=author, kind=PlanKind.EMERGENCY if n % 2 else PlanKind.STANDARD)
    with CaptureQueriesContext(connection) as large:
        html = author_client.get(url).content.decode()
    assert len(large) == len(small) and html.count('data-kind="emergency"') >= 10
