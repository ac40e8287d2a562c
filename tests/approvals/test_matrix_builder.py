"""The author builds the sign-off matrix alone: add, edit, reorder, remove rows, copy another plan's matrix,
save it as a template; every change locked, permitted, recorded; a plan under sign-off keeps its matrix.

To see these fail: drop the `prepares_plan` check from approvals.services._lock_for_matrix (the 403 tests
fail), or the `matrix_locked_refusal` check (the 409 tests fail), or the row checks from
approvals.conditions.submit_refusal (the incomplete-matrix submit tests fail).
"""

import json

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from approvals import selectors, services
from approvals.choices import ApprovalStatus, RowKind
from approvals.models import ApprovalRow, MatrixTemplate
from changeplans.choices import EventKind, PlanStatus
from changeplans.models import Plan, PlanEvent
from tests.approvals.factories import plan_with_matrix
from tests.factories import PlanFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
HX = {"HTTP_HX_REQUEST": "true"}


def rows(plan):
    return list(ApprovalRow.objects.filter(plan=plan).order_by("position"))


def shape(plan):
    """(position, job title, person name, user id, group id, kind, stage) of each row, in order."""
    return [(r.position, r.job_title, r.person_name, r.user_id, r.group_id, r.kind, r.stage) for r in rows(plan)]


def edits(plan):
    return list(
        PlanEvent.objects.filter(plan=plan, kind=EventKind.EDITED).order_by("pk").values_list("comment", flat=True)
    )


def toast(response):
    return json.loads(response["HX-Trigger"])["okno:toast"]


@pytest.fixture
def duty_group():
    return Group.objects.get_or_create(name="duty_officer")[0]


@pytest.fixture
def draft():
    """A draft with one step and an empty matrix, its author, and three people who may approve."""
    author = UserFactory(username="author", last_name="Хасанов", first_name="А.И.", roles=["author"])
    plan = PlanFactory(author=author)
    StepFactory(plan=plan, position=1)
    people = [
        UserFactory(username=f"boss{i}", last_name=name, first_name="П.С.", roles=["approver"])
        for i, name in enumerate(["Иванов", "Петров", "Сидоров"], start=1)
    ]
    return plan, author, people


# --- services ---------------------------------------------------------------------------------------


def test_the_author_builds_reorders_and_trims_a_matrix(draft, duty_group):
    plan, author, (ivanov, petrov, sidorov) = draft
    # When the author adds an empty row, a person with a position, and the duty group
    empty = services.add_matrix_row(plan.pk, actor=author)
    services.add_matrix_row(plan.pk, actor=author, job_title=" Директор по ИТ ", person=ivanov)
    duty = services.add_matrix_row(plan.pk, actor=author, person=duty_group, kind=RowKind.ACKNOWLEDGEMENT)
    # Then the rows are numbered in order, named as the seed writes names
    assert shape(plan) == [
        (1, "", "", None, None, RowKind.APPROVAL, 1),
        (2, "Директор по ИТ", "Иванов П.С.", ivanov.pk, None, RowKind.APPROVAL, 1),
        (3, "", "Дежурный", None, duty_group.pk, RowKind.ACKNOWLEDGEMENT, 1),
    ]
    assert ApprovalRow.objects.get(pk=duty.pk).status == ApprovalStatus.NOT_ACKNOWLEDGED

    # When the empty row gets a person and stage 2, then moves down twice (the second move is at the end)
    services.update_matrix_row(empty.pk, actor=author, job_title="", person=petrov, kind=RowKind.APPROVAL, stage=2)
    services.move_matrix_row(empty.pk, actor=author, offset=1)
    services.move_matrix_row(empty.pk, actor=author, offset=1)
    services.move_matrix_row(empty.pk, actor=author, offset=1)
    assert [(r.position, r.person_name, r.stage) for r in rows(plan)] == [
        (1, "Иванов П.С.", 1),
        (2, "Дежурный", 1),
        (3, "Петров П.С.", 2),
    ]
    # When the first row is removed, the others move up
    services.delete_matrix_row(rows(plan)[0].pk, actor=author)
    assert [(r.position, r.person_name) for r in rows(plan)] == [(1, "Дежурный"), (2, "Петров П.С.")]

    # Then every change is in the history, in Russian; a move at the end recorded nothing
    assert edits(plan) == [
        "Лист согласования: добавлена строка 1 (никто не выбран, согласование, этап 1)",
        "Лист согласования: добавлена строка 2 (Директор по ИТ, Иванов П.С., согласование, этап 1)",
        "Лист согласования: добавлена строка 3 (Дежурный, ознакомление, этап 1)",
        "Лист согласования, строка 1: ФИО: — → Петров П.С.; Этап: 1 → 2",
        "Лист согласования: строка «Петров П.С.» перемещена с 1 на 2",
        "Лист согласования: строка «Петров П.С.» перемещена с 2 на 3",
        "Лист согласования: удалена строка 1 (Директор по ИТ, Иванов П.С., согласование, этап 1)",
    ]
    assert set(PlanEvent.objects.filter(plan=plan, kind=EventKind.EDITED).values_list("actor", flat=True)) == {
        author.pk
    }


