"""A large upload is read by a real Celery worker (planio.tasks.parse_import), not by the web process."""

import pytest
from django.test import override_settings
from django.utils import translation

from changeplans.models import PlanAttachment
from planio import services
from planio.models import ImportStatus, PlanImport
from tests.planio.builders import seed_docx

from .conftest import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def finished(import_id):
    return PlanImport.objects.filter(pk=import_id, status__in=[ImportStatus.READY, ImportStatus.FAILED]).first()


def test_a_large_upload_is_read_by_the_worker_and_confirmed(celery, author):
    celery.worker(concurrency=1)
    data = seed_docx()
    with translation.override("ru"), override_settings(OKNO_USE_WORKER=True, OKNO_IMPORT_WORKER_BYTES=1000):
        imp = services.start_file_import(actor=author, filename="plan.docx", data=data, content_type=DOCX)
        assert imp.status == ImportStatus.QUEUED  # handed over, not read here

        done = wait_for(lambda: finished(imp.pk), 60, message="the worker to read the import")

        assert done.status == ImportStatus.READY, done.error
        assert done.progress == 100 and len(done.result["steps"]) == 7
        plan = services.confirm(imp.pk, actor=author)
    assert plan.steps.count() == 7
    assert bytes(PlanAttachment.objects.get(plan=plan).data) == data
    assert "planio.parse_import" in celery.log("w1")


def test_a_file_the_worker_refuses_fails_with_the_users_language(celery, author):
    celery.worker(concurrency=1)
    with translation.override("ru"), override_settings(OKNO_USE_WORKER=True, OKNO_IMPORT_WORKER_BYTES=10):
        imp = services.start_file_import(
            actor=author, filename="plan.docx", data=b"PK\x03\x04 not really a zip", content_type=DOCX
        )
    done = wait_for(lambda: finished(imp.pk), 60, message="the worker to refuse the import")
    assert done.status == ImportStatus.FAILED and done.language == "ru"
    assert done.error and not done.error.isascii()
