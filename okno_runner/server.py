"""The runner service: one job per connection, run in its own session with exactly the job's environment.

A job runs in a fresh private directory (0700) holding the files it brought (kubeconfig, inventory,
playbook …), in a new session and process group, with PATH, locale and HOME of its own and the job's
variables; nothing of this process's environment reaches it. It ends on exit, cancel, client disconnect or
timeout: SIGTERM to its process group and to every process carrying the job's marker (one that started a
session of its own), SIGKILL after the grace period, and SIGKILL again once the leader is gone, so nothing
of a job outlives it. Then the directory is removed.
"""

import ctypes
import hmac
import json
import logging
import os
import queue
import re
import shlex
import shutil
import signal
import socket
import socketserver
import stat
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from types import FrameType
from typing import IO, NoReturn, TypedDict

log = logging.getLogger("okno_runner")

MARKER_VARIABLE = "OKNO_RUNNER_JOB"
MAX_JOB_BYTES = 32 * 1024 * 1024  # the job line: argv, env and files together
MAX_LINE_BYTES = 256 * 1024  # an output line longer than this arrives in pieces
POLL_SECONDS = 0.1
DRAIN_SECONDS = 2.0
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


class JobRefused(Exception):
    """The job line is malformed; the message goes back to the client."""


class JobFile(TypedDict):
    path: str  # relative to the work dir
    content: str
    mode: int  # owner bits only


class Job(TypedDict):
    """A checked job (`parse_job`)."""

    argv: list[str]
    env: dict[str, str]
    env_paths: dict[str, str]  # variable → path relative to the work dir ("" is the work dir)
    files: list[JobFile]
    stdin: str | None
    timeout: float | None  # seconds
    grace: float  # seconds between SIGTERM and SIGKILL


# What the job's loop hears: ("line", text), ("eof", None), ("cancel", reason), ("gone", None).
Event = tuple[str, str | None]


# --- the job ------------------------------------------------------------------------------------------


def _relative_path(value: object, what: str) -> str:
    if not isinstance(value, str) or "\0" in value:
        raise JobRefused(f"{what}: a path must be text")
    if value in ("", "."):
        return ""
    parts = value.split("/")
    if value.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise JobRefused(f"{what}: {value!r} must be a plain relative path inside the work dir")
    return value


def parse_job(data: object) -> Job:
    """The checked job (a dict) from the decoded first line, or JobRefused."""
    if not isinstance(data, dict) or data.get("type") != "job":
        raise JobRefused("the first line must be a job")
    argv = data.get("argv")
    if (
        not isinstance(argv, list)
        or not argv
        or not all(isinstance(a, str) and "\0" not in a for a in argv)
        or not argv[0]
    ):
        raise JobRefused("argv must be a non-empty list of strings")
    env = data.get("env") or {}
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and ENV_NAME.match(k) and isinstance(v, str) and "\0" not in v for k, v in env.items()
    ):
        raise JobRefused("env must map variable names to strings")
    env_paths = data.get("env_paths") or {}
    if not isinstance(env_paths, dict) or not all(isinstance(k, str) and ENV_NAME.match(k) for k in env_paths):
        raise JobRefused("env_paths must map variable names to relative paths")
    env_paths = {name: _relative_path(path, f"env_paths[{name}]") for name, path in env_paths.items()}
    files: list[JobFile] = []
    for item in data.get("files") or []:
        if not isinstance(item, dict) or not isinstance(item.get("content"), str):
            raise JobRefused("each file needs a path and text content")
        path = _relative_path(item.get("path"), "file")
        if not path:
            raise JobRefused("a file needs a name")
        mode = item.get("mode", 0o600)
        if not isinstance(mode, int):
            raise JobRefused("a file mode must be a number")
        files.append({"path": path, "content": item["content"], "mode": mode & 0o700})  # never group/other
    stdin = data.get("stdin")
    if stdin is not None and not isinstance(stdin, str):
        raise JobRefused("stdin must be text")
    timeout = data.get("timeout")
    if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
        raise JobRefused("timeout must be a positive number of seconds")
    grace = data.get("grace", 5)
    if not isinstance(grace, (int, float)) or not 0 <= grace <= 600:
        raise JobRefused("grace must be 0 to 600 seconds")
    return {
        "argv": argv,
        "env": env,
        "env_paths": env_paths,
        "files": files,
        "stdin": stdin,
        "timeout": timeout,
        "grace": float(grace),
    }


