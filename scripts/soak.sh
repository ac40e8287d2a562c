#!/usr/bin/env bash
# Soak test of the embedded default: `make run` (SQLite, no Redis) left alone for N minutes with an
# e-mail due at the start of every minute; then every one must have fired exactly once (rows done,
# one message each in the local mailbox) and the worker, beat, runner and web processes must be the
# ones that started (no deaths, no restarts, exactly one beat).
#   scripts/soak.sh [MINUTES]        default 30 (or SOAK_MINUTES); exit 0 when it holds, 1 when not
# It runs in a temporary copy of the project (its own var/, SQLite file and broker folder) on a free
# port, with this project's virtualenv (VENV=...). The copy is kept for its logs (printed at the end).
set -euo pipefail

log() { echo "[soak $(date -u +%H:%M:%S)] $*"; }

# Reads a field of the JSON report ($1) with the virtualenv's Python.
field() { "$py" -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

# Processes of the copy: worker, beat and web run in it; the runner runs in / with PYTHONPATH=<copy>.
processes() {
  local d args
  for d in /proc/[0-9]*; do
    if [ "$(readlink "$d/cwd" 2>/dev/null)" != "$work" ] \
        && ! { tr '\0' '\n' <"$d/environ"; } 2>/dev/null | grep -qx "PYTHONPATH=$work"; then continue; fi
    args=$(tr '\0\n' '  ' <"$d/cmdline" 2>/dev/null) || continue
    case "$args" in
      /bin/sh*|sh\ *|*soak_plan*) ;;
      *celery*|*runner*|*runserver*) echo "${d#/proc/} $args" ;;
    esac
  done | sort -n
}
beats() { processes | grep -c -- ' beat ' || true; }

stop_run() {
  [ -n "${make_pid:-}" ] || return 0
  kill -TERM -- "-$make_pid" 2>/dev/null || return 0
  for _ in $(seq 60); do kill -0 -- "-$make_pid" 2>/dev/null || return 0; sleep 1; done
  kill -KILL -- "-$make_pid" 2>/dev/null || true
}

main() {
  minutes=${1:-${SOAK_MINUTES:-30}}
  src=$(cd "$(dirname "$0")/.." && pwd)
  venv=${VENV:-$src/.venv}
  py="$venv/bin/python"
  work=$(mktemp -d "${TMPDIR:-/tmp}/okno-soak.XXXXXX")
  tag="$(date -u +%Y%m%dT%H%M%S)-$$"
  rsync -a --exclude /.venv --exclude /var --exclude /.git --exclude __pycache__ --exclude /bench/results "$src/" "$work/"
  port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # The embedded default: no PostgreSQL, no Redis, dev settings; the runner's socket folder of its own.
  unset DATABASE_URL REDIS_URL CELERY_BROKER_URL DJANGO_SETTINGS_MODULE EMAIL_BACKEND OKNO_USE_WORKER OKNO_RUNNER_SOCKET || true
  export OKNO_RUNNER_RUN_DIR="$work.run"
  cd "$work"
  log "project copy $work, port $port, $minutes minute(s), tag $tag"

  # make runs in a session of its own: its process group is ours to stop at the end (SIGTERM: a
  # background job ignores SIGINT). -o install: the virtualenv is this project's, already installed.
  setsid make -o install run VENV="$venv" PORT="$port" >"$work/run.log" 2>&1 &
  make_pid=$!
  trap stop_run EXIT

  local ready=
  for _ in $(seq 300); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && [ -s var/celerybeat.pid ] \
        && [ -s var/celery-worker.pid ] && [ -s var/celery-automation.pid ]; then ready=1; break; fi
    kill -0 "$make_pid" 2>/dev/null || break
    sleep 1
  done
  if [ -z "$ready" ]; then log "make run did not come up; see $work/run.log"; tail -20 "$work/run.log"; return 1; fi
  sleep 5  # the runner service starts beside them
  before=$(processes)
  log "up; processes:"; echo "$before" | sed 's/^/    /'

  plan=$("$py" manage.py soak_plan --minutes "$minutes" --tag "$tag" 2>>"$work/soak.err")
  log "scheduled: $plan"
  deadline=$("$py" -c 'import datetime, sys; print(int(datetime.datetime.fromisoformat(sys.argv[1]).timestamp()) + 90)' "$(field "$plan" last_due)")

  # Leave it alone; look once a minute (read-only) so a long run shows its progress.
  while [ "$(date +%s)" -lt "$deadline" ]; do
    sleep 60
    report=$("$py" manage.py soak_plan --check --tag "$tag" 2>>"$work/soak.err")
    log "due so far $(field "$report" due_passed), done $(field "$report" done), e-mails $(field "$report" mails), beats $(beats)"
  done

  report=$("$py" manage.py soak_plan --check --tag "$tag" 2>>"$work/soak.err")
  after=$(processes)
  done_count=$(field "$report" done)
  mails=$(field "$report" mails)
  missing=$("$py" -c 'import json, sys; print(len(json.loads(sys.argv[1])["missing_mails"]))' "$report")
  dups=$("$py" -c 'import json, sys; print(len(json.loads(sys.argv[1])["duplicate_mails"]))' "$report")
  failures=()
  [ "$done_count" -eq "$minutes" ] || failures+=("$done_count of $minutes actions done")
  [ "$mails" -eq "$minutes" ] || failures+=("$mails e-mails in the mailbox, expected $minutes")
  [ "$missing" -eq 0 ] || failures+=("$missing e-mails missing")
  [ "$dups" -eq 0 ] || failures+=("$dups e-mails delivered more than once")
  [ "$before" = "$after" ] || failures+=("processes changed")
  [ "$(beats)" -eq 1 ] || failures+=("$(beats) beat processes")
  if grep -q "Unrecoverable error" "$work/run.log"; then failures+=("'Unrecoverable error' in the log"); fi

  echo
  echo "Soak summary ($minutes minute(s), tag $tag)"
  echo "  actions done:        $done_count / $minutes   (states: $(field "$report" states))"
  echo "  e-mails in mailbox:  $mails (missing $missing, duplicated $dups)"
  echo "  latest fire:         $(field "$report" late_seconds_max) s after due"
  echo "  processes at start:"; echo "$before" | sed 's/^/    /'
  echo "  processes at end:"; echo "$after" | sed 's/^/    /'
  echo "  log:                 $work/run.log"
  if [ ${#failures[@]} -eq 0 ]; then
    echo "  RESULT: PASS"
    return 0
  fi
  printf '  FAIL: %s\n' "${failures[@]}"
  return 1
}

# Everything runs from main(), which bash has read whole: editing this file meanwhile is safe.
main "$@"; exit $?
