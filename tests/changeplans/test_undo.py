"""Ctrl+Z in the step table, the server's part (changeplans/undo.py): the header a cell save answers with,
and the undo itself, which is an ordinary cell save with `original` = the value after the edit."""

import datetime
import json

import pytest
from django.http import HttpResponse
from django.urls import reverse

from changeplans import services, undo
from changeplans.choices import EventKind
from changeplans.models import PlanEvent, Step
from tests.factories import PlanFactory, StepFactory, UserFactory

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def step(author):
    plan = PlanFactory(author=author)
    return StepFactory(plan=plan, position=1, name="Снять дамп", planned_time=datetime.time(20, 0))


def save(client, step, field, value, original, revision=None):
    url = reverse("changeplans:step_cell", args=[step.pk, field])
    if revision is None:
        revision = Step.objects.get(pk=step.pk).revision
    return client.post(url, {"value": value, "original": original, "revision": revision}, **HX)


def header(response):
    return json.loads(response[undo.HEADER])


def test_a_saved_cell_tells_the_page_what_it_saved(author_client, step):
    response = save(author_client, step, "name", "  Снять дамп etcd ", "Снять дамп")

    assert response.status_code == 200
    # The page knows what it posted and the value before: only the step and the field travel.
    assert header(response) == {"step": step.pk, "field": "name"}
    assert response[undo.HEADER].isascii()


def test_a_value_stored_in_another_shape_is_sent_back(author_client, step):
    response = save(author_client, step, "planned_time", "2130", "20:00")
    assert header(response) == {"step": step.pk, "field": "planned_time", "after": "21:30"}

    response = save(author_client, step, "planned_date", "21.03.25", "2025-03-20")
    assert header(response) == {"step": step.pk, "field": "planned_date", "after": "2025-03-21"}


def test_a_refused_save_has_no_header(author_client, step):
    response = save(author_client, step, "duration_text", "когда-нибудь", "5 мин")
    assert response.status_code == 422
    assert undo.HEADER not in response


def test_the_undo_is_a_new_edit_in_the_history(author_client, step):
    save(author_client, step, "planned_time", "2130", "20:00")

    # Ctrl+Z: the value before, with the value after as `original`.
    response = save(author_client, step, "planned_time", "20:00", "21:30")

    assert response.status_code == 200
    assert Step.objects.get(pk=step.pk).planned_time == datetime.time(20, 0)
    edits = [e.changes for e in PlanEvent.objects.filter(plan=step.plan, kind=EventKind.EDITED).order_by("pk")]
    assert edits == [{"planned_time": ["20:00:00", "21:30:00"]}, {"planned_time": ["21:30:00", "20:00:00"]}]


def test_the_undo_is_refused_when_someone_changed_the_cell_meanwhile(author_client, step, author):
    save(author_client, step, "name", "Моя правка", "Снять дамп")
    page_revision = Step.objects.get(pk=step.pk).revision
    colleague = UserFactory(roles=["admin"])
    services.update_step_cell(
        step.pk, actor=colleague, field="name", value="Правка коллеги", revision=page_revision, original="Моя правка"
    )

    response = save(author_client, step, "name", "Снять дамп", "Моя правка", revision=page_revision)

    assert response.status_code == 409
    assert "Правка коллеги" in response.content.decode()
    assert Step.objects.get(pk=step.pk).name == "Правка коллеги"
    assert PlanEvent.objects.filter(plan=step.plan, kind=EventKind.EDITED).count() == 2


def test_an_edit_of_another_cell_of_the_step_does_not_block_the_undo(author_client, step):
    save(author_client, step, "name", "Моя правка", "Снять дамп")
    stale = Step.objects.get(pk=step.pk).revision
    save(author_client, step, "jira_key", "OPS-1", "")

    response = save(author_client, step, "name", "Снять дамп", "Моя правка", revision=stale)

    assert response.status_code == 200
    assert Step.objects.get(pk=step.pk).name == "Снять дамп"


def test_only_who_may_edit_the_plan_may_undo(client, step, approver):
    client.force_login(approver)
    response = save(client, step, "name", "Снять дамп", "Снять дамп")
    assert response.status_code == 403
    assert undo.HEADER not in response


def test_the_header_costs_no_query(step, django_assert_num_queries):
    saved = Step.objects.select_related("executor").get(pk=step.pk)
    with django_assert_num_queries(0):
        response = undo.mark_cell_edit(HttpResponse(), saved, "executor", saved.executor.name)
    assert header(response) == {"step": step.pk, "field": "executor"}
