#!/usr/bin/env bash
# `make demo-reset`: the demo of the embedded default (`make run`) back to its first state, without reinstalling:
# the SQLite database (plans, sign-offs, history, the local mailbox), the broker folder, the beat schedule and
# uploads go; the next `make run` migrates and loads the demo afresh, with the links of its own HOST and PORT.
# Refuses while `make run` is up and when DATABASE_URL is set (it never empties a database it did not create).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [[ -n "${DATABASE_URL:-}" ]]; then
    echo "demo-reset: DATABASE_URL is set; this resets only the embedded default's var/okno.sqlite3." >&2
    echo "demo-reset: unset it, or empty that database yourself and run: manage.py migrate && manage.py load_demo" >&2
    exit 1
fi
for pidfile in var/celerybeat.pid var/celery-worker.pid var/celery-automation.pid; do
    if [[ -s "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        echo "demo-reset: make run is running (pid $(cat "$pidfile") in $pidfile): stop it with Ctrl+C first." >&2
        exit 1
    fi
done

rm -f var/okno.sqlite3 var/okno.sqlite3-journal var/okno.sqlite3-wal var/okno.sqlite3-shm var/celerybeat-schedule*
rm -f var/demo-summary.txt
rm -rf var/celery-queue var/media
echo "demo-reset: done; \`make run\` loads the demo in its first state."
