"""Downtime and total duration as real plans write them (issue 13, item 3): the text is kept, its maximum is
stored and read by the plan check."""

import importlib

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from changeplans import services
from changeplans.durations import downtime_or_none, parse_downtime, parse_total_duration
from changeplans.lint import lint_plan
from changeplans.models import Plan, Step
from tests.changeplans.test_lint import add_step, fetched_steps
from tests.factories import PlanFactory, StepFactory

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


# --- the parser -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("возможное время до 40 мин", 40),
        ("до 40 мин", 40),
        ("до 40мин.", 40),
        ("40 минут", 40),
        ("1 ч", 60),
        ("1 ч 30 мин", 90),
        ("1-2 часа", 120),  # a range: its maximum
        ("от 10 до 40 мин", 40),
        ("около 2 часов", 120),
        ("ориентировочно 1,5 часа", 90),
        ("до часа", 60),
        ("полчаса", 30),
        ("полтора часа", 90),
        ("Время простоя: возможное время до 15 мин", 15),  # pasted with the seed's label
        ("нет", 0),
        ("Нет.", 0),
        ("не требуется", 0),
        ("—", 0),
        ("0 мин", 0),
        ("90", 90),  # a bare number is minutes
    ],
)
def test_parse_downtime_reads_what_plans_write(text, minutes):
    assert parse_downtime(text) == minutes


@pytest.mark.parametrize("text", ["", "   ", None])
def test_an_empty_downtime_is_none(text):
    assert parse_downtime(text) is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("на время перезагрузки", "Cannot read the downtime “на время перезагрузки”"),
        ("до 40 мин на каждый из 3 узлов", "Cannot read the downtime"),  # two numbers: which one?
        ("17:00", "Cannot read the downtime"),
        ("10 сек", "Unknown unit"),
        ("99999999999999 часов", "cannot be longer than 366 days"),
    ],
)
def test_parse_downtime_says_why_it_cannot_read_a_text(text, fragment):
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        parse_downtime(text)

    assert fragment in excinfo.value.messages[0]
    assert downtime_or_none(text) is None


def test_the_reason_is_russian_by_default():
    with translation.override("ru"), pytest.raises(ValidationError) as excinfo:
        parse_downtime("на время перезагрузки")

    assert excinfo.value.messages[0].startswith("Не удалось прочитать время простоя «на время перезагрузки»")


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("Общая продолжительность работ: 4 ч 30 мин", 270),
        ("4 ч 30 мин", 270),
        ("3-4 часа", 240),
        ("185", 185),
        ("", None),
    ],
)
def test_parse_total_duration(text, minutes):
    assert parse_total_duration(text) == minutes


@pytest.mark.parametrize("text", ["нет", "0 мин", "долго"])
def test_a_total_duration_must_name_a_positive_duration(text):
    with pytest.raises(ValidationError):
        parse_total_duration(text)


# --- the model keeps the text and its maximum -------------------------------


def test_a_step_stores_the_maximum_of_its_downtime_whoever_saves_it():
    step = StepFactory(planned_downtime="возможное время до 40 мин")
    assert Step.objects.get(pk=step.pk).planned_downtime_max_minutes == 40

    step.planned_downtime = "нет"
    step.save(update_fields=["planned_downtime"])
    assert Step.objects.values_list("planned_downtime", "planned_downtime_max_minutes").get(pk=step.pk) == ("нет", 0)

    step.planned_downtime = "на время перезагрузки"
    step.save()
    stored = Step.objects.get(pk=step.pk)
    assert (stored.planned_downtime, stored.planned_downtime_max_minutes) == ("на время перезагрузки", None)


def test_the_migration_reads_the_downtime_of_steps_stored_before():
    step = StepFactory(planned_downtime="до 20 мин")
    plan = step.plan
    Step.objects.filter(pk=step.pk).update(planned_downtime_max_minutes=None)
    Plan.objects.filter(pk=plan.pk).update(downtime_text="возможное время до 40 мин", downtime_max_minutes=None)
    migration = importlib.import_module("changeplans.migrations.0009_stated_duration_downtime")

    migration.read_downtimes(apps, None)

    assert Step.objects.get(pk=step.pk).planned_downtime_max_minutes == 20
    assert Plan.objects.get(pk=plan.pk).downtime_max_minutes == 40


