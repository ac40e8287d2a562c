"""`make run`: print the demo's logins and addresses last, once the web server listens and the workers are up.

    python scripts/run_summary.py HOST PORT SUMMARY_FILE PIDFILE...

SUMMARY_FILE is what `manage.py load_demo` wrote. Printed when HOST:PORT accepts connections (a connection, not
a request: no request line in the server's log after the summary) and every PIDFILE names a process; it gives
up after five minutes or when the shell of `make run` ends. Standard library only.
"""

import os
import socket
import sys
import time
from pathlib import Path

TIMEOUT_SECONDS = 300
POLL_SECONDS = 0.3
SETTLE_SECONDS = 1.5  # the workers' last start-up lines come out before the summary


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _running(pidfile: Path) -> bool:
    try:
        os.kill(int(pidfile.read_text().strip()), 0)
    except (OSError, ValueError):
        return False
    return True


def main(host: str, port: str, summary: str, *pidfiles: str) -> int:
    parent, deadline = os.getppid(), time.monotonic() + TIMEOUT_SECONDS
    host = "127.0.0.1" if host in {"0.0.0.0", ""} else "::1" if host == "::" else host.strip("[]")
    while time.monotonic() < deadline and os.getppid() == parent:
        if all(_running(Path(pidfile)) for pidfile in pidfiles) and _listening(host, int(port)):
            time.sleep(SETTLE_SECONDS)
            sys.stdout.write("\n" + Path(summary).read_text(encoding="utf-8"))
            sys.stdout.flush()
            return 0
        time.sleep(POLL_SECONDS)
    return 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
