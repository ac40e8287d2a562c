"""The step automation editor: who may edit, what is checked, what is kept, and its place in the signed version."""

import pytest
from django.utils import translation
from django.utils.translation import gettext

from approvals import services as approval_services
from approvals.choices import ApprovalStatus
from approvals.models import ApprovalRow
from changeplans import versioning
from changeplans.choices import EventKind, PlanStatus
from changeplans.models import Plan, PlanEvent
from runbooks import runners
from runbooks import versioning as runbook_versioning
from runbooks.models import Cluster, Secret, StepAutomation
from runbooks.runners.base import AutomationError, Runner
from runbooks.services import delete_step_automation, save_step_automation
from tests.approvals.factories import plan_with_matrix
from tests.factories import PlanFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


class FakeKubectl(Runner):
    """A test runner with the real runners' shape: needs a cluster, checks its spec, describes a command line."""

    kind = "fakekubectl"
    label = "fake kubectl"
    needs_cluster = True

    def check(self, spec):
        if not isinstance(spec.get("args"), list) or not spec["args"]:
            raise AutomationError(gettext("“args” must be a non-empty list."))

    def describe(self, spec):
        return "kubectl " + " ".join(spec["args"])


class FakeLocal(Runner):
    kind = "fakelocal"
    label = "fake local"

    def describe(self, spec):
        return "local " + " ".join(spec.get("argv", []))


@pytest.fixture(autouse=True)
def fake_runners():
    saved = dict(runners.RUNNERS)
    runners.register(FakeKubectl)
    runners.register(FakeLocal)
    runbook_versioning.register()
    yield
    runners.RUNNERS.clear()
    runners.RUNNERS.update(saved)


@pytest.fixture
def cluster(db):
    return Cluster.objects.create(name="prod-1", kubeconfig="apiVersion: v1\nkind: Config\n")


@pytest.fixture
def plan(author):
    plan = PlanFactory(author=author)
    StepFactory(plan=plan, position=1, name="Вывести узел из работы")
    return plan


def url(plan, step):
    return f"/plans/{plan.pk}/steps/{step.pk}/automation/"


def post_editor(client, plan, step, data, **extra):
    """Open the editor, then post `data` with the revision and stamp it was opened at, as the browser does."""
    form = client.get(url(plan, step)).context["form"]
    opened = {name: form.initial.get(name, "") for name in ("revision", "original")}
    return client.post(url(plan, step), {**opened, **data}, **extra)


def form_data(cluster_row, **overrides):
    data = {
        "kind": "fakekubectl",
        "cluster": str(cluster_row.pk),
        "spec": "args: [drain, '{{ node }}', --ignore-daemonsets]\n",
        "params": "node: worker-1\n",
        "timeout_seconds": "600",
        "start_at_planned_time": "on",
    }
    data.update(overrides)
    return data


# --- the page ----------------------------------------------------------------------------------------


