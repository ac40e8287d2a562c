"""The archive PDF after the work: actual times, who started and ticked what, deviations, rollback actions, alerts."""

import datetime
import io
import re
import shutil
import subprocess
import zoneinfo

import pytest
from django.db import connection
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.test.utils import CaptureQueriesContext
from pypdf import PdfReader

from changeplans.choices import EventKind, PlanStatus, StepStatus
from changeplans.models import Plan, PlanEvent, RollbackAction, Step
from changeplans.pdf import render_plan_html, render_plan_pdf
from tests.factories import PlanFactory, RiskFactory, RollbackActionFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NSK = zoneinfo.ZoneInfo("Asia/Novosibirsk")


def nsk(hour, minute=0, day=20):
    return datetime.datetime(2025, 3, day, hour, minute, tzinfo=NSK)


def squash(text):
    return re.sub(r"\s+", "", text)


def executed_plan(extra_steps=0):
    """The seed's window 20:00–23:05, run and completed with a rollback; times and people set as the board would."""
    duty = UserFactory(username="duty", last_name="Дежурнов", first_name="Д.Д.", roles=["duty_officer"])
    engineer = UserFactory(username="eng", last_name="Инженеров", first_name="И.И.")
    plan = PlanFactory(title="Установка Calico", window_start=nsk(20), window_end=nsk(23, 5))
    day = datetime.date(2025, 3, 20)
    one = StepFactory(
        plan=plan,
        position=1,
        name="Бэкап etcd",
        planned_date=day,
        planned_time=datetime.time(20, 0),
        duration_text="30 мин",
        duration_min=30,
        duration_max=30,
    )
    two = StepFactory(
        plan=plan,
        position=2,
        name="Удаление Flannel",
        planned_date=day,
        planned_time=datetime.time(20, 30),
        duration_text="5-10 мин",
        duration_min=5,
        duration_max=10,
    )
    three = StepFactory(
        plan=plan,
        position=3,
        name="Установка Calico",
        planned_date=None,
        planned_time=None,
        duration_text="2-3 часа",
        duration_min=120,
        duration_max=180,
        no_rollback_needed=False,
    )
    risk = RiskFactory(step=three, number=5, description="Конфликт адресов")
    action = RollbackActionFactory(step=three, position=1, text="Вернуть Flannel из бэкапа")
    action.risks.set([risk])
    RollbackActionFactory(step=three, position=2, text="Не понадобилось")  # stays pending: not listed
    for index in range(extra_steps):
        StepFactory(
            plan=plan, position=10 + index, name=f"Доп {index}", planned_date=day, planned_time=datetime.time(22, 0)
        )
    Plan.objects.filter(pk=plan.pk).update(
        status=PlanStatus.COMPLETED_WITH_ROLLBACK,
        started_at=nsk(20, 2),
        rollback_started_at=nsk(23, 10),
        finished_at=nsk(23, 40),
    )
    Step.objects.filter(pk=one.pk).update(
        status=StepStatus.DONE, actual_start=nsk(20, 2), actual_end=nsk(20, 40), started_by=duty, done_by=engineer
    )
    Step.objects.filter(pk=two.pk).update(
        status=StepStatus.DONE,
        actual_start=nsk(20, 40),
        actual_end=nsk(20, 47),
        started_by=engineer,
        done_by=engineer,
        comment="Без замечаний",
    )
    Step.objects.filter(pk=three.pk).update(
        status=StepStatus.FAILED,
        actual_start=nsk(20, 47),
        actual_end=nsk(23, 10),
        started_by=engineer,
        done_by=duty,
        comment="Поды не получают адреса",
    )
    Step.objects.filter(plan=plan, position__gte=10).update(status=StepStatus.SKIPPED, done_by=duty)
    RollbackAction.objects.filter(pk=action.pk).update(
        status=StepStatus.DONE,
        actual_start=nsk(23, 12),
        actual_end=nsk(23, 35),
        done_by=duty,
        comment="Flannel вернули",
    )
    PlanEvent.objects.create(
        plan=plan,
        kind=EventKind.ALERT,
        object_type="step",
        object_id=three.pk,
        object_label=str(three),
        comment="Шаг 3 идёт 3 ч — дольше максимума 3 ч",
        changes={"alert": "step_overrun"},
    )
    return plan


