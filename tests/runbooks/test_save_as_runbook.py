"""«Сохранить как регламент»: plan → runbook → a new plan from it has the same steps, risks and ties."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from changeplans.choices import Availability, EventKind, StepKind
from changeplans.lint import lint_plan
from changeplans.models import Party, Plan, PlanEvent, PlanService, Service, Step
from runbooks import definition, from_plan, instantiate
from runbooks.four_eyes import approval_of, writer_ids
from runbooks.models import Cluster, Runbook, StepAutomation
from runbooks.runners.base import fill
from tests.factories import NSK, PartyFactory, PlanFactory, RiskFactory, RollbackActionFactory, ServiceFactory
from tests.factories import StepFactory as BaseStepFactory
from tests.runbooks.automation_fixtures import automate

pytestmark = [pytest.mark.django_db]

WEEK = datetime.timedelta(days=7)
STEP_FIELDS = (
    "kind",
    "name",
    "description",
    "expected_result",
    "risk_mitigation",
    "affected_systems",
    "planned_downtime",
    "executor_id",
    "duration_text",
    "duration_min",
    "duration_max",
    "no_rollback_needed",
)


def step_at(plan, position, moment, **fields):
    return BaseStepFactory(
        plan=plan, position=position, planned_date=moment.date(), planned_time=moment.time(), **fields
    )


@pytest.fixture
def cluster(db):
    return Cluster.objects.create(name="prod-k8s", environment="production")


def make_plan(author, cluster, work_steps=3):
    """An announcement 4 h ahead, then `work_steps` timed steps with gaps, risks numbered 2 and 5 on the first,
    a tied rollback action, Jira keys, services, header texts and an automated step on the cluster."""
    plan = PlanFactory(
        author=author,
        title="Перенос ingress на prod-k8s",
        goal="Перенести ingress кластера prod-k8s",
        kind="standard",
        downtime_text="до 40 мин",
        downtime_max_minutes=40,
        client_impact=True,
        banner_needed=True,
        announcement_subject="Работы на prod-k8s",
        announcement_intro="Проведём работы на кластере prod-k8s",
        announcement_from="noc@example.org",
        banner_text="Идут работы",
        mailing_list="ops@example.org",
        jira_url="https://jira.example.org/browse/OPS-1",
        window_end=datetime.datetime(2025, 3, 21, 0, 0, tzinfo=NSK),
    )
    for name, availability in (("www.nskes.ru", "degraded"), ("lk.nskes.ru", "unavailable")):
        service = Service.objects.filter(name=name).first() or ServiceFactory(name=name)
        PlanService.objects.create(plan=plan, service=service, availability=availability)
    executor = Party.objects.filter(name="Группа Kubernetes-платформы").first() or PartyFactory(
        name="Группа Kubernetes-платформы"
    )
    step_at(
        plan,
        1,
        datetime.datetime(2025, 3, 20, 16, 0, tzinfo=NSK),
        kind=StepKind.ANNOUNCEMENT,
        name="Анонс работ",
        duration_text="5 мин",
    )
    for index in range(work_steps):
        position = index + 2
        step = step_at(
            plan,
            position,
            datetime.datetime(2025, 3, 20, 20, 0, tzinfo=NSK)
            + datetime.timedelta(minutes=30 * index),  # 20:00, 20:30 …
            name=f"Переключить узел {index} кластера prod-k8s",
            description="kubectl --context prod-k8s rollout restart",
            risk_mitigation="2. Мониторинг\n5. Откат",
            affected_systems="ingress",
            planned_downtime="до 5 мин",
            executor=executor,
            jira_key=f"OPS-{position}",
            duration_text="10-20 мин",
            duration_min=10,
            duration_max=20,
            no_rollback_needed=False,
        )
        first = RiskFactory(step=step, number=2, description="Поды не стартуют", mitigation="Смотреть события")
        second = RiskFactory(step=step, number=5, description="Нет трафика", mitigation="")
        tied = RollbackActionFactory(step=step, position=1, text="kubectl rollout undo")
        tied.risks.set([first, second])
        RollbackActionFactory(step=step, position=2, text="Сообщить дежурному")
    automated = plan.steps.get(position=2)
    automate(
        automated,
        kind="shell",
        spec={"argv": ["kubectl", "--context", "prod-k8s", "get", "ns", "{{ namespace }}"]},
        params={"namespace": "ingress"},
        timeout=120,
        cluster=cluster,
        start_at_planned_time=True,
    )
    return plan


def content(plan):
    """Every step's fields, risks, rollback ties and start relative to the window, in order."""
    rows = []
    for step in plan.steps.order_by("position").prefetch_related("risks", "rollback_actions__risks"):
        start = step.planned_start(plan.tz)
        offset = (start - plan.window_start).total_seconds() / 60 if start else None
        rows.append(
            (
                [getattr(step, name) for name in STEP_FIELDS],
                [(r.number, r.description, r.mitigation) for r in step.risks.all()],
                [(a.position, a.text, sorted(r.number for r in a.risks.all())) for a in step.rollback_actions.all()],
                offset,
            )
        )
    return rows


