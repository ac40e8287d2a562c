"""Steps, risks and rollback actions, and step execution through the API (api/views_steps.py, docs/api.md).

Each refusal is compared with the page's answer for the same person: the same status and the same reason.
"""

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from api.choices import TokenScope
from api.tokens import issue_token
from approvals import services as approvals
from approvals.choices import RowKind
from approvals.models import ApprovalRow
from changeplans.choices import EventKind, PlanStatus, StepStatus
from changeplans.models import PlanEvent, Risk, RollbackAction, Step
from execution import transitions
from tests.factories import PartyFactory, PlanFactory, RiskFactory, RollbackActionFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


# --- helpers (test_matrix_api.py and test_seed_flow_api.py use them too) ---------------------------------------


def api_client(user, scope=TokenScope.WRITE):
    """A client that sends `user`'s real API token and JSON."""
    _token, plaintext = issue_token(user, name="tests", scope=scope, expires_at=None)
    return Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}")


def call(client, method, url, data=None, **headers):
    body = json.dumps(data) if data is not None else None
    extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
    return getattr(client, method)(url, body, content_type="application/json", **extra)


def page_client(user):
    """The browser (htmx) as `user`: refusals come back as a toast with the reason."""
    client = Client(HTTP_HX_REQUEST="true")
    client.force_login(user)
    return client


def page_reason(response):
    return json.loads(response["HX-Trigger"])["okno:toast"]["text"]


def step_url(step, action=""):
    return reverse("api:step_detail", args=[step.pk]) + (f"{action}/" if action else "")


def etag(response):
    return response["ETag"]


def steps_of(plan):
    return list(Step.objects.filter(plan=plan).order_by("position").values_list("name", flat=True))


# --- fixtures -------------------------------------------------------------------------------------------------------


@pytest.fixture
def plan(author):
    return PlanFactory(author=author)


@pytest.fixture
def step(plan):
    return StepFactory(plan=plan, position=1, name="Раскатить раннер")


# --- reading ------------------------------------------------------------------------------------------------------


def test_list_in_table_order_with_a_cursor(plan, author):
    # Given three steps created out of order
    for position in (3, 1, 2):
        StepFactory(plan=plan, position=position, name=f"Шаг {position}")
    client = api_client(author)
    # When the steps are read two at a time
    first = call(client, "get", reverse("api:plan_steps", args=[plan.pk]) + "?page_size=2").json()
    second = call(client, "get", first["next"]).json()
    # Then they come in table order, across pages
    assert [s["name"] for s in first["results"]] == ["Шаг 1", "Шаг 2"]
    assert [s["name"] for s in second["results"]] == ["Шаг 3"] and second["next"] is None


def _plan_with_steps(author, count):
    plan = PlanFactory(author=author)
    for n in range(1, count + 1):
        step = StepFactory(plan=plan, position=n)
        risk = RiskFactory(step=step, number=1)
        action = RollbackActionFactory(step=step, position=1)
        action.risks.set([risk])
    return plan


def test_list_queries_do_not_grow_with_the_steps(author):
    client = api_client(author)
    call(client, "get", reverse("api:root"))  # the token's "last used" is written once a minute: not counted here
    counts = []
    for count in (5, 60):
        plan = _plan_with_steps(author, count)
        with CaptureQueriesContext(connection) as queries:
            response = call(client, "get", reverse("api:plan_steps", args=[plan.pk]) + "?page_size=200")
        assert response.status_code == 200 and len(response.json()["results"]) == count
        assert response.json()["results"][0]["rollback_actions"][0]["risk_numbers"] == [1]
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_read_one_step_with_etag_and_304(step, author):
    client = api_client(author)
    response = call(client, "get", step_url(step))
    assert response.status_code == 200 and response.json()["name"] == "Раскатить раннер"
    assert etag(response) == f'"step-{step.pk}-r{step.revision}"'
    again = call(client, "get", step_url(step), **{"If-None-Match": etag(response)})
    assert again.status_code == 304


def test_anyone_signed_in_reads_nobody_else(step, approver):
    assert call(api_client(approver, TokenScope.READ), "get", step_url(step)).status_code == 200
    assert call(Client(), "get", step_url(step)).status_code == 401


