"""The read-only resources of the API (api/views_read.py, docs/api.md "Read-only resources"): services, a plan's
versions, diffs and history, runbooks, automation runs — their shape, who may see them (as the pages), cursor
pages, filters, and a query count that does not grow with the list."""

import datetime
import re

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from rest_framework.exceptions import NotFound

from api.choices import TokenScope
from api.tokens import issue_token
from approvals import services as approvals
from approvals.models import ApprovalRow
from changeplans import services as plan_services
from changeplans.choices import EventKind, GatePolicy
from changeplans.models import PlanEvent, PlanVersion
from changeplans.versioning import freeze_version
from runbooks import library, runs
from runbooks.choices import RunMode, RunStatus
from runbooks.models import ApprovalVia, AutomationApproval, AutomationRun, Runbook, RunLine, Secret
from tests.approvals.factories import plan_with_matrix
from tests.factories import PlanFactory, ServiceFactory, StepFactory, UserFactory
from tests.runbooks.automation_fixtures import automate
from tests.runbooks.runner_service import okno_runner, runner_writable_dir  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

API = "/api/v1"


def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def all_pages(client, url, **params):
    """Follow `next` from the first page to the last; every item once, in order."""
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    body = response.json()
    items, pages = list(body["results"]), 1
    while body["next"]:
        assert body["next"].startswith("http://testserver" + url)
        body = client.get(body["next"]).json()
        items += body["results"]
        pages += 1
        assert pages < 100
    return items, pages


def query_count(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries.captured_queries), response.json()


@pytest.fixture
def nobody(db):
    """A signed-in user with no role at all."""
    return UserFactory(username="nobody")


# --- authentication -----------------------------------------------------------------------------------


@pytest.fixture
def every_url(author):
    plan = PlanFactory(author=author)
    freeze_version(plan, actor=author)
    service = ServiceFactory()
    runbook = library.create_runbook("title: Регламент\nsteps:\n  - name: Шаг\n", actor=author).runbook
    run = AutomationRun.objects.create(
        plan=plan, step=StepFactory(plan=plan), kind="shell", timeout_seconds=60, started_by=author
    )
    return [
        f"{API}/services/",
        f"{API}/services/{service.pk}/",
        f"{API}/plans/{plan.pk}/versions/",
        f"{API}/plans/{plan.pk}/versions/1/",
        f"{API}/plans/{plan.pk}/versions/1/diff/",
        f"{API}/plans/{plan.pk}/history/",
        f"{API}/plans/{plan.pk}/runs/",
        f"{API}/runbooks/",
        f"{API}/runbooks/{runbook.pk}/",
        f"{API}/runs/{run.pk}/",
    ]


def test_every_endpoint_is_401_without_credentials(client, every_url):
    for url in every_url:
        response = client.get(url)
        assert response.status_code == 401, url
        assert response["WWW-Authenticate"].startswith("Bearer"), url
        assert response.json()["detail"] == "Учетные данные не были предоставлены."


def test_every_endpoint_answers_a_read_only_token_and_refuses_writes(client, every_url, author):
    plaintext = issue_token(author, name="ci", scope=TokenScope.READ, expires_at=None)[1]
    header = {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}
    for url in every_url:
        assert client.get(url, **header).status_code == 200, url
    # Read-only resources: no method but GET (and HEAD, OPTIONS), whatever the token's scope.
    writer = issue_token(author, name="rw", scope=TokenScope.WRITE, expires_at=None)[1]
    for url in every_url:
        response = client.post(url, {}, HTTP_AUTHORIZATION=f"Bearer {writer}")
        assert response.status_code == 405, url


def test_a_missing_object_is_404(author_client):
    with translation.override("ru"):
        not_found = str(NotFound.default_detail)
    for url in (
        f"{API}/services/999999/",
        f"{API}/plans/999999/versions/",
        f"{API}/plans/999999/versions/1/",
        f"{API}/plans/999999/versions/1/diff/",
        f"{API}/plans/999999/history/",
        f"{API}/plans/999999/runs/",
        f"{API}/runbooks/999999/",
        f"{API}/runs/999999/",
    ):
        response = author_client.get(url)
        assert response.status_code == 404, url
        assert response.json()["detail"] == not_found  # not Django's "No Plan matches the given query."


