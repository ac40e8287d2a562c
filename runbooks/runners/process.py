"""Run one program as an argument list through the runner service, line by line, with timeout and cancel.

Commands never run in the worker's process tree: the worker holds Okno's keys (SECRET_KEY,
OKNO_SECRETS_KEYS, DATABASE_URL) and a child could read them from /proc/<ppid>/environ. The job goes to
the runner service (okno_runner, docs/runner.md) over OKNO_RUNNER_SOCKET with exactly what it needs: argv,
its environment, the files it reads (kubeconfig, inventory …, written into a private work dir there), stdin
and the timeout. The runner streams the output back line by line, and ends the job's whole process tree on
cancel, timeout or when this side disconnects. No local fallback: an unreachable runner fails the run.
"""

import json
import queue
import shlex
import socket
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from .base import Outcome, RunContext

POLL_SECONDS = 0.1
CONNECT_TIMEOUT_SECONDS = 5
RUNNER_SLACK_SECONDS = 30  # past timeout + grace: the runner itself is stuck


def format_command(argv: Iterable[object]) -> str:
    return shlex.join(str(arg) for arg in argv)


class RunnerUnavailable(Exception):
    pass


def _connect() -> socket.socket:
    address = settings.OKNO_RUNNER_SOCKET
    try:
        if address.startswith("tcp://"):
            host, _sep, port = address[len("tcp://") :].rpartition(":")
            sock = socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_SECONDS)
        else:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(CONNECT_TIMEOUT_SECONDS)
            sock.connect(address)
        sock.settimeout(None)
        return sock
    except (OSError, ValueError) as exc:
        raise RunnerUnavailable(
            _(
                "The runner service is not reachable at %(address)s (%(error)s)."
                " Commands run only in the runner service, never in the worker:"
                " start it (scripts/runner.sh) and run again."
            )
            % {"address": address, "error": getattr(exc, "strerror", None) or exc}
        ) from None


def _receive(sock: socket.socket, messages: "queue.Queue[dict[str, Any] | None]") -> None:
    """Messages of the runner, one per line, into `messages`; None when the connection ends."""
    try:
        with sock.makefile("rb") as rfile:
            for raw in rfile:
                try:
                    messages.put(json.loads(raw.decode("utf-8")))
                except ValueError:
                    continue
    except OSError:
        pass
    finally:
        messages.put(None)


def _send(sock: socket.socket, message: dict[str, Any]) -> bool:
    try:
        sock.sendall((json.dumps(message, ensure_ascii=False) + "\n").encode("utf-8"))
        return True
    except OSError:
        return False


def run_process(
    argv: list[str],
    ctx: RunContext,
    *,
    env: Mapping[str, str] | None = None,
    files: Mapping[str, str] | None = None,
    env_paths: Mapping[str, str] | None = None,
    stdin_text: str | None = None,
    success_codes: Collection[int] = (0,),
    on_line: Callable[[str], None] | None = None,
) -> Outcome:
    """Run `argv` in the runner service; feed `on_line` (ctx.output by default) each line, stop on
    ctx.stop_reason(); return an Outcome.

    `files`: {relative path: text} written (0600) into the job's private work dir before it starts, which is
    also its working directory; `env_paths`: {VARIABLE: relative path} set to that path inside the work dir
    ("" is the work dir itself)."""
    on_line = on_line or ctx.output
    grace = float(settings.OKNO_AUTOMATION_KILL_GRACE_SECONDS)
    command = format_command(argv)
    job = {
        "type": "job",
        "argv": [str(arg) for arg in argv],
        "env": {**ctx.env, **(env or {})},
        "env_paths": env_paths or {},
        "files": [{"path": path, "content": text, "mode": 0o600} for path, text in (files or {}).items()],
        "stdin": stdin_text,
        "timeout": ctx.timeout or None,
        "grace": grace,
    }
    if settings.OKNO_RUNNER_SOCKET.startswith("tcp://"):
        job["token"] = settings.OKNO_RUNNER_TOKEN
    try:
        sock = _connect()
    except RunnerUnavailable as exc:
        ctx.output(str(exc))
        return Outcome(status="failed", summary=str(exc), command=command)
    messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
    try:
        if not _send(sock, job):
            raise RunnerUnavailable(_("The runner service closed the connection before the job started."))
        threading.Thread(target=_receive, args=(sock, messages), daemon=True).start()
        stopped = None
        backstop = time.monotonic() + ctx.timeout + grace + RUNNER_SLACK_SECONDS if ctx.timeout else None
        while True:
            try:
                message = messages.get(timeout=POLL_SECONDS)
            except queue.Empty:
                message = {}
            if message is None:
                raise RunnerUnavailable(_("The connection to the runner service was lost during the run."))
            kind = message.get("type")
            if kind == "line":
                on_line(str(message.get("text", "")))
            elif kind == "error":
                raise RunnerUnavailable(
                    _("The runner service refused the job: %(message)s") % {"message": message.get("message", "")}
                )
            elif kind == "exit":
                code = message.get("code")
                stopped = message.get("stopped") or stopped
                break
            if stopped is None:
                stopped = ctx.stop_reason()
                if stopped:
                    _send(sock, {"type": "cancel", "reason": stopped})
            if backstop and time.monotonic() > backstop:
                stopped = stopped or "timed_out"
                code = None
                break  # closing the connection makes the runner end the job
    except RunnerUnavailable as exc:
        ctx.output(str(exc))
        return Outcome(status="failed", summary=str(exc), command=command)
    finally:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()
    if stopped in ("cancelled", "timed_out"):
        return Outcome(status=stopped, exit_code=code, command=command)
    if message.get("error") and code == 127:
        return Outcome(status="failed", exit_code=127, summary=str(message["error"]), command=command)
    status = "succeeded" if code in success_codes else "failed"
    return Outcome(status=status, exit_code=code, command=command)
