"""Run one program as an argument list in its own process group, line by line, with timeout and cancel.

No shell is involved. The child starts a new session, so the whole tree it starts (unless a descendant
starts a session of its own) ends with it: SIGTERM to the group, SIGKILL after a grace period, and once
more SIGKILL to the group after the leader exits, so no straggler keeps the output pipe open.
"""

import os
import queue
import shlex
import signal
import subprocess
import threading
import time

from django.conf import settings

from .base import Outcome

POLL_SECONDS = 0.1


def format_command(argv):
    return shlex.join(str(arg) for arg in argv)


def _kill_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _reader(stream, lines):
    try:
        for raw in iter(stream.readline, b""):
            lines.put(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
    finally:
        lines.put(None)


def base_env(extra=None):
    """A small environment: the virtualenv's bin first on PATH (ansible-playbook, kubectl), locale UTF-8."""
    venv_bin = os.path.join(os.sys.prefix, "bin")
    path = os.pathsep.join([venv_bin, os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")])
    env = {"PATH": path, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": os.environ.get("HOME", "/tmp")}
    env.update(extra or {})
    return env


def run_process(argv, ctx, *, env=None, cwd=None, stdin_text=None, success_codes=(0,)):
    """Run `argv`, feed `ctx.output` each line, stop on ctx.stop_reason(); return an Outcome."""
    grace = float(getattr(settings, "OKNO_AUTOMATION_KILL_GRACE_SECONDS", 5))
    command = format_command(argv)
    try:
        proc = subprocess.Popen(
            [str(arg) for arg in argv], stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd or ctx.workdir,
            env=base_env({**ctx.env, **(env or {})}), start_new_session=True, close_fds=True,
        )
    except OSError as exc:
        ctx.output(f"{command}: {exc.strerror or exc}")
        return Outcome(status="failed", exit_code=127, summary=str(exc.strerror or exc), command=command)
    if stdin_text is not None:
        try:
            proc.stdin.write(stdin_text.encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass
    lines = queue.Queue()
    reader = threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True)
    reader.start()
    stopped, term_sent_at, eof = None, None, False
    deadline = time.monotonic() + ctx.timeout if ctx.timeout else None  # a backstop to the caller's own timeout
    while True:
        try:
            line = lines.get(timeout=POLL_SECONDS)
        except queue.Empty:
            line = ""
        if line is None:
            eof = True
        elif line:
            ctx.output(line)
        if stopped is None:
            stopped = ctx.stop_reason() or ("timed_out" if deadline and time.monotonic() > deadline else None)
            if stopped:
                _kill_group(proc.pid, signal.SIGTERM)
                term_sent_at = time.monotonic()
        elif term_sent_at and time.monotonic() - term_sent_at > grace:
            _kill_group(proc.pid, signal.SIGKILL)
            term_sent_at = None
        if proc.poll() is not None:
            # The leader is gone: end whatever it left in its group, then drain the pipe.
            _kill_group(proc.pid, signal.SIGKILL)
            if not eof:
                reader.join(timeout=2)
            while True:
                try:
                    rest = lines.get_nowait()
                except queue.Empty:
                    break
                if rest:
                    ctx.output(rest)
            break
    code = proc.wait()
    if stopped == "cancelled":
        return Outcome(status="cancelled", exit_code=code, command=command)
    if stopped == "timed_out":
        return Outcome(status="timed_out", exit_code=code, command=command)
    status = "succeeded" if code in success_codes else "failed"
    return Outcome(status=status, exit_code=code, command=command)