def save(plan, actor, **kwargs):
    kwargs.setdefault("title", "Перенос ingress")
    return from_plan.save_as_runbook(plan.pk, actor=actor, **kwargs)


def plan_from(version, actor, source, **params):
    return instantiate.create_plan(version, params, actor=actor, window_start=source.window_start + WEEK)


def test_round_trip_keeps_steps_risks_ties_and_times(author, other_author, cluster):
    source = make_plan(author, cluster)
    version, notes = save(source, author)
    assert notes == []
    again = plan_from(version, other_author, source)

    assert content(again) == content(source)
    assert len(content(again)) == 4
    assert content(again)[1][1] == [(2, "Поды не стартуют", "Смотреть события"), (5, "Нет трафика", "")]
    assert content(again)[1][2][0] == (1, "kubectl rollout undo", [2, 5])
    assert content(again)[0][3] == -240  # the announcement 4 h ahead of the window
    # Jira keys and dates are not the runbook's: the new plan has none and its own dates.
    assert set(again.steps.values_list("jira_key", flat=True)) == {""}
    assert again.steps.get(position=2).planned_date == datetime.date(2025, 3, 27)
    # The header the next plan reuses.
    assert (source.kind, again.kind) == ("standard", "normal")  # standard only from a marked version (issue 18)
    for name in (
        "goal",
        "downtime_text",
        "client_impact",
        "banner_needed",
        "announcement_subject",
        "announcement_intro",
        "announcement_from",
        "banner_text",
        "mailing_list",
    ):
        assert getattr(again, name) == getattr(source, name), name
    assert again.window_end - again.window_start == source.window_end - source.window_start
    assert list(again.plan_services.values_list("service__name", "availability")) == [
        ("www.nskes.ru", Availability.DEGRADED),
        ("lk.nskes.ru", Availability.UNAVAILABLE),
    ]
    assert again.jira_url == ""


def test_automation_is_copied_as_a_definition_never_as_approved(author, other_author, cluster):
    source = make_plan(author, cluster)
    original = StepAutomation.objects.get(step__plan=source)
    assert approval_of(original) is not None
    version, _notes = save(source, author)
    step = version.definition["steps"][1]
    assert step["automation"] == {
        "kind": "shell",
        "spec": original.spec,
        "timeout": 120,
        "start_at_planned_time": True,
    }
    params = {p["name"]: (p["type"], p.get("default")) for p in version.definition["parameters"]}
    assert params == {"cluster": ("cluster", "prod-k8s"), "namespace": ("string", "ingress")}

    again = plan_from(version, other_author, source)
    copy = StepAutomation.objects.get(step__plan=again)
    assert copy.step.position == 2
    assert (copy.kind, copy.cluster, copy.timeout_seconds, copy.start_at_planned_time) == ("shell", cluster, 120, True)
    assert fill(copy.spec, copy.params) == fill(original.spec, original.params)
    # Unapproved, and whoever saved the runbook is one of its writers: a second person approves it.
    assert not copy.approvals.exists() and approval_of(copy) is None
    assert author.pk in writer_ids(copy, again)