def test_an_unchanged_row_records_nothing_and_a_new_kind_starts_undecided(draft):
    plan, author, (ivanov, *_) = draft
    row = services.add_matrix_row(plan.pk, actor=author, job_title="инженер", person=ivanov)
    before = edits(plan)
    services.update_matrix_row(
        row.pk, actor=author, job_title="инженер ", person=ivanov, kind=RowKind.APPROVAL, stage=1
    )
    assert edits(plan) == before
    services.update_matrix_row(
        row.pk, actor=author, job_title="инженер", person=ivanov, kind=RowKind.ACKNOWLEDGEMENT, stage=1
    )
    row.refresh_from_db()
    assert (row.kind, row.status) == (RowKind.ACKNOWLEDGEMENT, ApprovalStatus.NOT_ACKNOWLEDGED)
    assert edits(plan)[-1] == "Лист согласования, строка 1: Вид: согласование → ознакомление"


def test_rows_that_could_never_be_decided_are_refused(draft, duty_group):
    plan, author, (ivanov, *_) = draft
    plan.curator = UserFactory(username="curator")
    plan.save()
    row = services.add_matrix_row(plan.pk, actor=author, person=ivanov)
    cases = [
        (duty_group, RowKind.APPROVAL, "группа может только ознакомиться"),
        (author, RowKind.APPROVAL, "Автор и куратор не согласуют свой план"),
        (plan.curator, RowKind.APPROVAL, "Автор и куратор не согласуют свой план"),
    ]
    for person, kind, message in cases:
        with pytest.raises(ValidationError, match=message):
            services.add_matrix_row(plan.pk, actor=author, person=person, kind=kind)
    other = services.add_matrix_row(plan.pk, actor=author)
    with pytest.raises(ValidationError, match=r"Иванов П.С. уже есть в листе согласования \(строка 1\)"):
        services.update_matrix_row(other.pk, actor=author, job_title="", person=ivanov, kind=RowKind.APPROVAL, stage=1)
    assert [(r.user_id, r.group_id) for r in rows(plan)] == [(ivanov.pk, None), (None, None)]
    assert row.pk == rows(plan)[0].pk


def test_another_user_may_not_touch_the_matrix_and_an_administrator_may(draft):
    plan, author, (ivanov, petrov, _) = draft
    row = services.add_matrix_row(plan.pk, actor=author, person=petrov)
    other_author = UserFactory(username="other", roles=["author"])
    for user in (ivanov, other_author):
        calls = [
            # An approver cannot add themselves.
            (services.add_matrix_row, plan.pk, {"person": user}),
            (services.update_matrix_row, row.pk, {"job_title": "", "person": user, "kind": "approval", "stage": 1}),
            (services.move_matrix_row, row.pk, {"offset": 1}),
            (services.delete_matrix_row, row.pk, {}),
            (services.copy_matrix, plan.pk, {"source_plan_id": plan.pk}),
            (services.save_matrix_as_template, plan.pk, {"name": "Мой"}),
        ]
        for function, target, kwargs in calls:
            with pytest.raises(PermissionDenied):
                function(target, actor=user, **kwargs)
    assert shape(plan) == [(1, "", "Петров П.С.", petrov.pk, None, RowKind.APPROVAL, 1)]
    assert not MatrixTemplate.objects.exists()
    admin = UserFactory(username="admin-user", roles=["admin"])
    services.add_matrix_row(plan.pk, actor=admin, person=ivanov)
    assert [r.user_id for r in rows(plan)] == [petrov.pk, ivanov.pk]