# --- services -----------------------------------------------------------------------------------------


def test_a_service_as_the_admin_shows_it_without_its_secret(client, nobody):
    service = ServiceFactory(
        name="billing.example.org",
        display_name="Биллинг",
        owner="Отдел биллинга",
        mailing_list="billing@example.org, ops@example.org\nnot-an-address",
        banner_origins="https://billing.example.org/\nhttps://lk.example.org",
        banner_webhook_url="https://hooks.example.org/banner?token=url-credential-42",
        banner_webhook_secret="webhook-secret-value-0123456789",
    )
    client.force_login(nobody)  # services are open to every signed-in user, as the plans naming them

    response = client.get(f"{API}/services/{service.pk}/")

    assert response.status_code == 200
    assert response.json() == {
        "id": service.pk,
        "name": "billing.example.org",
        "display_name": "Биллинг",
        "owner": "Отдел биллинга",
        "shows_banner": True,
        "banner_origins": ["https://billing.example.org", "https://lk.example.org"],
        "banner_webhook": True,
        "mailing_list": ["billing@example.org", "ops@example.org"],
        "announcement_from": "",
        "gate_without_plan": "block",
        "gate_without_plan_label": "Запрещать развёртывание",
    }
    listed = client.get(f"{API}/services/")
    for body in (response.content, listed.content):
        assert b"webhook-secret-value" not in body and b"url-credential-42" not in body
    assert english(client).get(f"{API}/services/{service.pk}/").json()["gate_without_plan_label"] == (
        "Block deployments"
    )


def test_services_page_with_a_cursor_and_filter(author_client):
    services = [ServiceFactory(display_name=f"Сервис {n}") for n in range(7)]
    found_later = ServiceFactory(name="pay.example.org", display_name="Платосфера", gate_without_plan=GatePolicy.ALLOW)

    items, pages = all_pages(author_client, f"{API}/services/", page_size=3)

    assert pages == 3
    assert {item["id"] for item in items} == {s.pk for s in services} | {found_later.pk}
    assert [item["id"] for item in items] == sorted((item["id"] for item in items), reverse=True)  # newest first
    found = author_client.get(f"{API}/services/", {"q": "платосф"}).json()["results"]
    assert [item["name"] for item in found] == ["pay.example.org"]
    allowed = author_client.get(f"{API}/services/", {"gate_without_plan": "allow"}).json()["results"]
    assert [item["name"] for item in allowed] == ["pay.example.org"]
    bad = author_client.get(f"{API}/services/", {"gate_without_plan": "maybe"})
    assert bad.status_code == 400 and "gate_without_plan" in bad.json()["errors"]


def test_the_service_list_runs_the_same_queries_for_5_and_50(author_client):
    for _n in range(5):
        ServiceFactory(mailing_list="a@example.org")
    few, body = query_count(author_client, f"{API}/services/")
    assert len(body["results"]) == 5
    for _n in range(45):
        ServiceFactory(mailing_list="a@example.org")
    many, body = query_count(author_client, f"{API}/services/")
    assert len(body["results"]) == 50
    assert many == few


# --- versions and their diffs -------------------------------------------------------------------------


@pytest.fixture
def signed_plan():
    """A plan submitted (version 1), approved by its approver, then a step's duration edited (version 2),
    and a refused attempt: its author tried to sign the approver's row."""
    plan, author, (approver,), _duty = plan_with_matrix(1)
    approvals.submit_plan(plan.pk, actor=author)
    row = ApprovalRow.objects.get(plan=plan, user=approver)
    approvals.approve_row(row.pk, actor=approver, version=1)
    step = plan.steps.get()
    plan_services.update_step_cell(step.pk, actor=author, field="duration_text", value="2-3 часа", revision=1)
    with pytest.raises(PermissionDenied):
        approvals.approve_row(row.pk, actor=author, version=2)
    return plan