def test_automation_values_that_differ_per_step_are_written_out(author, other_author, cluster):
    source = make_plan(author, cluster, work_steps=2)
    for position, node in ((2, "worker-1"), (3, "worker-2")):
        StepAutomation.objects.filter(step__plan=source, step__position=position).delete()
        automate(
            source.steps.get(position=position),
            kind="shell",
            spec={"argv": ["ping", "{{ node }}"]},
            params={"node": node},
        )
    version, _notes = save(source, author)
    assert [s.get("automation", {}) and s["automation"]["spec"] for s in version.definition["steps"][1:]] == [
        {"argv": ["ping", "worker-1"]},
        {"argv": ["ping", "worker-2"]},
    ]
    assert "node" not in {p["name"] for p in version.definition["parameters"]}
    again = plan_from(version, other_author, source)
    specs = [fill(a.spec, a.params) for a in StepAutomation.objects.filter(step__plan=again).order_by("step__position")]
    assert specs == [{"argv": ["ping", "worker-1"]}, {"argv": ["ping", "worker-2"]}]


def test_the_plan_and_the_runbook_say_where_it_came_from(author, cluster):
    source = make_plan(author, cluster, work_steps=1)
    version, _notes = save(source, author, title="Перенос ingress", slug="ingress-move")
    runbook = Runbook.objects.get(slug="ingress-move")
    assert (runbook.title, runbook.builtin, runbook.created_by) == ("Перенос ingress", False, author)
    assert (version.number, version.created_by) == (1, author)
    assert version.comment == f"Из плана {source.pk} «{source.title}»"
    event = PlanEvent.objects.get(plan=source, object_type="runbook")
    assert (event.kind, event.actor, event.object_id, event.to_label) == (
        EventKind.TRANSITION,
        author,
        runbook.pk,
        "СОХРАНЁН КАК РЕГЛАМЕНТ",
    )
    assert event.comment == "Регламент «Перенос ingress» (ingress-move), версия 1"
    # Nothing else of the plan changed.
    source.refresh_from_db()
    assert source.revision == 1


def test_a_value_becomes_a_parameter(author, other_author, cluster):
    Cluster.objects.create(name="test-k8s", environment="test")
    source = make_plan(author, cluster, work_steps=1)
    version, _notes = save(
        source,
        author,
        title="Перенос ingress на prod-k8s",
        replacements=[from_plan.Replacement("cluster", "prod-k8s")],
    )
    d = version.definition
    assert d["title"] == "Перенос ingress на {{ cluster }}"
    assert d["steps"][1]["name"] == "Переключить узел 0 кластера {{ cluster }}"
    assert d["steps"][1]["automation"]["spec"]["argv"][2] == "{{ cluster }}"
    assert [(p["name"], p["type"], p["default"]) for p in d["parameters"]] == [
        ("cluster", "cluster", "prod-k8s"),
        ("namespace", "string", "ingress"),
    ]
    again = plan_from(version, other_author, source, cluster="test-k8s")
    assert again.title == "Перенос ingress на test-k8s"
    assert again.goal == "Перенести ingress кластера test-k8s"
    step = again.steps.get(position=2)
    assert step.name == "Переключить узел 0 кластера test-k8s"
    assert fill(step.automation.spec, step.automation.params)["argv"][:3] == ["kubectl", "--context", "test-k8s"]
    assert step.automation.cluster.name == "test-k8s"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cluster prod-k8s", "имя = значение"),
        ("Cluster = prod-k8s", "не имя параметра"),
        ("node = --server=x", "«-»"),
        ("a = 1\na = 2", "дважды"),
    ],
)
def test_bad_replacement_lines_are_refused(text, message):
    found, errors = from_plan.parse_replacements(text)
    assert errors and message in " ".join(errors)


def test_sequential_timing_leaves_slack_and_keeps_announcements_ahead(author, other_author, cluster):
    source = make_plan(author, cluster)
    version, _notes = save(source, author, timing=from_plan.TIMING_SEQUENTIAL)
    assert [s.get("start_offset") for s in version.definition["steps"]] == ["-4 ч", None, None, None]
    again = plan_from(version, other_author, source)
    times = list(again.steps.order_by("position").values_list("planned_time", flat=True))
    # 20 min steps with risks: 20 % is 4 min, rounded up to 5 min of slack after each.
    assert times == [datetime.time(16, 0), datetime.time(20, 0), datetime.time(20, 25), datetime.time(20, 50)]
    report = lint_plan(again)
    assert "no_slack_after_step" not in report.codes and not report.has_errors