def _write_files(workdir: str, files: list[JobFile]) -> None:
    for item in files:
        target = os.path.join(workdir, item["path"])
        os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, item["mode"])
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(item["content"])


def job_environment(job: Job, workdir: str, marker: str) -> dict[str, str]:
    """PATH and locale of the runner, HOME in the work dir, then the job's own variables: nothing else."""
    env = {"PATH": os.environ.get("PATH") or DEFAULT_PATH, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": workdir}
    env.update(job["env"])
    for name, path in job["env_paths"].items():
        env[name] = os.path.join(workdir, path) if path else workdir
    env[MARKER_VARIABLE] = marker
    return env


def marked_processes(marker: str) -> list[int]:
    """Pids of live processes whose environment holds MARKER_VARIABLE=marker (only ours are readable)."""
    needle = f"{MARKER_VARIABLE}={marker}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                if needle in handle.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:  # gone, or another user's process
            continue
    return found


def signal_job(pgid: int, marker: str, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    for pid in marked_processes(marker):
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _remove_tree(path: str) -> None:
    def make_writable(func: Callable[[str], object], target: str, _exc: object) -> None:
        try:
            os.chmod(os.path.dirname(target), 0o700)
            os.chmod(target, stat.S_IRWXU)
        except OSError:
            pass
        try:
            func(target)
        except OSError:
            pass

    shutil.rmtree(path, onerror=make_writable)


class Connection:
    """One client: JSON lines in and out. `send` returns False once the client is gone; `read_message` returns
    the decoded line (any JSON: the caller checks it) or None at the end."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.rfile = sock.makefile("rb")
        self.lock = threading.Lock()
        self.gone = False

    def send(self, message: dict[str, object]) -> bool:
        data = (json.dumps(message, ensure_ascii=False) + "\n").encode("utf-8")
        with self.lock:
            if self.gone:
                return False
            try:
                self.sock.sendall(data)
                return True
            except OSError:
                self.gone = True
                return False

    def read_message(self, limit: int) -> object:
        raw = self.rfile.readline(limit + 1)
        if not raw:
            return None
        if len(raw) > limit:
            raise JobRefused("the job is too large")
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise JobRefused("a line is not JSON") from None


def _listen_to_client(conn: Connection, events: queue.Queue[Event]) -> None:
    """Cancel messages and the client's disconnect, as events of the job's loop."""
    try:
        while True:
            message = conn.read_message(64 * 1024)
            if message is None:
                break
            if isinstance(message, dict) and message.get("type") == "cancel":
                reason = message.get("reason") if message.get("reason") in ("cancelled", "timed_out") else "cancelled"
                events.put(("cancel", reason))
    except (OSError, JobRefused):
        pass
    events.put(("gone", None))


def _read_output(stream: IO[bytes], events: queue.Queue[Event]) -> None:
    try:
        while True:
            raw = stream.readline(MAX_LINE_BYTES)
            if not raw:
                break
            events.put(("line", raw.decode("utf-8", errors="replace").rstrip("\r\n")))
    except (OSError, ValueError):
        pass
    finally:
        events.put(("eof", None))


def _feed_stdin(stream: IO[bytes], text: str) -> None:
    try:
        stream.write(text.encode("utf-8"))
    except (BrokenPipeError, OSError):
        pass
    finally:
        try:
            stream.close()
        except OSError:
            pass


def run_job(job: Job, conn: Connection, work_root: str, active: dict[str, int]) -> None:
    """Run one checked job for `conn` to its end; always removes its work dir."""
    marker = uuid.uuid4().hex
    workdir = tempfile.mkdtemp(prefix="job-", dir=work_root)  # mkdtemp: mode 0700
    events: queue.Queue[Event] = queue.Queue()
    proc: subprocess.Popen[bytes] | None = None
    try:
        _write_files(workdir, job["files"])
        env = job_environment(job, workdir, marker)
        try:
            proc = subprocess.Popen(
                job["argv"],
                cwd=workdir,
                env=env,
                start_new_session=True,
                close_fds=True,
                stdin=subprocess.PIPE if job["stdin"] is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        except OSError as exc:
            reason = exc.strerror or str(exc)
            conn.send({"type": "line", "text": f"{shlex.join(job['argv'])}: {reason}"})
            conn.send({"type": "exit", "code": 127, "stopped": None, "error": reason})
            return
        active[marker] = proc.pid
        log.info("job %s started: %s (pid %s)", marker[:8], os.path.basename(job["argv"][0]), proc.pid)
        conn.send({"type": "started", "pid": proc.pid})
        threading.Thread(target=_listen_to_client, args=(conn, events), daemon=True).start()
        threading.Thread(target=_read_output, args=(proc.stdout, events), daemon=True).start()
        if job["stdin"] is not None:
            threading.Thread(target=_feed_stdin, args=(proc.stdin, job["stdin"]), daemon=True).start()
        stopped = _supervise(proc, job, conn, events, marker)
        code = proc.wait()
        _end(proc, marker, workdir, active)  # before "exit": the client may rely on nothing being left
        log.info("job %s ended: code %s%s", marker[:8], code, f", {stopped}" if stopped else "")
        conn.send({"type": "exit", "code": code, "stopped": stopped, "error": None})
    finally:
        _end(proc, marker, workdir, active)


def _end(proc: subprocess.Popen[bytes] | None, marker: str, workdir: str, active: dict[str, int]) -> None:
    """SIGKILL whatever of the job is left, remove its work dir (the credentials it brought). Idempotent."""
    if proc is not None:
        signal_job(proc.pid, marker, signal.SIGKILL)
        if proc.poll() is None:
            proc.wait()
    active.pop(marker, None)
    if os.path.isdir(workdir):
        _remove_tree(workdir)


def _supervise(
    proc: subprocess.Popen[bytes],
    job: Job,
    conn: Connection,
    events: queue.Queue[Event],
    marker: str,
) -> str | None:
    """Pass the job's output on until its leader exits; returns why it was stopped (None: it ended by itself)."""
    deadline = time.monotonic() + job["timeout"] if job["timeout"] else None
    stopped: str | None
    term_at: float | None
    kind: str | None
    value: str | None
    stopped, term_at, eof = None, None, False

    def stop(reason: str) -> None:
        nonlocal stopped, term_at
        if stopped is None:
            stopped, term_at = reason, time.monotonic()
            signal_job(proc.pid, marker, signal.SIGTERM)

    while True:
        try:
            kind, value = events.get(timeout=POLL_SECONDS)
        except queue.Empty:
            kind, value = None, None
        if kind == "line":
            if not conn.send({"type": "line", "text": value}):
                stop("cancelled")
        elif kind == "eof":
            eof = True
        elif kind == "cancel":
            stop(value or "cancelled")  # _listen_to_client always gives a reason
        elif kind == "gone":
            conn.gone = True
            stop("cancelled")
        if stopped is None and deadline and time.monotonic() > deadline:
            stop("timed_out")
        if term_at and time.monotonic() - term_at > job["grace"]:
            signal_job(proc.pid, marker, signal.SIGKILL)
            term_at = None
        if proc.poll() is not None:
            # The leader is gone: end whatever it left behind, then pass on what is still in the pipe.
            signal_job(proc.pid, marker, signal.SIGKILL)
            drain_until = time.monotonic() + DRAIN_SECONDS
            while not eof and time.monotonic() < drain_until:
                try:
                    kind, value = events.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    continue
                if kind == "line":
                    conn.send({"type": "line", "text": value})
                elif kind == "eof":
                    eof = True
            return stopped


# --- the server ---------------------------------------------------------------------------------------


class JobServer(socketserver.ThreadingMixIn, socketserver.BaseServer):
    """What both servers (Unix socket, TCP) carry for the handler; `make_server` sets it."""

    daemon_threads = True
    token: str | None  # TCP: the shared token every job must bring
    work_root: str
    active: dict[str, int]  # marker → pid of the jobs running now
    socket_path: str | None  # removed when the service stops


class _Handler(socketserver.BaseRequestHandler):
    server: JobServer

    def handle(self) -> None:
        server = self.server
        conn = Connection(self.request)
        try:
            try:
                data = conn.read_message(MAX_JOB_BYTES)
                if data is None:
                    return
                if server.token is not None:
                    given = data.get("token") if isinstance(data, dict) else None
                    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), server.token.encode()):
                        raise JobRefused("wrong or missing token")
                job = parse_job(data)
            except JobRefused as exc:
                conn.send({"type": "error", "message": str(exc)})
                return
            run_job(job, conn, server.work_root, server.active)
        except Exception:  # one job's failure must not stop the service
            log.exception("job failed in the runner")
            conn.send({"type": "error", "message": "the runner failed; see its log"})


