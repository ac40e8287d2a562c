"""run_process: real programs in the runner service (docs/runner.md), output line by line, exit code, timeout
and cancel end the whole tree. Programs are named as a job sees them: `python3` is the runner's own Python."""

import json
import os
import time
import uuid

from runbooks.runners.base import RunContext
from runbooks.runners.process import run_process
from tests.waiting import FAILURE_DEADLINE_SECONDS, wait_until

PYTHON = "python3"  # the runner's interpreter (this process's may be out of the runner user's reach)


def make_ctx(tmp_path, *, stop_on=None, reason="cancelled", **kwargs):
    """A context that collects lines; stop_reason() returns `reason` once the program printed the line `stop_on`
    (an event the program controls, not a delay that a loaded machine might outlast)."""
    lines = []

    def stop_reason():
        if stop_on is not None and stop_on in lines:
            return reason
        return None

    return RunContext(workdir=tmp_path, output=lines.append, stop_reason=stop_reason, **kwargs), lines


def processes_with(*argv):
    """Live processes whose command line is exactly `argv` (read from /proc; zombies do not count)."""
    wanted = "\0".join(argv) + "\0"
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline") as fh:
                cmdline = fh.read()
            with open(f"/proc/{entry}/stat") as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if cmdline == wanted and state != "Z":
            found.append(int(entry))
    return found


def wait_gone(argv, seconds=FAILURE_DEADLINE_SECONDS):
    """The processes still running `argv` once they are gone, or after `seconds` (the kernel reaps
    asynchronously; the deadline only bounds a failure)."""
    try:
        wait_until(lambda: not processes_with(*argv), timeout=seconds)
    except AssertionError:
        pass
    return processes_with(*argv)


def unique_sleep():
    # `sleep 300.<digits>` is still a five-minute sleep, but no other test's process can match it.
    return ["sleep", f"300.{uuid.uuid4().int % 10**8:08d}"]


def test_output_arrives_line_by_line_in_order(tmp_path):
    ctx, lines = make_ctx(tmp_path)
    outcome = run_process(
        [
            PYTHON,
            "-c",
            "import sys\nfor i in range(200): print('line', i, flush=i % 7 == 0)\n"
            "sys.stdout.flush()\nsys.stderr.write('to stderr\\n')",
        ],
        ctx,
    )
    assert outcome.status == "succeeded"
    assert outcome.exit_code == 0
    assert lines[:200] == [f"line {i}" for i in range(200)]
    assert lines[200:] == ["to stderr"]
    assert outcome.command.startswith(PYTHON)


def test_lines_are_streamed_before_the_program_ends(tmp_path, runner_writable_dir):
    """The program prints "first", then waits until the test has received it before printing "second" (the
    test creates a file when the line arrives). Output held back until the program ends would never let it
    finish: the run would time out instead of succeeding."""
    go = runner_writable_dir / "first-arrived"
    ctx, lines = make_ctx(tmp_path, timeout=FAILURE_DEADLINE_SECONDS)

    def on_line(line):
        lines.append(line)
        if line == "first":
            go.touch()

    program = (
        "import os, time\nprint('first', flush=True)\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.01)\nprint('second')"
    )
    outcome = run_process([PYTHON, "-c", program], ctx, on_line=on_line)
    assert outcome.status == "succeeded"
    assert lines == ["first", "second"]


def test_exit_code_decides(tmp_path):
    ctx, lines = make_ctx(tmp_path)
    outcome = run_process([PYTHON, "-c", "print('bad'); raise SystemExit(3)"], ctx)
    assert (outcome.status, outcome.exit_code) == ("failed", 3)
    assert lines == ["bad"]
    assert run_process(["true"], ctx).status == "succeeded"


SHELL_SYNTAX = [
    "$(echo substituted)",
    "`echo substituted`",
    "a; echo injected",
    "b && echo injected",
    "c | cat",
    "*",
    "$HOME",
    "two  spaces",
    "'quoted'",
    '"double"',
    "> redirected",
    "# comment",
]


def test_arguments_reach_the_program_literally_never_through_a_shell(tmp_path):
    """argv goes to exec as a list: no shell expands, splits, substitutes or redirects anything in it.

    Break it by hand: in okno_runner/server.py `run_job`, add `shell=True` to the `subprocess.Popen(...)` call.
    `sh -c` then runs argv[0] alone as a script (`python3` reading an empty stdin prints nothing) and this
    test fails; so does any shell that expands the strings below.
    """
    # Given arguments full of shell syntax
    ctx, lines = make_ctx(tmp_path)
    # When a program prints the arguments it received
    program = "import json, os, sys; print(json.dumps(sys.argv[1:])); print(sorted(os.listdir()))"
    outcome = run_process([PYTHON, "-c", program, *SHELL_SYNTAX], ctx)
    # Then it saw each one exactly as written, and nothing was redirected into a file
    assert outcome.status == "succeeded" and len(lines) == 2, lines
    assert json.loads(lines[0]) == SHELL_SYNTAX
    assert lines[1] == "[]"  # the job's work dir: no file named "redirected"


