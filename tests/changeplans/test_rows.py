"""The step rows rendered in Python (changeplans.rows) are the template's rows, byte for byte, and the plan page's
queries do not grow with the plan; a long plan arrives in parts that together are the whole table (issue 16)."""

import datetime
import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.template.loader import get_template
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from changeplans import extensions, rows
from changeplans.choices import StepStatus
from changeplans.lint import lint_plan
from changeplans.models import Risk, RollbackAction, Step
from changeplans.selectors import load_plan
from demo.plans import load_demo
from runbooks.models import StepAutomation
from tests.factories import PartyFactory, PlanFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
HX = {"HTTP_HX_REQUEST": "true"}


def template_row(context, step, **flags):
    """The reference: templates/changeplans/inc/step_row.html, as the page included it before changeplans.rows."""
    report = context["report"]
    local = {
        **context,
        "step": step,
        "warn": {w.field for w in report.warnings_for(step.pk) if w.field},
        "t": report.timings.get(step.pk),
        **flags,
    }
    return get_template("changeplans/inc/step_row.html").render(local, context["request"])


def page_context(plan_id, user, *, can_edit, highlight=None):
    request = RequestFactory().get("/")
    request.user = user
    plan = load_plan(plan_id)
    steps = list(plan.steps.all())
    context = {
        "request": request,
        "user": user,
        "plan": plan,
        "steps": steps,
        "report": lint_plan(plan, steps=steps),
        "can_edit": can_edit,
        "highlight": highlight,
    }
    context["step_status"] = extensions.render_step_parts("step_status", context, plan, steps)
    context["step_actions"] = extensions.render_step_parts("step_actions", context, plan, steps) if can_edit else {}
    return context


def assert_rows_match(context):
    ctx = rows.row_context(
        context,
        context["plan"],
        context["report"],
        context["steps"],
        context["steps"],
        can_edit=context["can_edit"],
        highlight=context["highlight"],
    )
    # the page's rows: read as tuples (rows.load_rows), not as model instances
    light = rows.load_rows(context["plan"].pk, limit=len(context["steps"]))
    assert [step.pk for step in light] == [step.pk for step in context["steps"]]
    with timezone.override(context["plan"].tz):
        for step, light_step in zip(context["steps"], light, strict=True):
            expected = template_row(context, step)
            assert rows.render_row(ctx, step) == expected
            assert rows.render_row(ctx, light_step) == expected
            expected = template_row(context, step, row_only=True, oob_row=True)
            assert rows.render_row(ctx, step, row_only=True, oob_row=True) == expected
            assert rows.render_row(ctx, light_step, row_only=True, oob_row=True) == expected


@pytest.fixture
def seed():
    """The seed plan, with an automation on step 5 (a badge and a button from runbooks) and step 1 done."""
    plan = load_demo()
    steps = list(plan.steps.order_by("position"))
    StepAutomation.objects.create(step=steps[4], kind="shell", spec={"argv": ["true"]}, params={})
    Step.objects.filter(pk=steps[0].pk).update(status=StepStatus.DONE, done_by=plan.author)
    return plan


@pytest.mark.parametrize("language", ["ru", "en"])
@pytest.mark.parametrize("can_edit", [True, False])
def test_seed_rows_are_the_templates_rows(seed, language, can_edit):
    with translation.override(language):
        context = page_context(seed.pk, seed.author, can_edit=can_edit, highlight=seed.steps.all()[2].pk)
        assert context["report"].warnings  # the seed has findings: some cells are highlighted
        assert any(timing.start_is_derived for timing in context["report"].timings.values())
        assert_rows_match(context)


def test_awkward_text_is_escaped_as_the_template_escapes_it(author):
    plan = PlanFactory(author=author)
    odd = StepFactory(
        plan=plan,
        position=1,
        name="<script>alert(\"x\")</script> & 'quotes'",
        description="line one\r\nline two\nline <three>",
        expected_result="",
        risk_mitigation="a\rb",
        affected_systems="«Prod» & <test>",
        planned_downtime="",
        executor=PartyFactory(name='Team "A" <ops>'),
        jira_key="OPS-1&2",
        duration_text="",
    )
    Risk.objects.create(step=odd, number=1, description='"risk" <1>', mitigation="")
    RollbackAction.objects.create(step=odd, text="undo\r\nit & <check>").risks.set(odd.risks.all())
    RollbackAction.objects.create(step=odd, text="no label")
    Risk.objects.create(step=odd, number=12, description="twelve")
    Risk.objects.create(step=odd, number=3, description="three")
    RollbackAction.objects.create(step=odd, text="two risks").risks.set(odd.risks.filter(number__in=[12, 3]))
    StepFactory(plan=plan, position=2, planned_time=None, planned_date=None, executor=None, no_rollback_needed=True)
    StepFactory(plan=plan, position=3, planned_time=None, description="", no_rollback_needed=False)
    for can_edit in (True, False):
        assert_rows_match(page_context(plan.pk, author, can_edit=can_edit))
    assert_loaders_agree(plan.pk)