def test_versions_newest_first_and_one_with_its_content(client, signed_plan, nobody):
    client.force_login(nobody)  # every signed-in user sees every plan (changeplans.permissions.can_view_plan)
    versions = client.get(f"{API}/plans/{signed_plan.pk}/versions/").json()["results"]
    assert [v["number"] for v in versions] == [2, 1]
    assert versions[1]["created_by"]["username"] == "author"
    assert "snapshot" not in versions[0]

    detail = client.get(f"{API}/plans/{signed_plan.pk}/versions/2/").json()
    stored = PlanVersion.objects.get(plan=signed_plan, number=2)
    assert detail["snapshot"] == stored.snapshot and detail["plan"] == signed_plan.pk
    assert detail["snapshot"]["steps"][0]["duration_text"] == "2-3 часа"
    assert client.get(f"{API}/plans/{signed_plan.pk}/versions/3/").status_code == 404


def _page_changes(client, plan, old, new):
    """(where, what) of each change the page "What changed" shows."""
    html = client.get(f"/approvals/plans/{plan.pk}/diff/", {"from": old, "to": new}).content.decode()
    rows = re.findall(r'<tr class="okno-change"><td class="text-nowrap">(.*?)</td><td class="small">(.*?)</td>', html)
    assert rows
    return rows


def test_the_diff_is_the_pages(author_client, signed_plan):
    url = f"{API}/plans/{signed_plan.pk}/versions/2/diff/"

    body = author_client.get(url).json()  # against the version before, by default

    assert (body["from_version"], body["to_version"]) == (1, 2)
    assert body["changes"] == [
        {
            "where": "Шаг 1",
            "what": "продолжительность",
            "old": "5 мин",
            "new": "2-3 часа",
            "html": "<del>5 мин</del> <ins>2-3 часа</ins>",
        }
    ]
    page = _page_changes(author_client, signed_plan, 1, 2)
    assert [(c["where"], c["what"].capitalize()) for c in body["changes"]] == page
    assert author_client.get(url, {"against": 2}).json()["changes"] == []
    backwards = author_client.get(f"{API}/plans/{signed_plan.pk}/versions/1/diff/", {"against": 2}).json()
    assert (backwards["changes"][0]["old"], backwards["changes"][0]["new"]) == ("2-3 часа", "5 мин")
    english_body = english(author_client).get(url).json()
    assert (english_body["changes"][0]["where"], english_body["changes"][0]["what"]) == ("Step 1", "duration")

    # A third version compares with the second by default
    step = signed_plan.steps.get()
    plan_services.update_step_cell(step.pk, actor=signed_plan.author, field="name", value="Шаг", revision=step.revision)
    third = author_client.get(f"{API}/plans/{signed_plan.pk}/versions/3/diff/").json()
    assert (third["from_version"], [c["new"] for c in third["changes"]]) == (2, ["Шаг"])


def test_a_diff_against_a_missing_version_is_400_translated(author_client, signed_plan):
    url = f"{API}/plans/{signed_plan.pk}/versions/2/diff/"
    response = author_client.get(url, {"against": 7})
    assert response.status_code == 400
    assert response.json()["errors"]["against"] == ["У плана нет версии 7."]
    assert english(author_client).get(url, {"against": 7}).json()["errors"]["against"] == ["The plan has no version 7."]
    assert author_client.get(url, {"against": "abc"}).status_code == 400


def test_the_version_list_runs_the_same_queries_for_5_and_50(author_client, author):
    plan = PlanFactory(author=author)
    for _n in range(5):
        PlanVersion.objects.create(plan=plan, number=_n + 1, created_by=author, snapshot={"header": {}, "steps": []})
    few, body = query_count(author_client, f"{API}/plans/{plan.pk}/versions/")
    for n in range(6, 51):
        PlanVersion.objects.create(plan=plan, number=n, created_by=UserFactory(), snapshot={"header": {}, "steps": []})
    many, body = query_count(author_client, f"{API}/plans/{plan.pk}/versions/")
    assert len(body["results"]) == 50 and many == few


# --- history ------------------------------------------------------------------------------------------