def test_author_saves_automation_and_sees_the_preview(author_client, plan, cluster):
    step = plan.steps.get()
    with translation.override("ru"):
        response = post_editor(author_client, plan, step, form_data(cluster), HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 302
    automation = StepAutomation.objects.get(step=step)
    assert (automation.kind, automation.cluster, automation.timeout_seconds, automation.start_at_planned_time) == (
        "fakekubectl",
        cluster,
        600,
        True,
    )
    assert automation.spec == {"args": ["drain", "{{ node }}", "--ignore-daemonsets"]}
    assert automation.params == {"node": "worker-1"}
    # The history names the step.
    event = PlanEvent.objects.get(plan=plan, kind=EventKind.EDITED, object_type="step")
    assert event.object_id == step.pk and "Вывести узел из работы" in event.object_label
    assert "kubectl drain worker-1 --ignore-daemonsets" in event.changes["automation"][1]

    page = author_client.get(response["Location"]).content.decode()
    assert 'id="automation-preview"' in page
    assert "kubectl drain worker-1 --ignore-daemonsets" in page
    # The saved spec comes back as YAML in the editor.
    assert "{{ node }}" in page


def test_json_spec_is_accepted(author_client, plan, cluster):
    step = plan.steps.get()
    response = post_editor(author_client, plan, step, form_data(cluster, spec='{"args": ["cordon", "{{ node }}"]}'))
    assert response.status_code == 302
    assert StepAutomation.objects.get(step=step).spec == {"args": ["cordon", "{{ node }}"]}


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"spec": "args: [drain, '{{ node }}'"}, "spec", "YAML"),
        ({"spec": "- drain\n- node\n"}, "spec", "mapping"),
        ({"spec": ""}, "spec", ""),
        ({"spec": "args: []\n"}, "spec", "“args” must be a non-empty list."),
        ({"params": "node: --server=http://127.0.0.1:1\n"}, "params", "--server=http://127.0.0.1:1"),
        ({"params": "nodes: [worker-1, '-rf']\n", "spec": "args: [drain, '{{ nodes }}']"}, "params", "-rf"),
        ({"params": "other: x\n"}, "params", "{{ node }}"),
        ({"params": 'node: "a\\nb"\n'}, "params", "node"),
        ({"params": "node: {a: 1}\n"}, "params", "node"),
        ({"params": "1node: x\n"}, "params", "1node"),
        ({"cluster": ""}, "cluster", "fake kubectl"),
        ({"timeout_seconds": "0"}, "timeout_seconds", "1"),
        ({"timeout_seconds": "86401"}, "timeout_seconds", "86400"),
        ({"spec": "args: [get, pods]\nenv: {TOKEN: '{{ secret.nope }}'}\n"}, "spec", "nope"),
    ],
)
def test_invalid_input_is_refused_and_nothing_typed_is_lost(author_client, plan, cluster, overrides, field, message):
    step = plan.steps.get()
    data = form_data(cluster, **overrides)
    author_client.cookies["django_language"] = "en"
    response = post_editor(author_client, plan, step, data)
    assert response.status_code == 422
    assert not StepAutomation.objects.filter(step=step).exists()
    form = response.context["form"]
    assert field in form.errors, form.errors
    assert message in " ".join(form.errors[field])
    html = response.content.decode()
    assert 'id="automation-errors"' in html
    # What the user typed is in the page again.
    from django.utils.html import escape

    assert escape(data["spec"]).strip() in html
    assert escape(data["params"]).strip() in html


def test_errors_are_in_the_users_language(author_client, plan, cluster):
    step = plan.steps.get()
    response = post_editor(
        author_client, plan, step, form_data(cluster, timeout_seconds="86401", spec="- a\n"), HTTP_ACCEPT_LANGUAGE="ru"
    )
    form = response.context["form"]
    # Django's own catalogue is Russian already; ours goes through gettext in the same language.
    assert form.errors["timeout_seconds"] == ["Убедитесь, что это значение меньше либо равно 86400."]
    with translation.override("ru"):
        expected = gettext("The %(what)s must be a mapping (“key: value” lines), not a list or a single value.") % {
            "what": gettext("specification")
        }
    assert form.errors["spec"] == [expected]


def test_list_parameter_expands_in_the_preview(author_client, plan, cluster):
    step = plan.steps.get()
    data = form_data(cluster, spec="args: [drain, '{{ nodes }}']", params="nodes: [worker-1, worker-2]")
    response = post_editor(author_client, plan, step, data)
    assert response.status_code == 302
    page = author_client.get(url(plan, step)).content.decode()
    assert "kubectl drain worker-1 worker-2" in page


def test_kind_without_cluster_needs_none(author_client, plan):
    step = plan.steps.get()
    data = {
        "kind": "fakelocal",
        "cluster": "",
        "spec": "argv: [echo, '{{ word }}']",
        "params": "word: hi",
        "timeout_seconds": "5",
    }
    assert post_editor(author_client, plan, step, data).status_code == 302
    assert StepAutomation.objects.get(step=step).cluster is None


