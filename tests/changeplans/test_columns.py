"""The step table's column chooser: hidden columns are remembered per user and rendered on the server."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from changeplans.columns import COLUMNS, FIELDS
from changeplans.models import GridPreference
from tests.factories import PlanFactory, RiskFactory, RollbackActionFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
JSON = {"HTTP_ACCEPT": "application/json"}
URL = "/plans/columns/"


@pytest.fixture
def plan(author):
    plan = PlanFactory(author=author, title="Установка Calico")
    for position in range(1, 4):
        step = StepFactory(plan=plan, position=position, name=f"Шаг {position}")
        RiskFactory(step=step, number=1)
        RollbackActionFactory(step=step).risks.set(step.risks.all())
    return plan


def shown_except(*hidden):
    return {"shown": [field for field, _label in COLUMNS if field not in hidden]}


def table_classes(html):
    return re.search(r'<table class="([^"]*)" id="steps-table"', html)[1].split()


def page(client, plan):
    response = client.get(reverse("changeplans:plan_detail", args=[plan.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_url_is_named():
    assert reverse("changeplans:grid_columns") == URL


def test_hidden_columns_are_saved_for_the_user_who_hid_them(author_client, author, approver, plan):
    # When the author hides the description and the risks
    response = author_client.post(URL, shown_except("description", "risks"), **JSON)

    # Then they are remembered for the author, in table order
    assert response.status_code == 200
    assert response.json() == {"hidden": ["description", "risks"]}
    assert GridPreference.objects.get(user=author).hidden_columns == ["description", "risks"]
    html = page(author_client, plan)
    hide = [name for name in table_classes(html) if name.startswith("okno-hide-")]
    assert hide == ["okno-hide-description", "okno-hide-risks"]
    # the chooser shows them unticked and every other column ticked
    assert 'value="description" id="column-description">' in html
    assert 'value="name" id="column-name" checked>' in html
    # And another user still sees every column
    other = Client()
    other.force_login(approver)
    assert not [name for name in table_classes(page(other, plan)) if name.startswith("okno-hide-")]
    assert not GridPreference.objects.filter(user=approver).exists()


def test_a_user_saves_only_their_own_choice(author_client, author, approver):
    # Given the approver's own choice
    GridPreference.objects.create(user=approver, hidden_columns=["jira_key"])
    # When the author posts with the approver's id (there is no such parameter: it is ignored)
    response = author_client.post(URL, {**shown_except("status"), "user": approver.pk, "user_id": approver.pk}, **JSON)
    # Then only the author's choice changes
    assert response.status_code == 200
    assert GridPreference.objects.get(user=approver).hidden_columns == ["jira_key"]
    assert GridPreference.objects.get(user=author).hidden_columns == ["status"]


def test_saving_again_replaces_the_choice(author_client, author):
    author_client.post(URL, shown_except("description"), **JSON)
    response = author_client.post(URL, shown_except("status", "kind", "jira_key"), **JSON)
    assert response.json() == {"hidden": ["kind", "jira_key", "status"]}  # in table order
    assert GridPreference.objects.get(user=author).hidden_columns == ["kind", "jira_key", "status"]
    author_client.post(URL, shown_except(), **JSON)
    assert GridPreference.objects.get(user=author).hidden_columns == []
    assert GridPreference.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"shown": ["name", "password", "<b>x</b>"]}, "Неизвестные столбцы: «<b>x</b>», «password»"),
        ({"shown": ["name", "okno-col-no"]}, "Неизвестные столбцы: «okno-col-no»"),
        ({}, "Оставьте хотя бы один столбец"),
    ],
)
def test_bad_names_and_hiding_everything_are_refused_with_the_reason(author_client, author, data, message):
    # Given a saved choice
    GridPreference.objects.create(user=author, hidden_columns=["description"])
    # When the browser sends a bad one
    with translation.override("ru"):
        response = author_client.post(URL, data, HTTP_ACCEPT_LANGUAGE="ru", **JSON)
    # Then it is refused with the reason in Russian and the saved choice stays
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert GridPreference.objects.get(user=author).hidden_columns == ["description"]


def test_a_flood_of_bad_names_gives_a_short_message(author_client):
    response = author_client.post(URL, {"shown": [f"x{n}" * 50 for n in range(200)]}, **JSON)
    assert response.status_code == 400
    assert len(response.json()["error"]) < 400


def test_the_plain_form_comes_back_to_the_page_or_shows_the_reason(author_client, author, plan):
    plan_url = reverse("changeplans:plan_detail", args=[plan.pk])
    # Without the script the chooser is a form: it comes back to the plan
    response = author_client.post(URL, {**shown_except("executor"), "next": plan_url})
    assert response.status_code == 302 and response["Location"] == plan_url
    assert GridPreference.objects.get(user=author).hidden_columns == ["executor"]
    # never to another site
    response = author_client.post(URL, {**shown_except("executor"), "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == reverse("changeplans:plan_list")
    # and a refusal is a page with the reason
    response = author_client.post(URL, {"shown": ["nope"], "next": plan_url}, HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 400
    assert "«nope»" in response.content.decode()


def test_login_post_and_csrf_are_required(client, author):
    response = client.post(URL, shown_except("name"), **JSON)
    assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(author)
    assert client.get(URL).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(author)
    assert strict.post(URL, shown_except("name"), **JSON).status_code == 403
    assert not GridPreference.objects.exists()


def test_every_column_of_the_chooser_has_its_header_and_cells(author_client, plan):
    """A column can be hidden only if its header and each of its cells carry okno-f-<field>."""
    html = page(author_client, plan)
    thead = re.search(r"<thead.*?</thead>", html, re.S)[0]
    rows = re.findall(r'<tr id="step-\d+".*?</tr>', html, re.S)
    assert len(rows) == 3
    for field in FIELDS:
        assert len(re.findall(rf'<th class="[^"]*\bokno-f-{field}\b', thead)) == 1, field
        for row in rows:
            assert len(re.findall(rf'<td [^>]*class="[^"]*\bokno-f-{field}\b', row)) == 1, (field, row[:80])
    # and the stylesheet hides each of them
    from django.contrib.staticfiles import finders

    css = open(finders.find("okno/okno.css"), encoding="utf-8").read()
    for field in FIELDS:
        assert f".okno-hide-{field} .okno-f-{field}" in css, field


def test_names_no_longer_offered_are_ignored(author_client, author, plan):
    GridPreference.objects.create(user=author, hidden_columns=["gone_field", "name", 5])
    hide = [name for name in table_classes(page(author_client, plan)) if name.startswith("okno-hide-")]
    assert hide == ["okno-hide-name"]


def test_the_choice_costs_one_query_whatever_it_is(author_client, author, plan):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            page(author_client, plan)
        return [q["sql"] for q in captured.captured_queries]

    # Given no choice, then a saved one (the first view keeps the plan check: the next ones read no step for it)
    page(author_client, plan)
    without = queries()
    GridPreference.objects.create(user=author, hidden_columns=["description", "risks", "status"])
    with_choice = queries()
    # Then the page runs the same number of queries, one of them for the choice
    assert len(with_choice) == len(without)
    assert sum("changeplans_gridpreference" in sql for sql in with_choice) == 1


def test_the_board_shows_every_column_whatever_the_choice(author_client, author, plan):
    GridPreference.objects.create(user=author, hidden_columns=[field for field in FIELDS if field != "name"])
    html = author_client.get(reverse("execution:plan_board", args=[plan.pk])).content.decode()
    assert "okno-hide-" not in html


def test_anonymous_and_new_users_see_every_column():
    from django.contrib.auth.models import AnonymousUser

    from changeplans.columns import grid_for

    assert grid_for(AnonymousUser()).table_classes == ""
    user = UserFactory()
    grid = grid_for(user)
    assert grid.table_classes == "" and all(column.shown for column in grid.columns)


def test_an_anonymous_actor_cannot_save():
    from django.contrib.auth.models import AnonymousUser
    from django.core.exceptions import PermissionDenied

    from changeplans.columns import save_shown_columns

    with pytest.raises(PermissionDenied):
        save_shown_columns(["name"], actor=AnonymousUser())
    assert not GridPreference.objects.exists()
