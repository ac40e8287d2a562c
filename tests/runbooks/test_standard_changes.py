"""Issue 18: standard changes. An administrator pre-approves a runbook version; a plan made from it with its steps
unchanged needs only the duty officer's acknowledgement; any change makes it a normal change (runbooks/standard.py)."""

import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from approvals import services as approvals
from approvals.choices import RowKind
from approvals.models import ApprovalRow
from changeplans import services as plan_services
from changeplans.choices import EventKind, PlanKind, PlanStatus
from changeplans.models import Plan, PlanEvent
from execution import transitions
from runbooks import four_eyes, instantiate, library, runs, standard
from runbooks.choices import RunStatus
from runbooks.models import ApprovalVia, AutomationApproval, PlanOrigin, Runbook, StandardMarking, StepAutomation
from runbooks.services import save_step_automation
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SOURCE = """title: "Ротация журнала {{ name }}"
description: Плановая ротация
plan:
  goal: Повернуть журнал
  kind: standard
parameters:
  - {name: name, type: string, label: Журнал}
steps:
  - name: "Повернуть журнал {{ name }}"
    description: logrotate
    expected_result: Журнал повёрнут
    executor: Группа Kubernetes-платформы
    duration: 10 мин
    risks:
      - {description: Диск заполнен, mitigation: Очистить старые журналы}
    rollback:
      - {text: Вернуть старый журнал, risks: [1]}
    automation:
      kind: shell
      spec: {argv: ["python3", "-c", "open('MARKER', 'w').write('ran')"]}
  - name: Проверить журнал
    description: tail
    expected_result: Записи идут
    executor: Группа Kubernetes-платформы
    duration: 5 мин
"""


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def marker():
    """Where the automation writes: runs execute as the runner's own user (docs/runner.md)."""
    folder = Path(tempfile.mkdtemp(prefix="okno-standard-"))
    folder.chmod(0o777)
    yield folder / "ran"
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def writer(db):
    return UserFactory(username="writer", roles=["author"])


@pytest.fixture
def admin2(db):
    return UserFactory(
        username="admin2", last_name="Админов", first_name="А.А.", roles=["admin"], is_staff=True, is_superuser=True
    )


@pytest.fixture
def runbook(writer, marker):
    version = library.create_runbook(SOURCE.replace("MARKER", str(marker)), actor=writer, comment="v1")
    return version.runbook


def _mark(runbook, admin):
    return standard.mark_standard(runbook.pk, actor=admin, number=runbook.current.number, comment="Безопасно")


def _plan(runbook, author, start=None):
    start = start or timezone.now() + timedelta(days=2)
    return instantiate.create_plan(runbook.current, {"name": "app"}, actor=author, window_start=start)


def _kind_events(plan):
    return list(PlanEvent.objects.filter(plan=plan, kind=EventKind.KIND_CHANGED))


def test_an_unchanged_standard_plan_needs_only_the_duty_acknowledgement(runbook, admin2, author, duty):
    _mark(runbook, admin2)
    plan = _plan(runbook, author)
    # Given: a plan from the marked version: standard, its matrix one acknowledgement of the duty group
    assert plan.kind == PlanKind.STANDARD
    rows = list(ApprovalRow.objects.filter(plan=plan))
    assert [(r.kind, r.group.name) for r in rows] == [(RowKind.ACKNOWLEDGEMENT, "duty_officer")]
    assert PlanOrigin.objects.get(plan=plan).standard_fingerprint == standard.fingerprint(plan)
    # When: the author submits it without approvers, and the duty officer acknowledges
    version = approvals.submit_plan(plan.pk, actor=author)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.IN_REVIEW and plan.kind == PlanKind.STANDARD
    approvals.acknowledge_row(rows[0].pk, actor=duty, version=version.number)
    # Then: approved, still standard, no type change recorded
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPROVED and plan.kind == PlanKind.STANDARD
    assert _kind_events(plan) == []


def test_planned_times_do_not_count_as_a_change(runbook, admin2, author):
    _mark(runbook, admin2)
    plan = _plan(runbook, author)
    step = plan.steps.get(position=2)
    step.planned_time = (timezone.now() + timedelta(hours=5)).time().replace(second=0, microsecond=0)
    step.jira_key = "OPS-7"
    step.save()
    assert standard.standard_problem(plan) is None


