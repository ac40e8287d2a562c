#!/usr/bin/env bash
# Starts Okno's runner service (okno_runner) in the foreground on $OKNO_RUNNER_SOCKET
# (default var/runner/okno-runner.sock). See docs/runner.md.
#
# As root: creates the system user okno-runner if missing, closes the project's var/ and .env to it,
# and runs the service as that user with a clean environment, so a job can read neither the worker's
# /proc/<pid>/environ nor Okno's files. As another user: same user, clean environment, and a warning:
# the boundary is then partial (a job could read the worker's /proc/<pid>/environ). Production runs the
# runner in its own container (docker-compose.yml, service `runner`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SOCKET="${OKNO_RUNNER_SOCKET:-$ROOT/var/runner/okno-runner.sock}"
RUNNER_USER="${OKNO_RUNNER_USER:-okno-runner}"
if [[ -x "$ROOT/.venv/bin/python" ]]; then
    PY="$ROOT/.venv/bin/python"
    VENV_BIN="$ROOT/.venv/bin"
else
    PY="$(command -v python3)"  # the image: dependencies in the system Python
    VENV_BIN="$(dirname "$PY")"
fi
# The only environment the service (and so every job) starts from.
CLEAN_ENV=(env -i "PATH=$VENV_BIN:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
           "LANG=C.UTF-8" "LC_ALL=C.UTF-8" "PYTHONDONTWRITEBYTECODE=1" "PYTHONUNBUFFERED=1")
if [[ -n "${OKNO_RUNNER_TOKEN:-}" ]]; then
    CLEAN_ENV+=("OKNO_RUNNER_TOKEN=$OKNO_RUNNER_TOKEN")
fi
case "$SOCKET" in
    tcp://*) LISTEN=(--listen "${SOCKET#tcp://}") ;;
    *) LISTEN=() ;;
esac
EXTRA=()
if [[ -n "${OKNO_EXIT_WITH_PARENT:-}" ]]; then
    EXTRA+=(--exit-with-parent)  # make run: the runner ends with the shell that started it
fi