def test_history_is_the_pages_newest_first_refusals_included(author_client, signed_plan):
    items, _pages = all_pages(author_client, f"{API}/plans/{signed_plan.pk}/history/", page_size=4)

    events = list(PlanEvent.objects.filter(plan=signed_plan).order_by("-at", "-id"))
    assert [item["id"] for item in items] == [event.pk for event in events]
    page = author_client.get(f"/plans/{signed_plan.pk}/history/").content.decode()
    assert page.count('class="okno-history-row"') == len(items)
    refused = items[0]
    assert (refused["kind"], refused["kind_label"], refused["object_type"]) == ("refused", "Отказано", "approvalrow")
    assert refused["actor"]["username"] == "author" and refused["comment"]
    assert refused["comment"] in page
    transition = next(item for item in items if item["kind"] == "transition" and item["object_type"] == "plan")
    assert transition["to_label"] and transition["to_label"] in page


def test_history_filters_by_kind_and_time(author_client, signed_plan):
    url = f"{API}/plans/{signed_plan.pk}/history/"
    refused = author_client.get(url, {"kind": "refused"}).json()["results"]
    assert [item["kind"] for item in refused] == ["refused"]
    two_kinds = author_client.get(f"{url}?kind=refused&kind=version").json()["results"]
    assert sorted({item["kind"] for item in two_kinds}) == ["refused", "version"] and len(two_kinds) == 3

    event = PlanEvent.objects.filter(plan=signed_plan, kind=EventKind.VERSION).order_by("id").last()
    since = event.at.astimezone(datetime.UTC).isoformat()
    later = author_client.get(url, {"since": since}).json()["results"]
    assert later and all(item["at"] >= event.at.isoformat()[:19] for item in later)
    assert {item["id"] for item in later} == set(
        PlanEvent.objects.filter(plan=signed_plan, at__gte=event.at).values_list("pk", flat=True)
    )
    assert author_client.get(url, {"kind": "nonsense"}).status_code == 400
    assert author_client.get(url, {"since": "вчера"}).status_code == 400


def test_the_history_runs_the_same_queries_for_5_and_50(author_client, author):
    plan = PlanFactory(author=author)
    from changeplans.history import record_event

    for _n in range(5):
        record_event(plan, actor=author, kind=EventKind.EDITED, changes={"title": ["a", "b"]})
    few, body = query_count(author_client, f"{API}/plans/{plan.pk}/history/")
    for _n in range(45):
        record_event(plan, actor=UserFactory(), kind=EventKind.EDITED, changes={"title": ["a", "b"]})
    many, body = query_count(author_client, f"{API}/plans/{plan.pk}/history/")
    assert len(body["results"]) == 50 and many == few
    assert body["results"][0]["change_lines"] == ["Название: a → b"]


# --- runbooks -----------------------------------------------------------------------------------------


def make_runbook(author, n=0):
    return library.create_runbook(
        f"title: Регламент {n} для {{{{ cluster }}}}\n"
        "parameters:\n  - {name: cluster, type: cluster, label: Кластер}\n"
        "steps:\n  - name: Шаг\n",
        actor=author,
    ).runbook


def test_runbooks_list_and_one_with_its_current_definition(author_client, author):
    runbook = make_runbook(author)
    library.save_version(
        runbook.pk,
        "title: Регламент 0 для {{ cluster }}\nparameters:\n  - {name: cluster, type: cluster, label: Кластер}\n"
        "steps:\n  - name: Шаг\n  - name: Второй шаг\n",
        actor=author,
        comment="второй шаг",
    )
    archived = make_runbook(author, 1)
    Runbook.objects.filter(pk=archived.pk).update(archived=True)

    listed = author_client.get(f"{API}/runbooks/").json()["results"]

    assert [item["id"] for item in listed] == [runbook.pk]  # the library's pages leave archived runbooks out
    assert listed[0]["display_title"] == "Регламент 0 для ‹кластер›"
    assert listed[0]["current_version"]["number"] == 2 and listed[0]["current_version"]["comment"] == "второй шаг"
    detail = author_client.get(f"{API}/runbooks/{runbook.pk}/").json()
    current = runbook.versions.get(number=2)
    assert detail["current_version"]["definition"] == current.definition
    assert detail["current_version"]["source"] == current.source
    assert [step["name"] for step in detail["current_version"]["definition"]["steps"]] == ["Шаг", "Второй шаг"]
    assert [v["number"] for v in detail["versions"]] == [2, 1]
    assert author_client.get(f"{API}/runbooks/{archived.pk}/").status_code == 200  # as its page, by its address


