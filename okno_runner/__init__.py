"""Okno's runner service: runs one automation job per connection, holding nothing but that job's credentials.

Standard library only; it imports nothing from Django or Okno, so it has no settings and no secrets.
Start it with `python -m okno_runner --socket PATH` (scripts/runner.sh does, as its own user, with a clean
environment). docs/runner.md describes the boundary.

Protocol: JSON, one object a line, UTF-8, over a Unix socket (or TCP with a shared token).

client → runner, first line, the job:
    {"type": "job", "token": "…" (TCP only), "argv": ["kubectl", "get", "nodes"],
     "env": {"NAME": "value"},                      # the job's whole environment besides PATH, locale, HOME
     "env_paths": {"KUBECONFIG": "kubeconfig"},     # variables set to a path inside the job's work dir
     "files": [{"path": "kubeconfig", "content": "…", "mode": 384}],  # written into the work dir first
     "stdin": "…" or null, "timeout": 900 or null, "grace": 5}
client → runner, later: {"type": "cancel", "reason": "cancelled" | "timed_out"}; closing the connection
    also cancels.
runner → client: {"type": "started", "pid": 123}, {"type": "line", "text": "…"} per output line (stdout and
    stderr merged), and last {"type": "exit", "code": 0, "stopped": null | "cancelled" | "timed_out",
    "error": null | "…"}; a job refused before it starts gets {"type": "error", "message": "…"}.
"""

PROTOCOL_VERSION = 1