if [[ "$(id -u)" -eq 0 ]]; then
    if ! id -u "$RUNNER_USER" >/dev/null 2>&1; then
        useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$RUNNER_USER" \
            || id -u "$RUNNER_USER" >/dev/null 2>&1  # another start made it meanwhile
    fi
    as_runner() { setpriv --reuid="$RUNNER_USER" --regid="$RUNNER_USER" --init-groups env -i "$@"; }
    # The runner reads the project's code and virtualenv: a checkout in or under a closed directory (a
    # 0700 temporary folder) is opened to it: the folders above for traversal only (o+x: no listing), the
    # project's own folder for reading too (o+rx, as git makes its subfolders; Python lists it to import).
    path=""
    IFS='/' read -ra parts <<< "${ROOT#/}"
    for part in "${parts[@]}"; do
        path="$path/$part"
        if [[ "$path" == "$ROOT" ]]; then
            if ! as_runner test -r "$path" -a -x "$path"; then
                chmod o+rx "$path"
                echo "okno-runner: $path opened for reading (o+rx) so that user $RUNNER_USER reads the project" >&2
            fi
        elif ! as_runner test -x "$path"; then
            chmod o+x "$path"
            echo "okno-runner: $path opened for traversal (o+x) so that user $RUNNER_USER reaches the project" >&2
        fi
    done
    if ! as_runner "$PY" -c "" >/dev/null 2>&1; then
        # The virtualenv's interpreter lives where that user may not go (e.g. pyenv under /root): build a
        # small virtualenv of the same Python version from a system interpreter, reading the project's
        # site-packages, with the project's console scripts (ansible-playbook …) pointed at it.
        PY_VERSION="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
        SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
        SYSTEM_PY=""
        for candidate in "/usr/bin/python$PY_VERSION" "/usr/local/bin/python$PY_VERSION"; do
            if [[ -x "$candidate" ]] && as_runner "$candidate" -c "" >/dev/null 2>&1; then SYSTEM_PY="$candidate"; break; fi
        done
        if [[ -z "$SYSTEM_PY" ]]; then
            echo "okno-runner: $PY cannot be run by user $RUNNER_USER and no system python$PY_VERSION was found." >&2
            echo "okno-runner: install python$PY_VERSION or make the virtualenv's interpreter readable to $RUNNER_USER." >&2
            exit 1
        fi
        # One per project checkout (runners of several checkouts may run at once).
        SHIM="${OKNO_RUNNER_VENV:-/var/lib/okno-runner/venv-$(printf '%s' "$SITE" | cksum | cut -d' ' -f1)}"
        STAMP="$SYSTEM_PY $SITE $(stat -c %Y "$VENV_BIN")"
        mkdir -p "$(dirname "$SHIM")"
        exec 9>"$SHIM.lock"
        flock 9  # several starts at once build it once
        if [[ "$(cat "$SHIM/.okno-stamp" 2>/dev/null)" != "$STAMP" ]]; then
            # Built aside and swapped in: a runner already using the old one keeps finding complete paths.
            NEW="$SHIM.new"
            rm -rf "$NEW"
            "$SYSTEM_PY" -m venv --without-pip "$NEW"
            echo "import site; site.addsitedir('$SITE')" > "$NEW/lib/python$PY_VERSION/site-packages/okno-venv.pth"
            for tool in "$VENV_BIN"/*; do
                name="$(basename "$tool")"
                [[ -f "$tool" && -x "$tool" && ! -e "$NEW/bin/$name" ]] || continue
                if [[ "$(head -c 2 "$tool")" == "#!" ]] && head -n 1 "$tool" | grep -q "^#!$VENV_BIN/python"; then
                    sed "1s|.*|#!$SHIM/bin/python|" "$tool" > "$NEW/bin/$name"
                    chmod 0755 "$NEW/bin/$name"
                else
                    ln -s "$tool" "$NEW/bin/$name"  # a binary (kubectl)
                fi
            done
            echo "$STAMP" > "$NEW/.okno-stamp"
            rm -rf "$SHIM.old"
            [[ -d "$SHIM" ]] && mv "$SHIM" "$SHIM.old"
            mv "$NEW" "$SHIM"  # (its python links are relative or absolute to the system's: still valid)
        fi
        flock -u 9
        exec 9>&-
        PY="$SHIM/bin/python"
        CLEAN_ENV[2]="PATH=$SHIM/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    fi
    # Okno's own files: closed to the runner's user (SQLite database, Celery folders, beat schedule, .env).
    mkdir -p "$ROOT/var"
    chmod 0700 "$ROOT/var"
    while IFS= read -r -d '' entry; do
        chmod go-rwx "$entry" 2>/dev/null || [[ ! -e "$entry" ]]  # SQLite's journal may vanish meanwhile
    done < <(find "$ROOT/var" -mindepth 1 -maxdepth 1 ! -name runner -print0)
    [[ -f "$ROOT/.env" ]] && chmod 0600 "$ROOT/.env"
    if [[ ${#LISTEN[@]} -eq 0 ]]; then
        case "$SOCKET" in
            "$ROOT/var/"*)
                # var/ is closed to the runner: it listens in a directory of its own, var/ holds a link to it.
                REAL_DIR="${OKNO_RUNNER_RUN_DIR:-/run/okno-runner}"
                mkdir -p "$(dirname "$SOCKET")"
                ln -sfn "$REAL_DIR/okno-runner.sock" "$SOCKET"
                REAL_SOCKET="$REAL_DIR/okno-runner.sock" ;;
            *) REAL_DIR="$(dirname "$SOCKET")"; REAL_SOCKET="$SOCKET" ;;
        esac
        mkdir -p "$REAL_DIR"
        chown "$RUNNER_USER:" "$REAL_DIR"
        chmod 0700 "$REAL_DIR"  # only the runner's user (and root, the worker here) reach the socket
        LISTEN=(--socket "$REAL_SOCKET")
    fi
    cd /
    exec setpriv --reuid="$RUNNER_USER" --regid="$RUNNER_USER" --init-groups --no-new-privs \
        "${CLEAN_ENV[@]}" "HOME=/nonexistent" "PYTHONPATH=$ROOT" "$PY" -m okno_runner "${LISTEN[@]}" "${EXTRA[@]}"
fi

echo "okno-runner: WARNING: running as $(id -un), the same user as Okno: the boundary is partial." >&2
echo "okno-runner: a job starts from a clean environment, but can read Okno's files and the worker's" >&2
echo "okno-runner: /proc/<pid>/environ. Start it as root (it switches to user $RUNNER_USER) or use its own container." >&2
if [[ ${#LISTEN[@]} -eq 0 ]]; then
    mkdir -p "$(dirname "$SOCKET")"
    chmod 0700 "$(dirname "$SOCKET")"
    LISTEN=(--socket "$SOCKET")
fi
cd /
exec "${CLEAN_ENV[@]}" "HOME=${HOME:-/tmp}" "PYTHONPATH=$ROOT" "$PY" -m okno_runner "${LISTEN[@]}" "${EXTRA[@]}"
