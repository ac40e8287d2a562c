"""The API's shared HTTP rules (api/http.py) through the plans resource: If-Match / ETag, If-None-Match,
Idempotency-Key. Real PostgreSQL; the race of two requests with one key runs in two threads on two connections."""

import datetime
import threading

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from api.models import IdempotencyKey
from changeplans.choices import EventKind, PlanStatus
from changeplans.models import Plan, PlanEvent
from tests.api.test_plans_api import Api, action_url, approved_plan, detail_url
from tests.factories import PlanFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.postgres]

WINDOW = {"window_start": "2025-03-27T20:00", "window_end": "2025-03-27T23:05"}


def copies_of(plan):
    return Plan.objects.filter(title__endswith=plan.title).exclude(pk=plan.pk)


# --- If-Match -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_edit_without_if_match_is_a_428_and_changes_nothing(author):
    plan = PlanFactory(author=author)
    response = Api(author).patch(detail_url(plan), {"title": "Другое"})
    assert response.status_code == 428
    assert response.json()["code"] == "if_match_required"
    assert Plan.objects.get(pk=plan.pk).title == plan.title


@pytest.mark.django_db
def test_two_clients_read_one_writes_the_other_gets_412_and_the_current_etag(author):
    # Given two clients of the author who both read the plan
    plan = PlanFactory(author=author)
    first, second = Api(author), Api(author)
    read_first, read_second = first.get(detail_url(plan))["ETag"], second.get(detail_url(plan))["ETag"]
    assert read_first == read_second
    # When the first saves
    saved = first.patch(detail_url(plan), {"title": "Первый"}, **{"If-Match": read_first})
    assert saved.status_code == 200
    # Then the second's save, with what it read, is refused with the current ETag and revision
    stale = second.patch(detail_url(plan), {"title": "Второй"}, **{"If-Match": read_second})
    assert stale.status_code == 412
    assert stale["ETag"] == saved["ETag"] != read_second
    assert stale.json()["code"] == "stale" and stale.json()["revision"] == saved.json()["revision"]
    assert Plan.objects.get(pk=plan.pk).title == "Первый"
    # And with the current ETag it goes through
    again = second.patch(detail_url(plan), {"title": "Второй"}, **{"If-Match": stale["ETag"]})
    assert again.status_code == 200 and Plan.objects.get(pk=plan.pk).title == "Второй"


@pytest.mark.django_db
@pytest.mark.parametrize("tag", ['"step-{pk}-r1"', '"plan-{other}-r1"', "garbage", '"plan-{pk}-r999"'])
def test_a_tag_of_another_object_or_revision_is_a_412(author, tag):
    plan, other = PlanFactory(author=author), PlanFactory(author=author)
    header = tag.format(pk=plan.pk, other=other.pk)
    response = Api(author).patch(detail_url(plan), {"title": "Другое"}, **{"If-Match": header})
    assert response.status_code == 412
    assert Plan.objects.get(pk=plan.pk).title == plan.title


@pytest.mark.django_db
def test_if_none_match_forms(author):
    plan = PlanFactory(author=author)
    api = Api(author)
    etag = api.get(detail_url(plan))["ETag"]
    for header in (etag, f"W/{etag}", f'"plan-0-r1", {etag}', "*"):
        response = api.get(detail_url(plan), **{"If-None-Match": header})
        assert response.status_code == 304 and response["ETag"] == etag and not response.content
    assert api.get(detail_url(plan), **{"If-None-Match": '"plan-0-r1"'}).status_code == 200


# --- Idempotency-Key ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_repeat_is_replayed_and_the_transition_ran_once(author):
    plan = PlanFactory(author=author)
    api = Api(author)
    first = api.post(action_url(plan, "copy"), WINDOW, **{"Idempotency-Key": "copy-1"})
    again = api.post(action_url(plan, "copy"), WINDOW, **{"Idempotency-Key": "copy-1"})
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert again.json() == first.json()
    assert copies_of(plan).count() == 1
    assert PlanEvent.objects.filter(kind=EventKind.CREATED, comment__contains=str(plan.pk)).count() == 1


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_a_422(author):
    plan = PlanFactory(author=author)
    api = Api(author)
    assert api.post(action_url(plan, "copy"), WINDOW, **{"Idempotency-Key": "k"}).status_code == 201
    other = {**WINDOW, "window_end": "2025-03-27T23:30"}
    response = api.post(action_url(plan, "copy"), other, **{"Idempotency-Key": "k"})
    assert response.status_code == 422 and response.json()["code"] == "idempotency_key_reused"
    # Another path with the same key is another request too
    refused = api.post(action_url(plan, "cancel"), {"comment": "x"}, **{"Idempotency-Key": "k"})
    assert refused.status_code == 422
    assert copies_of(plan).count() == 1 and Plan.objects.get(pk=plan.pk).status == PlanStatus.DRAFT


