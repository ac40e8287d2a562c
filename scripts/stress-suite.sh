#!/usr/bin/env bash
# Run the full test command of the README (`make test`) N times in a row while other processes keep
# every CPU busy, and stop at the first failure: flaky tests (races, waits for time) show up here.
#
#   scripts/stress-suite.sh            # 3 runs
#   scripts/stress-suite.sh 5          # 5 runs
#   PYTEST_ARGS='tests/browser/test_board.py' scripts/stress-suite.sh 2   # a part of the suite
#
# The load: stress-ng (Debian package `stress-ng`) when installed, otherwise one busy python3 loop per
# CPU. The load is stopped on exit, whatever the outcome (trap). Each run's output is kept in
# $OKNO_STRESS_LOGS (default /tmp/okno-stress) and a summary line per run is printed.
set -u

RUNS="${1:-3}"
case "$RUNS" in ''|*[!0-9]*|0) echo "usage: $0 [runs ≥ 1]" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.." || exit 2
LOGS="${OKNO_STRESS_LOGS:-/tmp/okno-stress}"
mkdir -p "$LOGS"
CPUS="$(nproc 2>/dev/null || echo 2)"
LOAD_PIDS=()

stop_load() {
  local pid
  for pid in "${LOAD_PIDS[@]}"; do
    kill "$pid" 2>/dev/null
  done
  for pid in "${LOAD_PIDS[@]}"; do
    wait "$pid" 2>/dev/null
  done
  LOAD_PIDS=()
}
RUN_PID=""
stop_run() {
  # bash runs traps only between commands: the suite runs in the background and is waited for, so a
  # Ctrl-C or a kill stops it (its whole process group) and the load at once.
  if [ -n "$RUN_PID" ]; then
    kill -TERM -- "-$RUN_PID" 2>/dev/null || kill -TERM "$RUN_PID" 2>/dev/null
    wait "$RUN_PID" 2>/dev/null
  fi
}
trap stop_load EXIT
trap 'stop_run; exit 130' INT TERM

if command -v stress-ng >/dev/null 2>&1; then
  stress-ng --cpu "$CPUS" --quiet >/dev/null 2>&1 &
  LOAD_PIDS+=("$!")
  LOAD="stress-ng --cpu $CPUS"
else
  for _ in $(seq "$CPUS"); do
    python3 -c "while 1: pass" &
    LOAD_PIDS+=("$!")
  done
  LOAD="$CPUS × python3 busy loop"
fi
echo "load: $LOAD (pids ${LOAD_PIDS[*]}); $RUNS run(s) of make test${PYTEST_ARGS:+ with PYTEST_ARGS='$PYTEST_ARGS'}; logs in $LOGS"

summary=()
status=0
for run in $(seq "$RUNS"); do
  log="$LOGS/run-$run.log"
  started=$(date +%s)
  set -m  # the run gets its own process group (stop_run ends make, pytest and chromium together)
  make test >"$log" 2>&1 &
  RUN_PID=$!
  set +m
  wait "$RUN_PID"
  rc=$?
  RUN_PID=""
  took=$(( $(date +%s) - started ))
  # pytest's last line: "868 passed, 2 skipped in 300.12s" (with or without -q's missing "=" frame)
  result="$(grep -E '(passed|failed|errors?|deselected|skipped|no tests ran).* in [0-9.]+s' "$log" | tail -n 1 | sed -E 's/^=+ //; s/ =+$//')"
  [ -n "$result" ] || result="$(tail -n 1 "$log")"
  if [ "$rc" -eq 0 ]; then verdict=PASS; else verdict=FAIL; fi
  line="run $run/$RUNS: $verdict (exit $rc, ${took}s): $result"
  summary+=("$line")
  echo "$line"
  if [ "$rc" -ne 0 ]; then
    status=$rc
    echo "stopped at the first failure; failing tests:"
    grep -E '^(FAILED|ERROR) |INTERNALERROR' "$log" | head -n 30
    echo "full output: $log"
    break
  fi
done

echo "---- summary ($LOAD) ----"
printf '%s\n' "${summary[@]}"
exit "$status"
