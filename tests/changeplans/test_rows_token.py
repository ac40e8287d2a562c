"""The plan's rows token (migration changeplans/0016_rows_token, changeplans/rows.py): every write to what a row
of the step table shows replaces it in the same transaction, whoever writes, and only that plan's; the page keeps
its rendered rows under it, so a second look loads no row and a changed plan is never shown stale."""

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from changeplans import rows
from changeplans.models import Risk, RollbackAction, Step
from tests.changeplans.test_rows_cache import first_step, page_rows, steps_body
from tests.factories import PartyFactory, PlanFactory, RiskFactory, RollbackActionFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def token(plan):
    with connection.cursor() as cursor:
        cursor.execute("SELECT token FROM okno_rows_token WHERE plan_id = %s", [plan.pk])
        row = cursor.fetchone()
    return row[0] if row else None


def make_plan(author, party=None):
    plan = PlanFactory(author=author)
    for position in (1, 2):
        step = StepFactory(plan=plan, position=position, name=f"Шаг {position}", executor=party)
        risk = RiskFactory(step=step, number=1, description=f"Риск {position}")
        RollbackActionFactory(step=step, text=f"Откат {position}").risks.add(risk)
    return plan


@pytest.fixture
def party():
    return PartyFactory(name="Дежурный ООФИС")


@pytest.fixture
def plan(author, party):
    return make_plan(author, party)


@pytest.fixture
def other(author):
    return make_plan(author, PartyFactory(name="Другой исполнитель"))


def _doer_of(plan):
    doer = UserFactory(username="doer", last_name="Петров", first_name="И.")
    Step.objects.filter(pk=first_step(plan).pk).update(status="done", done_by=doer)
    return doer


WRITES = {
    "a step's column": lambda plan, party: Step.objects.filter(plan=plan, position=1).update(jira_key="OPS-9"),
    "a step saved as it was": lambda plan, party: Step.objects.filter(plan=plan, position=1).update(name=F("name")),
    "a new step": lambda plan, party: StepFactory(plan=plan, position=3),
    "a deleted step": lambda plan, party: Step.objects.filter(plan=plan, position=2).delete(),
    "a risk's text": lambda plan, party: Risk.objects.filter(step__plan=plan).update(description="Другой риск"),
    "a new risk": lambda plan, party: RiskFactory(step=first_step(plan), number=2),
    "a deleted risk": lambda plan, party: Risk.objects.filter(step=first_step(plan)).delete(),
    "an action's text": lambda plan, party: RollbackAction.objects.filter(step__plan=plan).update(text="Иначе"),
    "an action's risk link": lambda plan, party: RollbackAction.objects.get(step=first_step(plan)).risks.clear(),
    "an executor's name": lambda plan, party: PartyFactory._meta.model.objects.filter(pk=party.pk).update(
        name="ООО «ПрофСофт»"
    ),
    "raw SQL": lambda plan, party: connection.cursor().execute(
        "UPDATE changeplans_step SET name = 'Из psql' WHERE plan_id = %s", [plan.pk]
    ),
}


@pytest.mark.parametrize("write", list(WRITES), ids=list(WRITES))
def test_every_write_a_row_shows_replaces_the_token_of_its_plan_only(plan, other, party, write):
    before, others = token(plan), token(other)
    assert before is not None and others is not None
    WRITES[write](plan, party)
    assert token(plan) not in (None, before)
    assert token(other) == others


def test_who_did_a_step_renamed_replaces_the_token_a_login_does_not(plan, other):
    doer = _doer_of(plan)
    before, others = token(plan), token(other)
    doer.last_login = timezone.now()
    doer.save(update_fields=["last_login"])
    doer.save()  # every column written again, the names as they were
    assert token(plan) == before
    doer.last_name = "Сидоров"
    doer.save()
    assert token(plan) not in (None, before)
    assert token(other) == others


def test_a_second_look_loads_no_row_and_a_change_shows(author_client, plan):
    first = page_rows(author_client, plan)
    with CaptureQueriesContext(connection) as captured:
        assert steps_body(author_client, plan) == first
    assert not [q for q in captured.captured_queries if "risks_json" in q["sql"] or "changeplans_risk" in q["sql"]]
    # the process's own copy and the shared cache give the same rows
    rows._RECENT.clear()
    assert steps_body(author_client, plan) == first
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE changeplans_risk SET description = 'Риск из psql' WHERE step_id = %s", [first_step(plan).pk]
        )
    assert "Риск из psql" in page_rows(author_client, plan)


def test_a_plan_without_a_token_shows_its_rows_as_they_are(author_client, plan):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM okno_rows_token WHERE plan_id = %s", [plan.pk])
    shown = page_rows(author_client, plan)  # the rows loaded and digested (rows_cache_key)
    assert "Риск 1" in shown
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # no trigger fires: as a write the token missed
        try:
            cursor.execute(
                "UPDATE changeplans_risk SET description = 'Без токена' WHERE step_id = %s", [first_step(plan).pk]
            )
        finally:
            cursor.execute("SET session_replication_role = origin")
    assert token(plan) is None
    assert "Без токена" in page_rows(author_client, plan)
