"""Jira against FakeJira, a FAKE Jira REST server (tests/fakes/jira_server.py; there is no Jira here).

The client is the real `jira` package; the cache is the project's (Redis with REDIS_URL). Fetches run in the
worker's task, after commit: the page requests below never call Jira themselves.
"""

import pytest
from django.core.cache import cache
from django.urls import reverse

from changeplans import jira
from changeplans.models import Plan
from changeplans.tasks import jira_comment_task, jira_fetch_issues_task
from execution import transitions
from tests.factories import PlanFactory, StepFactory
from tests.fakes.jira_server import FakeJira

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_jira():
    with FakeJira(token="pat-123") as fake:
        fake.add_issue("INFRA-22", "Замена Flannel на Calico в PROD", status="В работе", category="indeterminate")
        fake.add_issue("OPS-105", "Перезапуск узлов", status="Готово", category="done")
        yield fake


@pytest.fixture(autouse=True)
def _clean_cache():
    """The cache outlives a test (Redis): each starts with no issue and no claim."""
    keys = ["INFRA-22", "OPS-105", "OPS-999"]
    cache.delete_many([jira.CACHE_PREFIX + k for k in keys] + [jira.CLAIM_PREFIX + k for k in keys])
    yield
    cache.delete_many([jira.CACHE_PREFIX + k for k in keys] + [jira.CLAIM_PREFIX + k for k in keys])


@pytest.fixture
def jira_on(settings, fake_jira):
    settings.OKNO_JIRA_URL = fake_jira.url
    settings.OKNO_JIRA_TOKEN = "pat-123"
    settings.OKNO_JIRA_USER = ""
    settings.OKNO_JIRA_COMMENT_ON_FINISH = True
    return fake_jira


def _plan(url):
    plan = PlanFactory(jira_url=f"{url}/browse/INFRA-22")
    StepFactory(plan=plan, position=1, jira_key="ops-105")
    StepFactory(plan=plan, position=2, jira_key="OPS-999")  # not in Jira
    StepFactory(plan=plan, position=3, jira_key="см. письмо")  # not a key: never sent
    StepFactory(plan=plan, position=4, jira_key="")
    return plan


def _parts(client, plan):
    url = reverse("changeplans:plan_jira", args=[plan.pk])
    return client.get(f"{url}?part=plan").content.decode(), client.get(url).content.decode()


def test_without_settings_the_key_stays_a_link_and_nothing_calls_jira(
    settings, fake_jira, author_client, django_capture_on_commit_callbacks
):
    settings.OKNO_JIRA_URL = ""
    settings.OKNO_JIRA_TOKEN = ""
    plan = _plan(fake_jira.url)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        page = author_client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
        part, steps = _parts(author_client, plan)

    assert f'<a href="{fake_jira.url}/browse/INFRA-22" rel="noopener">' in page
    assert "jira-plan-issue" not in page and "jira-issues" not in page
    assert part == steps == "" and callbacks == []
    assert jira.fetch_issues(["INFRA-22"]) == 0
    assert fake_jira.requests == []


def test_summary_and_status_are_fetched_by_the_worker_and_shown(
    jira_on, author_client, django_capture_on_commit_callbacks
):
    plan = _plan(jira_on.url)
    page = author_client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
    assert 'id="jira-plan-issue"' in page and 'id="jira-issues"' in page

    # The parts ask the worker for the issues after commit, and show what the cache has: nothing yet.
    with django_capture_on_commit_callbacks() as callbacks:
        before_plan, before_steps = _parts(author_client, plan)
    assert jira_on.requests == []  # nothing called Jira in the requests
    assert "Calico" not in before_plan and "try=1" in before_plan and "try=1" in before_steps
    assert len(callbacks) == 2

    # The worker's task fetches them (the two callbacks claimed INFRA-22, then the steps' keys).
    jira_fetch_issues_task.apply(args=[["INFRA-22", "OPS-105", "OPS-999", "см. письмо"]])
    with django_capture_on_commit_callbacks() as again:
        after_plan, after_steps = _parts(author_client, plan)

    fetched = sorted(r.path.rsplit("/", 1)[1] for r in jira_on.calls("GET", ""))
    assert fetched == ["INFRA-22", "OPS-105", "OPS-999"]
    assert {r.headers["authorization"] for r in jira_on.requests} == {"Bearer pat-123"}
    assert "Замена Flannel на Calico в PROD" in after_plan and "В работе" in after_plan and "try=" not in after_plan
    assert "Перезапуск узлов" in after_steps and "Готово" in after_steps and "text-bg-success" in after_steps
    assert f'href="{jira_on.url}/browse/OPS-105"' in after_steps
    assert "Такой задачи в Jira нет" in after_steps  # OPS-999
    assert "см. письмо" not in after_steps
    assert again == []  # fresh: nothing asked of the worker


def test_a_stale_issue_is_shown_while_the_worker_fetches_it_again(
    jira_on, settings, author_client, django_capture_on_commit_callbacks
):
    plan = _plan(jira_on.url)
    jira.fetch_issues(["INFRA-22"])
    jira_on.add_issue("INFRA-22", "Замена Flannel на Calico в PROD", status="Закрыта", category="done")
    settings.OKNO_JIRA_CACHE_SECONDS = 0  # everything cached is stale now

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        stale, _steps = _parts(author_client, plan)
    fresh, _steps = _parts(author_client, plan)

    assert "В работе" in stale and len(callbacks) >= 1
    assert "Закрыта" in fresh