def test_a_changed_step_makes_it_normal_and_submit_needs_approvers(runbook, admin2, author, approver):
    _mark(runbook, admin2)
    plan = _plan(runbook, author)
    step = plan.steps.get(position=2)
    plan_services.update_step_cell(step.pk, actor=author, field="description", value="tail -f", revision=step.revision)
    # When: the author submits it as it is
    with pytest.raises(ValidationError, match="no longer a standard change.*needs approvers"):
        approvals.submit_plan(plan.pk, actor=author)
    # Then: refused, but the plan is a normal change now, and that is recorded with the reason
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAFT and plan.kind == PlanKind.NORMAL
    (event,) = _kind_events(plan)
    assert event.changes == {"kind": [PlanKind.STANDARD, PlanKind.NORMAL]} and "steps were changed" in event.comment
    # And the normal rules apply: with an approver it is submitted (as normal)
    ApprovalRow.objects.create(plan=plan, position=2, person_name="Согласующий", user=approver)
    approvals.submit_plan(plan.pk, actor=author)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.IN_REVIEW and plan.kind == PlanKind.NORMAL


@pytest.mark.parametrize("how", ["withdrawn", "new version marked", "not from the marked version"])
def test_a_plan_loses_standard_when_the_marking_moves(how, runbook, admin2, author, writer, marker):
    _mark(runbook, admin2)
    plan = _plan(runbook, author)
    if how == "withdrawn":
        standard.unmark_standard(runbook.pk, actor=admin2, comment="Инцидент")
    elif how == "new version marked":
        library.save_version(
            runbook.pk, SOURCE.replace("MARKER", str(marker)).replace("5 мин", "6 мин"), actor=writer, comment="v2"
        )
        runbook.refresh_from_db()
        _mark(runbook, admin2)
    else:
        PlanOrigin.objects.filter(plan=plan).update(standard_fingerprint="")
    with pytest.raises(ValidationError, match="needs approvers"):
        approvals.submit_plan(plan.pk, actor=author)
    plan.refresh_from_db()
    assert plan.kind == PlanKind.NORMAL and len(_kind_events(plan)) == 1


def test_a_new_version_is_not_standard_until_marked_again(runbook, admin2, author, writer, marker):
    _mark(runbook, admin2)
    library.save_version(
        runbook.pk, SOURCE.replace("MARKER", str(marker)).replace("5 мин", "7 мин"), actor=writer, comment="v2"
    )
    runbook.refresh_from_db()
    assert runbook.current.number == 2 and runbook.standard_version.number == 1
    plan = _plan(runbook, author)
    assert plan.kind == PlanKind.NORMAL and not ApprovalRow.objects.filter(plan=plan).exists()
    _mark(runbook, admin2)
    assert _plan(runbook, author).kind == PlanKind.STANDARD
    assert list(StandardMarking.objects.filter(runbook=runbook).values_list("version__number", "marked")) == [
        (2, True),
        (1, True),
    ]


def test_the_yaml_alone_never_makes_a_standard_plan(runbook, author):
    assert "kind: standard" in runbook.current.source
    plan = _plan(runbook, author)
    assert plan.kind == PlanKind.NORMAL
    with pytest.raises(ValidationError):
        plan_services.change_plan_kind(plan.pk, actor=author, kind=PlanKind.STANDARD, reason="хочу")


def test_who_may_mark(runbook, admin2, author, writer):
    # Not an administrator; the one who saved the version (four eyes); then the administrator
    for user in (author, writer):
        with pytest.raises(PermissionDenied):
            _mark(runbook, user)
    writer_admin = UserFactory(username="writer_admin", roles=["admin"])
    version = library.save_version(runbook.pk, runbook.current.source + "# v2\n", actor=writer_admin, comment="v2")
    assert version.number == 2
    runbook.refresh_from_db()
    with pytest.raises(PermissionDenied, match="another administrator"):
        _mark(runbook, writer_admin)
    with pytest.raises(ValidationError):
        standard.mark_standard(runbook.pk, actor=admin2, number=runbook.current.number, comment="  ")
    _mark(runbook, admin2)
    runbook.refresh_from_db()
    assert runbook.standard_version == runbook.current and runbook.standard_marked_by == admin2
    with pytest.raises(PermissionDenied):
        standard.unmark_standard(runbook.pk, actor=author, comment="нет")


