"""Jira (docs/jira.md): the summary and status of a plan's and its steps' issues, and a comment when a plan ends.

With OKNO_JIRA_URL and OKNO_JIRA_TOKEN set, a worker fetches each issue through the `jira` client (pycontribs)
and keeps it in Django's cache; pages only read the cache and ask the worker for what is missing or older than
OKNO_JIRA_CACHE_SECONDS, showing the older value meanwhile (stale while revalidating). Nothing calls Jira in a
web request, so a slow or absent Jira slows no page: the keys stay links. Without the settings nothing is fetched
and the keys are shown as before.

Only the configured server is ever called, with keys that match KEY (letters, digits, "_", "-", a number): a key
typed in a step cannot change the path or the host the token goes to. A plan's issue is the key in its Jira link
when the link points at the configured server.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from common.links import absolute_url
from common.workers import hand_over

from .choices import EventKind, PlanStatus
from .models import Plan, PlanEvent

if TYPE_CHECKING:
    from jira import JIRA

log = logging.getLogger(__name__)

KEY = re.compile(r"[A-Z][A-Z0-9_]*-[1-9][0-9]*")
_KEY_IN_URL = re.compile(r"[A-Za-z][A-Za-z0-9_]*-[1-9][0-9]*")
CACHE_PREFIX = "okno:jira:issue:"
CLAIM_PREFIX = "okno:jira:fetching:"
# A fetched issue is kept this long (shown while Jira is down); it is refreshed after OKNO_JIRA_CACHE_SECONDS.
KEEP_SECONDS = 24 * 3600
# One fetch of a key at a time, and at most one a minute while Jira does not answer.
CLAIM_SECONDS = 60
MAX_KEYS = 200  # a request's keys at most: a plan with more shows the first ones
FINISHED = (PlanStatus.COMPLETED, PlanStatus.COMPLETED_WITH_ROLLBACK, PlanStatus.FAILED)


class JiraUnavailable(Exception):
    """Jira did not answer (network, timeout, 5xx): worth trying again later."""


@dataclass(frozen=True)
class Issue:
    """What Okno shows of an issue: its summary and status, when it was fetched; `missing` when Jira has none."""

    key: str
    summary: str = ""
    status: str = ""
    category: str = ""  # Jira's status category: "new", "indeterminate" or "done"
    fetched_at: float = 0.0
    missing: bool = False

    @property
    def url(self) -> str:
        return browse_url(self.key)

    def is_fresh(self, now: float) -> bool:
        return now - self.fetched_at < settings.OKNO_JIRA_CACHE_SECONDS


def enabled() -> bool:
    return bool(settings.OKNO_JIRA_URL and settings.OKNO_JIRA_TOKEN)


def normalize_key(text: str) -> str | None:
    """The issue key a step's cell holds ("ops-105 " → "OPS-105"), or None when it is not one."""
    key = (text or "").strip().upper()
    return key if KEY.fullmatch(key) else None


def plan_key(jira_url: str) -> str | None:
    """The issue of a plan's Jira link, when the link points at the configured Jira (…/browse/INFRA-22)."""
    base = settings.OKNO_JIRA_URL.rstrip("/")
    if not base or not jira_url or not (jira_url == base or jira_url.startswith(base + "/")):
        return None
    rest = urlsplit(jira_url[len(base) :])
    keys = _KEY_IN_URL.findall(f"{rest.path}?{rest.query}")
    return normalize_key(keys[-1]) if keys else None


def browse_url(key: str) -> str:
    return f"{settings.OKNO_JIRA_URL.rstrip('/')}/browse/{key}"


# --- the cache: read by pages, written by the worker ---------------------------------------------------------


def cached(keys: list[str]) -> dict[str, Issue]:
    """The cached issues of these keys (one cache round trip), whatever their age."""
    found = cache.get_many([CACHE_PREFIX + key for key in keys])
    return {key: Issue(**found[CACHE_PREFIX + key]) for key in keys if CACHE_PREFIX + key in found}


def _store(issue: Issue) -> None:
    cache.set(CACHE_PREFIX + issue.key, asdict(issue), KEEP_SECONDS)


def issues_for_page(keys: list[str]) -> dict[str, Issue]:
    """The cached issues, after asking the worker (once commit is done) for the keys missing or stale."""
    keys = list(dict.fromkeys(keys))[:MAX_KEYS]
    found = cached(keys)
    now = time.time()
    due = [key for key in keys if key not in found or not found[key].is_fresh(now)]
    claimed = [key for key in due if cache.add(CLAIM_PREFIX + key, 1, CLAIM_SECONDS)]
    if claimed:
        from django.db import transaction

        transaction.on_commit(
            lambda: hand_over("changeplans.tasks.jira_fetch_issues_task", fetch_issues, claimed), robust=True
        )
    return found


# --- the client: only in the worker -------------------------------------------------------------------------


