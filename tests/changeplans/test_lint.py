import datetime
import zoneinfo

import pytest
from django.utils import translation

from changeplans.choices import StepKind
from changeplans.lint import LintReport, lint_plan
from changeplans.models import Plan
from tests.factories import PartyFactory, PlanFactory, RiskFactory, RollbackActionFactory, StepFactory

pytestmark = pytest.mark.django_db

NSK = zoneinfo.ZoneInfo("Asia/Novosibirsk")
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
UTC = datetime.UTC
MARCH_20 = datetime.date(2025, 3, 20)


def at(hhmm):
    hours, minutes = map(int, hhmm.split(":"))
    return datetime.time(hours, minutes)


def local(report_moment, tz=NSK):
    return report_moment.astimezone(tz).strftime("%d.%m.%Y %H:%M")


def add_step(plan, position, time="20:00", *, date=MARCH_20, duration="5 мин", **fields):
    step = StepFactory.build(
        plan=plan,
        position=position,
        planned_date=date,
        planned_time=at(time) if time else None,
        executor=fields.pop("executor", None) or PartyFactory(),
        **fields,
    )
    step.set_duration(duration)
    step.save()
    return step


def findings(report):
    return sorted((warning.code, warning.step_id) for warning in report.warnings)


@pytest.fixture
def seed_plan():
    """The seed plan's seven steps and their timing (window 20.03.2025 20:00–23:05, Novosibirsk)."""
    plan = PlanFactory()
    duty, contractor = PartyFactory(name="Дежурный ООФИС"), PartyFactory(name="ООО «ПрофСофт»")
    march_27 = datetime.date(2025, 3, 27)
    steps = [
        add_step(plan, 1, "16:00", duration="5 мин.", kind=StepKind.ANNOUNCEMENT, executor=duty),
        add_step(plan, 2, "20:00", duration="5 мин.", kind=StepKind.BANNER_ON, executor=duty),
        add_step(plan, 3, "20:05", date=march_27, duration="15 мин", executor=contractor, no_rollback_needed=False),
        add_step(plan, 4, "20:05", date=march_27, duration="30мин", executor=contractor, no_rollback_needed=False),
        add_step(
            plan,
            5,
            "20:05",
            duration="2-3 часа",
            executor=contractor,
            no_rollback_needed=False,
            risk_mitigation="- Заранее проверить настройки PDB на prod;",
        ),
        add_step(plan, 6, None, duration="5 мин", kind=StepKind.BANNER_OFF, executor=duty),
        add_step(plan, 7, None, duration="5 мин", kind=StepKind.COMPLETION_NOTICE, executor=duty),
    ]
    for step in steps[2:4]:
        RollbackActionFactory(step=step, text="Анализ ошибки, исправление, повторный деплой")
    for number in range(1, 14):
        # The seed's risks of step 5 share one mitigation text (the step's risk_mitigation).
        RiskFactory(step=steps[4], number=number, description=f"Риск {number}", mitigation="")
    RollbackActionFactory(step=steps[4], text="Устранить причину и перезапустить узел/кластер.")
    return plan, {step.position: step for step in steps}


def fetched_steps(plan):
    return list(plan.steps.select_related("executor").prefetch_related("risks", "rollback_actions"))


# --- the seed ---------------------------------------------------------------


def test_seed_findings(seed_plan):
    plan, steps = seed_plan

    report = lint_plan(plan)

    # Steps 3 and 4 are a week late, the worst case of step 5 leaves no room for 6 and 7, which have no time.
    assert findings(report) == sorted(
        [
            ("step_outside_window", steps[3].id),
            ("step_outside_window", steps[4].id),
            ("step_without_start_time", steps[6].id),
            ("step_without_start_time", steps[7].id),
            ("worst_case_overruns_window", None),
        ]
    )
    assert report.warnings_for(steps[1].id) == []  # the announcement at 16:00 is expected before the window
    assert [w.level for w in report.warnings if w.code == "step_outside_window"] == ["error", "error"]
    assert [w.field for w in report.warnings if w.code == "step_outside_window"] == ["planned_date", "planned_date"]
    assert [w.field for w in report.warnings if w.code == "step_without_start_time"] == ["planned_time", "planned_time"]
    assert report.has_errors
    assert {w.code for w in report.errors} == {"step_outside_window"}