# --- editing cells ------------------------------------------------------------------------------------------------


def test_patch_cells_as_typed_in_the_table(step, author):
    client = api_client(author)
    tag = etag(call(client, "get", step_url(step)))
    # When the author sends several cells as people type them
    response = call(
        client,
        "patch",
        step_url(step),
        {
            "planned_time": "21-00",
            "planned_date": "21.03.25",
            "duration_text": "2-3 часа",
            "executor": "ООО «ПрофСофт»",
        },
        **{"If-Match": tag},
    )
    # Then each is read as the table reads it, one history entry per cell, and the ETag moves on
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["planned_time"], body["planned_date"], body["duration_max"]) == ("21:00", "2025-03-21", 180)
    assert body["executor"] == "ООО «ПрофСофт»"
    assert etag(response) != tag and etag(response) == f'"step-{step.pk}-r{body["revision"]}"'
    edits = PlanEvent.objects.filter(object_type="step", object_id=step.pk, kind=EventKind.EDITED)
    assert edits.count() == 4


def test_patch_needs_if_match_and_a_current_one(step, author):
    client = api_client(author)
    stale = etag(call(client, "get", step_url(step)))
    assert call(client, "patch", step_url(step), {"name": "А"}).status_code == 428
    assert call(client, "patch", step_url(step), {"name": "А"}, **{"If-Match": stale}).status_code == 200
    # The second writer read the step before the first one saved
    response = call(client, "patch", step_url(step), {"name": "Б"}, **{"If-Match": stale})
    assert response.status_code == 412 and response.json()["code"] == "stale"
    assert etag(response) == f'"step-{step.pk}-r{step.revision + 1}"'
    assert Step.objects.get(pk=step.pk).name == "А"
    assert call(client, "patch", step_url(step), {"name": "Б"}, **{"If-Match": '"plan-1-r1"'}).status_code == 412


def test_a_bad_cell_is_the_grids_422_and_nothing_is_saved(step, author):
    client, page = api_client(author), page_client(author)
    tag = etag(call(client, "get", step_url(step)))
    response = call(client, "patch", step_url(step), {"name": "Новое", "planned_time": "25:99"}, **{"If-Match": tag})
    assert response.status_code == 422 and response.json()["code"] == "invalid"
    message = response.json()["errors"]["planned_time"][0]
    # The grid answers the same text for the same cell
    grid = page.post(
        reverse("changeplans:step_cell", args=[step.pk, "planned_time"]), {"revision": step.revision, "value": "25:99"}
    )
    assert grid.status_code == 422 and message in grid.content.decode()
    assert Step.objects.get(pk=step.pk).name == "Раскатить раннер"


@pytest.mark.parametrize("who", ["other_author", "approver", "duty", "operator", "nobody"])
def test_only_the_author_edits_as_on_the_page(step, who, request):
    user = UserFactory(username="nobody") if who == "nobody" else request.getfixturevalue(who)
    tag = etag(call(api_client(user), "get", step_url(step)))
    response = call(api_client(user), "patch", step_url(step), {"name": "Чужое"}, **{"If-Match": tag})
    grid = page_client(user).post(
        reverse("changeplans:step_cell", args=[step.pk, "name"]), {"revision": step.revision, "value": "Чужое"}
    )
    assert (
        (response.status_code, response.json()["detail"])
        == (grid.status_code, page_reason(grid))
        == (
            403,
            "Редактировать план может только его автор.",
        )
    )
    assert response.json()["code"] == "refused"


def test_admin_edits_and_a_read_only_token_does_not(step, author, admin_user):
    tag = etag(call(api_client(author), "get", step_url(step)))
    read_only = call(api_client(author, TokenScope.READ), "patch", step_url(step), {"name": "X"}, **{"If-Match": tag})
    assert read_only.status_code == 403
    assert call(api_client(admin_user), "patch", step_url(step), {"name": "X"}, **{"If-Match": tag}).status_code == 200