def test_others_may_not_edit_but_may_look(client, plan, cluster, approver):
    step = plan.steps.get()
    StepAutomation.objects.create(
        step=step, kind="fakekubectl", cluster=cluster, spec={"args": ["cordon", "{{ node }}"]}, params={"node": "w1"}
    )
    client.force_login(approver)
    page = client.get(url(plan, step))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="automation-refusal"' in html and "disabled" in html and 'name="save"' not in html
    assert "kubectl cordon w1" in html
    assert client.post(url(plan, step), form_data(cluster)).status_code == 403
    assert client.post(url(plan, step), {"delete": "1"}).status_code == 403
    assert StepAutomation.objects.filter(step=step).exists()


def test_not_editable_plan_refuses_even_the_author(author_client, plan, cluster):
    Plan.objects.filter(pk=plan.pk).update(status=PlanStatus.IN_PROGRESS)
    step = plan.steps.get()
    assert author_client.post(url(plan, step), form_data(cluster)).status_code == 403
    assert not StepAutomation.objects.filter(step=step).exists()


def test_step_of_another_plan_is_not_found(author_client, plan, cluster, author):
    other = StepFactory(plan=PlanFactory(author=author))
    assert author_client.get(f"/plans/{plan.pk}/steps/{other.pk}/automation/").status_code == 404


def test_anonymous_is_sent_to_login(client, plan):
    response = client.get(url(plan, plan.steps.get()))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_delete(author_client, plan, cluster):
    step = plan.steps.get()
    post_editor(author_client, plan, step, form_data(cluster))
    response = post_editor(author_client, plan, step, {"delete": "1"})
    assert response.status_code == 302
    assert not StepAutomation.objects.filter(step=step).exists()
    events = PlanEvent.objects.filter(plan=plan, kind=EventKind.EDITED, object_type="step").order_by("id")
    assert events.count() == 2 and events.last().changes["automation"][1] == ""


# --- two editors: a save over someone else's newer change is refused, not overwritten ------------------


def _opened(client, plan, step):
    form = client.get(url(plan, step)).context["form"]
    return {name: form.initial.get(name, "") for name in ("revision", "original")}


@pytest.fixture
def admin_client(admin_user):
    from django.test import Client

    admin_client = Client()
    admin_client.force_login(admin_user)
    return admin_client


def test_second_editor_of_the_automation_gets_a_conflict_and_nothing_is_overwritten(
    author_client, admin_client, plan, cluster, admin_user
):
    # Given the author and an administrator who both opened the step's automation editor
    step = plan.steps.get()
    author_opened, admin_opened = _opened(author_client, plan, step), _opened(admin_client, plan, step)
    # When the administrator saves first, then the author saves what they typed
    theirs = form_data(cluster, params="node: worker-1\n")
    assert admin_client.post(url(plan, step), {**admin_opened, **theirs}).status_code == 302
    mine = form_data(cluster, params="node: worker-2\n")
    author_client.cookies["django_language"] = "en"
    response = author_client.post(url(plan, step), {**author_opened, **mine})

    # Then the author gets 409: nothing of theirs is saved, the history has the administrator's edit only
    assert response.status_code == 409
    assert StepAutomation.objects.get(step=step).params == {"node": "worker-1"}
    assert PlanEvent.objects.filter(plan=plan, kind=EventKind.EDITED).count() == 1
    # What the author typed is kept, the administrator's version and who saved it are shown
    html = response.content.decode()
    assert 'id="automation-conflict"' in html and "node: worker-2" in html
    assert "kubectl drain worker-1 --ignore-daemonsets" in html
    with translation.override("en"):
        assert str(response.context["conflict"]["error"]).startswith(admin_user.get_full_name() or admin_user.username)
    # And saving again from the conflict page overwrites deliberately
    form = response.context["form"]
    again = {**mine, "revision": form.data["revision"], "original": form.data["original"]}
    assert author_client.post(url(plan, step), again).status_code == 302
    assert StepAutomation.objects.get(step=step).params == {"node": "worker-2"}


