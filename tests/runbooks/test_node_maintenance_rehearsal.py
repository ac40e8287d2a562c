"""Done-when of issue 6: a plan from the node-maintenance runbook for three nodes, rehearsed (dry run) against
the fake Kubernetes API server and real ansible-core (check mode, connection local), shown to the approver."""

import datetime
import re

import pytest
from django.utils import timezone, translation

from approvals.models import ApprovalRow
from changeplans.choices import StepStatus
from runbooks import four_eyes, library, rehearsal
from runbooks.choices import RunMode, RunStatus
from runbooks.instantiate import create_plan
from runbooks.models import AutomationApproval, AutomationRun, Cluster, Runbook
from tests.runbooks.fake_kube_api import FakeKubeApiServer

pytestmark = pytest.mark.django_db

# The three "nodes" are the runner service's machine (connection local), where it runs as its own unprivileged
# user (docs/runner.md): no become; the interpreter is the runner's Python, named so discovery cannot pick another.
INVENTORY = "[nodes]\n" + "".join(
    f"worker-{n} ansible_connection=local ansible_python_interpreter=python3 ansible_become=false\n" for n in (1, 2, 3)
)


@pytest.fixture
def fake_cluster():
    with FakeKubeApiServer(eviction_delay=0.1, rollout_seconds=0.5) as server:
        for name in ("worker-1", "worker-2", "worker-3"):
            server.add_node(name)
        cluster = Cluster.objects.create(name="prod-k8s", kubeconfig=server.kubeconfig(), ansible_inventory=INVENTORY)
        yield server, cluster


def test_node_maintenance_for_three_nodes_is_rehearsed_and_the_approver_sees_it(
    client, author, approver, operator, fake_cluster, django_capture_on_commit_callbacks
):
    server, cluster = fake_cluster
    library.install()
    version = Runbook.objects.get(slug="node-maintenance").current
    start = (timezone.now() + datetime.timedelta(days=2)).replace(microsecond=0)
    plan = create_plan(
        version, {"cluster": "prod-k8s", "nodes": "worker-1\nworker-2\nworker-3"}, actor=author, window_start=start
    )
    steps = list(plan.steps.select_related("automation").order_by("position"))
    names = [s.name for s in steps]
    assert len(steps) == 16 and names[0] == "Проверить реплики и PodDisruptionBudget"
    for n, node in enumerate(("worker-1", "worker-2", "worker-3")):
        group = names[1 + n * 5 : 6 + n * 5]
        assert all(node in name for name in group), group
        assert steps[1 + n * 5].automation.params == {"node": node}
    # Before a second person approved the automation, the rehearsal runs only what is safe by construction
    # (the Kubernetes runner's dryRun=All) and skips the Ansible steps, saying why.
    client.force_login(author)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/automation/plans/{plan.pk}/rehearse/")
    assert response.status_code == 302
    first = {
        r.step.position: r
        for r in AutomationRun.objects.filter(plan=plan, mode=RunMode.REHEARSAL).select_related("step")
    }
    assert len(first) == 16
    assert all(r.status == RunStatus.SUCCEEDED for r in first.values() if r.kind == "kubernetes"), {
        p: (r.kind, r.status) for p, r in first.items()
    }
    unsafe = [r for r in first.values() if r.kind != "kubernetes"]
    reasons = set()
    for language in ("en", "ru"):
        with translation.override(language):
            reasons.add(str(four_eyes.NOT_APPROVED_REHEARSAL))
    assert unsafe and all(r.status == RunStatus.SKIPPED and r.summary in reasons for r in unsafe)
    # An operator approves the automation; the author rehearses again and every step runs as a dry run.
    client.force_login(operator)
    seen = re.findall(r'name="seen" value="([0-9a-f]{64})"', client.get(f"/plans/{plan.pk}/").content.decode())
    assert len(seen) == 16
    assert client.post(f"/automation/plans/{plan.pk}/approve-automation/", {"seen": seen}).status_code == 302
    assert AutomationApproval.objects.filter(automation__step__plan=plan).count() == 16
    client.force_login(author)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/automation/plans/{plan.pk}/rehearse/")
    assert response.status_code == 302
    runs = list(
        AutomationRun.objects.filter(
            plan=plan, mode=RunMode.REHEARSAL, rehearsal=rehearsal.latest(plan.pk)["rehearsal"]
        )
        .select_related("step")
        .order_by("step__position")
    )
    assert len(runs) == 16
    report = {r.step.position: (r.kind, r.status, r.summary) for r in runs}
    print("\n" + "\n".join(f"{p:2} {k:10} {s:9} {m[:90]}" for p, (k, s, m) in report.items()))
    assert all(r.status in (RunStatus.SUCCEEDED, RunStatus.SKIPPED) for r in runs), report
    assert all(r.approval_id for r in runs)  # each ran under the operator's approval of its content
    drains = [r for r in runs if r.kind == "kubernetes" and "drain" in r.command]
    assert len(drains) == 3 and all(r.status == RunStatus.SUCCEEDED for r in drains)
    # The fake saw only dry-run writes: no node was really cordoned.
    writes = [req for req in server.requests if req["method"] in ("PATCH", "POST", "DELETE")]
    assert writes and all(req["query"].get("dryRun") == "All" for req in writes), writes
    assert not any(
        server.nodes[name].get("spec", {}).get("unschedulable") for name in ("worker-1", "worker-2", "worker-3")
    )
    assert all(s.status == StepStatus.PENDING for s in plan.steps.all())
    # The approver opens the plan they are asked to sign and sees the rehearsal's results.
    ApprovalRow.objects.create(plan=plan, position=1, person_name="Согласующий", user=approver)
    client.force_login(approver)
    page = client.get(f"/plans/{plan.pk}/").content.decode()
    assert 'id="rehearsal-ok"' in page and 'id="rehearsal-runs"' in page
    assert "drain worker-3" in page and "node-os-update.yml" in page and "--check" in page
    assert rehearsal.latest(plan.pk)["matches"] is True