def test_only_who_may_write_runbooks_saves(author, approver, cluster):
    source = make_plan(author, cluster, work_steps=1)
    with pytest.raises(PermissionDenied):
        save(source, approver)
    assert not Runbook.objects.exists()
    assert not PlanEvent.objects.filter(object_type="runbook").exists()


def count_queries(author, cluster, work_steps):
    source = make_plan(author, cluster, work_steps=work_steps)
    with CaptureQueriesContext(connection) as queries:
        version, _notes = save(source, author, replacements=[from_plan.Replacement("cluster", "prod-k8s")])
    assert len(version.definition["steps"]) == work_steps + 1
    return len(queries)


def test_saving_takes_a_fixed_number_of_queries(author, cluster):
    count_queries(author, cluster, 1)  # the user's roles are read once and kept on the user
    few = count_queries(author, cluster, 3)
    assert few == count_queries(author, cluster, 30)
    assert few <= 20


# --- the page -------------------------------------------------------------------------------------------


def test_the_plan_page_shows_the_button_to_who_may_write_runbooks(client, author, approver, operator, cluster):
    source = make_plan(author, cluster, work_steps=1)
    url = reverse("changeplans:plan_detail", args=[source.pk])
    target = reverse("runbooks:runbook_from_plan", args=[source.pk])
    client.force_login(approver)
    html = client.get(url).content.decode()
    assert 'id="save-as-runbook"' not in html and target not in html
    for user in (author, operator):
        client.force_login(user)
        html = client.get(url).content.decode()
        assert target in html and "Сохранить как регламент" in html


def test_the_plan_page_names_the_runbook_it_came_from(client, approver, author, cluster):
    source = make_plan(author, cluster, work_steps=1)
    version, _notes = save(source, author, slug="ingress-move")
    again = plan_from(version, author, source)
    url = reverse("changeplans:plan_detail", args=[again.pk])
    client.force_login(author)
    html = client.get(url).content.decode()
    assert 'id="plan-origin"' in html and "/runbooks/ingress-move/?version=1" in html
    # An approver sees where it came from, without a link to the library they do not use.
    client.force_login(approver)
    html = client.get(url).content.decode()
    assert 'id="plan-origin"' in html and "«Перенос ingress»" in html and "/runbooks/ingress-move/" not in html


def test_the_form_suggests_the_cluster_and_saves(client, author, cluster):
    source = make_plan(author, cluster, work_steps=1)
    client.force_login(author)
    url = reverse("runbooks:runbook_from_plan", args=[source.pk])
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "cluster = prod-k8s" in html and source.title in html
    response = client.post(
        url,
        {"title": "Перенос ingress", "slug": "", "description": "", "timing": "offsets", "replacements": ""},
    )
    runbook = Runbook.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("runbooks:runbook_detail", args=[runbook.slug])
    assert runbook.slug == f"plan-{source.pk}"
    detail = client.get(response["Location"]).content.decode()
    assert "Регламент «Перенос ingress» сохранён" in detail
    # the services with their availability's label
    assert 'www.nskes.ru <span class="text-secondary small">РАБОТАЕТ С ОГРАНИЧЕНИЯМИ' in detail
    assert 'lk.nskes.ru <span class="text-secondary small">БУДЕТ НЕДОСТУПЕН' in detail
    assert '20% <span class="text-secondary">(по умолчанию)' in detail
    assert "начало: -4 ч от начала окна" in detail