def test_the_conflict_message_is_translated(author_client, admin_client, plan, cluster):
    step = plan.steps.get()
    author_opened, admin_opened = _opened(author_client, plan, step), _opened(admin_client, plan, step)
    admin_client.post(url(plan, step), {**admin_opened, **form_data(cluster)})
    response = author_client.post(
        url(plan, step), {**author_opened, **form_data(cluster, params="node: w2")}, HTTP_ACCEPT_LANGUAGE="ru"
    )
    assert response.status_code == 409
    with translation.override("ru"):
        expected = gettext(
            "%(who)s has changed this since you opened it. Check their version; save again to overwrite it with yours."
        )
    assert expected.split("%(who)s")[1].strip()[:30] in response.content.decode()


def test_an_edit_elsewhere_in_the_plan_does_not_conflict(author_client, plan, cluster, author):
    # Given the automation editor opened, then someone renames the step in the table (the plan revision moves on)
    from changeplans import services as plan_services

    step = plan.steps.get()
    opened = _opened(author_client, plan, step)
    plan_services.update_step_cell(step.pk, actor=author, field="name", value="Другое имя", revision=step.revision)
    assert Plan.objects.get(pk=plan.pk).revision != opened["revision"]
    # When the automation is saved, then it is: the automation itself has not changed since the editor opened
    assert author_client.post(url(plan, step), {**opened, **form_data(cluster)}).status_code == 302
    assert StepAutomation.objects.filter(step=step).exists()


def test_deleting_over_a_newer_change_is_refused(author_client, admin_client, plan, cluster):
    step = plan.steps.get()
    post_editor(author_client, plan, step, form_data(cluster))
    author_opened, admin_opened = _opened(author_client, plan, step), _opened(admin_client, plan, step)
    admin_client.post(url(plan, step), {**admin_opened, **form_data(cluster, params="node: worker-9")})
    response = author_client.post(url(plan, step), {**author_opened, **form_data(cluster), "delete": "1"})
    assert response.status_code == 409
    assert StepAutomation.objects.get(step=step).params == {"node": "worker-9"}


def test_an_editor_page_without_the_revision_saves_nothing(author_client, plan, cluster):
    step = plan.steps.get()
    author_client.cookies["django_language"] = "en"
    response = author_client.post(url(plan, step), form_data(cluster))
    assert response.status_code == 422
    assert "This page is out of date" in response.content.decode()
    assert not StepAutomation.objects.filter(step=step).exists()


def test_the_service_refuses_a_stale_revision(plan, cluster, author):
    from changeplans.services import EditConflict
    from runbooks.services import automation_stamp

    step = plan.steps.get()
    data = {
        "kind": "fakekubectl",
        "cluster": cluster,
        "spec": {"args": ["cordon", "x"]},
        "params": {},
        "timeout_seconds": 60,
    }
    revision = Plan.objects.get(pk=plan.pk).revision
    save_step_automation(plan.pk, step.pk, actor=author, data=data, revision=revision, original=automation_stamp(None))
    with pytest.raises(EditConflict):
        save_step_automation(
            plan.pk, step.pk, actor=author, data={**data, "timeout_seconds": 61}, revision=revision, original=""
        )
    with pytest.raises(EditConflict):
        delete_step_automation(plan.pk, step.pk, actor=author, revision=revision, original="")
    assert StepAutomation.objects.get(step=step).timeout_seconds == 60


def test_saving_the_same_automation_again_records_nothing(plan, cluster, author):
    step = plan.steps.get()
    data = {
        "kind": "fakekubectl",
        "cluster": cluster,
        "spec": {"args": ["cordon", "x"]},
        "params": {},
        "timeout_seconds": 60,
    }
    save_step_automation(plan.pk, step.pk, actor=author, data=data)
    save_step_automation(plan.pk, step.pk, actor=author, data=data)
    assert PlanEvent.objects.filter(plan=plan, kind=EventKind.EDITED).count() == 1


# --- the automation is part of the version approvers sign --------------------------------------------