@pytest.mark.parametrize("status", ["in_review", "approved"])
def test_a_plan_under_sign_off_keeps_its_matrix(status):
    plan, author, (a1, a2), duty = plan_with_matrix(2)
    services.submit_plan(plan.pk, actor=author)
    if status == "approved":
        for row in rows(plan):
            if row.kind == RowKind.APPROVAL:
                services.approve_row(row.pk, actor=row.user, version=1)
            else:
                services.acknowledge_row(row.pk, actor=duty, version=1)
        assert Plan.objects.get(pk=plan.pk).status == PlanStatus.APPROVED
    before = shape(plan)
    first = rows(plan)[0]
    stranger = UserFactory(username="stranger", roles=["approver"])
    calls = [
        lambda: services.add_matrix_row(plan.pk, actor=author, person=stranger),
        lambda: services.update_matrix_row(
            first.pk, actor=author, job_title="x", person=a1, kind=RowKind.APPROVAL, stage=1
        ),
        lambda: services.move_matrix_row(first.pk, actor=author, offset=1),
        lambda: services.delete_matrix_row(first.pk, actor=author),
        lambda: services.copy_matrix(plan.pk, actor=author, source_plan_id=plan.pk),
    ]
    for call in calls:
        with pytest.raises(services.MatrixLocked, match="лист согласования можно менять, только пока план"):
            call()
    assert shape(plan) == before
    # Saving it as a template changes nothing of the plan: allowed.
    template = services.save_matrix_as_template(plan.pk, actor=author, name="Из согласованного")
    assert template.rows.count() == 3


def test_copy_another_plans_matrix_without_its_decisions(draft):
    plan, author, _ = draft
    source, source_author, (a1, a2), duty = plan_with_matrix(2, author=UserFactory(username="a2", roles=["author"]))
    services.submit_plan(source.pk, actor=source_author)
    services.approve_row(rows(source)[0].pk, actor=a1, version=1, comment="ок")
    # When the author copies the matrix of that plan (which is in review, one row approved)
    count = services.copy_matrix(plan.pk, actor=author, source_plan_id=source.pk)
    # Then the rows are the same people and groups, none of them decided
    assert count == 3
    assert [row[1:] for row in shape(plan)] == [row[1:] for row in shape(source)]
    assert [(r.status, r.decided_by_id, r.comment) for r in rows(plan)] == [
        (ApprovalStatus.PENDING, None, ""),
        (ApprovalStatus.PENDING, None, ""),
        (ApprovalStatus.NOT_ACKNOWLEDGED, None, ""),
    ]
    assert edits(plan)[-1] == f"Лист согласования скопирован из плана №{source.pk} «{source.title}»: строк — 3"
    # A plan without a matrix, the same plan, a missing plan: refused, nothing changed
    empty = PlanFactory(author=author)
    for source_id, message in [
        (empty.pk, "нет листа согласования"),
        (plan.pk, "Это тот же план"),
        (999_999, "Выберите план"),
    ]:
        with pytest.raises(ValidationError, match=message):
            services.copy_matrix(plan.pk, actor=author, source_plan_id=source_id)
    assert len(rows(plan)) == 3


