import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from changeplans.choices import PlanStatus
from changeplans.models import Plan, Step
from tests.factories import PlanFactory, RiskFactory, RollbackActionFactory, ServiceFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def plan(author):
    plan = PlanFactory(author=author, title="Установка Calico")
    for position in range(1, 4):
        StepFactory(plan=plan, position=position, name=f"Шаг {position}")
    return plan


def plan_with_steps(author, count):
    plan = PlanFactory(author=author)
    for position in range(1, count + 1):
        step = StepFactory(plan=plan, position=position)
        RiskFactory(step=step, number=1)
        RiskFactory(step=step, number=2)
        RollbackActionFactory(step=step).risks.set(step.risks.all())
    return plan


def page_queries(client, plan):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("changeplans:plan_detail", args=[plan.pk]))
    assert response.status_code == 200
    return len(queries)


def test_pages_need_login(client, plan):
    for url in (
        reverse("changeplans:plan_list"),
        reverse("changeplans:plan_detail", args=[plan.pk]),
        reverse("changeplans:plan_pdf", args=[plan.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_plan_page_query_count_does_not_grow_with_steps(author_client, author):
    # Given plans of 10 and 100 steps, each step with risks and a rollback action
    small, large = plan_with_steps(author, 10), plan_with_steps(author, 100)
    # When both pages render, then they run the same number of queries
    assert page_queries(author_client, small) == page_queries(author_client, large)


def test_plan_list_query_count_does_not_grow_with_plans(author_client, author):
    plan_with_steps(author, 2).services.add(ServiceFactory())
    url = reverse("changeplans:plan_list")
    with CaptureQueriesContext(connection) as few:
        author_client.get(url)
    for _ in range(10):
        plan_with_steps(author, 2).services.add(ServiceFactory())
    with CaptureQueriesContext(connection) as many:
        response = author_client.get(url)
    assert response.status_code == 200
    assert len(few) == len(many)


def test_plan_page_shows_the_step_table_in_russian(author_client, plan):
    response = author_client.get(reverse("changeplans:plan_detail", args=[plan.pk]))
    html = response.content.decode()
    assert "Установка Calico" in html and "Шаг 3" in html
    assert "Наименование мероприятия" in html and "НЕ ВЫПОЛНЕНО" in html and "ЧЕРНОВИК" in html


def test_list_filters_by_status_and_search(author_client, author, plan):
    other = PlanFactory(author=author, title="Обновление Velero")
    other.submit()
    other.save()
    url = reverse("changeplans:plan_list")
    html = author_client.get(url, {"status": "in_review"}).content.decode()
    assert "Обновление Velero" in html and "Установка Calico" not in html
    html = author_client.get(url, {"q": "calico"}, **HX).content.decode()
    assert "Установка Calico" in html and "Обновление Velero" not in html
    assert "<html" not in html  # an HTMX request gets only the table


def test_create_plan_keeps_input_on_error(author_client):
    response = author_client.post(
        reverse("changeplans:plan_create"),
        {
            "title": "Новый план",
            "kind": "normal",
            "time_zone": "Asia/Novosibirsk",
            "window_start": "2025-03-20T23:00",
            "window_end": "2025-03-20T20:00",
            "availability": "unavailable",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Окно работ должно заканчиваться после начала" in html
    assert 'value="Новый план"' in html
    assert not Plan.objects.filter(title="Новый план").exists()


def test_create_plan_reads_times_in_the_plans_zone(author_client):
    response = author_client.post(
        reverse("changeplans:plan_create"),
        {
            "title": "Ночные работы",
            "kind": "normal",
            "time_zone": "Europe/Moscow",
            "window_start": "2025-03-20T23:00",
            "window_end": "2025-03-21T02:00",
            "availability": "unavailable",
        },
    )
    plan = Plan.objects.get(title="Ночные работы")
    assert response.status_code == 302
    assert plan.window_start.isoformat() == "2025-03-20T20:00:00+00:00"
    assert plan.window_end.isoformat() == "2025-03-20T23:00:00+00:00"


def test_approver_cannot_create(client, approver):
    client.force_login(approver)
    assert client.get(reverse("changeplans:plan_create")).status_code == 403


def test_cell_editor_fragment_and_save(author_client, plan):
    step = plan.steps.get(position=2)
    url = reverse("changeplans:step_cell", args=[step.pk, "name"])
    editor = author_client.get(url, **HX).content.decode()
    assert 'name="value"' in editor and 'value="Шаг 2"' in editor
    response = author_client.post(url, {"value": "Раскатить раннер", "revision": step.revision}, **HX)
    assert response.status_code == 200
    html = response.content.decode()
    # The answer is the saved row (swapped as #step-<id>), not the whole table: tests/changeplans/test_cell_save_fast.py
    assert response["HX-Retarget"] == f"#step-{step.pk}" and response["HX-Reswap"] == "outerHTML"
    assert 'id="steps-body"' not in html and f'<tr id="step-{step.pk}"' in html and "Раскатить раннер" in html
    assert 'id="lint-panel"' not in html  # a new name leaves the plan check as it was: the panel is not sent
    assert Step.objects.get(pk=step.pk).name == "Раскатить раннер"


def test_bad_duration_shows_a_russian_error_at_the_cell_and_keeps_the_text(author_client, plan):
    step = plan.steps.first()
    response = author_client.post(
        reverse("changeplans:step_cell", args=[step.pk, "duration_text"]),
        {"value": "полчаса", "revision": step.revision},
        **HX,
    )
    assert response.status_code == 422
    assert response["HX-Retarget"] == f"#cell-{step.pk}-duration_text"
    html = response.content.decode()
    assert "Не удалось прочитать длительность" in html and 'value="полчаса"' in html
    assert Step.objects.get(pk=step.pk).duration_text == "5 мин"


def test_conflict_keeps_my_text_and_shows_theirs(author_client, plan, author):
    from changeplans import services

    step = plan.steps.first()
    services.update_step_cell(step.pk, actor=author, field="name", value="Их версия", revision=step.revision)
    url = reverse("changeplans:step_cell", args=[step.pk, "name"])
    response = author_client.post(url, {"value": "Моя версия", "revision": step.revision}, **HX)
    assert response.status_code == 409
    html = response.content.decode()
    assert 'value="Моя версия"' in html and "Их версия" in html and 'name="revision" value="2"' in html
    # Saving again with the new revision overwrites deliberately.
    author_client.post(url, {"value": "Моя версия", "revision": 2}, **HX)
    assert Step.objects.get(pk=step.pk).name == "Моя версия"


def test_other_users_cannot_edit_through_any_url(client, plan):
    client.force_login(UserFactory(username="intruder", roles=["author"]))
    step = plan.steps.first()
    urls = [
        ("post", reverse("changeplans:step_cell", args=[step.pk, "name"]), {"value": "x", "revision": step.revision}),
        ("get", reverse("changeplans:step_cell", args=[step.pk, "name"]), {}),
        ("post", reverse("changeplans:step_add", args=[plan.pk]), {}),
        ("post", reverse("changeplans:step_delete", args=[step.pk]), {}),
        ("post", reverse("changeplans:step_move", args=[step.pk]), {"direction": "down"}),
        ("post", reverse("changeplans:steps_reorder", args=[plan.pk]), {"step": []}),
        ("post", reverse("changeplans:step_risks", args=[step.pk]), {}),
        ("post", reverse("changeplans:plan_header", args=[plan.pk]), {"title": "x"}),
    ]
    for method, url, data in urls:
        response = getattr(client, method)(url, data, **HX)
        assert response.status_code == 403, url
    assert Step.objects.get(pk=step.pk).name == "Шаг 1" and plan.steps.count() == 3
    page = client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
    assert 'hx-get="/plans/steps/' not in page and 'id="add-step"' not in page


def test_add_move_delete_through_views(author_client, plan):
    author_client.post(reverse("changeplans:step_add", args=[plan.pk]), {"after": "1"}, **HX)
    assert plan.steps.count() == 4 and plan.steps.get(position=2).name == "Новый шаг"
    last = plan.steps.get(position=4)
    author_client.post(reverse("changeplans:step_move", args=[last.pk]), {"direction": "up"}, **HX)
    assert Step.objects.get(pk=last.pk).position == 3
    response = author_client.post(reverse("changeplans:step_delete", args=[last.pk]), **HX)
    assert response.status_code == 200 and "HX-Trigger" in response
    assert plan.steps.count() == 3


def test_risks_panel_round_trip(author_client, plan):
    step = plan.steps.first()
    url = reverse("changeplans:step_risks", args=[step.pk])
    assert 'name="risk-TOTAL_FORMS"' in author_client.get(url, **HX).content.decode()
    data = {
        "revision": step.revision,
        "risk_mitigation": "Проверить PDB",
        "risk-TOTAL_FORMS": 2,
        "risk-INITIAL_FORMS": 0,
        "risk-0-number": 1,
        "risk-0-description": "Ошибки в манифестах",
        "risk-1-number": 2,
        "risk-1-description": "Конфликты плагинов",
        "action-TOTAL_FORMS": 1,
        "action-INITIAL_FORMS": 0,
        "action-0-risk_numbers": "1/2",
        "action-0-text": "Проверить конфигурацию",
    }
    assert author_client.post(url, data, **HX).status_code == 200
    step.refresh_from_db()
    assert step.risks.count() == 2 and step.rollback_actions.get().label() == "1/2"
    # A rollback action naming a risk that does not exist: error, nothing lost.
    step.refresh_from_db()
    data.update({"revision": step.revision, "action-0-risk_numbers": "7", "action-0-text": "Другое действие"})
    response = author_client.post(url, data, **HX)
    assert response.status_code == 422
    assert "Другое действие" in response.content.decode()
    assert step.rollback_actions.get().text == "Проверить конфигурацию"


def test_header_edit_and_conflict(author_client, plan, author):
    url = reverse("changeplans:plan_header", args=[plan.pk])
    form_html = author_client.get(url, {"edit": 1}, **HX).content.decode()
    assert 'name="title"' in form_html and "2025-03-20T20:00" in form_html
    data = {
        "title": "Новое название",
        "kind": "normal",
        "time_zone": "Asia/Novosibirsk",
        "window_start": "2025-03-20T20:00",
        "window_end": "2025-03-20T23:30",
        "availability": "unavailable",
        "revision": plan.revision,
    }
    response = author_client.post(url, data, **HX)
    assert response.status_code == 200 and "Новое название" in response.content.decode()
    plan.refresh_from_db()
    assert plan.title == "Новое название" and plan.window_end.isoformat() == "2025-03-20T16:30:00+00:00"
    data.update({"title": "Устаревшая правка"})  # the same, now stale, revision
    html = author_client.post(url, data, **HX).content.decode()
    assert "Устаревшая правка" in html and "alert-warning" in html
    assert Plan.objects.get(pk=plan.pk).title == "Новое название"


def test_cancel_from_the_page(author_client, plan):
    url = reverse("changeplans:plan_cancel", args=[plan.pk])
    response = author_client.post(url, {"comment": ""})
    assert response.status_code == 200 and Plan.objects.get(pk=plan.pk).status == PlanStatus.DRAFT
    response = author_client.post(url, {"comment": "Перенесено на апрель"})
    assert response.status_code == 302 and Plan.objects.get(pk=plan.pk).status == PlanStatus.CANCELLED


def test_pdf_download(author_client, plan):
    response = author_client.get(reverse("changeplans:plan_pdf", args=[plan.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.getvalue().startswith(b"%PDF") and "attachment" in response["Content-Disposition"]


@pytest.mark.redis
def test_health_checks_database_and_redis_cache(client, settings):
    assert "RedisCache" in settings.CACHES["default"]["BACKEND"]
    assert client.get(reverse("health")).json() == {"status": "ok", "database": "ok", "cache": "ok"}


@pytest.mark.redis
def test_health_reports_a_dead_cache(client, settings):
    # Django rebuilds its cache handlers when the CACHES setting changes.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    response = client.get(reverse("health"))
    assert response.status_code == 503 and response.json()["cache"] == "error"


def test_russian_by_default_english_on_request(author_client, plan):
    url = reverse("changeplans:plan_detail", args=[plan.pk])
    html = author_client.get(url, HTTP_ACCEPT_LANGUAGE="en-US,en").content.decode()
    assert "Наименование мероприятия" in html
    author_client.post(reverse("set_language"), {"language": "en", "next": url})
    html = author_client.get(url).content.decode()
    assert "Activity" in html and "NOT DONE" in html


def test_drag_reorder_posts_the_whole_order(author_client, plan):
    from changeplans.models import PlanEvent

    ids = list(plan.steps.order_by("position").values_list("pk", flat=True))
    url = reverse("changeplans:steps_reorder", args=[plan.pk])
    author_client.post(url, {"step": ids}, **HX)  # dropped in place
    assert not PlanEvent.objects.filter(plan=plan, kind="steps_reordered").exists()
    response = author_client.post(url, {"step": [ids[2], ids[0], ids[1]]}, **HX)
    assert response.status_code == 200
    assert [s.name for s in plan.steps.order_by("position")] == ["Шаг 3", "Шаг 1", "Шаг 2"]
    assert PlanEvent.objects.filter(plan=plan, kind="steps_reordered").count() == 1


def test_forbidden_page_says_why_in_russian(client, approver, plan):
    client.force_login(approver)
    response = client.get(reverse("changeplans:plan_create"))
    assert response.status_code == 403
    assert "Создавать планы могут только авторы." in response.content.decode()