def test_jira_down_the_page_still_renders_with_the_link(jira_on, author_client, django_capture_on_commit_callbacks):
    plan = _plan(jira_on.url)
    jira.fetch_issues(["OPS-105"])  # cached before Jira went down
    cache.delete(jira.CLAIM_PREFIX + "OPS-105")
    jira_on.fail_next(50, 503)

    with django_capture_on_commit_callbacks(execute=True):
        page = author_client.get(reverse("changeplans:plan_detail", args=[plan.pk]))
        part, steps = _parts(author_client, plan)

    assert page.status_code == 200
    assert f'<a href="{jira_on.url}/browse/INFRA-22" rel="noopener">' in page.content.decode()
    assert "try=1" in part and "Calico" not in part  # not fetched: asks again later
    assert "Перезапуск узлов" in steps  # the older value stays shown
    assert jira.fetch_issues(["INFRA-22"]) == 0  # the worker gives up quietly and keeps nothing


def test_finishing_the_plan_comments_on_its_issue_once(jira_on, running_plan, duty, django_capture_on_commit_callbacks):
    Plan.objects.filter(pk=running_plan.pk).update(jira_url=f"{jira_on.url}/browse/INFRA-22")

    with django_capture_on_commit_callbacks(execute=True):
        transitions.finish_plan(running_plan.pk, actor=duty, outcome="failed", comment="Откатились: узлы не поднялись")

    posts = jira_on.calls("POST", "/issue/INFRA-22/comment")
    assert len(posts) == 1
    assert posts[0].headers["authorization"] == "Bearer pat-123"
    body = posts[0].body["body"]
    assert running_plan.title in body and "Откатились: узлы не поднялись" in body
    assert f"/plans/{running_plan.pk}/" in body
    # Delivered again (a worker died after posting): the marker finds the comment, none is added.
    event_id = int(body.rsplit("okno-event-", 1)[1].rstrip("]"))
    assert jira.comment_on_finish(running_plan.pk, event_id) is False
    assert len(jira_on.calls("POST", "/comment")) == 1


def test_jira_cloud_basic_auth_and_a_retry_after_jira_failed(
    settings, running_plan, duty, django_capture_on_commit_callbacks
):
    with FakeJira(user="ci@example.org", token="cloud-api-token") as fake:
        fake.add_issue("INFRA-22", "Cloud")
        settings.OKNO_JIRA_URL = fake.url
        settings.OKNO_JIRA_USER = "ci@example.org"
        settings.OKNO_JIRA_TOKEN = "cloud-api-token"
        settings.OKNO_JIRA_COMMENT_ON_FINISH = True
        settings.OKNO_USE_WORKER = False
        Plan.objects.filter(pk=running_plan.pk).update(jira_url=f"{fake.url}/browse/INFRA-22")
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            transitions.finish_plan(running_plan.pk, actor=duty, outcome="failed", comment="нет")
        event_id = max(e.pk for e in running_plan.events.all())
        fake.fail_next(1, 503)

        jira_comment_task.apply(args=[running_plan.pk, event_id])  # 503, then the retry posts

        assert callbacks  # the listener was queued after commit
        posts = fake.calls("POST", "/comment")
        assert len(posts) == 1
        assert posts[0].headers["authorization"].startswith("Basic ")
        assert [r.headers["authorization"] for r in fake.requests][0] == fake.expected_authorization()


def test_no_comment_when_switched_off(jira_on, settings, running_plan, duty, django_capture_on_commit_callbacks):
    settings.OKNO_JIRA_COMMENT_ON_FINISH = False
    Plan.objects.filter(pk=running_plan.pk).update(jira_url=f"{jira_on.url}/browse/INFRA-22")

    with django_capture_on_commit_callbacks(execute=True):
        transitions.finish_plan(running_plan.pk, actor=duty, outcome="failed", comment="нет")

    assert jira_on.requests == []


def test_keys_and_links():
    assert jira.normalize_key(" ops-105 ") == "OPS-105"
    for bad in ("", "OPS", "OPS-0", "OPS-1/../../x", "1OPS-2", "OPS-1 OPS-2"):
        assert jira.normalize_key(bad) is None


def test_only_links_to_the_configured_jira_name_a_plan_issue(settings):
    settings.OKNO_JIRA_URL = "https://jira.example.org"
    assert jira.plan_key("https://jira.example.org/browse/INFRA-22") == "INFRA-22"
    assert jira.plan_key("https://jira.example.org/projects/INFRA/issues/INFRA-23?filter=all") == "INFRA-23"
    assert jira.plan_key("https://jira.example.org.evil.test/browse/INFRA-22") is None
    assert jira.plan_key("https://other.example.org/browse/INFRA-22") is None
    assert jira.plan_key("") is None


def test_jira_adds_no_query_to_the_plan_page(jira_on, settings, author_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    plan = _plan(jira_on.url)
    url = reverse("changeplans:plan_detail", args=[plan.pk])
    author_client.get(url)  # warm: the kept plan check, the rows cache

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert author_client.get(url).status_code == 200
        return len(queries)

    with_jira = count()
    settings.OKNO_JIRA_URL = ""
    without = count()

    assert with_jira == without
    assert jira_on.requests == []
