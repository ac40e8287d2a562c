"""The `ansible` runner with real ansible-core (connection local): output, extra vars, check mode, failure
summary, injection through extra vars, cluster inventory, and cancel/timeout ending the whole tree."""

import time
import uuid
from pathlib import Path

import pytest
from django.utils import translation

from runbooks import runners
from runbooks.models import Cluster
from runbooks.runners.ansible import playbook_choices
from runbooks.runners.base import AutomationError, RunContext, fill

from .test_process import processes_with, wait_gone


@pytest.fixture(autouse=True)
def english():
    """Runner messages are asserted in their English source text (the UI's Russian is checked in the web tests)."""
    with translation.override("en"):
        yield


LOCAL_HOST = "ansible_connection=local ansible_python_interpreter=python3"  # the runner's Python


def make_ctx(tmp_path, **kwargs):
    lines = []
    kwargs.setdefault("stop_reason", lambda: None)
    return RunContext(workdir=tmp_path, output=lines.append, **kwargs), lines


@pytest.fixture
def ansible():
    return runners.get("ansible")


def inline(*tasks, hosts="all"):
    body = "\n".join("    " + line for task in tasks for line in task.strip().splitlines())
    return f"- hosts: {hosts}\n  gather_facts: false\n  tasks:\n{body}\n"


def test_registered(ansible):
    assert (ansible.kind, str(ansible.label), ansible.supports_dry_run) == ("ansible", "Ansible playbook", True)


def test_shipped_playbooks_are_valid(ansible):
    names = playbook_choices()
    for name in ("smoke-local.yml", "node-os-update.yml", "kubeadm-upgrade-node.yml", "cert-check.yml"):
        assert name in names
        ansible.check({"playbook": name, "inventory": "cluster"})


def test_smoke_playbook_runs_and_extra_vars_reach_it(tmp_path, ansible, runner_writable_dir):
    # Given the shipped smoke playbook, run on the runner's host with extra vars
    marker = runner_writable_dir / "marker.txt"
    ctx, lines = make_ctx(tmp_path)
    spec = {
        "playbook": "smoke-local.yml",
        "inventory": "local",
        "extra_vars": {"message": "Привет, Okno", "marker_path": str(marker)},
    }
    outcome = ansible.run(spec, ctx)
    # Then it succeeds, its lines arrived one by one, and the file holds the given content
    assert outcome.status == "succeeded", lines
    assert outcome.exit_code == 0
    assert any(line.startswith("PLAY [Okno smoke test]") for line in lines)
    assert '    "msg": "message=Привет, Okno"' in lines
    assert any(line.startswith("localhost") and "failed=0" in line for line in lines)
    assert marker.read_text() == "Привет, Okno"
    assert "ok=2 changed=1" in outcome.summary
    assert outcome.command.startswith("ansible-playbook smoke-local.yml -i local -e ")
    # The private data dir (inventory, extra vars) lived in the runner only: nothing of it is left here
    assert list(tmp_path.iterdir()) == []


def test_check_mode_does_not_create_the_file(tmp_path, ansible, runner_writable_dir):
    marker = runner_writable_dir / "marker.txt"
    spec = {"playbook": "smoke-local.yml", "inventory": "local", "extra_vars": {"marker_path": str(marker)}}
    for ctx_kwargs, spec_extra in (({"dry_run": True}, {}), ({}, {"check": True})):
        ctx, lines = make_ctx(tmp_path, **ctx_kwargs)
        outcome = ansible.run({**spec, **spec_extra}, ctx)
        assert outcome.status == "succeeded", lines
        assert outcome.command.endswith("--check --diff")
        assert "changed: [localhost]" in lines  # check mode reports the change it would make …
        assert not marker.exists()  # … and makes none


def test_failing_task_fails_with_the_recap_in_the_summary(tmp_path, ansible):
    ctx, lines = make_ctx(tmp_path)
    playbook = inline(
        "- name: Fine\n  ansible.builtin.debug:\n    msg: before",
        "- name: Break here\n  ansible.builtin.command: /bin/false",
        "- name: Never\n  ansible.builtin.debug:\n    msg: after",
    )
    outcome = ansible.run({"playbook_yaml": playbook, "inventory": f"localhost {LOCAL_HOST}"}, ctx)
    assert outcome.status == "failed"
    assert outcome.exit_code == 2
    assert "Task “Break here” failed on localhost" in outcome.summary
    assert "PLAY RECAP: localhost : ok=1 changed=0 unreachable=0 failed=1" in outcome.summary
    assert not any("after" in line for line in lines)
    assert outcome.command.startswith("ansible-playbook '<inline playbook>' -i '<inline inventory>'")


