"""The `shell` runner: argument lists only; parameter values stay literal text."""

import uuid
from pathlib import Path

import pytest
from django.utils import translation

from runbooks import runners
from runbooks.runners.base import AutomationError, RunContext, UnsafeParameter, fill


@pytest.fixture(autouse=True)
def english():
    """Runner messages are asserted in their English source text (the UI's Russian is checked in the web tests)."""
    with translation.override("en"):
        yield


def make_ctx(tmp_path, **kwargs):
    lines = []
    return RunContext(workdir=tmp_path, output=lines.append, stop_reason=lambda: None, **kwargs), lines


@pytest.fixture
def shell():
    return runners.get("shell")


def test_registered_with_label(shell):
    assert shell.kind == "shell"
    assert str(shell.label) == "Command (argument list)"
    assert ("shell", shell.label) in runners.choices()


def test_runs_the_argument_list(tmp_path, shell):
    ctx, lines = make_ctx(tmp_path)
    spec = fill(
        {"argv": ["printf", "%s|%s\n", "{{ a }}", "{{ b }}"], "env": {"GREETING": "hi"}}, {"a": "one two", "b": "x"}
    )
    outcome = shell.run(spec, ctx)
    assert outcome.status == "succeeded"
    assert lines == ["one two|x"]
    assert outcome.command == "printf '%s|%s\n' 'one two' x"


def test_env_reaches_the_program(tmp_path, shell):
    ctx, lines = make_ctx(tmp_path)
    outcome = shell.run({"argv": ["printenv", "GREETING"], "env": {"GREETING": "hello there"}}, ctx)
    assert (outcome.status, lines) == ("succeeded", ["hello there"])


def test_failing_command_fails(tmp_path, shell):
    ctx, _ = make_ctx(tmp_path)
    outcome = shell.run({"argv": ["ls", str(tmp_path / "missing")]}, ctx)
    assert outcome.status == "failed"
    assert outcome.exit_code != 0


@pytest.mark.parametrize(
    "value_template",
    ["; rm -rf /", "$(touch {marker})", "`touch {marker}`", "`id`", "| touch {marker}", "&& touch {marker}"],
)
def test_injection_attempts_print_literally_and_create_nothing(tmp_path, shell, value_template):
    # Given a parameter value that a shell would run
    marker = Path(f"/tmp/pwned-{uuid.uuid4()}")
    value = value_template.format(marker=marker)
    spec = fill({"argv": ["printf", "%s\n", "{{ target }}"]}, {"target": value})
    shell.check({"argv": ["printf", "%s\n", "{{ target }}"]})
    # When it runs
    ctx, lines = make_ctx(tmp_path)
    outcome = shell.run(spec, ctx)
    # Then it is printed as text, and nothing ran
    assert outcome.status == "succeeded"
    assert lines == [value]
    # No wait needed: the runner ends the job's whole process tree before it reports the exit (docs/runner.md)
    assert not marker.exists()


def test_option_like_value_is_refused_before_anything_runs(tmp_path):
    with pytest.raises(UnsafeParameter):
        fill({"argv": ["kubectl", "get", "pods", "{{ target }}"]}, {"target": "--server=http://127.0.0.1:1"})


@pytest.mark.parametrize(
    "argv",
    [
        "rm -rf /tmp/x",
        ["sh", "-c", "echo {{ target }}"],
        ["/bin/bash", "-c", "echo hi"],
        ["bash", "-lc", "echo hi"],
        ["dash", "-ec", "echo hi"],
        ["/usr/bin/zsh", "-c", "echo"],
        ["ksh", "-c", "echo"],
        ["busybox", "sh", "-c", "echo"],
    ],
)
def test_shell_string_forms_are_refused(shell, argv):
    with pytest.raises(AutomationError, match="Shell strings are not allowed"):
        shell.check({"argv": argv})


def test_shell_running_a_script_file_is_allowed(shell):
    shell.check({"argv": ["bash", "/opt/scripts/rotate.sh", "{{ node }}"]})


@pytest.mark.parametrize(
    "spec",
    [
        {},
        {"argv": []},
        {"argv": ["ls", 3]},
        {"argv": ["{{ program }}", "x"]},
        {"argv": ["ls"], "env": ["A=b"]},
        {"argv": ["ls"], "env": {"A": 1}},
        {"argv": ["ls"], "env": {"BAD NAME": "x"}},
        {"argv": ["ls"], "dry_run_argv": ["sh", "-c", "ls"]},
    ],
)
def test_malformed_specs_are_refused(shell, spec):
    with pytest.raises(AutomationError):
        shell.check(spec)


def test_describe(shell):
    assert (
        shell.describe({"argv": ["systemctl", "restart", "kubelet service"]}) == "systemctl restart 'kubelet service'"
    )


def test_dry_run_without_dry_run_argv_is_skipped(tmp_path, shell):
    marker = tmp_path / "ran"
    ctx, lines = make_ctx(tmp_path, dry_run=True)
    outcome = shell.run({"argv": ["touch", str(marker)]}, ctx)
    assert outcome.status == "skipped"
    assert outcome.summary == "No dry run defined for this command."
    assert not marker.exists()
    assert lines == []


def test_dry_run_runs_dry_run_argv(tmp_path, shell):
    marker = tmp_path / "ran"
    ctx, lines = make_ctx(tmp_path, dry_run=True)
    outcome = shell.run({"argv": ["touch", str(marker)], "dry_run_argv": ["echo", "would touch", str(marker)]}, ctx)
    assert outcome.status == "succeeded"
    assert lines == [f"would touch {marker}"]
    assert outcome.command == f"echo 'would touch' {marker}"
    assert not marker.exists()
