#!/bin/sh
# Ask Okno's deployment gate whether a deployment may go ahead now (docs/gate.md).
#
#   OKNO_URL=https://okno.example.org OKNO_TOKEN=okno_… scripts/gate-check.sh --service www.nskes.ru
#   scripts/gate-check.sh --cluster prod-k8s [--service NAME] [--at 2025-03-20T20:30:00+07:00]
#
# Settings come from flags or the environment (CI variables): OKNO_URL, OKNO_TOKEN (a read-only personal token
# is enough), OKNO_SERVICE, OKNO_CLUSTER, OKNO_AT (ISO 8601 with offset; default: now), OKNO_LANGUAGE (ru, en).
# Prints the decision and its reasons. Exit status: 0 allowed, 1 blocked, 2 error (bad input, no access,
# Okno unreachable). POSIX sh and curl only; jq or python3, when present, print the reasons line by line.
set -u

usage() {
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

service=${OKNO_SERVICE:-}
cluster=${OKNO_CLUSTER:-}
at=${OKNO_AT:-}
while [ $# -gt 0 ]; do
    case $1 in
        --service | --cluster | --at)
            [ $# -ge 2 ] || usage
            case $1 in
                --service) service=$2 ;;
                --cluster) cluster=$2 ;;
                --at) at=$2 ;;
            esac
            shift 2
            ;;
        -h | --help) usage ;;
        *) echo "gate-check: unknown argument: $1" >&2; usage ;;
    esac
done

if [ -z "${OKNO_URL:-}" ] || [ -z "${OKNO_TOKEN:-}" ]; then
    echo "gate-check: set OKNO_URL and OKNO_TOKEN" >&2
    exit 2
fi
if [ -z "$service" ] && [ -z "$cluster" ]; then
    echo "gate-check: name a service (--service) or a cluster (--cluster), or both" >&2
    exit 2
fi

body=$(mktemp) || exit 2
trap 'rm -f "$body"' EXIT

# --data-urlencode: a "+07:00" offset must not turn into a space. --retry: 5xx and timeouts are retried.
set -- -sS -G --connect-timeout 10 --max-time 30 --retry 3 \
    -H "Authorization: Bearer $OKNO_TOKEN" -H "Accept: application/json" \
    -o "$body" -w '%{http_code}'
[ -n "$service" ] && set -- "$@" --data-urlencode "service=$service"
[ -n "$cluster" ] && set -- "$@" --data-urlencode "cluster=$cluster"
[ -n "$at" ] && set -- "$@" --data-urlencode "at=$at"
[ -n "${OKNO_LANGUAGE:-}" ] && set -- "$@" --cookie "django_language=$OKNO_LANGUAGE"

code=$(curl "$@" "${OKNO_URL%/}/api/v1/gate/") || {
    echo "gate-check: Okno did not answer at $OKNO_URL" >&2
    exit 2
}

reasons() {
    if command -v jq >/dev/null 2>&1; then
        jq -r '.reasons[]?, (.plans[]? | "  \(.url)")' "$body" 2>/dev/null && return
    fi
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import json, sys
answer = json.load(open(sys.argv[1], encoding="utf-8"))
print("\n".join(answer.get("reasons", []) + ["  " + p["url"] for p in answer.get("plans", [])]))' "$body" \
            2>/dev/null && return
    fi
    cat "$body"
    echo
}

case $code in
    200)
        echo "Okno gate: ALLOWED"
        reasons
        exit 0
        ;;
    423)
        echo "Okno gate: BLOCKED"
        reasons
        exit 1
        ;;
    *)
        echo "gate-check: Okno answered HTTP $code:" >&2
        cat "$body" >&2
        echo >&2
        exit 2
        ;;
esac