def test_an_approved_plans_edit_asks_to_confirm_the_reset(author, approver, duty):
    # Given a plan in review with one signature
    plan = PlanFactory(author=author)
    step = StepFactory(plan=plan, position=1)
    ApprovalRow.objects.create(plan=plan, position=1, kind=RowKind.APPROVAL, person_name="А", user=approver)
    version = approvals.submit_plan(plan.pk, actor=author)
    row = plan.approval_rows.get()
    approvals.approve_row(row.pk, actor=approver, version=version.number)
    client = api_client(author)
    tag = etag(call(client, "get", step_url(step)))
    # When the author changes a material cell, the API asks first and saves nothing
    asked = call(client, "patch", step_url(step), {"name": "Иначе"}, **{"If-Match": tag})
    assert asked.status_code == 409 and asked.json()["code"] == "confirm_reset"
    assert asked.json()["signatures"] == 1 and Step.objects.get(pk=step.pk).name != "Иначе"
    # Then with the confirmation it saves and the signature is reset
    done = call(client, "patch", step_url(step), {"name": "Иначе", "confirm_reset": True}, **{"If-Match": tag})
    assert done.status_code == 200
    plan.refresh_from_db()
    assert plan.status == PlanStatus.IN_REVIEW and plan.versions.count() == 2