def test_save_the_matrix_as_a_template_and_apply_it_elsewhere(draft, duty_group):
    plan, author, (ivanov, petrov, _) = draft
    services.add_matrix_row(plan.pk, actor=author, job_title="Директор", person=ivanov)
    services.add_matrix_row(plan.pk, actor=author, person=petrov, stage=2)
    services.add_matrix_row(plan.pk, actor=author, person=duty_group, kind=RowKind.ACKNOWLEDGEMENT)
    template = services.save_matrix_as_template(plan.pk, actor=author, name="  Мой   шаблон ")
    assert template.name == "Мой шаблон"
    assert edits(plan)[-1] == "Лист согласования сохранён как шаблон «Мой шаблон» (строк — 3)"
    # A name taken (in any case), an empty name: refused with the reason
    with pytest.raises(ValidationError, match="Шаблон «мой шаблон» уже есть: выберите другое название"):
        services.save_matrix_as_template(plan.pk, actor=author, name="мой шаблон")
    with pytest.raises(ValidationError, match="Дайте шаблону название"):
        services.save_matrix_as_template(plan.pk, actor=author, name="  ")
    assert MatrixTemplate.objects.count() == 1
    # The template gives another plan the same rows
    other = PlanFactory(author=author)
    services.apply_template(other.pk, actor=author, template_id=template.pk)
    assert [row[1:] for row in shape(other)] == [row[1:] for row in shape(plan)]
    # An empty matrix is not saved
    empty = PlanFactory(author=author)
    with pytest.raises(ValidationError, match="сохранять нечего"):
        services.save_matrix_as_template(empty.pk, actor=author, name="Пустой")


def test_submit_refuses_a_matrix_that_cannot_work(draft, duty_group):
    plan, author, (ivanov, *_) = draft
    with pytest.raises(ValidationError, match="В листе согласования нет строк"):
        services.submit_plan(plan.pk, actor=author)
    empty = services.add_matrix_row(plan.pk, actor=author)
    services.add_matrix_row(plan.pk, actor=author, person=ivanov)
    with pytest.raises(ValidationError, match="Строка 1: выберите человека или группу"):
        services.submit_plan(plan.pk, actor=author)
    # A group on an approval row (made by hand: the builder refuses it) cannot approve
    ApprovalRow.objects.filter(pk=empty.pk).update(group=duty_group, person_name="Дежурный")
    with pytest.raises(ValidationError, match="Строка 1: согласует человек, группа может только ознакомиться"):
        services.submit_plan(plan.pk, actor=author)
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.DRAFT
    # The duty group acknowledges: the matrix works
    services.update_matrix_row(
        empty.pk, actor=author, job_title="", person=duty_group, kind=RowKind.ACKNOWLEDGEMENT, stage=1
    )
    services.submit_plan(plan.pk, actor=author)
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.IN_REVIEW


# --- views ------------------------------------------------------------------------------------------


def endpoints(plan, row):
    """Every new endpoint: (method, url, data)."""
    return [
        ("post", reverse("approvals:matrix_row_add", args=[plan.pk]), {}),
        ("post", reverse("approvals:matrix_row_update", args=[row.pk]), {"who": "", "kind": "approval", "stage": 1}),
        ("post", reverse("approvals:matrix_row_move", args=[row.pk]), {"direction": "down"}),
        ("post", reverse("approvals:matrix_row_delete", args=[row.pk]), {}),
        ("post", reverse("approvals:matrix_copy", args=[plan.pk]), {"source": plan.pk}),
        ("get", reverse("approvals:matrix_sources", args=[plan.pk]), {"q": ""}),
        ("get", reverse("approvals:matrix_templates", args=[plan.pk]), {}),
        ("post", reverse("approvals:matrix_save_template", args=[plan.pk]), {"name": "Чужой"}),
    ]


@pytest.mark.parametrize("htmx", [True, False])
def test_every_builder_endpoint_refuses_another_user(client, htmx):
    plan, author, (a1, a2), duty = plan_with_matrix(2)
    other_author = UserFactory(username="other", roles=["author"])
    row = rows(plan)[0]
    before = shape(plan)
    headers = HX if htmx else {}
    for user in (a1, other_author, duty):
        client.force_login(user)
        for method, url, data in endpoints(plan, row):
            response = getattr(client, method)(url, data, **headers)
            assert response.status_code == 403, (user.username, url)
        # An approver cannot add themselves
        response = client.post(
            reverse("approvals:matrix_row_add", args=[plan.pk]), {"who": f"user:{user.pk}"}, **headers
        )
        assert response.status_code == 403
    assert shape(plan) == before and not MatrixTemplate.objects.exists()
    assert not PlanEvent.objects.filter(plan=plan, kind=EventKind.EDITED).exists()