def test_unreachable_host_is_named(tmp_path, ansible):
    ctx, lines = make_ctx(tmp_path)
    inventory = (
        "ghost ansible_host=127.0.0.1 ansible_port=1 ansible_connection=ssh"
        " ansible_ssh_common_args='-o ConnectTimeout=3'\n"
    )
    outcome = ansible.run({"playbook_yaml": inline("- ansible.builtin.ping:"), "inventory": inventory}, ctx)
    assert outcome.status == "failed"
    assert "Host ghost is unreachable." in outcome.summary
    assert "unreachable=1" in outcome.summary


@pytest.mark.parametrize(
    "value",
    [
        "$(touch {marker})",
        "; rm -rf / ; touch {marker}",
        "{{{{ lookup('pipe', 'touch {marker}') }}}}",
        "`touch {marker}`",
    ],
)
def test_injection_through_extra_vars_stays_a_literal_string(tmp_path, ansible, value, runner_writable_dir):
    # Given a parameter value a shell or Jinja would run, passed into extra vars by fill()
    pwned = Path(f"/tmp/pwned-{uuid.uuid4()}")
    value = value.format(marker=pwned)
    out = runner_writable_dir / "out.txt"
    spec = fill(
        {
            "playbook": "smoke-local.yml",
            "inventory": "local",
            "extra_vars": {"message": "{{ target }}", "marker_path": str(out)},
        },
        {"target": value},
    )
    ctx, lines = make_ctx(tmp_path)
    outcome = ansible.run(spec, ctx)
    # Then it arrives as text, is written as text, and nothing ran
    assert outcome.status == "succeeded", lines
    assert out.read_text() == value
    assert not pwned.exists()


def test_cluster_inventory_is_used(tmp_path, ansible):
    cluster = Cluster(name="prod-a", ansible_inventory=f"[workers]\nworker-7 {LOCAL_HOST}\nworker-8 {LOCAL_HOST}\n")
    ctx, lines = make_ctx(tmp_path, cluster=cluster)
    playbook = inline("- ansible.builtin.debug:\n    msg: 'host={{ inventory_hostname }}'", hosts="workers")
    outcome = ansible.run({"playbook_yaml": playbook, "inventory": "cluster", "limit": "worker-8"}, ctx)
    assert outcome.status == "succeeded", lines
    assert '    "msg": "host=worker-8"' in lines
    assert not any("worker-7" in line for line in lines)
    assert "--limit worker-8" in outcome.command


def test_cluster_yaml_inventory_is_used(tmp_path, ansible):
    inventory = (
        "all:\n  children:\n    masters:\n      hosts:\n        cp-1:\n"
        "          ansible_connection: local\n          ansible_python_interpreter: python3\n"
    )
    ctx, lines = make_ctx(tmp_path, cluster=Cluster(name="yaml-inv", ansible_inventory=inventory))
    outcome = ansible.run(
        {
            "playbook_yaml": inline(
                "- ansible.builtin.debug:\n    msg: 'host={{ inventory_hostname }}'", hosts="masters"
            ),
            "inventory": "cluster",
        },
        ctx,
    )
    assert outcome.status == "succeeded", lines
    assert '    "msg": "host=cp-1"' in lines


def test_cluster_without_inventory_is_an_error(tmp_path, ansible):
    ctx, _ = make_ctx(tmp_path, cluster=Cluster(name="empty"))
    with pytest.raises(AutomationError, match="has no Ansible inventory"):
        ansible.run({"playbook": "smoke-local.yml", "inventory": "cluster"}, ctx)
    ctx, _ = make_ctx(tmp_path)
    with pytest.raises(AutomationError, match="the step has no cluster"):
        ansible.run({"playbook": "smoke-local.yml", "inventory": "cluster"}, ctx)