def test_seed_schedule(seed_plan):
    plan, steps = seed_plan

    report = lint_plan(plan)

    assert local(report.start) == "20.03.2025 20:00"
    assert local(report.end_best) == "20.03.2025 22:15"
    assert local(report.end_worst) == "20.03.2025 23:15"
    assert (report.total_best_minutes, report.total_worst_minutes, report.window_minutes) == (135, 195, 185)
    six, seven = report.timings[steps[6].id], report.timings[steps[7].id]
    assert six.start_is_derived and seven.start_is_derived
    assert (local(six.start_best), local(six.start_worst)) == ("20.03.2025 22:05", "20.03.2025 23:05")
    assert (local(seven.end_best), local(seven.end_worst)) == ("20.03.2025 22:15", "20.03.2025 23:15")
    assert report.critical_path == [steps[5].id, steps[6].id, steps[7].id]
    assert [report.timings[steps[n].id].critical for n in range(1, 8)] == [False, False, False, False, True, True, True]
    # Left out of the end projection: the announcement and the two steps dated 27.03.
    assert [report.timings[steps[n].id].counted for n in range(1, 8)] == [False, True, False, False, True, True, True]
    # Steps 3 and 4 start together: two lanes.
    assert (report.timings[steps[3].id].lane, report.timings[steps[4].id].lane) == (0, 1)
    assert all(
        t.start_best.tzinfo is not None and t.end_worst.utcoffset() == datetime.timedelta(hours=7)
        for t in report.timings.values()
    )


def test_seed_messages_name_the_figures(seed_plan):
    plan, steps = seed_plan

    with translation.override("en"):
        report = lint_plan(plan)

    (overrun,) = [w for w in report.warnings if w.code == "worst_case_overruns_window"]
    assert overrun.level == "warning" and overrun.step_id is None
    assert "23:15" in overrun.message and "23:05" in overrun.message
    assert "10 min" in overrun.message
    assert "steps ending after it: 6, 7" in overrun.message
    outside = report.warnings_for(steps[3].id)[0].message
    assert outside == "Step 3: start 27.03.2025 20:05 is outside the work window 20.03.2025 20:00–23:05."
    no_time = report.warnings_for(steps[6].id)[0].message
    assert no_time.startswith("Step 6: no start time")
    assert "after step 5, at 20.03.2025 22:05–23:05" in no_time


def test_no_queries_when_steps_are_passed_in(seed_plan, django_assert_num_queries):
    plan, _ = seed_plan
    plan = Plan.objects.get(pk=plan.pk)
    steps = fetched_steps(plan)

    with django_assert_num_queries(0):
        report = lint_plan(plan, steps=steps)

    assert findings(report) == findings(lint_plan(plan))


def test_lint_fetches_steps_in_a_fixed_number_of_queries(seed_plan, django_assert_max_num_queries):
    plan, _ = seed_plan
    plan = Plan.objects.get(pk=plan.pk)

    with django_assert_max_num_queries(3):
        report = lint_plan(plan)

    assert len(report.timings) == 7


def test_the_demo_plan(django_assert_num_queries):
    from demo import plans as demo

    plan = demo.load_demo()
    steps = {step.position: step for step in fetched_steps(plan)}

    with translation.override("en"):
        report = lint_plan(plan, steps=list(steps.values()))

    assert findings(report) == sorted(
        [
            ("step_outside_window", steps[3].id),
            ("step_outside_window", steps[4].id),
            ("step_without_start_time", steps[6].id),
            ("step_without_start_time", steps[7].id),
            ("worst_case_overruns_window", None),
        ]
    )
    (overrun,) = report.plan_warnings
    assert "23:15" in overrun.message and "10 min" in overrun.message
    assert local(report.end_best) == "20.03.2025 22:15"


# --- schedule rules ---------------------------------------------------------