@pytest.mark.django_db
def test_keys_are_per_user(author, other_author):
    plan = PlanFactory(author=author)
    mine = Api(author).post(action_url(plan, "copy"), WINDOW, **{"Idempotency-Key": "same"})
    theirs = Api(other_author).post(action_url(plan, "copy"), WINDOW, **{"Idempotency-Key": "same"})
    assert mine.status_code == theirs.status_code == 201 and "Idempotent-Replayed" not in theirs
    assert copies_of(plan).count() == 2


@pytest.mark.django_db
def test_a_refusal_is_not_kept_a_repeat_after_the_state_allows_it_succeeds(author, duty):
    # Given an approved plan whose window opens tomorrow
    plan = approved_plan(author, opened=False)
    api = Api(duty)
    # When the duty officer starts it early without a reason: refused
    refused = api.post(action_url(plan, "start"), **{"Idempotency-Key": "start-1"})
    assert refused.status_code == 422
    assert not IdempotencyKey.objects.filter(key="start-1").exists()
    # Then, once the window has opened, the same request with the same key starts the work
    opened = timezone.now() - datetime.timedelta(minutes=1)
    Plan.objects.filter(pk=plan.pk).update(window_start=opened, window_end=opened + datetime.timedelta(hours=2))
    started = api.post(action_url(plan, "start"), **{"Idempotency-Key": "start-1"})
    assert started.status_code == 200 and "Idempotent-Replayed" not in started
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.IN_PROGRESS
    # And a repeat now is the kept answer, not a 409 of a second start
    replayed = api.post(action_url(plan, "start"), **{"Idempotency-Key": "start-1"})
    assert replayed.status_code == 200 and replayed["Idempotent-Replayed"] == "true"
    assert PlanEvent.objects.filter(plan=plan, to_status=PlanStatus.IN_PROGRESS).count() == 1


@pytest.mark.django_db
@override_settings(OKNO_API_IDEMPOTENCY_HOURS=2)
def test_expired_keys_are_forgotten(author):
    plan = PlanFactory(author=author)
    api = Api(author)
    assert api.post(action_url(plan, "copy"), WINDOW, **{"Idempotency-Key": "old"}).status_code == 201
    # An hour later the key is still kept
    IdempotencyKey.objects.update(created_at=timezone.now() - datetime.timedelta(hours=1))
    kept = api.post(action_url(plan, "copy"), WINDOW, **{"Idempotency-Key": "old"})
    assert kept["Idempotent-Replayed"] == "true" and copies_of(plan).count() == 1
    # Past OKNO_API_IDEMPOTENCY_HOURS it is forgotten: the same request is a new one
    IdempotencyKey.objects.update(created_at=timezone.now() - datetime.timedelta(hours=3))
    fresh = api.post(action_url(plan, "copy"), WINDOW, **{"Idempotency-Key": "old"})
    assert fresh.status_code == 201 and "Idempotent-Replayed" not in fresh
    assert copies_of(plan).count() == 2


@pytest.mark.django_db
def test_a_key_longer_than_255_characters_is_refused(author):
    plan = PlanFactory(author=author)
    response = Api(author).post(action_url(plan, "copy"), WINDOW, **{"Idempotency-Key": "k" * 256})
    assert response.status_code == 422 and not copies_of(plan).exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_with_one_key_make_one_transition():
    # Given a plan and its author's two clients, committed (each thread has its own connection)
    author = UserFactory(username="author", roles=["author"])
    plan = PlanFactory(author=author)
    StepFactory(plan=plan)
    clients = [Api(author), Api(author)]
    barrier = threading.Barrier(2)
    answers = [None, None]

    def cancel(index):
        try:
            barrier.wait(timeout=30)
            answers[index] = clients[index].post(
                action_url(plan, "cancel"), {"comment": "Перенос"}, **{"Idempotency-Key": "race"}
            )
        finally:
            connection.close()

    # When both send the same cancel with the same key at once
    threads = [threading.Thread(target=cancel, args=(index,)) for index in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Then the plan is cancelled once; the other answer is the kept one or "still running"
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses in ([200, 200], [200, 409]), statuses
    fresh = [a for a in answers if a.status_code == 200 and "Idempotent-Replayed" not in a]
    assert len(fresh) == 1
    assert PlanEvent.objects.filter(plan=plan, to_status=PlanStatus.CANCELLED).count() == 1
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.CANCELLED
