"""The admin of stored PDFs: read-only, archive copies never deleted, failed copies queued again."""

import pytest

from changeplans.models import PlanPdf
from tests.factories import PlanFactory, StepFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

Status = PlanPdf.Status
CHANGELIST = "/admin/changeplans/planpdf/"


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def stored(plan, key, **fields):
    values = {"revision": 1, "language": "ru", "status": Status.READY, "data": b"%PDF-1.7 bytes"} | fields
    return PlanPdf.objects.create(plan=plan, key=key, **values)


@pytest.fixture
def plan():
    plan = PlanFactory(title="Замена сетевого плагина")
    StepFactory(plan=plan, position=1, name="Бэкап etcd")
    return plan


def test_the_list_shows_the_copies_without_their_bytes(admin_client, plan):
    archive = stored(plan, "a", archived=True, sha256="f" * 64, pages=3, size=14)
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    assert plan.title in response.content.decode()
    detail = admin_client.get(f"{CHANGELIST}{archive.pk}/change/")
    assert detail.status_code == 200 and b"%PDF-1.7 bytes" not in detail.content


def test_copies_cannot_be_added_changed_or_deleted(admin_client, plan):
    archive = stored(plan, "a", archived=True)
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    assert admin_client.post(f"{CHANGELIST}{archive.pk}/delete/", {"post": "yes"}).status_code == 403
    admin_client.post(CHANGELIST, {"action": "delete_selected", "_selected_action": [archive.pk], "post": "yes"})
    assert PlanPdf.objects.filter(pk=archive.pk).exists()


def test_failed_copies_are_rendered_again_and_archive_copies_are_left_alone(admin_client, plan):
    # Without a worker (the tests' OKNO_USE_WORKER) the copy queued again is rendered in this request.
    failed = stored(plan, "f", status=Status.FAILED, error="WeasyPrint: out of memory", data=b"")
    archive = stored(plan, "a", archived=True)
    response = admin_client.post(
        CHANGELIST, {"action": "retry_failed", "_selected_action": [failed.pk, archive.pk]}, follow=True
    )
    assert response.status_code == 200
    failed.refresh_from_db()
    assert failed.status == Status.READY and failed.error == "" and bytes(failed.data).startswith(b"%PDF")
    assert PlanPdf.objects.get(pk=archive.pk).status == Status.READY
    assert "Queued again: 1." in response.content.decode() or "Снова в очереди: 1." in response.content.decode()