def test_parallel_steps_get_lanes_and_a_derived_step_follows_the_whole_group():
    plan = PlanFactory()
    first = add_step(plan, 1, "20:00", duration="10 мин")
    longest = add_step(plan, 2, "20:00", duration="30 мин")
    third = add_step(plan, 3, "20:00", duration="20 мин")
    after = add_step(plan, 4, None, duration="15 мин")

    report = lint_plan(plan)

    assert [report.timings[s.id].lane for s in (first, longest, third, after)] == [0, 1, 2, 0]
    # Steps starting together do not delay each other.
    assert [local(report.timings[s.id].end_best) for s in (first, longest, third)] == [
        "20.03.2025 20:10",
        "20.03.2025 20:30",
        "20.03.2025 20:20",
    ]
    assert local(report.timings[after.id].start_best) == "20.03.2025 20:30"
    assert local(report.end_worst) == "20.03.2025 20:45"
    assert report.critical_path == [longest.id, after.id]


def test_derived_start_takes_best_and_worst_from_the_group_separately():
    plan = PlanFactory()
    add_step(plan, 1, "20:00", duration="10-40 мин")
    add_step(plan, 2, "20:00", duration="20-30 мин")
    derived = add_step(plan, 3, None, duration="5 мин")

    timing = lint_plan(plan).timings[derived.id]

    assert (local(timing.start_best), local(timing.start_worst)) == ("20.03.2025 20:20", "20.03.2025 20:40")
    assert (local(timing.end_best), local(timing.end_worst)) == ("20.03.2025 20:25", "20.03.2025 20:45")


def test_a_derived_chain_accumulates_best_and_worst_cases():
    plan = PlanFactory()
    add_step(plan, 1, "20:00", duration="1-2 ч")
    second = add_step(plan, 2, None, duration="10-20 мин")
    third = add_step(plan, 3, None, duration="5 мин")

    report = lint_plan(plan)

    assert local(report.timings[second.id].start_worst) == "20.03.2025 22:00"
    assert (local(report.timings[third.id].end_best), local(report.timings[third.id].end_worst)) == (
        "20.03.2025 21:15",
        "20.03.2025 22:25",
    )
    assert report.warnings_for(third.id)[0].code == "step_without_start_time"


def test_a_first_step_without_time_starts_with_the_window():
    plan = PlanFactory()
    step = add_step(plan, 1, None, duration="30 мин")

    report = lint_plan(plan)

    timing = report.timings[step.id]
    assert timing.start_is_derived and local(timing.start_best) == "20.03.2025 20:00"
    assert [w.code for w in report.warnings] == ["step_without_start_time"]
    assert report.total_worst_minutes == 30


def test_a_step_without_date_follows_its_predecessor():
    plan = PlanFactory()
    add_step(plan, 1, "20:00", duration="10 мин")
    undated = add_step(plan, 2, "20:30", date=None, duration="10 мин")

    report = lint_plan(plan)

    (warning,) = report.warnings_for(undated.id)
    assert (warning.code, warning.level, warning.field) == ("step_without_date", "warning", "planned_date")
    assert local(report.timings[undated.id].start_best) == "20.03.2025 20:10"


def test_a_step_inside_the_window_but_after_a_gap_is_not_delayed():
    plan = PlanFactory()
    add_step(plan, 1, "20:00", duration="10 мин")
    later = add_step(plan, 2, "21:00", duration="10 мин")

    report = lint_plan(plan)

    assert report.warnings == []
    assert local(report.timings[later.id].start_best) == "20.03.2025 21:00"
    assert report.total_best_minutes == 70 and report.critical_path == [later.id]


def test_step_before_the_window_is_an_error_and_not_counted():
    plan = PlanFactory()
    early = add_step(plan, 1, "19:00", duration="30 мин")
    add_step(plan, 2, "20:00", duration="30 мин")

    with translation.override("en"):
        report = lint_plan(plan)

    (warning,) = report.warnings_for(early.id)
    assert (warning.code, warning.level, warning.field) == ("step_outside_window", "error", "planned_time")
    assert "19:00" in warning.message
    assert not report.timings[early.id].counted
    assert local(report.start) == "20.03.2025 20:00" and report.total_worst_minutes == 30