def test_a_submitted_plans_matrix_answers_409_with_the_reason(client):
    plan, author, (a1, a2), duty = plan_with_matrix(2)
    services.submit_plan(plan.pk, actor=author)
    row = rows(plan)[0]
    before = shape(plan)
    client.force_login(author)
    for method, url, data in endpoints(plan, row):
        if url.endswith(("/sources/", "/templates/", "/save-template/")):
            continue  # reading the plans or the templates, saving a template: no change to this plan
        response = getattr(client, method)(url, data, **HX)
        assert response.status_code == 409, url
        assert "лист согласования можно менять, только пока план" in toast(response)["text"]
        assert "okno-matrix-error" in response.content.decode()
    assert shape(plan) == before
    # The page shows the matrix read-only: no builder
    html = client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
    assert 'id="matrix-builder"' not in html and 'id="approval-matrix"' in html


def test_the_plan_page_offers_the_builder_to_the_author_of_a_draft_only(client, draft):
    plan, author, (ivanov, *_) = draft
    services.add_matrix_row(plan.pk, actor=author, job_title="Директор", person=ivanov)
    url = reverse("changeplans:plan_detail", args=[plan.pk])
    client.force_login(author)
    html = client.get(url).content.decode()
    assert 'id="matrix-builder"' in html and 'id="matrix-add-row"' in html
    assert 'value="Директор"' in html and f'value="user:{ivanov.pk}"' in html
    assert "okno/matrix_edit.js" in html
    client.force_login(ivanov)
    html = client.get(url).content.decode()
    assert 'id="matrix-builder"' not in html and "Директор" in html


def test_row_views_add_edit_move_delete(client, draft, duty_group):
    plan, author, (ivanov, petrov, _) = draft
    client.force_login(author)
    add = reverse("approvals:matrix_row_add", args=[plan.pk])
    # Add: the whole matrix comes back, the new row's position field focused
    response = client.post(add, **HX)
    assert response.status_code == 200 and toast(response)["text"] == "Добавлена строка 1"
    first = rows(plan)[0]
    html = response.content.decode()
    assert f'id="approval-row-{first.pk}"' in html and "autofocus" in html
    assert "Строка 1: выберите человека или группу." in html  # the row says what it lacks
    assert 'id="submit-refusal"' in html  # the sign-off bar, out of band: submit refused
    client.post(add, {"who": f"group:{duty_group.pk}", "kind": "acknowledgement"}, **HX)

    # Edit: saved, answered out of band only (the fields stay as typed), the submit button enabled
    update = reverse("approvals:matrix_row_update", args=[first.pk])
    data = {"job_title": "", "who": f"user:{ivanov.pk}", "kind": "approval", "stage": "1"}
    response = client.post(update, data, **HX)
    assert response.status_code == 200 and response["HX-Reswap"] == "none"
    html = response.content.decode()
    assert f'id="matrix-row-note-{first.pk}"' in html and 'hx-swap-oob="true"' in html
    assert 'id="submit-plan"' in html and 'id="submit-refusal"' not in html
    assert "ФИО: — → Иванов П.С." in html  # the history, out of band
    assert rows(plan)[0].user_id == ivanov.pk

    # A bad value: 422 with the reason at the row, nothing saved
    for bad, message in [
        ({**data, "who": "user:999999"}, "Такого человека или группы нет"),
        ({**data, "who": "robot:1"}, "Такого человека или группы нет"),
        ({**data, "stage": "0"}, "1"),
        ({**data, "who": f"group:{duty_group.pk}"}, "группа может только ознакомиться"),
    ]:
        response = client.post(update, bad, **HX)
        assert response.status_code == 422
        assert message in toast(response)["text"]
        assert "okno-matrix-row-error" in response.content.decode()
    assert rows(plan)[0].user_id == ivanov.pk and rows(plan)[0].stage == 1

    # Move down, then remove
    response = client.post(reverse("approvals:matrix_row_move", args=[first.pk]), {"direction": "down"}, **HX)
    assert response.status_code == 200
    assert [r.person_name for r in rows(plan)] == ["Дежурный", "Иванов П.С."]
    assert (
        client.post(reverse("approvals:matrix_row_move", args=[first.pk]), {"direction": "sideways"}, **HX).status_code
        == 400
    )
    response = client.post(reverse("approvals:matrix_row_delete", args=[first.pk]), **HX)
    assert response.status_code == 200 and toast(response)["text"] == "Удалена строка 2"
    assert [r.person_name for r in rows(plan)] == ["Дежурный"]
    # A row already removed (another tab): 422 with the reason, or 404 for the row's own page
    assert client.post(reverse("approvals:matrix_row_delete", args=[first.pk]), **HX).status_code == 404