@pytest.mark.parametrize("role", ["approver", "duty_officer", None])
def test_runbooks_are_refused_to_who_the_pages_refuse_even_for_a_missing_one(client, author, role):
    runbook = make_runbook(author)
    user = UserFactory(username="reader", roles=[role] if role else [])
    client.force_login(user)
    assert client.get(f"/runbooks/{runbook.slug}/").status_code == 403  # the page
    for url in (f"{API}/runbooks/", f"{API}/runbooks/{runbook.pk}/", f"{API}/runbooks/999999/"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert response.json()["detail"] == "Регламенты — для авторов, операторов и администраторов."


@pytest.mark.parametrize("role", ["author", "operator", "admin"])
def test_runbooks_are_shown_to_who_the_pages_show_them(client, author, role):
    runbook = make_runbook(author)
    client.force_login(UserFactory(username="reader", roles=[role]))
    assert client.get(f"/runbooks/{runbook.slug}/").status_code == 200
    assert client.get(f"{API}/runbooks/{runbook.pk}/").status_code == 200


def test_the_runbook_list_pages_and_runs_the_same_queries_for_5_and_50(author_client, author):
    for n in range(5):
        make_runbook(author, n)
    few, body = query_count(author_client, f"{API}/runbooks/")
    for n in range(5, 50):
        make_runbook(UserFactory(roles=["author"]), n)
    many, body = query_count(author_client, f"{API}/runbooks/")
    assert len(body["results"]) == 50 and many == few
    items, pages = all_pages(author_client, f"{API}/runbooks/", page_size=20)
    assert pages == 3 and len({item["id"] for item in items}) == 50


# --- automation runs ----------------------------------------------------------------------------------


@pytest.fixture
def run(okno_runner, running_plan, operator, django_capture_on_commit_callbacks):  # noqa: F811
    """A real run (the runner service) of a shell step that prints a secret: the log shows it masked."""
    Secret.objects.create(name="db-pass", value="s3cr3t-Value-XYZ")
    step = running_plan.steps.get(position=1)
    automate(step, spec={"argv": ["printf", "host db-1.internal token=%s\\n", "{{ secret.db-pass }}"]})
    with django_capture_on_commit_callbacks(execute=True):
        run = runs.request_run(step.pk, actor=operator)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.summary
    return run


def test_a_run_with_its_log_as_the_page_shows_it(client, run, operator):
    client.force_login(run.plan.author)

    body = client.get(f"{API}/runs/{run.pk}/").json()

    assert body["log"] == "host db-1.internal token=••••••"
    assert "s3cr3t" not in client.get(f"{API}/runs/{run.pk}/").content.decode()
    page_log = client.get(f"/automation/runs/{run.pk}/log.txt").content.decode()
    assert page_log.endswith(body["log"] + "\n") and body["command"] in page_log
    assert (body["status"], body["status_label"], body["mode"]) == ("succeeded", "УСПЕШНО", "production")
    assert body["started_by"]["username"] == "operator" and body["exit_code"] == 0
    assert body["step"] == {"id": run.step_id, "position": 1, "name": "Шаг 1"}
    assert body["approval"]["via"] == ApprovalVia.SIGN_OFF and body["approval"]["signers"] == "test fixture"
    listed = client.get(f"{API}/plans/{run.plan_id}/runs/").json()["results"]
    assert [item["id"] for item in listed] == [run.pk] and "log" not in listed[0]


def test_a_running_runs_log_is_its_lines_so_far(client, running_plan, operator):
    step = running_plan.steps.get(position=2)
    run = AutomationRun.objects.create(
        plan=running_plan, step=step, kind="shell", timeout_seconds=60, status=RunStatus.RUNNING
    )
    RunLine.objects.create(run=run, seq=2, text="второй")
    RunLine.objects.create(run=run, seq=1, text="первый")
    client.force_login(operator)
    assert client.get(f"{API}/runs/{run.pk}/").json()["log"] == "первый\nвторой"


def test_runs_are_refused_to_who_has_no_stake_in_the_plan(client, run, nobody, other_author):
    for user in (nobody, other_author):
        client.force_login(user)
        assert client.get(f"/automation/runs/{run.pk}/").status_code == 403  # the page
        for url in (f"{API}/runs/{run.pk}/", f"{API}/plans/{run.plan_id}/runs/"):
            response = client.get(url)
            assert response.status_code == 403, url
            assert b"db-1.internal" not in response.content
            assert response.json()["detail"].startswith("Запуски автоматизации этого плана видят его автор")
    english(client)
    detail = client.get(f"{API}/runs/{run.pk}/").json()["detail"]
    assert detail.startswith("Automation runs of this plan are shown to its author")


@pytest.mark.parametrize("who", ["author", "operator", "duty", "admin_user", "signer", "curator", "deputy"])
def test_people_with_a_stake_see_the_runs(client, run, who, request):
    plan = run.plan
    if who in ("signer", "deputy"):
        signer = UserFactory(username="signer", roles=["approver"])
        ApprovalRow.objects.create(plan=plan, position=1, person_name="Согласующий", user=signer)
        user = signer
        if who == "deputy":
            from approvals.models import Delegation

            user = UserFactory(username="deputy", roles=["approver"])
            today = timezone.localdate()
            Delegation.objects.create(principal=signer, deputy=user, starts_on=today, ends_on=today)
    elif who == "curator":
        user = UserFactory(username="curator", roles=["author"])
        plan.curator = user
        plan.save(update_fields=["curator"])
    else:
        user = request.getfixturevalue(who)
    client.force_login(user)
    assert client.get(f"/automation/runs/{run.pk}/").status_code == 200  # the page
    assert client.get(f"{API}/runs/{run.pk}/").json()["log"].startswith("host db-1.internal")
    assert [item["id"] for item in client.get(f"{API}/plans/{plan.pk}/runs/").json()["results"]] == [run.pk]


def test_the_runs_of_a_plan_filter_page_and_run_the_same_queries_for_5_and_50(client, running_plan, operator):
    step = running_plan.steps.get(position=1)
    automation = automate(step, ["true"])
    version = freeze_version(running_plan, actor=running_plan.author)

    def add_runs(count):
        for n in range(count):
            approval = AutomationApproval.objects.create(
                automation=automation,
                content_hash="x",
                via=ApprovalVia.OPERATOR,
                approved_by=UserFactory(),
                version=version,
            )
            AutomationRun.objects.create(
                plan=running_plan,
                step=step,
                kind="shell",
                timeout_seconds=60,
                mode=RunMode.REHEARSAL if n % 2 else RunMode.PRODUCTION,
                status=RunStatus.FAILED if n % 5 == 0 else RunStatus.SUCCEEDED,
                started_by=UserFactory(),
                cancelled_by=UserFactory(),
                approval=approval,
                log="x" * 1000,
            )

    client.force_login(operator)
    url = f"{API}/plans/{running_plan.pk}/runs/"
    add_runs(5)
    few, _body = query_count(client, url)
    add_runs(45)
    many, body = query_count(client, url)
    assert len(body["results"]) == 50 and many == few
    assert body["results"][0]["approval"]["version"] == version.number

    items, pages = all_pages(client, url, page_size=15)
    assert pages == 4 and len({item["id"] for item in items}) == 50
    rehearsals = client.get(url, {"mode": "rehearsal", "page_size": 200}).json()["results"]
    assert len(rehearsals) == 24 and {item["mode"] for item in rehearsals} == {"rehearsal"}
    failed = client.get(url, {"status": "failed", "page_size": 200}).json()["results"]
    assert len(failed) == 10 and {item["status_label"] for item in failed} == {"НЕУДАЧА"}
    assert client.get(url, {"status": "exploded"}).status_code == 400


def test_a_group_row_on_the_matrix_is_a_stake(client, run):
    # A row asked of a group (duty officers of the day): its members see the runs, as the page lets them.
    group = Group.objects.get_or_create(name="network-team")[0]
    member = UserFactory(username="member")
    member.groups.add(group)
    ApprovalRow.objects.create(plan=run.plan, position=1, person_name="Сетевики", group=group)
    client.force_login(member)
    assert client.get(f"/automation/runs/{run.pk}/").status_code == 200
    assert client.get(f"{API}/runs/{run.pk}/").status_code == 200