def test_the_page_marks_for_administrators_only(client, runbook, admin2, author):
    url = reverse("runbooks:runbook_standard", args=[runbook.slug])
    data = {"action": "mark", "version": runbook.current.number, "comment": "Безопасно"}
    # An author sees no button, and a forged POST is refused
    client.force_login(author)
    page = client.get(reverse("runbooks:runbook_detail", args=[runbook.slug])).content.decode()
    assert 'id="runbook-standard"' in page and 'id="standard-mark"' not in page
    assert client.post(url, data).status_code == 403
    runbook.refresh_from_db()
    assert runbook.standard_version is None
    # The administrator: an empty comment is refused in words, then the marking is saved and shown
    client.force_login(admin2)
    page = client.get(reverse("runbooks:runbook_detail", args=[runbook.slug])).content.decode()
    assert 'id="standard-mark"' in page and "data-okno-confirm" in page
    response = client.post(url, {**data, "comment": ""})
    assert response.status_code == 422 and "Укажите причину" in response.content.decode()  # the UI speaks Russian
    response = client.post(url, data)
    assert response.status_code == 302
    runbook.refresh_from_db()
    assert runbook.standard_version == runbook.current
    page = client.get(reverse("runbooks:runbook_detail", args=[runbook.slug])).content.decode()
    assert 'id="runbook-standard-badge"' in page and "Безопасно" in page and 'id="standard-unmark"' in page
    # A stale page (another version appeared) is refused, what was typed kept
    response = client.post(url, {"action": "unmark", "comment": "Инцидент"})
    assert response.status_code == 302
    stale = client.post(url, {**data, "version": 99, "comment": "Старая страница"})
    assert stale.status_code == 422 and "Старая страница" in stale.content.decode()


def test_the_plan_page_tells_the_author(client, runbook, admin2, author):
    _mark(runbook, admin2)
    plan = _plan(runbook, author)
    client.force_login(author)
    client.cookies["django_language"] = "en"
    create = client.get(reverse("runbooks:runbook_plan_create", args=[runbook.slug])).content.decode()
    assert 'id="plan-create-standard"' in create
    url = reverse("changeplans:plan_detail", args=[plan.pk])
    page = client.get(url).content.decode()
    assert 'id="plan-standard"' in page and "Standard change from runbook" in page
    step = plan.steps.get(position=1)
    plan_services.update_step_cell(step.pk, actor=author, field="name", value="Другое", revision=step.revision)
    page = client.get(url).content.decode()
    assert "Steps changed: will be submitted as a normal change" in page and 'id="plan-standard-check"' in page
    # The author sends it: refused with the reason, the plan is a normal change from now on
    response = client.post(reverse("approvals:plan_submit", args=[plan.pk]), follow=True)
    assert "no longer a standard change" in response.content.decode()
    plan.refresh_from_db()
    assert plan.kind == PlanKind.NORMAL and plan.status == PlanStatus.DRAFT
    page = client.get(url).content.decode()
    assert 'id="plan-standard"' not in page