def test_a_plan_reads_its_downtime_and_stated_duration_on_clean():
    plan = PlanFactory()
    plan.downtime_text, plan.stated_duration_text = "возможное время до 40 мин", "3 ч 05 мин"
    plan.full_clean(exclude=["status"])
    assert (plan.downtime_max_minutes, plan.stated_duration_minutes) == (40, 185)

    plan.stated_duration_text = "когда закончим"
    with pytest.raises(ValidationError) as excinfo:
        plan.full_clean(exclude=["status"])
    assert set(excinfo.value.error_dict) == {"stated_duration_text"}


# --- the cell and the header ------------------------------------------------


@pytest.fixture
def plan(author):
    plan = PlanFactory(author=author, title="Установка Calico")
    StepFactory(plan=plan, position=1, name="Шаг 1")
    return plan


def test_the_downtime_cell_keeps_the_text_and_stores_its_maximum(author_client, plan):
    step = plan.steps.get()
    url = reverse("changeplans:step_cell", args=[step.pk, "planned_downtime"])
    editor = author_client.get(url, **HX).content.decode()
    assert "до 40 мин" in editor  # the hint under the cell

    response = author_client.post(url, {"value": "возможное время до 40 мин", "revision": step.revision}, **HX)

    assert response.status_code == 200
    step.refresh_from_db()
    assert (step.planned_downtime, step.planned_downtime_max_minutes) == ("возможное время до 40 мин", 40)
    event = plan.events.order_by("-id").first()
    assert event.changes == {"planned_downtime": ["", "возможное время до 40 мин"]}


def test_an_unreadable_downtime_is_saved_as_free_text_and_the_plan_check_notes_it(author_client, plan):
    step = plan.steps.get()
    url = reverse("changeplans:step_cell", args=[step.pk, "planned_downtime"])

    response = author_client.post(url, {"value": "на время перезагрузки", "revision": step.revision}, **HX)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-code="downtime_unreadable"' in html
    assert "не удалось прочитать планируемое время простоя «на время перезагрузки»" in html
    assert f'href="#cell-{step.pk}-planned_downtime"' in html
    step.refresh_from_db()
    assert (step.planned_downtime, step.planned_downtime_max_minutes) == ("на время перезагрузки", None)


def header_post(plan, **overrides):
    data = {
        "title": plan.title,
        "kind": "normal",
        "time_zone": "Asia/Novosibirsk",
        "window_start": "2025-03-20T20:00",
        "window_end": "2025-03-20T23:05",
        "availability": "unavailable",
        "revision": plan.revision,
    }
    data.update(overrides)
    return data


def test_the_header_saves_the_stated_duration_and_the_downtime_as_written(author_client, plan):
    url = reverse("changeplans:plan_header", args=[plan.pk])
    form = author_client.get(url, {"edit": 1}, **HX).content.decode()
    assert 'name="stated_duration_text"' in form and "Общая продолжительность работ" in form

    response = author_client.post(
        url,
        header_post(
            plan,
            stated_duration_text="Общая продолжительность работ: 4 ч 30 мин",
            downtime_text="возможное время до 40 мин",
        ),
        **HX,
    )

    assert response.status_code == 200
    plan.refresh_from_db()
    assert plan.stated_duration_text == "Общая продолжительность работ: 4 ч 30 мин"
    assert (plan.stated_duration_minutes, plan.downtime_max_minutes) == (270, 40)
    html = response.content.decode()
    # The header card shows the stated total next to the computed one.
    assert 'id="plan-stated-duration"' in html and "Общая продолжительность работ: 4 ч 30 мин" in html
    page = author_client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
    assert 'data-code="stated_duration_differs"' in page


def test_an_unreadable_stated_duration_is_refused_and_what_was_typed_stays(author_client, plan):
    url = reverse("changeplans:plan_header", args=[plan.pk])

    response = author_client.post(
        url, header_post(plan, title="Новое название", stated_duration_text="когда закончим"), **HX
    )

    html = response.content.decode()
    assert "Не удалось прочитать общую продолжительность «когда закончим»" in html
    assert 'value="когда закончим"' in html and 'value="Новое название"' in html
    plan.refresh_from_db()
    assert (plan.title, plan.stated_duration_text) == ("Установка Calico", "")


