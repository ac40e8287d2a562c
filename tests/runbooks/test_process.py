"""run_process: real programs in the runner service (docs/runner.md), output line by line, exit code, timeout
and cancel end the whole tree. Programs are named as a job sees them: `python3` is the runner's own Python."""

import os
import time
import uuid

from runbooks.runners.base import RunContext
from runbooks.runners.process import run_process

PYTHON = "python3"  # the runner's interpreter (this process's may be out of the runner user's reach)


def make_ctx(tmp_path, *, stop_after=None, reason="cancelled", **kwargs):
    """A context that collects lines; stop_reason() returns `reason` once `stop_after` seconds passed."""
    lines = []
    started = time.monotonic()

    def stop_reason():
        if stop_after is not None and time.monotonic() - started > stop_after:
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


def wait_gone(argv, seconds=3.0):
    """The processes still running `argv` after waiting up to `seconds` (the kernel reaps asynchronously)."""
    deadline = time.monotonic() + seconds
    while True:
        left = processes_with(*argv)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def unique_sleep():
    # `sleep 300.<digits>` is still a five-minute sleep, but no other test's process can match it.
    return ["sleep", f"300.{uuid.uuid4().int % 10**8:08d}"]


def test_output_arrives_line_by_line_in_order(tmp_path):
    ctx, lines = make_ctx(tmp_path)
    outcome = run_process([PYTHON, "-c", "import sys\nfor i in range(200): print('line', i, flush=i % 7 == 0)\nsys.stdout.flush()\nsys.stderr.write('to stderr\\n')"], ctx)
    assert outcome.status == "succeeded"
    assert outcome.exit_code == 0
    assert lines[:200] == [f"line {i}" for i in range(200)]
    assert lines[200:] == ["to stderr"]
    assert outcome.command.startswith(PYTHON)


def test_lines_are_streamed_before_the_program_ends(tmp_path):
    seen_at = []
    ctx, _ = make_ctx(tmp_path)
    ctx.output = lambda line: seen_at.append((line, time.monotonic()))
    started = time.monotonic()
    run_process([PYTHON, "-c", "import time\nprint('first', flush=True)\ntime.sleep(1)\nprint('second')"], ctx)
    assert [line for line, _ in seen_at] == ["first", "second"]
    assert seen_at[0][1] - started < 0.9  # "first" came while the program was still sleeping
    assert seen_at[1][1] - seen_at[0][1] > 0.8


def test_exit_code_decides(tmp_path):
    ctx, lines = make_ctx(tmp_path)
    outcome = run_process([PYTHON, "-c", "print('bad'); raise SystemExit(3)"], ctx)
    assert (outcome.status, outcome.exit_code) == ("failed", 3)
    assert lines == ["bad"]
    assert run_process(["true"], ctx).status == "succeeded"


def test_missing_program_fails_with_127(tmp_path):
    ctx, lines = make_ctx(tmp_path)
    outcome = run_process(["/nonexistent/okno-program"], ctx)
    assert (outcome.status, outcome.exit_code) == ("failed", 127)
    assert "/nonexistent/okno-program" in lines[0]


def test_timeout_ends_the_whole_tree(tmp_path):
    # Given a command that leaves a background `sleep 300` child and waits for it
    sleep = unique_sleep()
    ctx, lines = make_ctx(tmp_path, stop_after=0.5, reason="timed_out")
    started = time.monotonic()
    outcome = run_process(["sh", "-c", f'{" ".join(sleep)} & echo started; wait'], ctx)
    # Then the run ends soon, as timed out, and the background child is gone too
    assert outcome.status == "timed_out"
    assert time.monotonic() - started < 4
    assert lines == ["started"]
    assert wait_gone(sleep) == []


def test_context_timeout_is_a_backstop(tmp_path):
    sleep = unique_sleep()
    ctx, _ = make_ctx(tmp_path, timeout=0.5)
    started = time.monotonic()
    outcome = run_process(sleep, ctx)
    assert outcome.status == "timed_out"
    assert time.monotonic() - started < 3
    assert wait_gone(sleep) == []


def test_cancel_ends_the_tree_within_the_grace_period(tmp_path, settings):
    settings.OKNO_AUTOMATION_KILL_GRACE_SECONDS = 5
    sleep = unique_sleep()
    ctx, _ = make_ctx(tmp_path, stop_after=0.5, reason="cancelled")
    started = time.monotonic()
    outcome = run_process(["sh", "-c", f"{' '.join(sleep)} & {' '.join(sleep)}"], ctx)
    elapsed = time.monotonic() - started
    assert outcome.status == "cancelled"
    assert elapsed < 0.5 + 2  # SIGTERM was enough: well inside the 5 s grace
    assert wait_gone(sleep) == []


def test_a_program_ignoring_sigterm_is_killed_after_the_grace(tmp_path, settings):
    settings.OKNO_AUTOMATION_KILL_GRACE_SECONDS = 1
    sleep = unique_sleep()
    ctx, lines = make_ctx(tmp_path, stop_after=0.3, reason="cancelled")
    script = (
        "import signal, subprocess, sys\n"
        "signal.signal(signal.SIGTERM, lambda *a: print('ignoring SIGTERM', flush=True))\n"
        f"child = subprocess.Popen({sleep!r}, preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_IGN))\n"
        "print('ready', flush=True)\n"
        "while True:\n"
        "    signal.pause()\n"
    )
    started = time.monotonic()
    outcome = run_process([PYTHON, "-c", script], ctx)
    elapsed = time.monotonic() - started
    assert outcome.status == "cancelled"
    assert "ignoring SIGTERM" in lines  # it did get SIGTERM first …
    assert 1.0 < elapsed < 4  # … and SIGKILL only after the 1 s grace
    assert outcome.exit_code == -9
    assert wait_gone(sleep) == []


def test_stdin_and_environment(tmp_path):
    ctx, lines = make_ctx(tmp_path, env={"FROM_CTX": "ctx"})
    outcome = run_process(["sh", "-c", 'cat; echo "$FROM_CTX $FROM_ARG"; pwd'], ctx, env={"FROM_ARG": "arg"}, stdin_text="from stdin\n")
    assert outcome.status == "succeeded"
    # the job runs in a private work dir of the runner's, not in the worker's
    assert lines[:2] == ["from stdin", "ctx arg"]
    assert lines[2] != str(tmp_path) and lines[2].rsplit("/", 1)[1].startswith("job-")
