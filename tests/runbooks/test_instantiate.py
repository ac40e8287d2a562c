"""A plan from a runbook: the node-maintenance runbook for three nodes, and parameter injection refused."""

import datetime
import zoneinfo

import pytest

from changeplans.choices import EventKind, PlanStatus
from changeplans.lint import ERROR, lint_plan
from changeplans.models import PlanEvent
from runbooks import instantiate, library
from runbooks.models import Cluster, PlanOrigin, Runbook, StepAutomation
from runbooks.runners import base

NSK = zoneinfo.ZoneInfo("Asia/Novosibirsk")
START = datetime.datetime(2025, 3, 20, 20, 0, tzinfo=NSK)
NODES = ["worker-1", "worker-2", "worker-3"]
PER_NODE = [
    "Вывести узел {n} из обслуживания (cordon, drain)",
    "Обновить ОС на узле {n}",
    "Перезагрузить узел {n}",
    "Вернуть узел {n} в работу (uncordon)",
    "Проверить, что узел {n} Ready",
]


@pytest.fixture
def library_installed(db):
    library.install()
    return Cluster.objects.create(name="prod-k8s", environment="production")


def _maintenance():
    return Runbook.objects.get(slug="node-maintenance").current


def test_node_maintenance_for_three_nodes(library_installed, author):
    # Given the shipped node-maintenance runbook
    version = _maintenance()
    # When a plan is made for worker-1..3
    plan = instantiate.create_plan(
        version, {"cluster": "prod-k8s", "nodes": "worker-1\nworker-2, worker-3"}, actor=author, window_start=START
    )
    # Then: one check step, then five steps per node, numbered continuously
    steps = list(plan.steps.order_by("position"))
    assert [s.position for s in steps] == list(range(1, 17))
    expected = ["Проверить реплики и PodDisruptionBudget"] + [
        name.format(n=node) for node in NODES for name in PER_NODE
    ]
    assert [s.name for s in steps] == expected
    # the YAML says "kind: standard", but the runbook is not marked standard (issue 18): a normal change
    assert plan.status == PlanStatus.DRAFT and plan.author == author and plan.kind == "normal"
    assert plan.title == "Обслуживание узлов кластера prod-k8s: обновление ОС"
    assert "worker-1, worker-2, worker-3" in plan.goal

    drains = StepAutomation.objects.filter(step__plan=plan, spec__action="drain").order_by("step__position")
    assert [a.params for a in drains] == [{"node": node} for node in NODES]
    assert all(
        a.kind == "kubernetes"
        and a.cluster.name == "prod-k8s"
        and a.spec["node"] == "{{ node }}"
        and a.timeout_seconds == 1800
        for a in drains
    )
    ansible = StepAutomation.objects.get(step=steps[2])
    assert (
        ansible.kind == "ansible" and ansible.spec["limit"] == "{{ node }}" and ansible.params == {"node": "worker-1"}
    )
    assert base.fill(ansible.spec, ansible.params)["limit"] == "worker-1"
    assert StepAutomation.objects.get(step=steps[0]).params == {}

    # risks and rollback links of a per-node step
    drain = steps[1]
    assert [r.number for r in drain.risks.all()] == [1, 2]
    action = drain.rollback_actions.get()
    assert action.text.startswith("kubectl uncordon worker-1") and action.label() == "1/2"

    # times laid out by maximum durations from the window start, with slack after each step with risks
    # (20 % of the step rounded up to 5 min): 10 min + 5, then 20 min + 5; the lint sees no errors
    assert (steps[0].planned_date, steps[0].planned_time) == (datetime.date(2025, 3, 20), datetime.time(20, 0))
    assert steps[1].planned_time == datetime.time(20, 15)
    assert steps[2].planned_time == datetime.time(20, 40)
    report = lint_plan(plan)
    assert [w.message for w in report.warnings if w.level == ERROR] == []
    assert "no_slack_after_step" not in report.codes
    # the window ends after the last step and the slack it needs
    last = steps[-1]
    assert last.risks.exists()
    assert plan.window_end == START + datetime.timedelta(minutes=report.total_worst_minutes + 5)

    origin = PlanOrigin.objects.get(plan=plan)
    assert origin.runbook_version == version and origin.parameters["nodes"] == NODES
    event = PlanEvent.objects.get(plan=plan, kind=EventKind.CREATED)
    assert "node-maintenance" in event.comment and event.actor == author


