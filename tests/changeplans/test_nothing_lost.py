"""Issue 13, "nothing lost": a form saves only what it shows; a cell refuses what it cannot read."""

import datetime
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.text import capfirst

from changeplans import services
from changeplans.forms import PlanForm
from changeplans.models import Plan, PlanEvent, PlanService, Step
from tests.factories import PlanFactory, ServiceFactory, StepFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
HX = {"HTTP_HX_REQUEST": "true"}


class FormFields(HTMLParser):
    """What a browser submits from a form: each named control with its value (checked boxes, selected options)."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.data: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name:
            self.names.add(name)
            if attrs.get("type") in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.data.append((name, attrs.get("value") or "on"))
            else:
                self.data.append((name, attrs.get("value") or ""))
        elif tag == "select" and name:
            self.names.add(name)
            self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            self.data.append((self._select, attrs.get("value") or ""))
        elif tag == "textarea" and name:
            self.names.add(name)
            self._textarea = name
            self.data.append((name, ""))

    def handle_data(self, data):
        if self._textarea:
            name, text = self.data.pop()
            self.data.append((name, text + data))

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def header_form(client, plan):
    parser = FormFields()
    parser.feed(client.get(reverse("changeplans:plan_header", args=[plan.pk]), {"edit": 1}, **HX).content.decode())
    return parser


@pytest.fixture
def plan(author):
    plan = PlanFactory(
        author=author,
        title="Установка Calico",
        announcement_from="rfc@nskes.example",
        banner_text="Свой текст баннера",
    )
    StepFactory(plan=plan, position=1, name="Шаг 1", planned_time=datetime.time(20, 0))
    PlanService.objects.create(plan=plan, service=ServiceFactory(), availability="degraded")
    ServiceFactory()  # another service, not affected
    return plan


def test_the_header_form_shows_every_field_it_saves(author_client, plan):
    # A field the form has but the page does not show would be saved blank: there must be none.
    # A picker (curator, responsible) posts its choice as "<field>_pick" next to the typed text.
    shown = {name.removesuffix("_pick") for name in header_form(author_client, plan).names}
    assert shown == set(PlanForm.base_fields)


def test_saving_the_header_from_the_page_keeps_the_fields_it_does_not_show(author_client, plan):
    # Given the header form as the page shows it; when the author changes the title and saves
    parser = header_form(author_client, plan)
    data: dict[str, list[str]] = {}
    for name, value in parser.data:
        data.setdefault(name, []).append(value)
    data["title"] = ["Новое название"]
    response = author_client.post(reverse("changeplans:plan_header", args=[plan.pk]), data, **HX)
    # Then the title is saved and the sender and banner text the form does not show are kept
    assert response.status_code == 200
    saved = Plan.objects.get(pk=plan.pk)
    assert saved.title == "Новое название"
    assert (saved.announcement_from, saved.banner_text) == ("rfc@nskes.example", "Свой текст баннера")
    assert saved.responsible_id == plan.responsible_id and saved.curator_id == plan.curator_id
    assert list(saved.plan_services.values_list("availability", flat=True)) == ["degraded"]
    event = PlanEvent.objects.filter(plan=plan).latest("id")
    assert set(event.changes) == {"title"}


def test_the_time_cell_is_a_text_field_showing_the_time_as_written(author_client, plan):
    step = plan.steps.get()
    html = author_client.get(reverse("changeplans:step_cell", args=[step.pk, "planned_time"]), **HX).content.decode()
    assert 'type="text"' in html and 'value="20:00"' in html and 'type="time"' not in html
    html = author_client.get(reverse("changeplans:step_cell", args=[step.pk, "planned_date"]), **HX).content.decode()
    assert 'type="text"' in html and 'value="20.03.2025"' in html and 'type="date"' not in html


@pytest.mark.parametrize(
    ("field", "typed", "expected"),
    [
        ("planned_time", "21-00", datetime.time(21, 0)),  # regression: saved as "no time" with HTTP 200
        ("planned_time", "17.00", datetime.time(17, 0)),
        ("planned_time", "1700", datetime.time(17, 0)),
        ("planned_time", "905", datetime.time(9, 5)),
        ("planned_date", "21.03.25", datetime.date(2025, 3, 21)),
        ("planned_date", "21.03.2025", datetime.date(2025, 3, 21)),
        ("planned_date", "2025-03-21", datetime.date(2025, 3, 21)),
    ],
)
def test_times_and_dates_are_saved_as_people_type_them(author_client, plan, field, typed, expected):
    step = plan.steps.get()
    url = reverse("changeplans:step_cell", args=[step.pk, field])
    response = author_client.post(url, {"value": typed, "revision": step.revision}, **HX)
    assert response.status_code == 200
    assert getattr(Step.objects.get(pk=step.pk), field) == expected


@pytest.mark.parametrize(
    ("field", "typed", "language", "reason"),
    [
        ("planned_time", "25-99", "ru", "Времени «25-99» не бывает"),
        ("planned_time", "25-99", "en", "There is no time “25-99”"),
        ("planned_time", "вечером", "ru", "Не удалось прочитать «вечером» как время"),
        ("planned_date", "31.02.2025", "ru", "Даты «31.02.2025» нет в календаре"),
        ("planned_date", "завтра", "en", "Cannot read “завтра” as a date"),
    ],
)
def test_unreadable_input_is_refused_at_the_cell_and_the_old_value_stays(
    author_client, plan, field, typed, language, reason
):
    step = plan.steps.get()
    before = getattr(step, field)
    url = reverse("changeplans:step_cell", args=[step.pk, field])
    author_client.post(reverse("set_language"), {"language": language, "next": "/"})
    response = author_client.post(url, {"value": typed, "revision": step.revision}, **HX)
    assert response.status_code == 422
    assert response["HX-Retarget"] == f"#cell-{step.pk}-{field}"
    html = response.content.decode()
    assert reason in html and f'value="{typed}"' in html and "okno-cell-error" in html
    assert getattr(Step.objects.get(pk=step.pk), field) == before
    assert not PlanEvent.objects.filter(plan=plan, object_type="step").exists()


def test_history_names_the_field_in_the_users_language_with_old_and_new(author_client, author, plan):
    step = plan.steps.get()
    services.update_step_cell(
        step.pk, actor=author, field="planned_time", value=datetime.time(21, 0), revision=step.revision
    )
    step.refresh_from_db()
    services.update_step_cell(
        step.pk, actor=author, field="planned_time", value=datetime.time(22, 0), revision=step.revision
    )
    services.update_step_cell(
        step.pk, actor=author, field="planned_date", value=datetime.date(2025, 3, 21), revision=step.revision + 1
    )
    plan.refresh_from_db()
    services.update_plan_header(
        plan.pk, actor=author, data={"title": "Другое", "banner_needed": True}, revision=plan.revision
    )
    url = reverse("changeplans:plan_detail", args=[plan.pk])

    html = author_client.get(url).content.decode()
    history = html[html.index('id="history"') :]
    assert "Время начала: 20:00 → 21:00" in history and "Время начала: 21:00 → 22:00" in history
    assert "Дата начала: 20.03.2025 → 21.03.2025" in history
    with translation.override("ru"):
        title = capfirst(Plan._meta.get_field("title").verbose_name)
    assert f"{title}: Установка Calico → Другое" in history
    assert "Устанавливается баннер: нет → да" in history
    assert "planned_time" not in history and "banner_needed" not in history and "title" not in history
    author_client.post(reverse("set_language"), {"language": "en", "next": url})
    html = author_client.get(url).content.decode()
    assert "Start time: 21:00 → 22:00" in html[html.index('id="history"') :]


@pytest.mark.parametrize(
    ("object_type", "changes", "expected"),
    [
        ("step", {"planned_time": ["21:00:00", "22:00:00"]}, ["Время начала: 21:00 → 22:00"]),
        ("step", {"planned_time": [None, "22:00:00"]}, ["Время начала: — → 22:00"]),
        ("step", {"risks": [1, 2], "rollback_actions": [0, 1]}, ["Риски: 1 → 2", "Действия по откату: 0 → 1"]),
        ("step", {"name": "Шаг 1"}, ["Наименование мероприятия: Шаг 1"]),
        ("plan", {"services": [["ЛК"], ["ЛК", "Сайт"]]}, ["Затронутые сервисы: ЛК → ЛК, Сайт"]),
        ("step", {"alert": "step", "step_id": 5, "elapsed_minutes": 12, "max_minutes": 5}, []),
        ("approvalrow", {"version": 3}, []),
    ],
)
def test_change_lines_name_fields_in_russian_without_queries(object_type, changes, expected, django_assert_num_queries):
    from changeplans.templatetags.okno import change_lines

    with translation.override("ru"), django_assert_num_queries(0):
        assert change_lines(PlanEvent(object_type=object_type, changes=changes)) == [str(line) for line in expected]