class UnixServer(JobServer, socketserver.UnixStreamServer):
    pass


class TCPServer(JobServer, socketserver.TCPServer):
    allow_reuse_address = True


def _clear_stale_socket(path: str) -> None:
    """Remove a socket file nobody listens on; refuse to start if a runner already answers there."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise SystemExit(f"okno-runner: {path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        os.unlink(path)
        return
    finally:
        probe.close()
    raise SystemExit(f"okno-runner: another runner already listens on {path}")


def not_dumpable() -> None:
    """Make this process non-dumpable: a job (same uid) may not read our /proc/<pid>/environ or memory,
    which hold other jobs' credentials while they run. Children get their own flag back on exec."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    except (OSError, AttributeError):
        pass


def exit_with_parent() -> None:
    """SIGTERM to this process when its parent dies, even by SIGKILL (PR_SET_PDEATHSIG): no orphan runner."""
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before the call
        os.kill(os.getpid(), signal.SIGTERM)


def make_server(
    *,
    socket_path: str | None = None,
    listen: str | None = None,
    token: str | None = None,
    socket_mode: int = 0o600,
    work_root: str | None = None,
) -> JobServer:
    """A server on the Unix socket `socket_path`, else on the TCP address `listen` ("HOST:PORT")."""
    server: JobServer
    if socket_path:
        _clear_stale_socket(socket_path)
        server = UnixServer(socket_path, _Handler)
        os.chmod(socket_path, socket_mode)
    else:
        if listen is None:
            raise TypeError("make_server needs socket_path or listen")
        host, _, port = listen.rpartition(":")
        server = TCPServer((host.strip("[]") or "127.0.0.1", int(port)), _Handler)
    server.token = token
    server.work_root = work_root or tempfile.gettempdir()
    server.active = {}  # marker → pid of the jobs running now
    server.socket_path = socket_path
    return server


def serve(server: JobServer) -> None:
    """Serve until SIGTERM/SIGINT; then end every running job and remove the socket."""

    def shutdown(signum: int, _frame: FrameType | None) -> NoReturn:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for marker, pid in list(server.active.items()):
            signal_job(pid, marker, signal.SIGKILL)
        server.server_close()
        if server.socket_path:
            try:
                os.unlink(server.socket_path)
            except OSError:
                pass