@pytest.mark.parametrize("bad", ["--server=http://127.0.0.1:1", "; rm -rf /", "$(id)", "worker-1\n-x", "Worker_1"])
def test_injection_in_a_node_name_is_refused(library_installed, author, bad):
    with pytest.raises(instantiate.ParameterError) as info:
        instantiate.create_plan(_maintenance(), {"cluster": "prod-k8s", "nodes": bad}, actor=author, window_start=START)
    assert "nodes" in info.value.errors
    assert not PlanOrigin.objects.exists()


def test_option_like_value_message(library_installed):
    with pytest.raises(instantiate.ParameterError) as info:
        instantiate.clean_parameters(
            _maintenance().definition, {"cluster": "prod-k8s", "nodes": "--server=http://127.0.0.1:1"}
        )
    message = info.value.errors["nodes"]
    assert "--server=http://127.0.0.1:1" in message and "-" in message.replace("--server", "")


def test_typed_parameters(library_installed, author):
    version = Runbook.objects.get(slug="kubeadm-upgrade").current
    errors = None
    try:
        instantiate.clean_parameters(
            version.definition,
            {"cluster": "nope", "target_version": "latest", "first_control_plane": "cp-1", "workers": ""},
        )
    except instantiate.ParameterError as exc:
        errors = exc.errors
    assert set(errors) == {"cluster", "target_version", "workers"}
    # optional empty node list: the block expands to nothing
    plan = instantiate.create_plan(
        version,
        {"cluster": "prod-k8s", "target_version": "1.30.4", "first_control_plane": "cp-1", "workers": "w1"},
        actor=author,
        window_start=START,
    )
    names = list(plan.steps.order_by("position").values_list("name", flat=True))
    assert len(names) == 6 + 3 + 0
    apply = StepAutomation.objects.get(step__plan=plan, spec__extra_vars__first_control_plane=True)
    assert apply.params == {"first_control_plane": "cp-1", "target_version": "1.30.4"}


def test_approver_may_not_create(library_installed, approver):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        instantiate.create_plan(
            _maintenance(), {"cluster": "prod-k8s", "nodes": "w1"}, actor=approver, window_start=START
        )


def test_announcements_go_before_the_window(library_installed, author):
    version = Runbook.objects.get(slug="cni-flannel-to-calico").current
    plan = instantiate.create_plan(version, {"cluster": "prod-k8s"}, actor=author, window_start=START)
    first = plan.steps.get(position=1)
    assert first.kind == "announcement" and first.planned_time == datetime.time(16, 0)
    step5 = plan.steps.get(position=5)
    assert step5.risks.count() == 13
    assert [a.label() for a in step5.rollback_actions.order_by("position")][4] == "5/6/7/8"
    assert plan.banner_needed and plan.client_impact
    assert not lint_plan(plan).has_errors


def test_the_plan_page_facts_follow_the_origin_and_the_rehearsal(library_installed, author, running_plan):
    """runbooks.extensions._plan_facts (its SQL compiled once per process) reads each plan's own facts."""
    from runbooks.extensions import _plan_facts
    from runbooks.models import Rehearsal

    plan = instantiate.create_plan(
        _maintenance(), {"cluster": "prod-k8s", "nodes": "worker-1"}, actor=author, window_start=START
    )
    other = running_plan
    assert _plan_facts({}, plan) == (False, True)
    assert _plan_facts({}, other) == (False, False)
    Rehearsal.objects.create(plan=other, digest="x")
    assert _plan_facts({}, other) == (True, False)
    PlanOrigin.objects.filter(plan=plan).delete()
    assert _plan_facts({}, plan) == (False, False)