def test_a_step_starting_exactly_at_the_window_end_is_outside():
    plan = PlanFactory()
    add_step(plan, 1, "20:00")
    last = add_step(plan, 2, "23:05")

    assert [w.code for w in lint_plan(plan).warnings_for(last.id)] == ["step_outside_window"]


def test_an_announcement_after_the_window_is_flagged():
    plan = PlanFactory()
    add_step(plan, 1, "20:00")
    late = add_step(plan, 2, "23:30", kind=StepKind.ANNOUNCEMENT)

    report = lint_plan(plan)

    assert [w.code for w in report.warnings_for(late.id)] == ["step_outside_window"]


def test_an_announcement_does_not_count_towards_the_end():
    plan = PlanFactory()
    add_step(plan, 1, "20:00", duration="30 мин")
    notice = add_step(plan, 2, "22:50", duration="1 ч", kind=StepKind.ANNOUNCEMENT)

    report = lint_plan(plan)

    assert report.warnings == []
    assert not report.timings[notice.id].counted
    assert local(report.end_worst) == "20.03.2025 20:30"


def test_steps_following_a_step_outside_the_window_are_outside_too():
    plan = PlanFactory()
    add_step(plan, 1, "20:00")
    stray = add_step(plan, 2, "20:05", date=datetime.date(2025, 3, 27))
    follower = add_step(plan, 3, None)

    report = lint_plan(plan)

    assert [w.code for w in report.warnings_for(stray.id)] == ["step_outside_window"]
    assert sorted(w.code for w in report.warnings_for(follower.id)) == [
        "step_outside_window",
        "step_without_start_time",
    ]
    assert not report.timings[follower.id].counted
    assert local(report.end_worst) == "20.03.2025 20:05"


def test_best_case_overrun_is_an_error_naming_the_late_steps():
    plan = PlanFactory()
    add_step(plan, 1, "20:00", duration="3 ч")
    spill = add_step(plan, 2, None, duration="10-20 мин")

    with translation.override("en"):
        report = lint_plan(plan)

    # The derived step starts after the window's end but is work that spills over: counted.
    assert report.timings[spill.id].counted
    by_code = {w.code: w for w in report.plan_warnings}
    assert set(by_code) == {"best_case_overruns_window", "worst_case_overruns_window"}
    best = by_code["best_case_overruns_window"]
    assert best.level == "error"
    assert "20.03.2025 23:10" in best.message and "5 min" in best.message and "steps ending after it: 2" in best.message
    assert (
        "23:20" in by_code["worst_case_overruns_window"].message
        and "15 min" in by_code["worst_case_overruns_window"].message
    )


def test_ending_exactly_at_the_window_end_is_no_overrun():
    plan = PlanFactory()
    step_1 = add_step(plan, 1, "20:00", duration="3 ч")
    add_step(plan, 2, "23:00", duration="5 мин")

    report = lint_plan(plan)

    # Step 2 starts right when the 3-hour step 1 ends: no slack, but no overrun either.
    assert findings(report) == [("no_slack_after_step", step_1.id)]
    assert local(report.end_worst) == "20.03.2025 23:05"


# --- midnight and DST -------------------------------------------------------


def test_window_crossing_midnight():
    plan = PlanFactory(
        window_start=datetime.datetime(2025, 3, 20, 23, 0, tzinfo=NSK),
        window_end=datetime.datetime(2025, 3, 21, 2, 0, tzinfo=NSK),
    )
    add_step(plan, 1, "23:00", duration="1 ч")
    after_midnight = add_step(plan, 2, "00:30", date=datetime.date(2025, 3, 21), duration="1 ч")
    last = add_step(plan, 3, None, duration="30 мин")
    wrong_date = add_step(plan, 4, "00:30", date=MARCH_20, duration="5 мин")

    with translation.override("en"):
        report = lint_plan(plan)

    assert report.window_minutes == 180
    assert report.timings[after_midnight.id].counted
    assert local(report.timings[last.id].start_best) == "21.03.2025 01:30"
    assert local(report.end_worst) == "21.03.2025 02:00"
    assert report.total_worst_minutes == 180
    # 00:30 on the first date is before the window; the message shows both dates of the window.
    assert findings(report) == [("step_outside_window", wrong_date.id), ("step_without_start_time", last.id)]
    assert "20.03.2025 23:00–21.03.2025 02:00" in report.warnings_for(wrong_date.id)[0].message


