"""Runbook pages: list, detail, plan from a runbook, editor, import/export, permissions, query count."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from changeplans.models import Plan
from runbooks import definition, library
from runbooks.models import Cluster, Runbook

WINDOW = {"window_start": "2025-03-20T20:00", "window_end": "", "time_zone": "Asia/Novosibirsk"}


@pytest.fixture
def installed(db):
    library.install()
    Cluster.objects.create(name="prod-k8s")


def test_list_and_detail(installed, author_client):
    response = author_client.get(reverse("runbooks:runbook_list"))
    assert response.status_code == 200
    page = response.content.decode()
    assert (
        "Обслуживание узлов кластера" in page
        and reverse("runbooks:runbook_plan_create", args=["node-maintenance"]) in page
    )
    detail = author_client.get(reverse("runbooks:runbook_detail", args=["node-maintenance"])).content.decode()
    assert "kubernetes" in detail and "node-os-update.yml" in detail and "v1" in detail
    assert "kubectl get pdb --all-namespaces -o wide" in detail or "get pdb" in detail


def test_create_plan_from_runbook(installed, author_client):
    url = reverse("runbooks:runbook_plan_create", args=["node-maintenance"])
    assert author_client.get(url).status_code == 200
    response = author_client.post(url, {**WINDOW, "p_cluster": "prod-k8s", "p_nodes": "worker-1\nworker-2\nworker-3"})
    plan = Plan.objects.get()
    assert response.status_code == 302 and response.url == reverse("changeplans:plan_detail", args=[plan.pk])
    assert plan.steps.count() == 16


def test_bad_node_list_keeps_what_was_typed(installed, author_client):
    url = reverse("runbooks:runbook_plan_create", args=["node-maintenance"])
    response = author_client.post(url, {**WINDOW, "p_cluster": "prod-k8s", "p_nodes": "worker-1\n$(id)"})
    assert response.status_code == 422
    page = response.content.decode()
    assert "$(id)" in page and "worker-1" in page and "invalid-feedback" in page
    assert 'value="2025-03-20T20:00"' in page
    assert not Plan.objects.exists()


def test_editor_keeps_text_on_error(installed, author_client):
    bad = "title: Мой регламент\nsteps:\n  - name: Шаг\n    duration: полчаса\n"
    response = author_client.post(reverse("runbooks:runbook_new"), {"source": bad, "comment": ""})
    assert response.status_code == 422
    page = response.content.decode()
    assert "полчаса" in page and "steps[0].duration" in page and "4" in page
    assert not Runbook.objects.filter(builtin=False).exists()
    good = bad.replace("полчаса", "30 мин")
    response = author_client.post(reverse("runbooks:runbook_new"), {"source": good, "comment": "первая"})
    runbook = Runbook.objects.get(builtin=False)
    assert response.status_code == 302 and runbook.current.source == good
    edit = reverse("runbooks:runbook_edit", args=[runbook.slug])
    response = author_client.post(edit, {"source": good.replace("30 мин", "40 мин"), "comment": "дольше"})
    assert response.status_code == 302 and runbook.versions.count() == 2


def test_builtin_edit_redirects(installed, author_client):
    response = author_client.get(reverse("runbooks:runbook_edit", args=["node-maintenance"]))
    assert response.status_code == 302
    response = author_client.post(reverse("runbooks:runbook_copy", args=["node-maintenance"]))
    assert response.status_code == 302 and Runbook.objects.filter(slug="node-maintenance-copy", builtin=False).exists()


def test_export_import_round_trip(installed, author_client):
    exported = author_client.get(reverse("runbooks:runbook_export", args=["velero-backup", 1]))
    assert exported.status_code == 200 and "attachment" in exported["Content-Disposition"]
    text = exported.content.decode().replace("slug: velero-backup", "slug: my-velero")
    upload = SimpleUploadedFile("my-velero.yaml", text.encode(), content_type="application/yaml")
    response = author_client.post(reverse("runbooks:runbook_import"), {"file": upload, "comment": ""})
    assert response.status_code == 302
    mine = Runbook.objects.get(slug="my-velero")
    original = Runbook.objects.get(slug="velero-backup").current.definition
    assert mine.current.definition == {**original, "slug": "my-velero"}
    assert definition.parse(mine.current.source) == mine.current.definition
    # the same file again with a change: a new version of the same runbook
    upload = SimpleUploadedFile("my-velero.yaml", text.replace("10-30 мин", "10-45 мин").encode())
    author_client.post(reverse("runbooks:runbook_import"), {"file": upload})
    assert mine.versions.count() == 2
    # importing over a builtin slug is refused with a message
    upload = SimpleUploadedFile("x.yaml", exported.content)
    response = author_client.post(reverse("runbooks:runbook_import"), {"file": upload})
    assert response.status_code == 422 and Runbook.objects.get(slug="velero-backup").versions.count() == 1


def test_permissions(installed, client, approver):
    list_url = reverse("runbooks:runbook_list")
    response = client.get(list_url)
    assert response.status_code == 302 and "/login/" in response.url
    client.force_login(approver)
    # Runbooks are for authors, operators and administrators (runbooks.library.can_use_runbooks)
    assert client.get(list_url).status_code == 403
    assert client.get(reverse("runbooks:runbook_detail", args=["node-maintenance"])).status_code == 403
    url = reverse("runbooks:runbook_plan_create", args=["node-maintenance"])
    assert url not in client.get(list_url).content.decode()
    assert client.get(url).status_code == 403
    assert client.post(url, {**WINDOW, "p_cluster": "prod-k8s", "p_nodes": "w1"}).status_code == 403
    assert client.get(reverse("runbooks:runbook_new")).status_code == 403
    assert not Plan.objects.exists()


def test_list_query_count_is_constant(installed, author_client, author, django_assert_max_num_queries):
    url = reverse("runbooks:runbook_list")
    author_client.get(url)
    with django_assert_max_num_queries(8) as few:
        author_client.get(url)
    for n in range(10):
        library.create_runbook(f"title: Регламент {n}\nsteps:\n  - name: Шаг\n", actor=author)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = author_client.get(url)
    assert response.content.decode().count("Регламент ") >= 10


def test_computed_window_end_past_the_date_limit_is_a_message(installed, author_client):
    # Given a window start at the very end of the accepted range and no end: the runbook's duration
    # pushes the computed end past 2100. When the author submits, then a message, not a 500.
    url = reverse("runbooks:runbook_plan_create", args=["node-maintenance"])
    response = author_client.post(
        url, {**WINDOW, "window_start": "2100-12-31T23:30", "p_cluster": "prod-k8s", "p_nodes": "worker-1"}
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "2100" in page and "worker-1" in page
    assert not Plan.objects.exists()