def client() -> JIRA:
    """A client of the configured Jira: a Personal Access Token (Data Center) or, with OKNO_JIRA_USER, the e-mail
    and API token of Jira Cloud. No retries of its own (the task retries) and a timeout on every call."""
    from jira import JIRA

    auth: dict[str, Any] = (
        {"basic_auth": (settings.OKNO_JIRA_USER, settings.OKNO_JIRA_TOKEN)}
        if settings.OKNO_JIRA_USER
        else {"token_auth": settings.OKNO_JIRA_TOKEN}
    )
    return JIRA(
        server=settings.OKNO_JIRA_URL,
        options={"check_update": False, "rest_api_version": "2"},
        get_server_info=False,
        max_retries=0,
        timeout=settings.OKNO_JIRA_TIMEOUT_SECONDS,
        **auth,
    )


def _unavailable(error: Exception) -> bool:
    """A network error, a timeout or a 5xx: Jira may answer later. Anything else (401, 403, 404) will not change."""
    import requests
    from jira.exceptions import JIRAError

    if isinstance(error, requests.RequestException):
        return True
    return isinstance(error, JIRAError) and (error.status_code is None or error.status_code >= 500)


def fetch_issues(keys: list[str]) -> int:
    """Fetch each issue and cache it; returns how many were stored. Stops at the first sign Jira is down (the
    cached values stay and are shown; the claims make the pages ask again a minute later)."""
    import requests
    from jira.exceptions import JIRAError

    if not enabled():
        return 0
    jira = client()
    stored = 0
    for key in [normalized for key in keys if (normalized := normalize_key(key))][:MAX_KEYS]:
        try:
            raw = jira.issue(key, fields="summary,status").raw
        except (JIRAError, requests.RequestException) as error:
            if _unavailable(error):
                log.warning("Jira did not answer for %s: %s", key, error)
                return stored
            if isinstance(error, JIRAError) and error.status_code == 404:
                _store(Issue(key=key, fetched_at=time.time(), missing=True))
                stored += 1
                continue
            # 401, 403: the settings are wrong; asking again will not help
            log.error("Jira refused %s: %s %s", key, getattr(error, "status_code", None), getattr(error, "text", ""))
            return stored
        fields = raw.get("fields") or {}
        status = fields.get("status") or {}
        _store(
            Issue(
                key=key,
                summary=str(fields.get("summary") or "")[:500],
                status=str(status.get("name") or "")[:100],
                category=str((status.get("statusCategory") or {}).get("key") or "")[:20],
                fetched_at=time.time(),
            )
        )
        stored += 1
    return stored


# --- a comment when the plan ends ---------------------------------------------------------------------------


def after_event(plan_id: int, event_id: int) -> None:
    """history.on_event_recorded (after commit): a plan that has just ended gets a comment on its issue."""
    if not (enabled() and settings.OKNO_JIRA_COMMENT_ON_FINISH):
        return  # no query when Jira is off
    ended = PlanEvent.objects.filter(
        pk=event_id, kind=EventKind.TRANSITION, object_type="plan", to_status__in=FINISHED
    ).exists()
    if ended:
        hand_over("changeplans.tasks.jira_comment_task", comment_on_finish, plan_id, event_id)


def _marker(event_id: int) -> str:
    """Ends the comment: lets a repeated task see that the comment is there already."""
    return f"[okno-event-{event_id}]"


def finish_comment(plan: Plan, event: PlanEvent) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        lines = [
            _("Okno: the work «%(title)s» has ended: %(status)s.")
            % {"title": plan.title, "status": PlanStatus(event.to_status).label},
        ]
        if event.comment:
            lines.append(_("Comment: %(comment)s") % {"comment": event.comment})
        lines.append(absolute_url(reverse("changeplans:plan_detail", args=[plan.pk])))
        lines.append(_marker(event.pk))
    return "\n".join(lines)


def comment_on_finish(plan_id: int, event_id: int) -> bool:
    """Add the plan's outcome to its issue once; True when a comment was added. Raises JiraUnavailable when Jira
    did not answer (the task tries again), nothing when there is nothing to do."""
    if not (enabled() and settings.OKNO_JIRA_COMMENT_ON_FINISH):
        return False
    plan = Plan.objects.filter(pk=plan_id).first()
    event = PlanEvent.objects.filter(pk=event_id, plan_id=plan_id).first()
    key = plan_key(plan.jira_url) if plan is not None else None
    if plan is None or event is None or key is None:
        return False
    import requests
    from jira.exceptions import JIRAError

    text, marker = finish_comment(plan, event), _marker(event_id)
    jira = client()
    try:
        # Delivered twice (a worker died after posting): the first comment is found by its marker.
        if any(marker in (comment.body or "") for comment in jira.comments(key, order_by="-created")):
            return False
        jira.add_comment(key, text)
    except (JIRAError, requests.RequestException) as error:
        if _unavailable(error):
            raise JiraUnavailable(str(error)) from error
        log.error("Jira refused the comment on %s: %s", key, error)
        return False
    return True