def test_copy_and_search_plans_to_copy_from(client, draft):
    plan, author, _ = draft
    source, *_ = plan_with_matrix(2, author=UserFactory(username="a2", roles=["author"]))
    Plan.objects.filter(pk=source.pk).update(title="Замена CNI Calico")
    nothing = PlanFactory(author=author, title="Замена без листа")
    client.force_login(author)
    sources = reverse("approvals:matrix_sources", args=[plan.pk])
    for query in ["calico", str(source.pk), f"№{source.pk}"]:
        html = client.get(sources, {"q": query}, **HX).content.decode()
        assert f'value="{source.pk}"' in html, query
    html = client.get(sources, {"q": "Замена"}, **HX).content.decode()
    assert f'value="{nothing.pk}"' not in html and f'value="{plan.pk}"' not in html  # no matrix; this plan
    assert "Нет подходящих планов" in client.get(sources, {"q": "нет такого"}, **HX).content.decode()

    copy = reverse("approvals:matrix_copy", args=[plan.pk])
    response = client.post(copy, {"source": "abc"}, **HX)
    assert response.status_code == 422 and "okno-copy-error" in response.content.decode()
    response = client.post(copy, {"source": nothing.pk, "q": "Замена"}, **HX)
    assert response.status_code == 422 and "нет листа согласования" in toast(response)["text"]
    assert 'value="Замена"' in response.content.decode()  # the search typed stays
    response = client.post(copy, {"source": source.pk}, **HX)
    assert response.status_code == 200 and "строк — 3" in toast(response)["text"]
    assert len(rows(plan)) == 3


def test_the_templates_and_the_plans_to_copy_from_are_read_when_the_author_opens_that_control(client, draft):
    """The plan page does not read them: the builder's template and copy lists load on opening their control."""
    plan, author, _ = draft
    source, *_ = plan_with_matrix(2, author=UserFactory(username="a2", roles=["author"]))
    MatrixTemplate.objects.create(name="PROD Kubernetes")
    client.force_login(author)
    page_url = reverse("changeplans:plan_detail", args=[plan.pk])
    client.get(page_url)
    with CaptureQueriesContext(connection) as queries:
        html = client.get(page_url).content.decode()
    assert not [
        q for q in queries if "approvals_matrixtemplate" in q["sql"] or 'NOT ("changeplans_plan"."id"' in q["sql"]
    ]
    assert "PROD Kubernetes" not in html and f"№{source.pk} " not in html
    templates_url = reverse("approvals:matrix_templates", args=[plan.pk])
    sources_url = reverse("approvals:matrix_sources", args=[plan.pk])
    lazy = 'hx-trigger="toggle once from:closest details"'
    assert html.count(lazy) == 2  # both lists load when the author opens the control
    assert f'hx-get="{templates_url}"' in html and f'hx-get="{sources_url}"' in html
    assert (
        client.get(templates_url, **HX)
        .content.decode()
        .strip()
        .endswith(f'<option value="{MatrixTemplate.objects.get().pk}">PROD Kubernetes</option>')
    )
    assert f'value="{source.pk}"' in client.get(sources_url, {"q": ""}, **HX).content.decode()
    MatrixTemplate.objects.all().delete()
    assert "Шаблонов листа пока нет" in client.get(templates_url, **HX).content.decode()
    # A copy error shows the control open: its lists load at once, the plans matching the search typed
    response = client.post(reverse("approvals:matrix_copy", args=[plan.pk]), {"source": "abc", "q": "x"}, **HX)
    answer = response.content.decode()
    assert response.status_code == 422 and 'okno-matrix-more" open>' in answer
    assert answer.count('hx-trigger="load"') == 2 and lazy not in answer
    # Another user is refused
    client.force_login(UserFactory(username="other", roles=["author"]))
    assert client.get(templates_url, **HX).status_code == 403


