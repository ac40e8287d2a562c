"""Admin of clusters and secrets: credentials are write-only; runs, runbooks and versions are read-mostly."""

import pytest
from django.db import connection

from runbooks.models import AutomationRun, Cluster, Runbook, RunbookVersion, Secret
from tests.factories import PlanFactory, StepFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: {server: "https://10.0.0.1:6443", certificate-authority-data: Q0EtREFUQS1YWVo=}
users:
- name: admin
  user: {token: kube-token-0123456789abcdef}
contexts:
- name: prod
  context: {cluster: prod, user: admin}
current-context: prod
"""
INVENTORY = "[workers]\nworker-1 ansible_password=inventory-pass-98765\n"
SECRET_VALUE = "registry-token-ZXCVBNM-2026"


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def raw(table, column, pk):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def cluster_post(**overrides):
    data = {
        "name": "prod-1",
        "description": "",
        "environment": "production",
        "kubeconfig": "",
        "context": "",
        "ansible_inventory": "",
    }
    data.update(overrides)
    return data


def test_cluster_credentials_are_never_shown_back(admin_client):
    # Given a cluster added through the admin
    response = admin_client.post(
        "/admin/runbooks/cluster/add/", cluster_post(kubeconfig=KUBECONFIG, ansible_inventory=INVENTORY)
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    cluster = Cluster.objects.get(name="prod-1")
    assert cluster.kubeconfig == KUBECONFIG and cluster.ansible_inventory == INVENTORY

    # Then its change page does not contain them, but says they are saved
    html = admin_client.get(f"/admin/runbooks/cluster/{cluster.pk}/change/").content.decode()
    for fragment in ("kube-token-0123456789abcdef", "inventory-pass-98765", "Q0EtREFUQS1YWVo", "10.0.0.1", "[workers]"):
        assert fragment not in html
    assert html.count("okno-write-only") == 2
    assert f"{len(KUBECONFIG)}" in html and f"{len(INVENTORY)}" in html
    assert 'name="clear_kubeconfig"' in html
    # and the list does not either
    listing = admin_client.get("/admin/runbooks/cluster/").content.decode()
    assert "kube-token-0123456789abcdef" not in listing and "prod-1" in listing

    # And the database holds ciphertext
    for column in ("kubeconfig", "ansible_inventory"):
        stored = raw("runbooks_cluster", column, cluster.pk)
        assert stored.startswith("fernet:")
        assert "kube-token" not in stored and "inventory-pass" not in stored


def test_saving_with_empty_inputs_keeps_the_saved_credentials(admin_client):
    cluster = Cluster.objects.create(name="prod-1", kubeconfig=KUBECONFIG, ansible_inventory=INVENTORY)
    response = admin_client.post(
        f"/admin/runbooks/cluster/{cluster.pk}/change/", cluster_post(description="Основной кластер", context="prod")
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    cluster.refresh_from_db()
    assert (cluster.description, cluster.context) == ("Основной кластер", "prod")
    assert cluster.kubeconfig == KUBECONFIG and cluster.ansible_inventory == INVENTORY


def test_a_new_value_replaces_and_the_box_deletes(admin_client):
    cluster = Cluster.objects.create(name="prod-1", kubeconfig=KUBECONFIG, ansible_inventory=INVENTORY)
    new_kubeconfig = KUBECONFIG.replace("kube-token-0123456789abcdef", "kube-token-NEW-0000000000")
    response = admin_client.post(
        f"/admin/runbooks/cluster/{cluster.pk}/change/",
        cluster_post(kubeconfig=new_kubeconfig, clear_ansible_inventory="on"),
    )
    assert response.status_code == 302
    cluster.refresh_from_db()
    assert cluster.kubeconfig == new_kubeconfig and cluster.ansible_inventory == ""


def test_an_invalid_kubeconfig_is_refused_and_not_shown_back(admin_client):
    bad = "apiVersion: v1\nkind: Config\nclusters: []\nusers: [{name: a, user: {token: bad-token-4444555566}}]\n"
    response = admin_client.post("/admin/runbooks/cluster/add/", cluster_post(kubeconfig=bad))
    assert response.status_code == 200
    assert not Cluster.objects.exists()
    html = response.content.decode()
    assert "errorlist" in html and "bad-token-4444555566" not in html


def test_a_kubeconfig_with_an_exec_plugin_outside_the_allow_list_is_refused(admin_client, settings):
    settings.OKNO_KUBECONFIG_EXEC_ALLOWLIST = []
    plugin = KUBECONFIG.replace(
        "user: {token: kube-token-0123456789abcdef}",
        "user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: /tmp/evil}}",
    )
    response = admin_client.post("/admin/runbooks/cluster/add/", cluster_post(kubeconfig=plugin))
    assert response.status_code == 200 and not Cluster.objects.exists()
    assert "/tmp/evil" in response.content.decode()  # the refusal names the program


def test_secret_value_is_write_only(admin_client):
    response = admin_client.post(
        "/admin/runbooks/secret/add/", {"name": "registry", "description": "Реестр", "value": SECRET_VALUE}
    )
    assert response.status_code == 302
    secret = Secret.objects.get(name="registry")
    assert secret.value == SECRET_VALUE
    assert raw("runbooks_secret", "value", secret.pk).startswith("fernet:")
    assert SECRET_VALUE not in raw("runbooks_secret", "value", secret.pk)

    html = admin_client.get(f"/admin/runbooks/secret/{secret.pk}/change/").content.decode()
    assert SECRET_VALUE not in html and "okno-write-only" in html and str(len(SECRET_VALUE)) in html

    # Saving with an empty value keeps the old one
    response = admin_client.post(
        f"/admin/runbooks/secret/{secret.pk}/change/",
        {"name": "registry", "description": "Реестр образов", "value": ""},
    )
    assert response.status_code == 302
    secret.refresh_from_db()
    assert (secret.description, secret.value) == ("Реестр образов", SECRET_VALUE)

    # A failed save does not send the typed value back either
    response = admin_client.post(
        f"/admin/runbooks/secret/{secret.pk}/change/",
        {"name": "bad name!", "description": "", "value": "typed-new-secret-777"},
    )
    assert response.status_code == 200 and "typed-new-secret-777" not in response.content.decode()


def test_a_new_secret_needs_a_value(admin_client):
    response = admin_client.post("/admin/runbooks/secret/add/", {"name": "empty", "description": "", "value": ""})
    assert response.status_code == 200 and not Secret.objects.exists()


def test_automation_run_is_view_only_and_shows_its_log(admin_client):
    step = StepFactory(plan=PlanFactory())
    run = AutomationRun.objects.create(
        plan=step.plan,
        step=step,
        kind="shell",
        timeout_seconds=60,
        command="echo <hello>",
        log="line one\nline <two>\n",
        status="succeeded",
    )
    html = admin_client.get(f"/admin/runbooks/automationrun/{run.pk}/change/").content.decode()
    assert "line one\nline &lt;two&gt;" in html and "echo &lt;hello&gt;" in html
    assert 'name="_save"' not in html
    assert admin_client.post(f"/admin/runbooks/automationrun/{run.pk}/change/", {"status": "failed"}).status_code == 403
    assert admin_client.get("/admin/runbooks/automationrun/add/").status_code == 403
    assert admin_client.get("/admin/runbooks/automationrun/").status_code == 200


def test_runbook_admin_is_read_mostly(admin_client):
    runbook = Runbook.objects.create(slug="node-maintenance", title="Обслуживание узла")
    version = RunbookVersion.objects.create(runbook=runbook, number=1, definition={"steps": []}, source="steps: []\n")
    assert admin_client.get(f"/admin/runbooks/runbook/{runbook.pk}/change/").status_code == 200
    assert admin_client.get("/admin/runbooks/runbook/add/").status_code == 403
    response = admin_client.post(
        f"/admin/runbooks/runbook/{runbook.pk}/change/",
        {
            "title": "Обслуживание узла кластера",
            "description": "",
            "archived": "on",
            "versions-TOTAL_FORMS": "1",
            "versions-INITIAL_FORMS": "1",
            "versions-MIN_NUM_FORMS": "0",
            "versions-MAX_NUM_FORMS": "1000",
            "versions-0-id": str(version.pk),
            "versions-0-runbook": str(runbook.pk),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    runbook.refresh_from_db()
    assert runbook.archived and runbook.title == "Обслуживание узла кластера" and runbook.slug == "node-maintenance"
    assert admin_client.get(f"/admin/runbooks/runbookversion/{version.pk}/change/").status_code == 200
    assert (
        admin_client.post(f"/admin/runbooks/runbookversion/{version.pk}/change/", {"comment": "x"}).status_code == 403
    )