def test_session_needs_csrf(step, author):
    client = Client(enforce_csrf_checks=True)
    client.force_login(author)
    tag = f'"step-{step.pk}-r{step.revision}"'
    refused = client.patch(
        step_url(step), json.dumps({"name": "С"}), content_type="application/json", HTTP_IF_MATCH=tag
    )
    assert refused.status_code == 403
    client.get(reverse("changeplans:plan_detail", args=[step.plan_id]))
    token = client.cookies["csrftoken"].value
    response = client.patch(
        step_url(step),
        json.dumps({"name": "С"}),
        content_type="application/json",
        HTTP_IF_MATCH=tag,
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 200


def test_bad_input_never_500(step, author):
    client = api_client(author)
    tag = etag(call(client, "get", step_url(step)))
    nul = call(client, "patch", step_url(step), {"name": "a\x00b"}, **{"If-Match": tag})
    assert nul.status_code == 400 and "Текст не должен содержать символов NUL" in nul.json()["detail"]
    assert call(client, "patch", step_url(step), {"name": ["list"]}, **{"If-Match": tag}).status_code == 400
    assert call(client, "patch", step_url(step), {}, **{"If-Match": tag}).status_code == 400
    assert call(client, "get", "/api/v1/steps/99999999999999999999/").status_code == 404
    response = call(client, "post", reverse("api:plan_steps", args=[step.plan_id]), {"after_position": 2**40})
    assert response.status_code == 400


# --- adding, deleting, moving -------------------------------------------------------------------------------------


def test_add_a_step_after_another_with_its_cells(plan, author):
    for n in (1, 2):
        StepFactory(plan=plan, position=n, name=f"Шаг {n}")
    response = call(
        api_client(author),
        "post",
        reverse("api:plan_steps", args=[plan.pk]),
        {"after_position": 1, "name": "Вставленный", "planned_time": "1700"},
    )
    assert response.status_code == 201, response.content
    assert response.json()["position"] == 2 and response.json()["planned_time"] == "17:00"
    assert response["Location"] == step_url(Step.objects.get(name="Вставленный"))
    assert steps_of(plan) == ["Шаг 1", "Вставленный", "Шаг 2"]


def test_add_with_a_bad_cell_adds_nothing(plan, author):
    response = call(api_client(author), "post", reverse("api:plan_steps", args=[plan.pk]), {"planned_date": "32.13.25"})
    assert response.status_code == 422 and "planned_date" in response.json()["errors"]
    assert not Step.objects.filter(plan=plan).exists()


def test_add_refused_as_on_the_page(plan, other_author):
    response = call(api_client(other_author), "post", reverse("api:plan_steps", args=[plan.pk]), {})
    page = page_client(other_author).post(reverse("changeplans:step_add", args=[plan.pk]))
    assert (response.status_code, response.json()["detail"]) == (page.status_code, page_reason(page))


def test_add_replays_with_an_idempotency_key(plan, author):
    client = api_client(author)
    url = reverse("api:plan_steps", args=[plan.pk])
    first = call(client, "post", url, {"name": "Один раз"}, **{"Idempotency-Key": "k-1"})
    again = call(client, "post", url, {"name": "Один раз"}, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]
    assert steps_of(plan) == ["Один раз"]


def test_delete_with_if_match(plan, author):
    first, second = StepFactory(plan=plan, position=1), StepFactory(plan=plan, position=2, name="Второй")
    client = api_client(author)
    stale = f'"step-{first.pk}-r{first.revision - 1}"'
    assert call(client, "delete", step_url(first), **{"If-Match": stale}).status_code == 412
    assert call(client, "delete", step_url(first)).status_code == 428
    tag = f'"step-{first.pk}-r{first.revision}"'
    assert call(client, "delete", step_url(first), **{"If-Match": tag}).status_code == 204
    assert Step.objects.get(pk=second.pk).position == 1


def test_move_and_reorder(plan, author):
    steps = [StepFactory(plan=plan, position=n, name=f"Шаг {n}") for n in (1, 2, 3)]
    client = api_client(author)
    moved = call(client, "post", step_url(steps[2], "move"), {"direction": "up"})
    assert moved.status_code == 200 and moved.json()["position"] == 2
    assert steps_of(plan) == ["Шаг 1", "Шаг 3", "Шаг 2"]
    url = reverse("api:plan_steps_reorder", args=[plan.pk])
    assert call(client, "post", url, {"step_ids": [s.pk for s in reversed(steps)]}).status_code == 204
    assert steps_of(plan) == ["Шаг 3", "Шаг 2", "Шаг 1"]
    # A list that misses a step: someone added or removed one meanwhile
    missing = call(client, "post", url, {"step_ids": [steps[0].pk]})
    assert missing.status_code == 412 and missing["ETag"].startswith('"plan-')


# --- risks and rollback actions -----------------------------------------------------------------------------------


def test_put_risks_and_rollback_actions(step, author):
    client = api_client(author)
    url = step_url(step, "risks")
    read = call(client, "get", url)
    assert read.status_code == 200 and read.json()["risks"] == []
    body = {
        "risks": [{"number": n, "description": f"Риск {n}"} for n in (5, 6, 7, 8)],
        "rollback_actions": [{"text": "Устранить причину и перезапустить узел/кластер.", "risk_numbers": [8, 5, 6, 7]}],
        "no_rollback_needed": False,
    }
    response = call(client, "put", url, body, **{"If-Match": etag(read)})
    assert response.status_code == 200, response.content
    assert response.json()["rollback_actions"][0]["risk_numbers"] == [5, 6, 7, 8]
    assert Risk.objects.filter(step=step).count() == 4 and RollbackAction.objects.filter(step=step).count() == 1
    # The same PUT with the old ETag is stale
    assert call(client, "put", url, body, **{"If-Match": etag(read)}).status_code == 412


def test_risks_refusals(step, author, other_author):
    client = api_client(author)
    tag = etag(call(client, "get", step_url(step, "risks")))
    unknown = {"risks": [], "rollback_actions": [{"text": "Откат", "risk_numbers": [3]}]}
    response = call(client, "put", step_url(step, "risks"), unknown, **{"If-Match": tag})
    assert response.status_code == 422 and "3" in response.json()["detail"]
    twice = {"risks": [{"number": 1, "description": "А"}, {"number": 1, "description": "Б"}], "rollback_actions": []}
    assert call(client, "put", step_url(step, "risks"), twice, **{"If-Match": tag}).status_code == 400
    other = call(api_client(other_author), "put", step_url(step, "risks"), unknown, **{"If-Match": tag})
    page = page_client(other_author).post(reverse("changeplans:step_risks", args=[step.pk]))
    assert (other.status_code, other.json()["detail"]) == (page.status_code, page_reason(page))


# --- execution ----------------------------------------------------------------------------------------------------


def _board_tick(user, step, action, comment=""):
    url = reverse("execution:board_tick", args=[step.pk])
    return page_client(user).post(url, {"action": action, "comment": comment})


def test_duty_officer_starts_and_ticks(running_plan, duty):
    step = running_plan.steps.get(position=1)
    client = api_client(duty)
    started = call(client, "post", step_url(step, "start"), {})
    assert started.status_code == 200 and started.json()["status"] == StepStatus.IN_PROGRESS
    done = call(client, "post", step_url(step, "tick"), {"comment": "Готово", "expected_status": "in_progress"})
    assert done.status_code == 200 and done.json()["status"] == StepStatus.DONE
    assert done.json()["done_by"] == "Иванов П.С." and done.json()["comment"] == "Готово"


def test_operator_and_the_steps_responsible_tick(running_plan, operator, engineer):
    first, second = running_plan.steps.get(position=1), running_plan.steps.get(position=2)
    assert call(api_client(operator), "post", step_url(first, "start"), {}).status_code == 200
    assert call(api_client(operator), "post", step_url(first, "tick"), {}).json()["status"] == StepStatus.DONE
    Step.objects.filter(pk=second.pk).update(executor=PartyFactory(user=engineer))
    assert call(api_client(engineer), "post", step_url(second, "skip"), {"comment": "Не нужен"}).status_code == 200


@pytest.mark.parametrize("who", ["engineer", "approver", "author"])
def test_tick_refused_as_on_the_board(running_plan, who, request):
    user = request.getfixturevalue(who)
    step = running_plan.steps.get(position=1)
    response = call(api_client(user), "post", step_url(step, "tick"), {})
    board = _board_tick(user, step, "done")
    assert (response.status_code, response.json()["detail"]) == (board.status_code, page_reason(board))
    assert response.status_code == 403


def test_tick_state_refusals_as_on_the_board(running_plan, duty):
    step = running_plan.steps.get(position=1)
    client = api_client(duty)
    # done before it started: 409, as the board
    response = call(client, "post", step_url(step, "tick"), {})
    board = _board_tick(duty, step, "done")
    assert (response.status_code, response.json()["detail"]) == (board.status_code, page_reason(board))
    assert response.status_code == 409
    call(client, "post", step_url(step, "start"), {})
    # fail without a reason: 422, as the board
    response = call(client, "post", step_url(step, "fail"), {})
    board = _board_tick(duty, step, "failed")
    assert (
        (response.status_code, response.json()["detail"])
        == (board.status_code, page_reason(board))
        == (
            422,
            "Укажите причину: она попадёт в историю плана.",
        )
    )
    # someone was first: 409 with who
    call(client, "post", step_url(step, "tick"), {})
    late = call(client, "post", step_url(step, "start"), {"expected_status": "pending"})
    assert late.status_code == 409 and late.json()["code"] == "conflict"
    # retry of a step that did not fail
    assert call(client, "post", step_url(step, "retry"), {}).status_code == 409


def test_tick_replays_with_an_idempotency_key(running_plan, duty):
    step = running_plan.steps.get(position=1)
    client = api_client(duty)
    call(client, "post", step_url(step, "start"), {})
    first = call(client, "post", step_url(step, "tick"), {}, **{"Idempotency-Key": "tick-1"})
    again = call(client, "post", step_url(step, "tick"), {}, **{"Idempotency-Key": "tick-1"})
    assert first.status_code == again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert first.json() == again.json()
    transitions_written = PlanEvent.objects.filter(object_type="step", object_id=step.pk, to_status=StepStatus.DONE)
    assert transitions_written.count() == 1
    other = call(client, "post", step_url(step, "fail"), {"comment": "x"}, **{"Idempotency-Key": "tick-1"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


def test_a_plan_not_in_progress_refuses_ticks(step, duty):
    response = call(api_client(duty), "post", step_url(step, "tick"), {})
    board = _board_tick(duty, step, "done")
    assert (response.status_code, response.json()["detail"]) == (board.status_code, page_reason(board))
    assert response.status_code == 422


def test_rollback_action_tick(running_plan, duty):
    step = running_plan.steps.get(position=1)
    action = RollbackActionFactory(step=step, position=1)
    client = api_client(duty)
    url = reverse("api:rollback_action_tick", args=[action.pk])
    # Outside rollback mode: the board's refusal
    early = call(client, "post", url, {"action": "done"})
    board = page_client(duty).post(reverse("execution:board_tick_rollback", args=[action.pk]), {"action": "done"})
    assert (early.status_code, early.json()["detail"]) == (board.status_code, page_reason(board))
    call(client, "post", step_url(step, "start"), {})
    assert call(client, "post", step_url(step, "fail"), {"comment": "Сломалось"}).status_code == 200
    transitions.enter_rollback(running_plan.pk, actor=duty, reason="Откат")
    assert call(client, "post", url, {"action": "start"}).status_code == 200
    done = call(client, "post", url, {"action": "done", "expected_status": "in_progress"})
    assert done.status_code == 200 and done.json()["status"] == StepStatus.DONE
    assert Step.objects.get(pk=step.pk).status == StepStatus.ROLLED_BACK


# --- the permission matrix: every edit × every role, the API against the page --------------------------------------

ROLES = ["author", "other_author", "approver", "duty", "operator", "admin_user", "nobody"]


def _api_edit(client, edit, step):
    tag = {"If-Match": f'"step-{step.pk}-r{step.revision}"'}
    if edit == "add":
        return call(client, "post", reverse("api:plan_steps", args=[step.plan_id]), {})
    if edit == "cell":
        return call(client, "patch", step_url(step), {"name": "Новое имя"}, **tag)
    if edit == "delete":
        return call(client, "delete", step_url(step), **tag)
    if edit == "move":
        return call(client, "post", step_url(step, "move"), {"direction": "down"})
    return call(client, "put", step_url(step, "risks"), {"risks": [], "rollback_actions": []}, **tag)


def _page_edit(client, edit, step):
    if edit == "add":
        return client.post(reverse("changeplans:step_add", args=[step.plan_id]))
    if edit == "cell":
        url = reverse("changeplans:step_cell", args=[step.pk, "name"])
        return client.post(url, {"revision": step.revision, "value": "Новое имя"})
    if edit == "delete":
        return client.post(reverse("changeplans:step_delete", args=[step.pk]))
    if edit == "move":
        return client.post(reverse("changeplans:step_move", args=[step.pk]), {"direction": "down"})
    forms = {f"{p}-{n}": 0 for p in ("risk", "action") for n in ("TOTAL_FORMS", "INITIAL_FORMS")}
    return client.post(reverse("changeplans:step_risks", args=[step.pk]), {"revision": step.revision, **forms})


@pytest.mark.parametrize("edit", ["add", "cell", "delete", "move", "risks"])
@pytest.mark.parametrize("who", ROLES)
def test_every_edit_answers_every_role_as_the_page(edit, who, author, request):
    user = UserFactory(username="nobody") if who == "nobody" else request.getfixturevalue(who)
    # Two identical plans of the author: one edited through the API, the other through the page
    steps = []
    for _ in range(2):
        plan = PlanFactory(author=author)
        steps.append(StepFactory(plan=plan, position=1))
        StepFactory(plan=plan, position=2)
    response, page = _api_edit(api_client(user), edit, steps[0]), _page_edit(page_client(user), edit, steps[1])
    allowed = who in ("author", "admin_user")
    assert (response.status_code < 300, page.status_code < 300) == (allowed, allowed), (response.content, page)
    if not allowed:
        assert (response.status_code, response.json()["detail"]) == (page.status_code, page_reason(page))
    # A read-only token never writes
    assert _api_edit(api_client(user, TokenScope.READ), edit, steps[0]).status_code == 403


def test_refusals_in_english_on_request(step, other_author):
    tag = f'"step-{step.pk}-r{step.revision}"'
    response = call(api_client(other_author), "patch", step_url(step), {"name": "X"}, **{"If-Match": tag})
    assert response.json()["detail"] == "Редактировать план может только его автор."
    english = api_client(other_author)
    english.cookies["django_language"] = "en"
    response = call(english, "patch", step_url(step), {"name": "a\x00b"}, **{"If-Match": tag})
    assert response.status_code == 403 and response.json()["detail"] == "Only the author of the plan can edit it."