def test_the_pdf_header_shows_the_stated_duration_and_the_computed_one(plan):
    from changeplans.pdf import render_plan_html

    Plan.objects.filter(pk=plan.pk).update(stated_duration_text="3 ч 05 мин", stated_duration_minutes=185)

    html = render_plan_html(plan.pk)

    assert "3 ч 05 мин" in html and "расчётная: 5 мин" in html


def test_a_copy_keeps_the_stated_duration_and_the_downtime_maximum(author, plan):
    import datetime

    Plan.objects.filter(pk=plan.pk).update(stated_duration_text="4 ч", stated_duration_minutes=240)
    Step.objects.filter(plan=plan).update(planned_downtime="до 10 мин", planned_downtime_max_minutes=10)
    start = plan.window_start + datetime.timedelta(days=7)

    copy = services.copy_plan(plan.pk, actor=author, window_start=start, window_end=start + datetime.timedelta(hours=3))

    assert (copy.stated_duration_text, copy.stated_duration_minutes) == ("4 ч", 240)
    assert copy.steps.get().planned_downtime_max_minutes == 10


# --- the plan check ---------------------------------------------------------


def downtime_plan(header, *downtimes):
    plan = PlanFactory(downtime_text=header)
    plan.full_clean(exclude=["status"])
    plan.save()
    steps = [add_step(plan, n, f"20:{10 * n:02d}", planned_downtime=text) for n, text in enumerate(downtimes, 1)]
    return plan, steps


def codes_of(plan):
    with translation.override("en"):
        report = lint_plan(plan)
    return {w.code: w for w in report.warnings if "downtime" in w.code}


def test_a_step_over_the_plans_downtime_is_found_with_the_text_plans_write():
    plan, (first, _second) = downtime_plan("возможное время до 30 мин", "возможное время до 40 мин", "нет")

    found = codes_of(plan)

    assert set(found) == {"downtime_exceeds"}
    assert found["downtime_exceeds"].step_id == first.id
    assert "40 min" in found["downtime_exceeds"].message and "30 min" in found["downtime_exceeds"].message


def test_steps_that_each_fit_but_add_up_to_more_are_found():
    plan, _steps = downtime_plan("до 40 мин", "до 30 мин", "нет", "до 20 мин")

    found = codes_of(plan)

    assert set(found) == {"downtime_total_exceeds"}
    warning = found["downtime_total_exceeds"]
    assert warning.step_id is None and warning.target == "plan-downtime"
    assert "steps 1, 3 adds up to 50 min" in warning.message and "40 min" in warning.message


def test_steps_within_the_plans_downtime_are_fine():
    plan, _steps = downtime_plan("до 40 мин", "до 20 мин", "20 минут", "нет")

    assert codes_of(plan) == {}


def test_downtime_in_steps_of_a_plan_that_states_none_is_found():
    plan, _steps = downtime_plan("", "нет", "1 ч")

    found = codes_of(plan)

    assert set(found) == {"downtime_not_stated"}
    assert found["downtime_not_stated"].message.startswith("Step 2 plans downtime (1 h)")


def test_an_unreadable_step_downtime_is_a_warning_of_its_cell():
    plan, (step,) = downtime_plan("до 40 мин", "на время перезагрузки")

    found = codes_of(plan)

    assert set(found) == {"downtime_unreadable"}
    warning = found["downtime_unreadable"]
    assert (warning.level, warning.step_id, warning.field) == ("warning", step.id, "planned_downtime")
    assert warning.target == f"cell-{step.id}-planned_downtime"


def test_a_bulk_written_downtime_is_read_from_its_text():
    plan, (step,) = downtime_plan("до 30 мин", "нет")
    # A bulk write (bulk_create, update) that does not know the minutes: they are read from the text.
    Step.objects.filter(pk=step.pk).update(planned_downtime="до 45 мин", planned_downtime_max_minutes=None)

    assert set(codes_of(plan)) == {"downtime_exceeds"}


def test_the_downtime_checks_run_no_queries(django_assert_num_queries):
    plan, _steps = downtime_plan("до 40 мин", "до 30 мин", "на время перезагрузки", "до 20 мин")
    plan = Plan.objects.get(pk=plan.pk)
    steps = fetched_steps(plan)

    with django_assert_num_queries(0):
        report = lint_plan(plan, steps=steps)

    assert {"downtime_total_exceeds", "downtime_unreadable"} <= set(report.codes)