def test_tags_select_tasks(tmp_path, ansible):
    playbook = inline(
        "- ansible.builtin.debug:\n    msg: tagged-a\n  tags: [a]",
        "- ansible.builtin.debug:\n    msg: tagged-b\n  tags: [b]",
    )
    ctx, lines = make_ctx(tmp_path)
    outcome = ansible.run({"playbook_yaml": playbook, "inventory": "local", "tags": ["b"]}, ctx)
    assert outcome.status == "succeeded", lines
    assert '    "msg": "tagged-b"' in lines
    assert '    "msg": "tagged-a"' not in lines


def test_child_environment_does_not_inherit_the_worker_secrets(tmp_path, ansible, monkeypatch):
    monkeypatch.setenv("OKNO_TEST_WORKER_SECRET", "s3cr3t-value")
    ctx, lines = make_ctx(tmp_path, env={"FROM_CTX": "ctx-value"})
    playbook = inline(
        "- ansible.builtin.command: printenv\n  register: printed",
        "- ansible.builtin.debug:\n    var: printed.stdout_lines",
    )
    outcome = ansible.run({"playbook_yaml": playbook, "inventory": "local"}, ctx)
    assert outcome.status == "succeeded", lines
    text = "\n".join(lines)
    assert "FROM_CTX=ctx-value" in text
    assert "s3cr3t-value" not in text


@pytest.mark.parametrize(
    "spec",
    [
        {"inventory": "local"},
        {"playbook": "smoke-local.yml", "playbook_yaml": "- hosts: all", "inventory": "local"},
        {"playbook": "../../etc/passwd", "inventory": "local"},
        {"playbook": "sub/smoke-local.yml", "inventory": "local"},
        {"playbook": "..smoke-local.yml", "inventory": "local"},
        {"playbook": "no-such.yml", "inventory": "local"},
        {"playbook_yaml": "- hosts: [unclosed", "inventory": "local"},
        {"playbook_yaml": "just text", "inventory": "local"},
        {"playbook": "smoke-local.yml"},
        {"playbook": "smoke-local.yml", "inventory": "local", "extra_vars": ["a"]},
        {"playbook": "smoke-local.yml", "inventory": "local", "tags": [1]},
        {"playbook": "smoke-local.yml", "inventory": "local", "check": "yes"},
    ],
)
def test_malformed_specs_are_refused(ansible, spec):
    with pytest.raises(AutomationError):
        ansible.check(spec)


def test_describe(ansible):
    spec = {"playbook": "node-maintenance.yml", "inventory": "cluster", "limit": "worker-1", "check": True}
    assert ansible.describe(spec) == "ansible-playbook node-maintenance.yml --limit worker-1 --check"
    spec = {
        "playbook": "kubeadm-upgrade-node.yml",
        "inventory": "cluster",
        "limit": "cp-1",
        "extra_vars": {"target_version": "1.31.2"},
    }
    assert ansible.describe(spec) == "ansible-playbook kubeadm-upgrade-node.yml --limit cp-1 -e target_version=1.31.2"


# --- stopping ---------------------------------------------------------------------------------------
#
# How a stopped run ended is read from events, not from a clock: ansible-runner handles SIGTERM and exits
# with 254 (its "canceled"); -9 would mean it had to be killed after the grace, None that the worker's
# backstop gave up on the runner. The grace is generous: SIGKILL must not win a race on a loaded machine,
# and a run that ends on SIGTERM never waits for it.

CANCELED_BY_SIGTERM = 254  # ansible-runner's exit code once its SIGTERM handler cancelled the playbook
GRACE_SECONDS = 20
TASK_START_DEADLINE_SECONDS = 60  # bounds a failure: ansible-playbook on a loaded machine is slow to start


def unique_sleep():
    return ["sleep", f"300.{uuid.uuid4().int % 10**8:08d}"]


def stop_once_running(argv, reason, seen):
    """stop_reason that answers `reason` once a process running `argv` exists (appending its pids to `seen`).

    After TASK_START_DEADLINE_SECONDS without one it answers `reason` anyway: that bounds a failure (the task
    never started), the test then fails on `seen`."""
    deadline = time.monotonic() + TASK_START_DEADLINE_SECONDS

    def stop_reason():
        if not seen:
            seen.extend(processes_with(*argv))
        if seen or time.monotonic() > deadline:
            return reason
        return None

    return stop_reason


def cut_short(lines, task):
    """The play stopped inside `task`: its banner is the last line, and no result or recap came after it."""
    return lines[-1].startswith(f"TASK [{task}]") and not any(line.startswith("PLAY RECAP") for line in lines)