def test_executed_plan_pdf_shows_actual_times_people_deviations_rollback_and_alerts():
    plan = executed_plan()

    html = render_plan_html(plan.pk, language="en")
    pdf = render_plan_pdf(plan.pk, language="en")

    rows = {
        int(m.group(1)): re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m.group(2))).strip()
        for m in re.finditer(r'<tr class="execution-row" data-position="(\d+)">(.*?)</tr>', html, re.S)
    }
    # Step 1: 20:02–20:40 is 38 min against 30: 8 min over, started 2 min late; started by the duty officer,
    # ticked by the engineer
    assert rows[1] == (
        "1 Бэкап etcd 20:00 30 мин 20:02 20.03.2025 20:40 20.03.2025 38 min 8 min longer than the maximum "
        "started 2 min late Дежурнов Д.Д. Инженеров И.И. DONE"
    )
    # Step 2 planned at 20:30: started 10 min late, 7 min within 5–10
    assert rows[2] == (
        "2 Удаление Flannel 20:30 5-10 мин 20:40 20.03.2025 20:47 20.03.2025 7 min within the plan "
        "started 10 min late Инженеров И.И. Инженеров И.И. DONE Без замечаний"
    )
    # Step 3 follows step 2 (20:35–20:40 planned): started 7 min late, 2 h 23 min within 2–3 h, failed
    assert rows[3].startswith(
        "3 Установка Calico 20:35–20:40 2-3 часа 20:47 20.03.2025 23:10 20.03.2025 2 h 23 min within the plan "
        "started 7 min late"
    )
    assert rows[3].endswith("FAILED Поды не получают адреса")
    # The step table's status cell carries the actual times too
    assert re.search(r'<td class="status step-done">[^<]*<br><span class="actual">20:02–20:40</span></td>', html)
    rollback = re.findall(r'<tr class="rollback-row">(.*?)</tr>', html, re.S)
    assert len(rollback) == 1
    assert (
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", rollback[0])).strip()
        == "3 5 Вернуть Flannel из бэкапа DONE 23:12 20.03.2025 23:35 20.03.2025 Дежурнов Д.Д. Flannel вернули"
    )
    assert html.count('class="alert-row"') == 1

    text = "".join(squash(page.extract_text() or "") for page in PdfReader(io.BytesIO(pdf)).pages)
    for value in [
        "Execution",
        "20:02 20.03.2025",
        "23:40 20.03.2025",
        "23:10 20.03.2025",
        "COMPLETED WITH ROLLBACK",
        "8 min longer than the maximum",
        "started 2 min late",
        "within the plan",
        "Дежурнов Д.Д.",
        "Инженеров И.И.",
        "Rollback actions carried out",
        "5 Вернуть Flannel из бэкапа",
        "Flannel вернули",
        "Alerts during the work",
        "Шаг 3 идёт 3 ч — дольше максимума 3 ч",
    ]:
        assert squash(value) in text, value
    assert (
        squash("Не понадобилось")
        not in text.split(squash("Rollback actions carried out"))[1].split(squash("Alerts during the work"))[0]
    )
    if shutil.which("pdftoppm"):
        # poppler renders it too (the pages were looked at as PNG when this was written)
        subprocess.run(
            ["pdftoppm", "-png", "-r", "80", "-", "/tmp/okno-pdf-execution"], input=pdf, check=True, capture_output=True
        )


def test_a_plan_not_started_has_no_execution_section():
    plan = PlanFactory()
    StepFactory(plan=plan)
    html = render_plan_html(plan.pk, language="en")
    assert 'class="execution"' not in html and "execution-row" not in html


def test_query_count_of_an_executed_plan_does_not_grow_with_steps():
    # Given an executed plan with 3 steps
    plan = executed_plan()
    with CaptureQueriesContext(connection) as small:
        render_plan_html(plan.pk)

    # When another executed plan has 20 more steps, started by another person
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(username__in=["duty", "eng"]).update(username=Concat(F("username"), Value("-old")))
    big = executed_plan(extra_steps=20)
    Step.objects.filter(plan=big, position__gte=10).update(started_by=UserFactory(username="other-starter"))
    with CaptureQueriesContext(connection) as large:
        html = render_plan_html(big.pk)

    # Then the number of queries is the same
    assert html.count('class="execution-row"') == 23
    assert len(large) == len(small), [query["sql"] for query in large]
