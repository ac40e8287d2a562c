"""The plan check updated for one edited step (lint.recheck_step) is the whole check of the plan after the edit.

Random plans (times in and out of order, parallel groups, chains of steps without a time, announcements, risks,
rollbacks, downtime) get random edits of every cell a save can change, of risks and rollback actions, and moves,
inserts and deletes; after each edit the updated check (when recheck_step takes the edit) must equal
`check_plan` on the new steps — the report, the schedule and each step's findings — and the steps it says may
have changed must include every step whose row (derived start, highlighted cells) changed. The next edit starts
from the updated check, so errors would add up.
"""

import datetime
import random

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from changeplans import lint_data
from changeplans.choices import StepKind
from changeplans.durations import downtime_or_none, parse_duration
from changeplans.lint import check_plan, recheck_step
from changeplans.lint_data import STEP_COLUMNS, LintAction, LintRisk, LintStep
from tests.changeplans.test_save_scale import DAY, bulk_plan, every_finding_plan, fuzz_plan

pytestmark = [pytest.mark.django_db]

DURATIONS = ["5 мин", "10 мин", "30-60 мин", "1 час", "2-3 часа", "60-180 мин", "", "долго", "0 мин", "3 часа"]
DOWNTIMES = ["", "нет", "до 15 мин", "40 мин", "???", "2 часа"]
MITIGATIONS = ["", "1. Первое", "1. Первое\n2. Второе", "- общее"]
ACTIONS = ["Вернуть как было", "нет", "по ситуации", "Откатить конфигурацию"]
MINUTES = [0, 5, 10, 30, 45, 60, 90, 120, 180, 190, 235]


def changed(step, **values):
    columns = dict(zip(STEP_COLUMNS, (getattr(step, name) for name in STEP_COLUMNS), strict=True))
    risks, actions = values.pop("risks", step.risks.all()), values.pop("actions", step.rollback_actions.all())
    columns.update(values)
    return LintStep((columns[name] for name in STEP_COLUMNS), list(risks), list(actions))


def duration(text):
    try:
        parsed = parse_duration(text)
    except ValidationError:
        return {"duration_text": text, "duration_min": None, "duration_max": None}  # as an import may store it
    low, high = (parsed.min_minutes, parsed.max_minutes) if parsed else (None, None)
    return {"duration_text": text, "duration_min": low, "duration_max": high}


def edit(rng, steps, next_id):
    """A random edit: (the new steps in order, the edited step or None for a delete)."""
    steps = list(steps)
    i = rng.randrange(len(steps))
    step = steps[i]
    what = rng.choice(
        ["duration"] * 6
        + ["executor", "rollback_flag", "mitigation", "downtime", "risks", "actions"] * 2
        + ["date", "time", "untime", "kind", "move", "add", "delete"]
    )
    if what == "duration":
        new = changed(step, **duration(rng.choice(DURATIONS)))
    elif what == "executor":
        new = changed(step, executor_id=rng.choice([None, 1, 2]))
    elif what == "rollback_flag":
        new = changed(step, no_rollback_needed=not step.no_rollback_needed)
    elif what == "mitigation":
        new = changed(step, risk_mitigation=rng.choice(MITIGATIONS))
    elif what == "downtime":
        text = rng.choice(DOWNTIMES)
        new = changed(step, planned_downtime=text, planned_downtime_max_minutes=downtime_or_none(text))
    elif what == "risks":
        numbers = sorted(rng.sample(range(1, 6), rng.randint(0, 3)))
        new = changed(step, risks=[LintRisk(n, rng.choice(["", "Проверить"])) for n in numbers])
    elif what == "actions":
        new = changed(step, actions=[LintAction(rng.choice(ACTIONS)) for _ in range(rng.randint(0, 2))])
    elif what == "date":
        new = changed(step, planned_date=rng.choice([None, DAY, DAY + datetime.timedelta(days=1)]))
    elif what in ("time", "untime"):
        minute = rng.choice(MINUTES)
        new = changed(step, planned_time=None if what == "untime" else datetime.time(20 + minute // 60, minute % 60))
    elif what == "kind":
        new = changed(step, kind=rng.choice([StepKind.WORK, StepKind.ANNOUNCEMENT, StepKind.BANNER_ON]))
    elif what == "move" and len(steps) > 1:
        j = i + 1 if i + 1 < len(steps) else i - 1
        steps[i], steps[j] = changed(steps[j], position=step.position), changed(step, position=steps[j].position)
        return steps, steps[j]
    elif what == "add":
        new = changed(step, id=next_id, position=step.position + 1, risks=[], actions=[])
        steps = steps[: i + 1] + [changed(s, position=s.position + 1) for s in steps[i + 1 :]]
        steps.insert(i + 1, new)
        return steps, new
    else:  # delete
        return steps[:i] + [changed(s, position=s.position - 1) for s in steps[i + 1 :]], None
    steps[i] = new
    return steps, new


def row(check, step_id):
    """What a step's row shows from a check: its derived start and highlighted cells."""
    return lint_data.marks_of(check, step_id)


def plans(author):
    return [
        *(fuzz_plan(author, seed, count=40) for seed in range(4)),
        bulk_plan(author, 40, chain=True),  # one step with a time, the rest follow it
        bulk_plan(author, 40, window_hours=3),
        every_finding_plan(author),
    ]


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_updated_check_is_the_whole_check_after_every_edit(author, language):
    taken = whole = 0
    with translation.override(language):
        for number, plan in enumerate(plans(author)):
            rng = random.Random(number)
            steps = lint_data.load_lint_steps(plan.pk)
            state = check_plan(plan, steps)
            next_id = 10_000_000
            for _turn in range(150):
                if len(steps) < 3:
                    break
                steps, edited = edit(rng, state.steps, next_id)
                next_id += 1
                full = check_plan(plan, steps)
                result = recheck_step(state, plan, edited) if edited is not None else None
                if result is None:
                    whole += 1
                    state = full
                    continue
                taken += 1
                updated, touched = result
                assert updated.report == full.report
                assert updated.slots == full.slots
                assert updated.parts == full.parts and updated.findings == full.findings
                assert updated.counted == full.counted and updated.downtime_findings == full.downtime_findings
                rows_changed = {pk for pk in full.index if pk in state.index and row(state, pk) != row(full, pk)}
                assert rows_changed <= touched, (rows_changed, touched)
                state = updated
    assert taken > whole  # most edits were taken by the update (dates, times, kinds, moves… are checked whole)


def test_an_edit_that_moves_a_start_is_left_to_the_whole_check(author):
    """A step with no time of its own starts when the step before it ends: a longer step moves it."""
    plan = bulk_plan(author, 6, chain=True)
    state = check_plan(plan, lint_data.load_lint_steps(plan.pk))
    first = state.steps[0]
    assert recheck_step(state, plan, changed(first, **duration("3 часа"))) is None
    assert recheck_step(state, plan, changed(first, planned_time=datetime.time(21, 0))) is None
    updated, touched = recheck_step(state, plan, changed(first, executor_id=None))
    assert touched == {first.id}
    assert updated.report == check_plan(plan, updated.steps).report