def rows_as_data(loaded):
    return [
        (
            tuple(getattr(step, name) for name in rows.ROW_COLUMNS[:17]),
            step.executor.name if step.executor else None,
            step.done_by_id,
            [(risk.number, risk.description) for risk in step.risks.all()],
            [(action.text, sorted(action.numbers), action.label()) for action in step.rollback_actions.all()],
        )
        for step in loaded
    ]


def assert_loaders_agree(plan_id):
    """PostgreSQL's one-query loader (risks and actions as JSON) gives what the three-query loader gives."""
    for after, limit in ((0, rows.PAGE_ROWS), (1, 1), (0, 2)):
        json_rows = rows.load_rows(plan_id, after=after, limit=limit)
        assert json_rows
        assert rows_as_data(json_rows) == rows_as_data(rows._load_rows_queries(plan_id, after=after, limit=limit))
        if connection.vendor == "postgresql":  # the SQL compiled once per process reads what the ORM's reads
            orm = rows._json_queryset(plan_id, after, limit)
            compiled = rows._load_rows_json(plan_id, after=after, limit=limit)
            assert [row[:-2] for row in orm] == [
                tuple(getattr(step, n) for n in rows.ROW_COLUMNS[:17])
                + (
                    step.executor.name if step.executor else None,
                    step.done_by_id,
                    step.done_by.last_name if step.done_by else None,
                    step.done_by.first_name if step.done_by else None,
                    step.done_by.username if step.done_by else None,
                )
                for step in compiled
            ]


def test_the_demo_plan_loads_the_same_in_one_query_and_in_three():
    plan = load_demo()
    with CaptureQueriesContext(connection) as queries:
        loaded = rows.load_rows(plan.pk)
    assert len(queries) == 1 and len(loaded) == plan.steps.count()
    assert any(step.risks.all() for step in loaded) and any(step.rollback_actions.all() for step in loaded)
    assert_loaders_agree(plan.pk)


def test_the_page_renders_the_same_rows(author_client, author):
    plan = load_demo()
    plan.author = author  # the signed-in user may edit: the heaviest form of the rows
    plan.save(update_fields=["author"])
    page = author_client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
    context = page_context(plan.pk, author, can_edit=True)
    with timezone.override(plan.tz):
        for step in context["steps"]:
            assert template_row(context, step) in page


def test_page_queries_do_not_grow_with_the_plan(author_client, author):
    """1, 10, 100 and 300 steps (more than the page's first part): the same number of queries."""
    counts = {}
    for size in (1, 10, 100, 300):
        plan = PlanFactory(author=author)
        party = PartyFactory()
        steps = Step.objects.bulk_create(
            Step(plan=plan, position=n, name=f"Шаг {n}", executor=party, planned_date=datetime.date(2025, 3, 20))
            for n in range(1, size + 1)
        )
        Risk.objects.bulk_create(Risk(step=step, number=1, description="Риск", mitigation="М") for step in steps)
        actions = RollbackAction.objects.bulk_create(RollbackAction(step=step, text="Откат") for step in steps)
        risks = {risk.step_id: risk for risk in Risk.objects.filter(step__plan=plan)}
        RollbackAction.risks.through.objects.bulk_create(
            RollbackAction.risks.through(rollbackaction_id=a.pk, risk_id=risks[a.step_id].pk) for a in actions
        )
        url = reverse("changeplans:plan_detail", args=[plan.pk])
        author_client.get(url)
        with CaptureQueriesContext(connection) as captured:
            response = author_client.get(url)
        assert response.status_code == 200
        counts[size] = len(captured)
    assert len(set(counts.values())) == 1, counts


def row_ids(html):
    return [int(pk) for pk in re.findall(r'<tr id="step-(\d+)"', html)]


def test_rights_decide_the_controls(client, author):
    plan = PlanFactory(author=author)
    StepFactory(plan=plan, position=1)
    url = reverse("changeplans:plan_detail", args=[plan.pk])
    client.force_login(author)
    mine = client.get(url).content.decode()
    assert "okno-row-actions" in mine and 'hx-get="/plans/steps/' in mine and 'draggable="true"' in mine
    for other in (UserFactory(username="approver2", roles=["approver"]), UserFactory(username="reader2")):
        client.force_login(other)
        page = client.get(url).content.decode()
        assert row_ids(page) == row_ids(mine)
        assert "okno-row-actions" not in page and 'draggable="true"' not in page
        assert not re.search(r'<td id="cell-\d+-\w+"[^>]*hx-get', page)


def test_template_context_without_a_user_has_no_automation_parts():
    # what other apps add is asked with the page's context; an anonymous one gets nothing it may not see
    plan = PlanFactory()
    StepFactory(plan=plan, position=1)
    context = page_context(plan.pk, AnonymousUser(), can_edit=False)
    assert_rows_match(context)


def long_plan(author, size):
    plan = PlanFactory(author=author, window_end=PlanFactory.window_start + datetime.timedelta(days=30))
    party = PartyFactory()
    steps = Step.objects.bulk_create(
        Step(plan=plan, position=n, name=f"Шаг-{n:04d}", executor=party, planned_date=datetime.date(2025, 3, 20))
        for n in range(1, size + 1)
    )
    Risk.objects.bulk_create(Risk(step=step, number=1, description=f"Риск {step.position}") for step in steps)
    return plan, steps