def test_automation_under_review_makes_a_version_with_the_automation_in_the_diff(cluster):
    plan, author, users, _duty = plan_with_matrix(1)
    approval_services.submit_plan(plan.pk, actor=author)
    first = ApprovalRow.objects.filter(plan=plan).order_by("position").first()
    approval_services.approve_row(first.pk, actor=first.user, version=1)
    step = plan.steps.get()

    # When the author gives the step automation
    save_step_automation(
        plan.pk,
        step.pk,
        actor=author,
        data={
            "kind": "fakekubectl",
            "cluster": cluster,
            "spec": {"args": ["drain", "{{ node }}"]},
            "params": {"node": "worker-7"},
            "timeout_seconds": 300,
            "start_at_planned_time": False,
        },
    )

    # Then a second version is frozen, the sign-off is reset, and the diff shows the automation
    versions = list(plan.versions.order_by("number"))
    assert [v.number for v in versions] == [1, 2]
    assert ApprovalRow.objects.get(pk=first.pk).status == ApprovalStatus.PENDING
    with translation.override("ru"):
        changes = versioning.diff(versions[0].snapshot, versions[1].snapshot)
        label = gettext("automation")
    automation_changes = [c for c in changes if c["what"] == label]
    assert len(automation_changes) == 1, changes
    new = automation_changes[0]["new"]
    assert "kubectl drain worker-7" in new and "prod-1" in new and "300" in new

    # A change of a parameter only is material too
    save_step_automation(
        plan.pk,
        step.pk,
        actor=author,
        data={
            "kind": "fakekubectl",
            "cluster": cluster,
            "spec": {"args": ["drain", "{{ node }}"]},
            "params": {"node": "worker-8"},
            "timeout_seconds": 300,
            "start_at_planned_time": False,
        },
    )
    assert plan.versions.count() == 3
    # Deleting it is material
    delete_step_automation(plan.pk, step.pk, actor=author)
    assert plan.versions.count() == 4
    assert "automation" not in plan.versions.get(number=4).snapshot["steps"][0]


def test_the_version_text_does_not_depend_on_the_editors_language(plan, cluster, author):
    step = plan.steps.get()
    StepAutomation.objects.create(step=step, kind="fakekubectl", cluster=cluster, spec={"args": ["cordon", "x"]})
    with translation.override("en"):
        english = versioning.snapshot(plan)
    with translation.override("ru"):
        russian = versioning.snapshot(plan)
    assert english == russian
    assert "kubectl cordon x" in russian["steps"][0]["automation"]


def test_unfillable_automation_shows_the_raw_spec(plan, cluster):
    step = plan.steps.get()
    StepAutomation.objects.create(
        step=step, kind="fakekubectl", cluster=cluster, spec={"args": ["drain", "{{ missing }}"]}
    )
    text = versioning.snapshot(plan)["steps"][0]["automation"]
    assert '"args": ["drain", "{{ missing }}"]' in text


def test_snapshot_extender_uses_one_query_for_the_whole_plan(plan, cluster, django_assert_num_queries):
    for position in range(2, 8):
        step = StepFactory(plan=plan, position=position)
        StepAutomation.objects.create(
            step=step, kind="fakekubectl", cluster=cluster, spec={"args": ["cordon", f"n{position}"]}
        )
    steps = [{"id": step.pk} for step in plan.steps.all()]
    with django_assert_num_queries(1):
        runbook_versioning.extend_snapshot(plan, steps)
    assert sum("automation" in s for s in steps) == 6


def test_secret_placeholders_are_kept_and_known_secrets_accepted(author_client, plan, cluster):
    Secret.objects.create(name="registry-token", value="s3cr3t-value-123")
    step = plan.steps.get()
    data = form_data(cluster, spec="args: [get, pods]\nenv: {TOKEN: '{{ secret.registry-token }}'}\n")
    assert post_editor(author_client, plan, step, data).status_code == 302
    assert StepAutomation.objects.get(step=step).spec["env"] == {"TOKEN": "{{ secret.registry-token }}"}
    assert "s3cr3t-value-123" not in author_client.get(url(plan, step)).content.decode()


def test_an_other_author_may_not_edit(client, plan, cluster):
    client.force_login(UserFactory(username="stranger", roles=["author"]))
    assert client.post(url(plan, plan.steps.get()), form_data(cluster)).status_code == 403