def test_the_plan_page_queries_do_not_grow_with_steps(client, runbook, admin2, author, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import StepFactory

    _mark(runbook, admin2)
    plan = _plan(runbook, author)
    client.force_login(author)
    url = reverse("changeplans:plan_detail", args=[plan.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    from changeplans.models import Risk, RollbackAction

    for n in range(3, 40):
        step = StepFactory(plan=plan, position=n, name=f"Шаг {n}")
        risk = Risk.objects.create(step=step, number=1, description="Риск")
        RollbackAction.objects.create(step=step, position=1, text="Откат").risks.set([risk])
    client.get(url)
    with CaptureQueriesContext(connection) as large:
        client.get(url)
    assert len(large) == len(small)


# --- four eyes on automation ---------------------------------------------------------------------------


def _approve_standard(plan, author, duty):
    version = approvals.submit_plan(plan.pk, actor=author)
    row = ApprovalRow.objects.get(plan=plan)
    approvals.acknowledge_row(row.pk, actor=duty, version=version.number)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPROVED
    return version


def _run_first_step(plan, duty, operator, capture):
    Plan.objects.filter(pk=plan.pk).update(window_start=timezone.now() - timedelta(minutes=1))
    transitions.start_plan(plan.pk, actor=duty)
    step = plan.steps.get(position=1)
    with capture(execute=True):
        run = runs.request_run(step.pk, actor=operator)
    run.refresh_from_db()
    return run


def test_the_marking_approves_the_automation_of_an_unchanged_standard_plan(
    runbook, admin2, author, duty, operator, marker, django_capture_on_commit_callbacks
):
    _mark(runbook, admin2)
    plan = _plan(runbook, author)
    version = _approve_standard(plan, author, duty)
    approval = AutomationApproval.objects.get(automation__step__plan=plan)
    assert approval.via == ApprovalVia.SIGN_OFF and approval.approved_by == admin2 and approval.version == version
    assert "marked as a standard change" in approval.signers
    run = _run_first_step(plan, duty, operator, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.SUCCEEDED and marker.exists() and run.approval == approval


def test_edited_automation_of_a_standard_plan_does_not_run_without_normal_sign_off(
    runbook, admin2, author, duty, operator, approver, marker, django_capture_on_commit_callbacks
):
    _mark(runbook, admin2)
    plan = _plan(runbook, author)
    _approve_standard(plan, author, duty)
    # When: the author edits the automation of the approved standard plan
    step = plan.steps.get(position=1)
    automation = StepAutomation.objects.get(step=step)
    evil = ["python3", "-c", f"open({str(marker)!r}, 'w').write('evil')"]
    save_step_automation(
        plan.pk,
        step.pk,
        actor=author,
        data={"kind": "shell", "spec": {"argv": evil}, "params": {}, "timeout_seconds": 60},
    )
    # Then: not standard any more; back to its author, recorded; the content approval does not cover it
    plan.refresh_from_db()
    automation.refresh_from_db()
    assert plan.kind == PlanKind.NORMAL and plan.status == PlanStatus.REJECTED
    assert len(_kind_events(plan)) == 1
    assert four_eyes.approval_of(automation, production=True) is None
    # The acknowledgement alone no longer suffices: submit without approvers is refused
    with pytest.raises(ValidationError, match="no approvers"):
        approvals.submit_plan(plan.pk, actor=author)
    # Only a normal sign-off by a second person approves it, and then it runs
    row = ApprovalRow.objects.create(plan=plan, position=2, person_name="Согласующий", user=approver)
    version = approvals.submit_plan(plan.pk, actor=author)
    approvals.approve_row(row.pk, actor=approver, version=version.number)
    ack = ApprovalRow.objects.get(plan=plan, kind=RowKind.ACKNOWLEDGEMENT)
    approvals.acknowledge_row(ack.pk, actor=duty, version=version.number)
    automation.refresh_from_db()
    approval = four_eyes.approval_of(automation, production=True)
    assert approval is not None and approval.approved_by == approver
    run = _run_first_step(plan, duty, operator, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.SUCCEEDED and marker.read_text() == "evil"


def test_a_standard_plan_edited_in_draft_never_gets_the_marking_approval(
    runbook, admin2, author, duty, operator, marker, django_capture_on_commit_callbacks
):
    _mark(runbook, admin2)
    plan = _plan(runbook, author)
    step = plan.steps.get(position=1)
    evil = ["python3", "-c", f"open({str(marker)!r}, 'w').write('evil')"]
    save_step_automation(
        plan.pk,
        step.pk,
        actor=author,
        data={"kind": "shell", "spec": {"argv": evil}, "params": {}, "timeout_seconds": 60},
    )
    with pytest.raises(ValidationError, match="no longer a standard change"):
        approvals.submit_plan(plan.pk, actor=author)
    assert not AutomationApproval.objects.filter(automation__step__plan=plan).exists()


def test_the_marking_administrator_who_wrote_the_plan_does_not_approve_its_automation(
    runbook, admin2, duty, marker, operator, django_capture_on_commit_callbacks
):
    # The administrator marks and then makes the plan (chooses its parameters): not a second pair of eyes
    _mark(runbook, admin2)
    plan = _plan(runbook, admin2)
    _approve_standard(plan, admin2, duty)
    assert not AutomationApproval.objects.filter(automation__step__plan=plan).exists()
    run = _run_first_step(plan, duty, operator, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.REFUSED and not marker.exists()
    assert Runbook.objects.get(pk=runbook.pk).standard_marked_by == admin2


def test_the_admin_marks_and_withdraws_with_a_reason(client, runbook, admin2, writer):
    url = f"/admin/runbooks/runbook/{runbook.pk}/change/"
    form = {
        "title": runbook.title,
        "description": "",
        "versions-TOTAL_FORMS": "1",
        "versions-INITIAL_FORMS": "1",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000",
        "versions-0-id": str(runbook.current.pk),
        "versions-0-runbook": str(runbook.pk),
    }
    client.force_login(admin2)
    client.cookies["django_language"] = "en"
    # Without a reason: refused in words, nothing marked
    response = client.post(url, {**form, "standard_action": "mark", "standard_comment": ""})
    assert response.status_code == 200 and "Give a reason" in response.content.decode()
    assert Runbook.objects.get(pk=runbook.pk).standard_version is None
    assert client.post(url, {**form, "standard_action": "mark", "standard_comment": "Проверено"}).status_code == 302
    assert Runbook.objects.get(pk=runbook.pk).standard_version == runbook.current
    assert "Проверено" in client.get(url).content.decode()
    assert client.post(url, {**form, "standard_action": "unmark", "standard_comment": "Инцидент"}).status_code == 302
    assert Runbook.objects.get(pk=runbook.pk).standard_version is None
    assert list(StandardMarking.objects.values_list("marked", "actor", "comment")) == [
        (False, admin2.pk, "Инцидент"),
        (True, admin2.pk, "Проверено"),
    ]
    # The one who saved the version, made a staff administrator, cannot mark it
    writer.is_staff = writer.is_superuser = True
    writer.save()
    client.force_login(writer)
    response = client.post(url, {**form, "standard_action": "mark", "standard_comment": "Сам себе"})
    assert response.status_code == 200 and "another administrator" in response.content.decode()
    assert Runbook.objects.get(pk=runbook.pk).standard_version is None


def test_the_author_cannot_be_the_second_person_of_a_standard_change(runbook, admin2, author, duty):
    """A standard change's acknowledgement is its only sign-off: an author who is also a duty officer (a small
    team), or who pointed the row at themselves, cannot give it."""
    _mark(runbook, admin2)
    plan = _plan(runbook, author)
    author.groups.add(duty.groups.get(name="duty_officer"))
    version = approvals.submit_plan(plan.pk, actor=author)
    row = ApprovalRow.objects.get(plan=plan)
    with pytest.raises(PermissionDenied, match="cannot acknowledge it"):
        approvals.acknowledge_row(row.pk, actor=author, version=version.number)
    assert PlanEvent.objects.filter(plan=plan, kind=EventKind.REFUSED, object_id=row.pk).exists()
    plan.refresh_from_db()
    assert plan.status == PlanStatus.IN_REVIEW
    # Another duty officer can
    approvals.acknowledge_row(row.pk, actor=duty, version=version.number)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPROVED


def test_the_author_cannot_acknowledge_a_row_named_for_themselves(runbook, admin2, author):
    _mark(runbook, admin2)
    plan = _plan(runbook, author)
    ApprovalRow.objects.filter(plan=plan).update(group=None, user=author, person_name="Автор")
    version = approvals.submit_plan(plan.pk, actor=author)
    row = ApprovalRow.objects.get(plan=plan)
    with pytest.raises(PermissionDenied, match="cannot acknowledge it"):
        approvals.acknowledge_row(row.pk, actor=author, version=version.number)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.IN_REVIEW