def test_a_long_plan_arrives_in_parts_that_make_the_whole_table(author_client, author):
    size = rows.PAGE_ROWS + rows.CHUNK_ROWS + 7
    plan, steps = long_plan(author, size)
    page = author_client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
    seen = row_ids(page)
    assert seen == [step.pk for step in steps[: rows.PAGE_ROWS]]
    assert f"показано {rows.PAGE_ROWS} из {size}" in page
    parts = 0
    while match := re.search(r'<tr id="steps-more"[^>]*hx-get="([^"]+)"', page):
        url = match.group(1).replace("&amp;", "&")
        with CaptureQueriesContext(connection) as captured:
            response = author_client.get(url, **HX)
        assert response.status_code == 200
        parts += 1
        queries = len(captured)
        page = response.content.decode()
        assert "<tbody" not in page and 'id="lint-panel"' not in page  # rows only
        seen += row_ids(page)
        if parts == 1:
            first_part_queries = queries
        else:
            assert queries == first_part_queries  # a part costs the same whatever its place
    assert parts == 2
    assert seen == [step.pk for step in steps]  # every row once, in order
    assert 'id="steps-more"' not in page
    # the last step's «down» button is disabled, the first part's first row's «up» is not in a later part
    assert re.search(rf'<tr id="step-{steps[-1].pk}".*?okno-move-down"[^>]*disabled', page, re.S)


def test_a_plan_of_page_size_has_no_placeholder(author_client, author):
    plan, steps = long_plan(author, rows.PAGE_ROWS)
    page = author_client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
    assert row_ids(page) == [step.pk for step in steps]
    assert 'id="steps-more"' not in page


def test_parts_need_a_login_and_a_number(author_client, author):
    plan, _steps = long_plan(author, 3)
    url = reverse("changeplans:plan_rows", args=[plan.pk])
    assert Client().get(f"{url}?after=0").status_code == 302
    assert author_client.get(f"{url}?after=x1", **HX).status_code == 400
    assert author_client.get(reverse("changeplans:plan_rows", args=[999999]) + "?after=0").status_code == 404


def test_a_reader_gets_parts_without_controls(client, author):
    plan, steps = long_plan(author, rows.PAGE_ROWS + 2)
    client.force_login(UserFactory(username="reader3"))
    part = client.get(reverse("changeplans:plan_rows", args=[plan.pk]) + f"?after={rows.PAGE_ROWS}").content.decode()
    assert row_ids(part) == [step.pk for step in steps[rows.PAGE_ROWS :]]
    assert "okno-row-actions" not in part and "hx-get" not in part


def test_the_page_shows_the_newest_history_and_the_live_stream_starts_after_it(author_client, author):
    from changeplans.history import record_event
    from changeplans.views import PAGE_HISTORY

    plan = PlanFactory(author=author)
    events = [
        record_event(plan, actor=author, kind="edited", comment=f"правка-{n:03d}") for n in range(PAGE_HISTORY + 5)
    ]
    page = author_client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
    history = page[page.index('id="history"') :]
    shown = re.findall(r"правка-(\d{3})", history)
    assert shown == [f"{n:03d}" for n in range(5, PAGE_HISTORY + 5)]  # the newest, oldest first
    assert f'href="{reverse("changeplans:plan_history", args=[plan.pk])}"' in history
    assert f"?after={events[-1].pk}" in page  # the live stream does not replay what the page shows


OLD_LINT_LOOP = """{% load i18n %}{% for w in warnings %}
        <li class="okno-lint-{{ w.level }}" data-code="{{ w.code }}"><span class="badge {% if w.level == 'error' %}\
text-bg-danger{% else %}text-bg-warning{% endif %}">{% if w.level == 'error' %}{% translate "error" %}{% else %}\
{% translate "warning" %}{% endif %}</span> {% with target=w.target %}{% if target %}<a href="#{{ target }}" \
data-okno-finding="{{ target }}">{{ w.message }}</a>{% else %}{{ w.message }}{% endif %}{% endwith %}</li>
      {% endfor %}"""


@pytest.mark.parametrize("language", ["ru", "en"])
def test_lint_items_are_the_former_loops_items(seed, language):
    from django.template import Context, Template

    from changeplans.lint import LintWarning

    odd = [
        LintWarning("x_error", "error", 'Шаг <1> & "кавычки"', step_id=1, field="name"),
        LintWarning("x_plan", "warning", "без ссылки"),
        LintWarning("x_anchor", "warning", "к итогу", anchor="plan-total"),
    ]
    with translation.override(language):
        report = page_context(seed.pk, seed.author, can_edit=True)["report"]
        warnings = [*report.warnings, *odd]
        assert len({w.level for w in warnings}) == 2
        expected = Template(OLD_LINT_LOOP).render(Context({"warnings": warnings}))
        assert rows.lint_items(warnings) == expected