@pytest.mark.parametrize("reason", ["cancelled", "timed_out"])
def test_stop_ends_a_sleep_300_task(tmp_path, ansible, settings, reason):
    # Given a playbook whose task runs `sleep 300`
    settings.OKNO_AUTOMATION_KILL_GRACE_SECONDS = GRACE_SECONDS
    sleep = unique_sleep()
    seen = []
    ctx, lines = make_ctx(tmp_path, stop_reason=stop_once_running(sleep, reason, seen))
    playbook = inline(f"- ansible.builtin.command: {' '.join(sleep)}")
    # When it is cancelled (or times out) while the sleep runs
    outcome = ansible.run({"playbook_yaml": playbook, "inventory": "local"}, ctx)
    # Then the run ends with that status, on SIGTERM (not after the sleep, nor killed after the grace),
    # inside the sleep task, and no sleep is left
    assert seen, "the sleep task never started"
    assert outcome.status == reason
    assert outcome.exit_code == CANCELED_BY_SIGTERM, (outcome, lines)
    assert cut_short(lines, "ansible.builtin.command"), lines
    assert wait_gone(sleep) == []


def test_context_timeout_ends_the_run(tmp_path, ansible, settings):
    # Given a run with a 4 s timeout (the runner service keeps it) whose task would sleep for 300 s
    settings.OKNO_AUTOMATION_KILL_GRACE_SECONDS = GRACE_SECONDS
    sleep = unique_sleep()
    ctx, lines = make_ctx(tmp_path, timeout=4)
    outcome = ansible.run(
        {"playbook_yaml": inline(f"- ansible.builtin.command: {' '.join(sleep)}"), "inventory": "local"}, ctx
    )
    # Then the runner service's timeout ended it with SIGTERM: 254 once ansible-runner's handler is in place,
    # -15 if a slow start let the timeout come first; never -9 (the grace) nor None (the worker's backstop)
    assert outcome.status == "timed_out"
    assert outcome.exit_code in (CANCELED_BY_SIGTERM, -15), (outcome, lines)
    assert not any(line.startswith("PLAY RECAP") for line in lines), lines
    assert wait_gone(sleep) == []


def test_a_task_ignoring_sigterm_and_one_that_left_the_group_are_killed(tmp_path, ansible, settings):
    # Given a daemon that started its own session, and a task, both ignoring SIGTERM
    settings.OKNO_AUTOMATION_KILL_GRACE_SECONDS = GRACE_SECONDS
    escaped, stubborn = unique_sleep(), unique_sleep()
    seen = []
    escaped_at_stop = []
    stop_when_stubborn_runs = stop_once_running(stubborn, "cancelled", seen)

    def stop_reason():
        reason = stop_when_stubborn_runs()
        if reason and not escaped_at_stop:
            escaped_at_stop.append(bool(processes_with(*escaped)))
        return reason

    ctx, lines = make_ctx(tmp_path, stop_reason=stop_reason)
    playbook = inline(
        f"- ansible.builtin.shell: setsid -f sh -c \"trap '' TERM; exec {' '.join(escaped)}\" >/dev/null 2>&1",
        f"- ansible.builtin.shell: trap '' TERM; {' '.join(stubborn)}",
    )
    outcome = ansible.run({"playbook_yaml": playbook, "inventory": "local"}, ctx)
    # Then ansible-playbook ends on SIGTERM (ansible-runner's 254: the run did not wait for the grace or for
    # the two sleeps), and whatever is left (the sleep that ignores SIGTERM, the one in its own session) is
    # SIGKILLed by the sweep of the run's marked processes once the leader is gone
    assert seen, lines
    assert escaped_at_stop == [True]
    assert outcome.status == "cancelled"
    assert outcome.exit_code == CANCELED_BY_SIGTERM, (outcome, lines)
    assert cut_short(lines, "ansible.builtin.shell"), lines
    assert wait_gone(stubborn) == []
    assert wait_gone(escaped) == []


def test_runs_without_an_activated_virtualenv(tmp_path, ansible, monkeypatch):
    # A worker started as .venv/bin/celery has no virtualenv on PATH; ansible-playbook must still be found.
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    ctx, lines = make_ctx(tmp_path)
    outcome = ansible.run({"playbook": "smoke-local.yml", "inventory": "local"}, ctx)
    assert outcome.status == "succeeded", lines