def test_bad_input_is_refused_and_kept(client, author, cluster):
    source = make_plan(author, cluster, work_steps=1)
    Runbook.objects.create(slug="taken", title="x")
    client.force_login(author)
    response = client.post(
        reverse("runbooks:runbook_from_plan", args=[source.pk]),
        {"title": "Мой регламент", "slug": "taken", "timing": "offsets", "replacements": "cluster prod-k8s"},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "Регламент с таким кодом уже есть" in html
    assert "Строка 1: напишите «имя = значение»" in html
    assert 'value="Мой регламент"' in html and "cluster prod-k8s</textarea>" in html
    assert Runbook.objects.count() == 1


def test_a_text_the_runbook_format_refuses_opens_in_the_editor(client, author, cluster):
    source = make_plan(author, cluster, work_steps=1)
    Step.objects.filter(plan=source, position=2).update(description="kubectl get po -o go-template='{{.items}}'")
    client.force_login(author)
    response = client.post(
        reverse("runbooks:runbook_from_plan", args=[source.pk]),
        {"title": "Мой регламент", "timing": "offsets", "replacements": ""},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "steps[1].description" in html
    assert f'action="{reverse("runbooks:runbook_new")}"' in html and "go-template" in html
    assert not Runbook.objects.exists()
    assert not PlanEvent.objects.filter(object_type="runbook").exists()


def test_who_may_not_write_runbooks_gets_403(client, approver, duty, author, cluster):
    source = make_plan(author, cluster, work_steps=1)
    url = reverse("runbooks:runbook_from_plan", args=[source.pk])
    for user in (approver, duty):
        client.force_login(user)
        assert client.get(url).status_code == 403
        assert client.post(url, {"title": "x", "timing": "offsets"}).status_code == 403
    client.logout()
    assert client.get(url).status_code == 302  # to the login page
    assert not Runbook.objects.exists()


def test_an_unknown_plan_is_404(client, author):
    client.force_login(author)
    assert client.get(reverse("runbooks:runbook_from_plan", args=[999999])).status_code == 404


# --- the format's additions -------------------------------------------------------------------------------


def test_risk_numbers_and_ties_in_the_format():
    text = """title: t
steps:
  - name: s
    risks:
      - {number: 2, description: a}
      - {number: 5, description: b}
    rollback:
      - {text: undo, risks: [2, 5]}
"""
    parsed = definition.parse(text)
    assert definition.risk_numbers(parsed["steps"][0]) == [2, 5]
    assert definition.parse(definition.dump(parsed)) == parsed
    with pytest.raises(definition.DefinitionError) as info:
        definition.parse(text.replace("risks: [2, 5]", "risks: [1]"))
    assert "steps[0].rollback[0].risks" in str(info.value)
    with pytest.raises(definition.DefinitionError) as info:
        definition.parse(text.replace("{number: 5, description: b}", "{description: b}"))
    assert "2" in str(info.value) and "steps[0].risks" in str(info.value)


@pytest.mark.parametrize(("text", "minutes"), [("0", 0), ("1 ч 30 мин", 90), ("-4 ч", -240), ("+15 мин", 15)])
def test_start_offsets(text, minutes):
    assert definition.offset_minutes(text) == minutes
    assert definition.offset_minutes(definition.format_offset(minutes)) == minutes


def test_a_bad_start_offset_is_refused():
    with pytest.raises(definition.DefinitionError) as info:
        definition.parse("title: t\nsteps:\n  - {name: s, start_offset: 10-20 мин}\n")
    assert "steps[0].start_offset" in str(info.value) and "диапазон" in str(info.value)


@pytest.mark.parametrize(
    ("slack", "step", "minutes"),
    [(None, 10, 5), (None, 20, 5), (None, 60, 15), (None, 120, 25), ("50%", 60, 30), ("10 мин", 200, 10), ("0", 60, 0)],
)
def test_slack(slack, step, minutes):
    assert definition.slack_minutes(slack, step) == minutes


def test_a_bad_slack_is_refused():
    with pytest.raises(definition.DefinitionError) as info:
        definition.parse("title: t\nplan: {slack: 150%}\nsteps:\n  - {name: s}\n")
    assert "plan.slack" in str(info.value)


def test_unknown_services_are_refused_when_the_plan_is_made(author):
    version_definition = definition.parse("title: t\nplan: {services: [nowhere.example.org]}\nsteps:\n  - {name: s}\n")
    runbook = Runbook.objects.create(slug="t", title="t")
    version = runbook.versions.create(number=1, definition=version_definition)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as info:
        instantiate.create_plan(version, {}, actor=author, window_start=datetime.datetime(2025, 3, 20, 20, tzinfo=NSK))
    assert "nowhere.example.org" in str(info.value)
    assert not Plan.objects.exists()
