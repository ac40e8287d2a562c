"""Issue 11, finding 1: a run's page, log, live output and the plan's rehearsal results are shown only to
people who may see the plan and have a stake in it — not to every signed-in user."""

import pytest

from approvals.models import ApprovalRow
from runbooks import runs
from runbooks.models import Secret
from tests.factories import UserFactory
from tests.runbooks.automation_fixtures import automate

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(running_plan, operator, django_capture_on_commit_callbacks):
    Secret.objects.create(name="db-pass", value="s3cr3t-Value-XYZ")
    step = running_plan.steps.get(position=1)
    automate(step, ["printf", "host %s-%s.internal\\n", "db", "1"])  # the output, not the command, names the host
    with django_capture_on_commit_callbacks(execute=True):
        run = runs.request_run(step.pk, actor=operator)
    run.refresh_from_db()
    return run


def _urls(run):
    return [f"/automation/runs/{run.pk}/", f"/automation/runs/{run.pk}/log.txt", f"/automation/runs/{run.pk}/stream/"]


def test_a_user_with_no_role_is_refused_every_run_url(client, run):
    client.force_login(UserFactory(username="nobody"))
    for url in _urls(run):
        response = client.get(url)
        assert response.status_code == 403, url
        assert b"db-1.internal" not in response.content
    board = client.get(f"/plans/{run.plan_id}/board/").content.decode()
    assert f"/automation/runs/{run.pk}/" not in board


def test_an_author_of_another_plan_is_refused(client, run, other_author):
    client.force_login(other_author)
    for url in _urls(run):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/automation/runs/{run.pk}/cancel/").status_code == 403


@pytest.mark.parametrize("who", ["author", "operator", "duty", "admin_user", "signer", "curator"])
def test_people_with_a_stake_see_the_run(client, run, who, request):
    plan = run.plan
    if who == "signer":
        user = UserFactory(username="signer", roles=["approver"])
        ApprovalRow.objects.create(plan=plan, position=1, person_name="Согласующий", user=user)
    elif who == "curator":
        user = UserFactory(username="curator", roles=["author"])
        plan.curator = user
        plan.save(update_fields=["curator"])
    else:
        user = request.getfixturevalue(who)
    client.force_login(user)
    assert client.get(_urls(run)[0]).status_code == 200
    log = client.get(_urls(run)[1])
    assert log.status_code == 200 and b"db-1.internal" in log.content


def test_the_plan_page_hides_rehearsal_results_from_who_has_no_stake(client, run, other_author):
    client.force_login(other_author)
    page = client.get(f"/plans/{run.plan_id}/").content.decode()
    assert 'id="rehearsal-hidden"' in page and 'id="automation-approvals"' not in page
    board = client.get(f"/plans/{run.plan_id}/board/").content.decode()
    assert f"/automation/runs/{run.pk}/" not in board


def _pdf_text(pdf):
    import io

    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_plan_pdf_carries_run_logs_only_for_who_may_see_them(client, run):
    # The archive PDF's appendix is a log download too: the same rule applies.
    client.force_login(UserFactory(username="nobody"))
    response = client.get(f"/plans/{run.plan_id}/pdf/")
    assert response.status_code == 200 and "db-1.internal" not in _pdf_text(response.getvalue())
    client.force_login(run.plan.author)
    assert "db-1.internal" in _pdf_text(client.get(f"/plans/{run.plan_id}/pdf/").getvalue())
