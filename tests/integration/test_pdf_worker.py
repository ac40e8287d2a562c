"""The archive PDF is made by a real Celery worker (changeplans.render_pdf), never in the web request."""

import hashlib
import threading

import pytest
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from approvals import services as approvals
from changeplans import pdf_archive
from changeplans.models import PlanEvent, PlanPdf
from tests.approvals.factories import plan_with_matrix
from tests.factories import PlanFactory, StepFactory

from .conftest import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

Status = PlanPdf.Status


def settled(pdf_id):
    return PlanPdf.objects.filter(pk=pdf_id, status__in=[Status.READY, Status.FAILED]).first()


def test_a_download_is_queued_made_by_the_worker_then_served_as_stored(celery, author, client):
    celery.worker(concurrency=1)
    plan = PlanFactory(author=author)
    for n in range(1, 4):
        StepFactory(plan=plan, position=n)
    client.force_login(author)
    url = reverse("changeplans:plan_pdf", args=[plan.pk])
    with override_settings(OKNO_USE_WORKER=True):
        page = client.get(url)
        assert page.status_code == 200 and "Готовится PDF" in page.content.decode()  # not rendered here
        copy = PlanPdf.objects.get(plan=plan)

        done = wait_for(lambda: settled(copy.pk), 120, message="the worker to make the PDF")

        assert done.status == Status.READY, done.error
        response = client.get(url)
    body = b"".join(response.streaming_content)
    assert body.startswith(b"%PDF") and hashlib.sha256(body).hexdigest() == done.sha256
    assert "changeplans.render_pdf" in celery.log("w1")
    assert done.layout_seconds is not None and done.pages >= 1


def test_two_requests_at_once_are_one_render_in_the_worker(celery, author):
    celery.worker(concurrency=2)
    plan = PlanFactory(author=author)
    StepFactory(plan=plan, position=1)
    barrier = threading.Barrier(2)
    ids = []

    def download():
        try:
            barrier.wait(10)
            ids.append(pdf_archive.obtain(plan, viewer=author, language="ru").pk)
        finally:
            connection.close()

    with override_settings(OKNO_USE_WORKER=True):
        threads = [threading.Thread(target=download) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert len(ids) == 2 and ids[0] == ids[1]
        # A second message for the same copy (a re-queued one, say) renders nothing more.
        pdf_archive._hand_over(ids[0])
        done = wait_for(lambda: settled(ids[0]), 120, message="the worker to make the PDF")
    assert done.status == Status.READY and done.attempts == 1
    wait_for(lambda: celery.log("w1").count("changeplans.render_pdf") >= 4, 30, message="both messages handled")
    assert PlanPdf.objects.get(pk=ids[0]).attempts == 1


def test_approval_makes_the_archive_copy_in_the_worker_with_its_hash_in_the_history(celery):
    celery.worker(concurrency=1)
    plan, author, (a1,), duty = plan_with_matrix(1)
    rows = list(plan.approval_rows.order_by("position"))
    with override_settings(OKNO_USE_WORKER=True):
        approvals.submit_plan(plan.pk, actor=author)
        approvals.approve_row(rows[0].pk, actor=a1, version=1)
        approvals.acknowledge_row(rows[1].pk, actor=duty, version=1)
        archive = wait_for(
            lambda: PlanPdf.objects.filter(plan=plan, reason="approved", archived=True).first(),
            120,
            message="the archive copy",
        )
    event = PlanEvent.objects.get(plan=plan, object_type="planpdf")
    assert event.changes["sha256"] == archive.sha256 == hashlib.sha256(bytes(archive.data)).hexdigest()
    assert "changeplans.render_pdf" in celery.log("w1")