def test_a_command_line_as_one_string_is_a_program_name_not_a_script(tmp_path):
    """Break it by hand as above (`shell=True`): the string then runs as a shell script and prints "injected"."""
    ctx, lines = make_ctx(tmp_path)
    outcome = run_process(["echo injected; echo twice"], ctx)
    assert (outcome.status, outcome.exit_code) == ("failed", 127)  # no program of that name
    assert "injected" not in lines and "twice" not in lines


def test_missing_program_fails_with_127(tmp_path):
    ctx, lines = make_ctx(tmp_path)
    outcome = run_process(["/nonexistent/okno-program"], ctx)
    assert (outcome.status, outcome.exit_code) == ("failed", 127)
    assert "/nonexistent/okno-program" in lines[0]


def test_timeout_ends_the_whole_tree(tmp_path):
    # Given a command that leaves a background `sleep 300` child and waits for it
    sleep = unique_sleep()
    ctx, lines = make_ctx(tmp_path, stop_on="started", reason="timed_out")
    # When the run's time is up once it started
    outcome = run_process(["sh", "-c", f"{' '.join(sleep)} & echo started; wait"], ctx)
    # Then the run ends (not after the five-minute sleep), as timed out, and the background child is gone too
    assert outcome.status == "timed_out"
    assert lines == ["started"]
    assert wait_gone(sleep) == []


def test_context_timeout_is_a_backstop(tmp_path):
    sleep = unique_sleep()
    ctx, _ = make_ctx(tmp_path, timeout=0.5)
    started = time.monotonic()
    outcome = run_process(sleep, ctx)
    assert outcome.status == "timed_out"
    assert time.monotonic() - started < FAILURE_DEADLINE_SECONDS  # a hang guard: the sleep itself lasts 300 s
    assert wait_gone(sleep) == []


def test_cancel_ends_the_tree_within_the_grace_period(tmp_path, settings):
    settings.OKNO_AUTOMATION_KILL_GRACE_SECONDS = 5
    sleep = unique_sleep()
    ctx, _ = make_ctx(tmp_path, stop_on="started", reason="cancelled")
    outcome = run_process(["sh", "-c", f"{' '.join(sleep)} & echo started; {' '.join(sleep)}"], ctx)
    assert outcome.status == "cancelled"
    assert outcome.exit_code == -15  # SIGTERM was enough (after the grace it would have been SIGKILL, -9)
    assert wait_gone(sleep) == []


def test_a_program_ignoring_sigterm_is_killed_after_the_grace(tmp_path, settings):
    settings.OKNO_AUTOMATION_KILL_GRACE_SECONDS = 1
    sleep = unique_sleep()
    ctx, lines = make_ctx(tmp_path, stop_on="ready", reason="cancelled")
    script = (
        "import os, signal, subprocess, sys\n"
        # os.write, not print: a handler that prints while print() is writing raises "reentrant call"
        "signal.signal(signal.SIGTERM, lambda *a: os.write(1, b'ignoring SIGTERM\\n'))\n"
        f"child = subprocess.Popen({sleep!r}, preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_IGN))\n"
        "os.write(1, b'ready\\n')\n"
        "while True:\n"
        "    signal.pause()\n"
    )
    outcome = run_process([PYTHON, "-c", script], ctx)
    assert outcome.status == "cancelled"
    assert lines[0] == "ready" and "ignoring SIGTERM" in lines[1:]  # it got SIGTERM first and lived on …
    assert outcome.exit_code == -9  # … until SIGKILL after the grace
    assert wait_gone(sleep) == []


def test_stdin_and_environment(tmp_path):
    ctx, lines = make_ctx(tmp_path, env={"FROM_CTX": "ctx"})
    outcome = run_process(
        ["sh", "-c", 'cat; echo "$FROM_CTX $FROM_ARG"; pwd'], ctx, env={"FROM_ARG": "arg"}, stdin_text="from stdin\n"
    )
    assert outcome.status == "succeeded"
    # the job runs in a private work dir of the runner's, not in the worker's
    assert lines[:2] == ["from stdin", "ctx arg"]
    assert lines[2] != str(tmp_path) and lines[2].rsplit("/", 1)[1].startswith("job-")