def test_save_as_template_view_keeps_the_name_on_a_clash(client, draft):
    plan, author, (ivanov, *_) = draft
    services.add_matrix_row(plan.pk, actor=author, person=ivanov)
    MatrixTemplate.objects.create(name="PROD Kubernetes")
    client.force_login(author)
    url = reverse("approvals:matrix_save_template", args=[plan.pk])
    response = client.post(url, {"name": "prod kubernetes"}, **HX)
    html = response.content.decode()
    assert response.status_code == 422 and "уже есть: выберите другое название" in html
    assert 'value="prod kubernetes"' in html  # what was typed stays
    assert client.post(url, {"name": ""}, **HX).status_code == 422
    response = client.post(url, {"name": "Мой лист"}, **HX)
    assert response.status_code == 200 and toast(response)["text"] == "Лист согласования сохранён как шаблон «Мой лист»"
    assert MatrixTemplate.objects.get(name="Мой лист").rows.get().user_id == ivanov.pk


def test_plain_posts_redirect_back_with_a_message(client, draft):
    plan, author, (ivanov, *_) = draft
    client.force_login(author)
    response = client.post(reverse("approvals:matrix_row_add", args=[plan.pk]), {"who": f"user:{ivanov.pk}"})
    assert response.status_code == 302 and response["Location"].endswith("#approval-matrix")
    assert rows(plan)[0].user_id == ivanov.pk


def test_the_builder_fragment_runs_the_same_queries_for_2_and_12_rows(client, django_assert_num_queries):
    def count(n):
        author = UserFactory(username="author", roles=["author"])
        plan = PlanFactory(author=author)
        StepFactory(plan=plan, position=1)
        for i in range(n):
            services.add_matrix_row(
                plan.pk, actor=author, job_title=f"должность {i}", person=UserFactory(username=f"p{n}-{i}")
            )
        client.force_login(author)
        url = reverse("approvals:plan_matrix", args=[plan.pk])
        client.get(url, **HX)  # sessions and caches warm
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, **HX)
        assert response.status_code == 200 and response.content.decode().count("okno-matrix-edit-row") == n
        assert selectors.matrix_context(plan, author)["can_edit_matrix"]
        return len(queries)

    small, large = count(2), count(12)
    assert small == large
    url = reverse("approvals:plan_matrix", args=[Plan.objects.latest("pk").pk])
    with django_assert_num_queries(small):
        client.get(url, **HX)


def test_without_the_people_search_the_builder_offers_plain_lists(client, draft, duty_group, monkeypatch):
    # Given a site where the people search is not installed (changeplans:people_search does not resolve)
    plan, author, (ivanov, *_) = draft
    services.add_matrix_row(plan.pk, actor=author, person=ivanov)
    monkeypatch.setattr(selectors, "people_search_url", lambda: None)
    client.force_login(author)
    html = client.get(reverse("approvals:plan_matrix", args=[plan.pk]), **HX).content.decode()
    # Then each row's person is a list of people and groups, the row's own chosen
    assert "data-okno-picker" not in html and '<select name="who"' in html
    assert f'<option value="user:{ivanov.pk}" selected>Иванов П.С.</option>' in html
    assert f'<option value="group:{duty_group.pk}">Дежурный</option>' in html
    assert 'label="Группы (ознакомится любой участник)"' in html