def test_midnight_overrun_is_reported_on_the_next_date():
    plan = PlanFactory(
        window_start=datetime.datetime(2025, 3, 20, 23, 0, tzinfo=NSK),
        window_end=datetime.datetime(2025, 3, 21, 2, 0, tzinfo=NSK),
    )
    add_step(plan, 1, "23:30", duration="2-3 ч")

    with translation.override("en"):
        report = lint_plan(plan)

    (warning,) = report.warnings
    assert warning.code == "worst_case_overruns_window"
    assert "21.03.2025 02:30" in warning.message and "30 min" in warning.message


def test_spring_forward_dst_change():
    # Berlin, 30.03.2025: clocks jump from 02:00 to 03:00; the window 01:00–04:00 is two real hours.
    plan = PlanFactory(
        time_zone="Europe/Berlin",
        window_start=datetime.datetime(2025, 3, 30, 1, 0, tzinfo=BERLIN),
        window_end=datetime.datetime(2025, 3, 30, 4, 0, tzinfo=BERLIN),
    )
    step = add_step(plan, 1, "01:30", date=datetime.date(2025, 3, 30), duration="60 мин")
    follower = add_step(plan, 2, None, date=datetime.date(2025, 3, 30), duration="30 мин")

    report = lint_plan(plan)

    timing = report.timings[step.id]
    assert timing.end_best.astimezone(BERLIN).strftime("%H:%M") == "03:30"
    assert timing.end_best.astimezone(UTC) == datetime.datetime(2025, 3, 30, 1, 30, tzinfo=UTC)
    assert report.window_minutes == 120
    assert report.end_worst.astimezone(BERLIN).strftime("%H:%M") == "04:00"
    assert report.total_worst_minutes == 90
    assert [w.code for w in report.warnings] == ["step_without_start_time"]
    assert report.timings[follower.id].counted


def test_spring_forward_overrun_is_measured_in_real_minutes():
    plan = PlanFactory(
        time_zone="Europe/Berlin",
        window_start=datetime.datetime(2025, 3, 30, 1, 0, tzinfo=BERLIN),
        window_end=datetime.datetime(2025, 3, 30, 4, 0, tzinfo=BERLIN),
    )
    # On the wall clock 01:30 + 2 h 30 min looks like 04:00, but it is 05:00 local: 60 real minutes late.
    add_step(plan, 1, "01:30", date=datetime.date(2025, 3, 30), duration="150 мин")

    with translation.override("en"):
        report = lint_plan(plan)

    assert {w.code for w in report.warnings} == {"best_case_overruns_window", "worst_case_overruns_window"}
    assert all("30.03.2025 05:00" in w.message and "1 h" in w.message for w in report.warnings)


def test_fall_back_dst_change():
    # Berlin, 26.10.2025: 03:00 becomes 02:00 again; the window 01:00–04:00 is four real hours.
    plan = PlanFactory(
        time_zone="Europe/Berlin",
        window_start=datetime.datetime(2025, 10, 26, 1, 0, tzinfo=BERLIN),
        window_end=datetime.datetime(2025, 10, 26, 4, 0, tzinfo=BERLIN),
    )
    step = add_step(plan, 1, "01:30", date=datetime.date(2025, 10, 26), duration="2 ч")

    report = lint_plan(plan)

    end = report.timings[step.id].end_worst.astimezone(BERLIN)
    assert (end.strftime("%H:%M"), end.utcoffset()) == ("02:30", datetime.timedelta(hours=1))
    assert report.window_minutes == 240 and report.total_worst_minutes == 120
    assert report.warnings == []


# --- contents of a step -----------------------------------------------------


def test_step_without_executor():
    plan = PlanFactory()
    step = add_step(plan, 1)
    step.executor = None
    step.save()

    (warning,) = lint_plan(plan).warnings
    assert (warning.code, warning.level, warning.step_id, warning.field) == (
        "step_without_executor",
        "warning",
        step.id,
        "executor",
    )


