"""Calendar feeds behind a secret address (changecalendar/feeds.py): what each feed holds, the token's life
(shown once, stored hashed, rotated, turned off, dead with its user), no logging of it, constant queries."""

import datetime
import hashlib
import logging
import re

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from approvals.choices import ApprovalStatus, RowKind
from approvals.models import ApprovalRow
from changecalendar.feeds import token_hash
from changecalendar.models import CalendarFeed
from changeplans import ics
from changeplans.models import PlanService
from tests.changecalendar.ics_validator import validate
from tests.factories import PartyFactory, PlanFactory, ServiceFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

SUBSCRIBE = "/calendar/subscribe/"


def soon(days=3):
    start = (timezone.now() + datetime.timedelta(days=days)).replace(microsecond=0)
    return {"window_start": start, "window_end": start + datetime.timedelta(hours=3)}


def make_token(client, user) -> str:
    """The personal feed's address from the subscribe page (the only place it is ever shown)."""
    client.force_login(user)
    response = client.post(SUBSCRIBE, {"action": "rotate"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    return re.search(r"/calendar/feed/([A-Za-z0-9_-]+)\.ics", response.content.decode()).group(1)


def feed_uids(client, path) -> set[str]:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert "private" in response["Cache-Control"]
    read = validate(response.content)
    assert read["method"] == "PUBLISH"
    return {event["uid"] for event in read["events"]}


@pytest.fixture
def me(db):
    return UserFactory(username="me", roles=["author", "approver"])


@pytest.fixture
def world(me, author):
    """One plan for each way of being in the personal feed, and plans of others that are not."""
    duty_group = Group.objects.get_or_create(name="duty_officer")[0]
    me.groups.add(duty_group)
    plans = {
        "authored": PlanFactory(author=me, **soon()),
        "approving": PlanFactory(author=author, **soon()),
        "group_row": PlanFactory(author=author, **soon()),
        "on_duty": PlanFactory(author=author, **soon()),
        "executing": PlanFactory(author=author, **soon()),
        "others": PlanFactory(author=author, **soon()),
        "long_ago": PlanFactory(
            author=me,
            window_start=timezone.now() - datetime.timedelta(days=400),
            window_end=timezone.now() - datetime.timedelta(days=399),
        ),
    }
    ApprovalRow.objects.create(plan=plans["approving"], position=1, person_name="Я", user=me)
    ApprovalRow.objects.create(
        plan=plans["group_row"], position=1, person_name="Группа", group=Group.objects.get_or_create(name="approver")[0]
    )
    ApprovalRow.objects.create(
        plan=plans["on_duty"],
        position=1,
        kind=RowKind.ACKNOWLEDGEMENT,
        person_name="Дежурный",
        group=duty_group,
        status=ApprovalStatus.NOT_ACKNOWLEDGED,
    )
    StepFactory(plan=plans["executing"], executor=PartyFactory(user=me))
    StepFactory(plan=plans["others"], executor=PartyFactory())
    return plans


def test_the_personal_feed_holds_what_i_author_sign_execute_or_am_on_duty_for(client, me, world):
    token = make_token(client, me)
    client.logout()  # a calendar program has no session: the token alone opens the feed
    expected = {ics.plan_uid(world[key]) for key in ("authored", "approving", "group_row", "on_duty", "executing")}
    assert feed_uids(client, f"/calendar/feed/{token}.ics") == expected


def test_a_service_feed_holds_every_plan_of_the_service(client, me, author):
    service, other = ServiceFactory(), ServiceFactory()
    mine = PlanFactory(author=author, **soon())
    theirs = PlanFactory(author=author, **soon())
    PlanService.objects.create(plan=mine, service=service)
    PlanService.objects.create(plan=theirs, service=other)
    token = make_token(client, me)
    assert feed_uids(client, f"/calendar/feed/{token}/services/{service.pk}.ics") == {ics.plan_uid(mine)}
    assert client.get(f"/calendar/feed/{token}/services/999999.ics").status_code == 404


def test_the_token_is_stored_only_as_its_hash_and_shown_once(client, me):
    token = make_token(client, me)
    feed = CalendarFeed.objects.get(user=me)
    assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest() == token_hash(token)
    assert len(token) >= 40
    page = client.get(SUBSCRIBE).content.decode()
    assert token not in page and "/calendar/feed/" not in page
    assert "Адреса ваших календарей сделаны" in page


def test_rotating_kills_the_old_address(client, me, world):
    old = make_token(client, me)
    new = make_token(client, me)
    assert old != new and CalendarFeed.objects.filter(user=me).count() == 1
    assert client.get(f"/calendar/feed/{old}.ics").status_code == 404
    assert client.get(f"/calendar/feed/{old}/services/1.ics").status_code == 404
    assert client.get(f"/calendar/feed/{new}.ics").status_code == 200


def test_turning_off_kills_the_address(client, me):
    token = make_token(client, me)
    client.post(SUBSCRIBE, {"action": "delete"})
    assert not CalendarFeed.objects.filter(user=me).exists()
    assert client.get(f"/calendar/feed/{token}.ics").status_code == 404


def test_a_deactivated_users_feed_stops(client, me, world):
    token = make_token(client, me)
    me.is_active = False
    me.save(update_fields=["is_active"])
    assert client.get(f"/calendar/feed/{token}.ics").status_code == 404


@pytest.mark.parametrize("token", ["wrong", "a" * 43, "", "tok.en"])
def test_a_wrong_token_is_404_and_not_logged(client, me, token, caplog):
    make_token(client, me)
    client.logout()
    with caplog.at_level(logging.DEBUG):
        response = client.get(f"/calendar/feed/{token}.ics")
    assert response.status_code == 404
    assert not [r for r in caplog.records if token and token in r.getMessage()]


def test_the_subscribe_page_needs_a_login_and_refuses_other_methods(client, me):
    response = client.get(SUBSCRIBE)
    assert response.status_code == 302 and "/login" in response["Location"]
    assert client.post(SUBSCRIBE, {"action": "rotate"}).status_code == 302
    assert not CalendarFeed.objects.exists()
    client.force_login(me)
    assert client.put(SUBSCRIBE).status_code == 405


def test_a_forged_post_without_the_csrf_token_is_refused(me):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(me)
    assert client.post(SUBSCRIBE, {"action": "rotate"}).status_code == 403
    assert not CalendarFeed.objects.exists()


def test_each_user_rotates_only_their_own_feed(client, me, author):
    theirs = make_token(client, author)
    make_token(client, me)
    assert client.get(f"/calendar/feed/{theirs}.ics").status_code == 200


def test_the_page_shows_every_service_address(client, me):
    services = [ServiceFactory(display_name=f"Сервис-{n}") for n in range(3)]
    client.force_login(me)
    page = client.post(SUBSCRIBE, {"action": "rotate"}).content.decode()
    for service in services:
        assert f"/services/{service.pk}.ics" in page and service.display_name in page
    assert reverse("changecalendar:subscribe") == SUBSCRIBE


def test_feed_queries_do_not_grow_with_its_size(client, me, author):
    token = make_token(client, me)
    service = ServiceFactory()

    def add(count):
        for _ in range(count):
            plan = PlanFactory(author=me, **soon())
            PlanService.objects.create(plan=plan, service=service)
            ApprovalRow.objects.create(plan=plan, position=1, person_name="Я", user=me)
            StepFactory(plan=plan, executor=PartyFactory(user=me))

    counts = []
    for size in (2, 30):
        add(size)
        CalendarFeed.objects.filter(user=me).update(last_used_at=None)
        for path in (f"/calendar/feed/{token}.ics", f"/calendar/feed/{token}/services/{service.pk}.ics"):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(path)
            assert response.status_code == 200
            counts.append((path, len(queries)))
    assert counts[0][1] == counts[2][1] and counts[1][1] == counts[3][1], counts
    assert max(n for _path, n in counts) <= 4, counts


@pytest.mark.parametrize("logger_name", ["uvicorn.access", "django.server"])
def test_the_servers_access_logs_mask_the_token(logger_name, caplog):
    """uvicorn (the image) and runserver log each request's path: the feed's token is replaced there."""
    token = "KmHqnG1SC7uwYVsQjtJSMWIANdI9_iNv44ZHIA_Z0VM"
    logger = logging.getLogger(logger_name)
    with caplog.at_level(logging.INFO, logger=logger_name):
        # uvicorn's access line: client, method, path, HTTP version, status.
        logger.info('%s - "%s %s HTTP/%s" %d', "10.0.0.1:5000", "GET", f"/calendar/feed/{token}.ics", "1.1", 200)
        line = '"GET /calendar/feed/' + token + '/services/3.ics HTTP/1.1" 200 1827'
        logger.info(line)  # runserver's: the path in the message itself
    assert [r.getMessage() for r in caplog.records] == [
        '10.0.0.1:5000 - "GET /calendar/feed/….ics HTTP/1.1" 200',
        '"GET /calendar/feed/…/services/3.ics HTTP/1.1" 200 1827',
    ]
