"""Issue 15 item 13: an English UI gets English defaults and hints; the login page switches the language."""

import datetime

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from changeplans import services
from changeplans.forms import PlanForm, StepCellForm
from changeplans.models import Plan
from tests.factories import NSK, PlanFactory

RUSSIAN_INTRO = "Нам необходимо провести плановые работы для некоторых улучшений"
ENGLISH_INTRO = "We need to carry out planned work for some improvements"


def _data(title):
    return {
        "title": title,
        "time_zone": "Asia/Novosibirsk",
        "window_start": datetime.datetime(2025, 3, 20, 20, 0, tzinfo=NSK),
        "window_end": datetime.datetime(2025, 3, 20, 23, 0, tzinfo=NSK),
    }


def test_login_page_switches_the_language(client):
    page = client.get(reverse("login")).content.decode()
    assert 'id="login-language"' in page and 'name="language" value="en"' in page and "Войти" in page
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})
    assert response.status_code == 302 and response.url == reverse("login")
    page = client.get(reverse("login")).content.decode()
    assert "Sign in" in page and "Войти" not in page and 'name="language" value="ru"' in page


def test_new_plan_intro_in_the_creators_language(author):
    with translation.override("en"):
        english = services.create_plan(actor=author, data=_data("English plan"))
        assert PlanForm().initial["announcement_intro"] == ENGLISH_INTRO
    with translation.override("ru"):
        russian = services.create_plan(actor=author, data=_data("Русский план"))
        assert PlanForm().initial["announcement_intro"] == RUSSIAN_INTRO
        given = services.create_plan(actor=author, data={**_data("Свой текст"), "announcement_intro": "Свой"})
    assert english.announcement_intro == ENGLISH_INTRO
    assert russian.announcement_intro == RUSSIAN_INTRO
    assert given.announcement_intro == "Свой"
    # Existing rows keep what they have: the model's default is unchanged (no data migration).
    assert Plan._meta.get_field("announcement_intro").default == RUSSIAN_INTRO


def test_new_plan_page_in_english(author_client):
    author_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = author_client.get(reverse("changeplans:plan_create")).content.decode()
    assert ENGLISH_INTRO in page and RUSSIAN_INTRO not in page
    assert "e.g. “up to 40 min”, “1 h”, “none”" in page and "e.g. “4 h 30 min”" in page


@pytest.mark.parametrize(
    ("language", "duration_hint"),
    [("en", "e.g. “5 min”, “2-3 hours”, “1.5 hours”"), ("ru", "например «5 мин», «2-3 часа», «1,5 часа»")],
)
def test_duration_hint_in_the_ui_language(language, duration_hint):
    with translation.override(language):
        form = StepCellForm("duration_text")
        assert str(form.fields["value"].help_text) == duration_hint


def test_new_step_name_in_english(author, client):
    plan = PlanFactory(author=author)
    client.force_login(author)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post(reverse("changeplans:step_add", args=[plan.pk]))
    assert response.status_code == 200
    assert plan.steps.get().name == "New step"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
    client.post(reverse("changeplans:step_add", args=[plan.pk]))
    assert plan.steps.get(position=2).name == "Новый шаг"
