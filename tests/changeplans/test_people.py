"""People in the editor (issue 13): the people search behind the pickers, a typed name matched to a user,
the curator, responsible and executors picked from users, the board treating a linked executor as the
step's responsible, services told apart by their address, and a navigation of only what a role can use."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from approvals import waiting
from approvals.choices import RowKind
from approvals.models import ApprovalRow
from changeplans import people, services
from changeplans.choices import PlanStatus
from changeplans.forms import PlanForm
from changeplans.models import Party, Plan, Step
from changeplans.roles import user_roles
from execution import transitions
from notifications import scheduler
from tests.factories import PartyFactory, PlanFactory, ServiceFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
HX = {"HTTP_HX_REQUEST": "true"}
SEARCH = reverse("changeplans:people_search")


@pytest.fixture
def staff(db):
    """Colleagues as the seed writes them, plus one with a full first name and one with ё in the surname."""
    return {
        "khasanov": UserFactory(username="khasanov", first_name="А.И.", last_name="Хасанов", roles=["author"]),
        "kuzmina": UserFactory(username="kuzmina", first_name="О.В.", last_name="Кузьмина", roles=["approver"]),
        "ivanov": UserFactory(username="ivanov", first_name="Пётр Сергеевич", last_name="Иванов", roles=["approver"]),
        "elkin": UserFactory(username="elkin", first_name="С.С.", last_name="Ёлкин", roles=["duty_officer"]),
        "gone": UserFactory(username="gone", first_name="Г.Г.", last_name="Хасанова", is_active=False),
    }


def found(client, q, kind="user"):
    response = client.get(SEARCH, {"q": q, "kind": kind})
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    return [(r["type"], r["label"]) for r in json.loads(response.content)["results"]]


# --- the search ---------------------------------------------------------------------------------------


def test_search_finds_users_by_surname_first_name_or_login_ignoring_case_and_yo(client, staff):
    client.force_login(staff["khasanov"])
    assert found(client, "хас") == [("user", "Хасанов А.И.")]  # lower case; the inactive Хасанова is left out
    assert found(client, "ХАСАНОВ А.И.") == [("user", "Хасанов А.И.")]
    assert found(client, "елкин") == [("user", "Ёлкин С.С.")]  # е finds ё
    assert found(client, "Ёлкин") == [("user", "Ёлкин С.С.")]
    assert found(client, "пётр") == [("user", "Иванов Пётр Сергеевич")]  # the first name
    assert found(client, "kuzm") == [("user", "Кузьмина О.В.")]  # the login
    assert found(client, "иванов петр") == [("user", "Иванов Пётр Сергеевич")]  # every word must match
    assert found(client, "иванов олег") == []
    assert found(client, "   ") == []
    # The detail tells namesakes apart: login and roles
    result = json.loads(client.get(SEARCH, {"q": "Кузьмина"}).content)["results"][0]
    assert result == {
        "type": "user",
        "id": staff["kuzmina"].pk,
        "value": f"user:{staff['kuzmina'].pk}",
        "label": "Кузьмина О.В.",
        "detail": "kuzmina · Согласующий",
    }


def test_surname_matches_come_first(client, staff):
    UserFactory(username="petrova", first_name="Ивана", last_name="Петрова")  # "ива" in her first name only
    UserFactory(username="sivakov", first_name="А.А.", last_name="Сиваков")  # and inside a surname
    client.force_login(staff["khasanov"])
    labels = [label for _, label in found(client, "ива")]
    assert labels == ["Иванов Пётр Сергеевич", "Петрова Ивана", "Сиваков А.А."]


def test_groups_by_name_or_role_and_parties_kept_as_text(client, staff):
    Group.objects.create(name="Дежурная смена ООФИС")
    PartyFactory(name="ООО «ПрофСофт»", kind="contractor", contact="+7 383 000-00-00")
    people.party_for_user(staff["kuzmina"])  # a party standing for a user is found as the user
    client.force_login(staff["khasanov"])
    assert found(client, "дежурн", kind="group") == [("group", "Дежурная смена ООФИС"), ("group", "Дежурный")]
    assert found(client, "профсофт", kind="any") == [("party", "ООО «ПрофСофт»")]
    assert found(client, "профсофт", kind="user") == []
    assert found(client, "кузьм", kind="any") == [("user", "Кузьмина О.В.")]
    assert found(client, "о", kind="user,group") and all(t != "party" for t, _ in found(client, "о", kind="user,group"))
    detail = json.loads(client.get(SEARCH, {"q": "профсофт", "kind": "party"}).content)["results"][0]["detail"]
    assert detail == "Подрядчик · +7 383 000-00-00"


def test_results_are_limited_and_the_query_count_is_fixed(client, staff, django_assert_max_num_queries):
    client.force_login(staff["khasanov"])
    client.get(SEARCH, {"q": "тестов", "kind": "any"})  # the session and the user are loaded once
    for n in range(3):
        UserFactory(username=f"t{n}", last_name=f"Тестов{n}", roles=["approver"])
        PartyFactory(name=f"Тестовая команда {n}")
    with CaptureQueriesContext(connection) as few:
        assert len(found(client, "тестов", kind="any")) == 6
    for n in range(3, 40):
        UserFactory(username=f"t{n}", last_name=f"Тестов{n}", roles=["approver"])
        PartyFactory(name=f"Тестовая команда {n}")
    assert len(few.captured_queries) <= 6  # session, user; users (+ their roles), groups, parties
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(found(client, "тестов", kind="any")) == people.LIMIT


def test_search_needs_a_login(client, staff):
    response = client.get(SEARCH, {"q": "хас"})
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    client.force_login(staff["kuzmina"])  # any signed-in user may look colleagues up
    assert found(client, "хас") == [("user", "Хасанов А.И.")]
    assert client.post(SEARCH, {"q": "хас"}).status_code == 405


# --- a typed name → a user --------------------------------------------------------------------------


def test_a_short_name_matches_its_one_user(staff):
    ivanov, elkin = staff["ivanov"], staff["elkin"]
    assert people.match_user("Иванов П.С.") == ivanov  # initials of "Пётр Сергеевич"
    assert people.match_user("иванов п. с.") == ivanov
    assert people.match_user("Иванов П.") == ivanov  # one initial is enough when it fits
    assert people.match_user("Елкин С.С.") == elkin and people.match_user("ЁЛКИН С С") == elkin
    assert people.match_user("Иванов А.С.") is None  # other initials
    assert people.match_user("Иванов") is None  # a surname alone is not a short name
    assert people.match_user("Хасанова Г.Г.") is None  # not active
    assert people.match_user("Дежурный ООФИС") is None and people.match_user("ООО «ПрофСофт»") is None
    # Two users of that name: ambiguous, nobody
    UserFactory(username="ivanov2", first_name="П.С.", last_name="Иванов")
    assert people.match_user("Иванов П.С.") is None


def test_get_or_create_party_links_an_unambiguous_name(staff):
    ivanov = staff["ivanov"]
    # A new name that is one user's: the party stands for that user
    party = services.get_or_create_party("иванов п.с.")
    assert party.user == ivanov
    # The same user's name written otherwise: the same party
    assert services.get_or_create_party("Иванов П. С.") == party
    # An old unlinked party of a user's name gets linked
    old = PartyFactory(name="Кузьмина О.В.")
    assert services.get_or_create_party("Кузьмина О.В.") == old
    assert Party.objects.get(pk=old.pk).user == staff["kuzmina"]
    # Teams and ambiguous names stay text
    team = services.get_or_create_party("Дежурный ООФИС")
    assert team.user is None
    UserFactory(username="petrov1", first_name="А.А.", last_name="Петров")
    UserFactory(username="petrov2", first_name="А.Б.", last_name="Петров")
    assert services.get_or_create_party("Петров А.").user is None


def test_a_picked_user_gets_their_own_party_even_when_namesakes_exist(staff):
    first = UserFactory(username="sidorov1", first_name="С.С.", last_name="Сидоров")
    second = UserFactory(username="sidorov2", first_name="С.С.", last_name="Сидоров")
    one = services.get_or_create_party("Сидоров С.С.", people.Pick("user", first.pk))
    two = services.get_or_create_party("Сидоров С.С.", people.Pick("user", second.pk))
    assert (one.name, one.user) == ("Сидоров С.С.", first)
    assert (two.name, two.user) == ("Сидоров С.С. (sidorov2)", second)
    # A picked party is that party; a picked group is a team party of the group's label
    contractor = PartyFactory(name="ООО «ПрофСофт»")
    assert services.get_or_create_party("ПрофСофт", people.Pick("party", contractor.pk)) == contractor
    duty_group = Group.objects.get(name="duty_officer")
    team = services.get_or_create_party("", people.Pick("group", duty_group.pk))
    assert (team.name, team.kind, team.user) == ("Дежурный", "team", None)


# --- the header: curator, responsible, services --------------------------------------------------------


def header_post(plan, **overrides):
    data = {
        "title": plan.title,
        "kind": "normal",
        "time_zone": "Asia/Novosibirsk",
        "window_start": "2026-03-20T20:00",
        "window_end": "2026-03-20T23:00",
        "availability": "unavailable",
        "revision": plan.revision,
    }
    data.update(overrides)
    return data


def test_the_curator_is_picked_or_named(client, staff):
    author = staff["khasanov"]
    plan = PlanFactory(author=author)
    client.force_login(author)
    url = reverse("changeplans:plan_header", args=[plan.pk])
    form = client.get(url + "?edit=1", **HX).content.decode()
    assert '<input type="text" name="curator" id="id_curator"' in form and 'name="curator_pick"' in form
    assert f'data-okno-picker="{SEARCH}"' in form and 'name="curator" class="form-select' not in form

    # Picked from the list
    response = client.post(
        url, header_post(plan, curator="Кузьмина О.В.", curator_pick=f"user:{staff['kuzmina'].pk}"), **HX
    )
    assert response.status_code == 200
    plan.refresh_from_db()
    assert plan.curator == staff["kuzmina"]
    # Typed as the seed writes it, not picked: the one matching user
    client.post(url, header_post(plan, curator="Иванов П.С.", curator_pick=""), **HX)
    plan.refresh_from_db()
    assert plan.curator == staff["ivanov"]
    # Nobody of that name: refused with the reason, the typed text kept, the curator unchanged
    response = client.post(url, header_post(plan, curator="Петров", curator_pick=""), **HX)
    html = response.content.decode()
    assert "Нет пользователя «Петров»: введите фамилию и выберите человека из списка." in html
    assert 'value="Петров"' in html
    assert Plan.objects.get(pk=plan.pk).curator == staff["ivanov"]
    # A forged pick of an inactive user is refused too
    response = client.post(url, header_post(plan, curator="x", curator_pick=f"user:{staff['gone'].pk}"), **HX)
    assert "больше не пользователь Okno" in response.content.decode()
    # Emptied: no curator
    client.post(url, header_post(plan, curator="", curator_pick=""), **HX)
    assert Plan.objects.get(pk=plan.pk).curator is None


def test_the_responsible_is_a_picked_user_or_text(client, staff):
    author = staff["khasanov"]
    plan = PlanFactory(author=author)
    client.force_login(author)
    url = reverse("changeplans:plan_header", args=[plan.pk])
    client.post(
        url,
        header_post(
            plan,
            responsible_name="Хасанов А.И.",
            responsible_name_pick=f"user:{author.pk}",
            responsible_contact="+7 913",
        ),
        **HX,
    )
    plan.refresh_from_db()
    assert plan.responsible.user == author and plan.responsible_contact == "+7 913"
    client.post(url, header_post(plan, responsible_name="ООО «ПрофСофт»", responsible_name_pick=""), **HX)
    plan.refresh_from_db()
    assert (plan.responsible.name, plan.responsible.user) == ("ООО «ПрофСофт»", None)


def test_services_of_the_same_name_are_told_apart_by_their_address(client, staff):
    ServiceFactory(name="k8s-prod.example", display_name="Kubernetes PROD")
    ServiceFactory(name="k8s-prod-2.example", display_name="Kubernetes PROD")
    ServiceFactory(name="www.nskes.ru", display_name="Инфосайт")
    labels = sorted(label for _, label in PlanForm().fields["services"].choices)
    assert labels == ["Kubernetes PROD (k8s-prod-2.example)", "Kubernetes PROD (k8s-prod.example)", "Инфосайт"]
    # Any author picks any of them in the header form, by the label with the address
    author = staff["khasanov"]
    plan = PlanFactory(author=author)
    client.force_login(author)
    form = client.get(reverse("changeplans:plan_header", args=[plan.pk]) + "?edit=1", **HX).content.decode()
    assert "Kubernetes PROD (k8s-prod.example)" in form and "Kubernetes PROD (k8s-prod-2.example)" in form
    assert "Инфосайт</label>" in form


# --- the executor cell --------------------------------------------------------------------------------


def cell_url(step):
    return reverse("changeplans:step_cell", args=[step.pk, "executor"])


def test_the_executor_cell_takes_a_user_a_party_or_text(client, staff):
    author = staff["khasanov"]
    plan = PlanFactory(author=author)
    step = StepFactory(plan=plan, position=1, executor=PartyFactory(name="Дежурный ООФИС"))
    client.force_login(author)
    editor = client.get(cell_url(step), **HX).content.decode()
    assert (
        'data-okno-picker-kind="any"' in editor and 'name="value_pick"' in editor and 'value="Дежурный ООФИС"' in editor
    )

    def save(value, pick=""):
        current = Step.objects.get(pk=step.pk)
        response = client.post(
            cell_url(step),
            {
                "value": value,
                "value_pick": pick,
                "revision": current.revision,
                "original": current.executor.name if current.executor else "",
            },
            **HX,
        )
        assert response.status_code == 200, response.content.decode()[:500]
        return Step.objects.select_related("executor").get(pk=step.pk).executor

    kuzmina = staff["kuzmina"]
    executor = save("Кузьмина О.В.", f"user:{kuzmina.pk}")
    assert (executor.name, executor.user) == ("Кузьмина О.В.", kuzmina)
    contractor = PartyFactory(name="ООО «ПрофСофт»")
    assert save("ООО «ПрофСофт»", f"party:{contractor.pk}") == contractor
    executor = save("Подрядчик по сетям")
    assert (executor.name, executor.user) == ("Подрядчик по сетям", None)
    # A forged pick that names nothing: 422, the text kept, the executor unchanged
    response = client.post(
        cell_url(step),
        {"value": "Кто-то", "value_pick": "party:999999", "revision": Step.objects.get(pk=step.pk).revision},
        **HX,
    )
    assert response.status_code == 422 and 'value="Кто-то"' in response.content.decode()
    assert Step.objects.get(pk=step.pk).executor.name == "Подрядчик по сетям"


def test_an_executor_typed_as_a_users_name_is_offered_as_that_user(client, staff):
    author, ivanov = staff["khasanov"], staff["ivanov"]
    typed = PartyFactory(name="Иванов П.С.")  # typed before the user existed: not linked
    plan = PlanFactory(author=author)
    step = StepFactory(plan=plan, position=1, executor=typed)
    client.force_login(author)
    editor = client.get(cell_url(step), **HX).content.decode()
    assert "Это пользователь Иванов Пётр Сергеевич (ivanov)?" in editor
    assert f'data-okno-pick-value="user:{ivanov.pk}"' in editor and 'data-okno-pick-label="Иванов П.С."' in editor
    # The suggestion's button posts the pick with the text: that party is linked, the step keeps it
    step.refresh_from_db()
    client.post(
        cell_url(step),
        {
            "value": "Иванов П.С.",
            "value_pick": f"user:{ivanov.pk}",
            "revision": step.revision,
            "original": "Иванов П.С.",
        },
        **HX,
    )
    assert Party.objects.get(pk=typed.pk).user == ivanov
    assert Step.objects.get(pk=step.pk).executor_id == typed.pk
    # Linked: no more question; a team's name never asks
    assert "Это пользователь" not in client.get(cell_url(step), **HX).content.decode()
    other = StepFactory(plan=plan, position=2, executor=PartyFactory(name="Дежурный ООФИС"))
    assert "okno-picker-suggestion" not in client.get(cell_url(other), **HX).content.decode()


# --- the board: a linked executor is the step's responsible -------------------------------------------


def running(author, duty, executor):
    start = (timezone.now() - timedelta(minutes=5)).replace(microsecond=0)
    plan = PlanFactory(author=author, window_start=start, window_end=start + timedelta(hours=3))
    Plan.objects.filter(pk=plan.pk).update(status=PlanStatus.APPROVED)
    local = start.astimezone(plan.tz)
    mine = StepFactory(
        plan=plan, position=1, name="Мой шаг", executor=executor, planned_date=local.date(), planned_time=local.time()
    )
    theirs = StepFactory(plan=plan, position=2, name="Чужой шаг", executor=PartyFactory(name="ООО «ПрофСофт»"))
    transitions.start_plan(plan.pk, actor=duty)
    return plan, mine, theirs


def test_the_board_treats_a_linked_executor_as_the_steps_responsible(client, staff):
    author, ivanov, duty = staff["khasanov"], staff["ivanov"], staff["elkin"]
    # Given a step whose executor was typed as "Иванов П.С." (linked to the user on save)
    plan, mine, theirs = running(author, duty, services.get_or_create_party("Иванов П.С."))
    board = reverse("execution:plan_board", args=[plan.pk])

    # Then the board marks that step as his, and only for him
    client.force_login(ivanov)
    html = client.get(board).content.decode()
    card = html.split(f'id="board-step-{mine.pk}"')[0].rsplit("<article", 1)[1]
    assert "okno-mine" in card
    assert f'id="board-step-{mine.pk}" data-step="{mine.pk}" data-status="pending" data-mine="1"' in html
    assert html.count("okno-mine-badge") == 1 and "ваш шаг" in html
    client.force_login(duty)
    assert "okno-mine-badge" not in client.get(board).content.decode()

    # And he may tick his step, not another's
    client.force_login(ivanov)
    response = client.post(
        reverse("execution:board_tick", args=[mine.pk]), {"action": "start", "expected_status": "pending"}, **HX
    )
    assert response.status_code == 200 and Step.objects.get(pk=mine.pk).status == "in_progress"
    response = client.post(
        reverse("execution:board_tick", args=[theirs.pk]), {"action": "start", "expected_status": "pending"}, **HX
    )
    assert response.status_code == 403


def test_the_responsible_of_an_overrunning_step_is_mailed(staff, django_capture_on_commit_callbacks):
    author, duty = staff["khasanov"], staff["elkin"]
    plan, mine, _theirs = running(author, duty, services.get_or_create_party("Иванов П.С."))
    with django_capture_on_commit_callbacks(execute=True):
        transitions.start_step(transitions.lock_step(mine.pk), actor=duty)
    mine.refresh_from_db()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        scheduler.run_due(now=mine.actual_start + timedelta(minutes=mine.duration_max, seconds=30))
    # The duty officer (as before) and the step's responsible, whose executor is linked to him
    assert sorted(m.to[0] for m in mail.outbox) == ["elkin@example.org", "ivanov@example.org"]


# --- the navigation: only what a role can use -----------------------------------------------------------

NAV = {"new": 'id="nav-new-plan"', "runbooks": 'id="nav-runbooks"', "inbox": 'id="nav-inbox"'}
PAGES = {
    "new": reverse("changeplans:plan_create"),
    "runbooks": reverse("runbooks:runbook_list"),
    "inbox": reverse("approvals:inbox"),
}


@pytest.mark.parametrize(
    "role, shown",
    [
        ("author", {"new", "runbooks"}),
        ("approver", {"inbox"}),
        ("duty_officer", {"inbox"}),
        ("operator", {"runbooks"}),
        ("admin", {"new", "runbooks"}),
    ],
)
def test_the_navigation_shows_only_what_a_role_can_use(client, role, shown):
    user = UserFactory(username=f"nav-{role}", roles=[role])
    client.force_login(user)
    html = client.get(reverse("changeplans:plan_list")).content.decode()
    assert {name for name, marker in NAV.items() if marker in html} == shown
    # The hidden items' pages refuse the user too; the shown ones answer
    for name, url in PAGES.items():
        assert client.get(url).status_code == (200 if name in shown else 403), (role, name)


def test_a_user_named_in_a_matrix_gets_the_inbox_without_the_role(client, staff):
    author = staff["khasanov"]  # an author, no approver role
    plan = PlanFactory(author=UserFactory(username="someone", roles=["author"]))
    client.force_login(author)
    assert NAV["inbox"] not in client.get(reverse("changeplans:plan_list")).content.decode()
    ApprovalRow.objects.create(plan=plan, position=1, kind=RowKind.APPROVAL, person_name="Хасанов А.И.", user=author)
    assert NAV["inbox"] in client.get(reverse("changeplans:plan_list")).content.decode()
    assert client.get(PAGES["inbox"]).status_code == 200


def test_the_inbox_item_and_its_badge_cost_one_query(staff):
    plan = PlanFactory(author=staff["khasanov"], status=PlanStatus.IN_REVIEW)
    ApprovalRow.objects.create(plan=plan, position=1, person_name="Кузьмина О.В.", user=staff["kuzmina"])
    waiting.mark_all()  # written behind the sign-off services: the waiting marker from the rule (approvals/waiting.py)
    template = Template("{% load signoff %}{% inbox_nav as inbox %}{{ inbox.show }} {{ inbox.count }}")
    for user, expected in ((staff["kuzmina"], "True 1"), (staff["khasanov"], "False 0")):
        user_roles(user)  # the roles as a page has them: read once per request (changeplans.roles)
        with CaptureQueriesContext(connection) as queries:
            assert template.render(Context({"user": user})) == expected
        assert len(queries) == 1