def test_step_without_duration_counts_as_zero():
    plan = PlanFactory()
    missing = add_step(plan, 1, "20:00", duration="")
    after = add_step(plan, 2, None)

    report = lint_plan(plan)

    assert [(w.code, w.field) for w in report.warnings_for(missing.id)] == [("step_without_duration", "duration_text")]
    assert local(report.timings[after.id].start_best) == "20.03.2025 20:00"


def test_unreadable_duration_text_is_reported_and_counts_as_zero():
    plan = PlanFactory()
    step = StepFactory(plan=plan, position=1, duration_text="долго", duration_min=None, duration_max=None)

    with translation.override("en"):
        report = lint_plan(plan)

    (warning,) = report.warnings
    assert warning.code == "step_without_duration" and "“долго”" in warning.message
    assert report.timings[step.id].end_worst == report.timings[step.id].start_worst


def test_duration_text_without_stored_minutes_is_read():
    plan = PlanFactory()
    step = StepFactory(plan=plan, position=1, duration_text="1,5 часа", duration_min=None, duration_max=None)

    report = lint_plan(plan)

    assert report.warnings == []
    assert local(report.timings[step.id].end_best) == "20.03.2025 21:30"


def test_step_without_rollback():
    plan = PlanFactory()
    bare = add_step(plan, 1, no_rollback_needed=False)
    with_action = add_step(plan, 2, no_rollback_needed=False)
    RollbackActionFactory(step=with_action)
    add_step(plan, 3, no_rollback_needed=True)

    report = lint_plan(plan)

    assert findings(report) == [("step_without_rollback", bare.id)]
    assert report.warnings[0].field == "rollback_actions"


def test_risk_without_mitigation():
    plan = PlanFactory()
    step = add_step(plan, 1)
    RiskFactory(step=step, number=1, mitigation="")
    RiskFactory(step=step, number=2, mitigation="Проверить PDB")
    RiskFactory(step=step, number=3, mitigation="  ")
    covered = add_step(plan, 2, risk_mitigation="Поэтапная миграция")
    RiskFactory(step=covered, number=1, mitigation="")

    with translation.override("en"):
        report = lint_plan(plan)

    (warning,) = report.warnings
    assert (warning.code, warning.step_id, warning.field) == ("risk_without_mitigation", step.id, "risk_mitigation")
    assert warning.message == "Step 1: risks 1, 3 have no mitigation."


def test_no_steps():
    plan = PlanFactory()

    report = lint_plan(plan)

    assert [w.code for w in report.warnings] == ["no_steps"]
    assert report.timings == {} and report.critical_path == []
    assert (report.end_best, report.end_worst, report.total_best_minutes) == (None, None, None)
    assert local(report.start) == "20.03.2025 20:00" and report.window_minutes == 185


def test_downtime_exceeds_the_plans_possible_downtime():
    plan = PlanFactory(downtime_text="30 мин", downtime_max_minutes=30)
    long = add_step(plan, 1, planned_downtime="1 ч")
    add_step(plan, 2, planned_downtime="15 мин")
    add_step(plan, 3, planned_downtime="нет")

    with translation.override("en"):
        report = lint_plan(plan)

    (warning,) = report.warnings
    assert (warning.code, warning.step_id, warning.field) == ("downtime_exceeds", long.id, "planned_downtime")
    assert "1 h" in warning.message and "30 min" in warning.message


def test_steps_are_taken_in_position_order_whatever_the_list_order():
    plan = PlanFactory()
    first = add_step(plan, 1, "20:00", duration="10 мин")
    second = add_step(plan, 2, None, duration="10 мин")

    report = lint_plan(plan, steps=list(reversed(fetched_steps(plan))))

    assert local(report.timings[second.id].start_best) == "20.03.2025 20:10"
    assert report.critical_path == [first.id, second.id]


def test_report_helpers(seed_plan):
    plan, steps = seed_plan

    report = lint_plan(plan)

    assert isinstance(report, LintReport)
    assert [w.code for w in report.warnings_for(steps[3].id)] == ["step_outside_window"]
    assert report.warnings_for(steps[2].id) == []
    assert [w.code for w in report.plan_warnings] == ["worst_case_overruns_window"]
    assert all(w.is_error for w in report.errors)
