"""Stored archive PDFs (changeplans.pdf_archive, docs/pdf.md): one copy per version, served as stored.

These tests run without a worker (OKNO_USE_WORKER off): the download's request makes a missing copy itself,
as `make run` without its worker would. tests/integration/test_pdf_worker.py runs the same with a real worker.
"""

import datetime
import hashlib
import threading

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

import changeplans.views_pdf
from approvals import services as approvals
from changeplans import pdf, pdf_archive
from changeplans import services as plan_services
from changeplans.models import PlanEvent, PlanPdf
from tests.approvals.factories import plan_with_matrix
from tests.factories import PlanFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

Status = PlanPdf.Status


@pytest.fixture
def plan(author):
    plan = PlanFactory(author=author, title="Замена сетевого плагина")
    StepFactory(plan=plan, position=1, name="Бэкап etcd")
    return plan


def pdf_url(plan, **query):
    url = reverse("changeplans:plan_pdf", args=[plan.pk])
    return url + ("?history=full" if query.get("full") else "")


def test_the_first_download_stores_the_copy_and_the_next_is_served_as_stored(author_client, plan):
    first = author_client.get(pdf_url(plan))
    assert first.status_code == 200 and first["Content-Type"] == "application/pdf"
    body = b"".join(first.streaming_content)
    assert body.startswith(b"%PDF") and 'attachment; filename="plan-' in first["Content-Disposition"]
    stored = PlanPdf.objects.get(plan=plan)
    assert stored.status == Status.READY and stored.attempts == 1 and stored.pages >= 1
    assert bytes(stored.data) == body and stored.sha256 == hashlib.sha256(body).hexdigest()
    assert first["ETag"] == f'"{stored.sha256}"' and "private" in first["Cache-Control"]

    # The stored bytes are what is served: replace them, and the next download returns them unchanged.
    PlanPdf.objects.filter(pk=stored.pk).update(data=b"%PDF-1.7 stored copy", sha256="0" * 64)
    second = author_client.get(pdf_url(plan))
    assert b"".join(second.streaming_content) == b"%PDF-1.7 stored copy"
    assert PlanPdf.objects.filter(plan=plan).count() == 1
    assert PlanPdf.objects.get(pk=stored.pk).attempts == 1


def test_a_copy_the_browser_has_is_not_sent_again(author_client, plan):
    etag = author_client.get(pdf_url(plan))["ETag"]
    again = author_client.get(pdf_url(plan), headers={"If-None-Match": etag})
    assert again.status_code == 304 and again["ETag"] == etag


def test_an_edit_makes_a_new_version_rendered_again_and_the_old_copy_goes(author_client, author, plan):
    author_client.get(pdf_url(plan))
    old = PlanPdf.objects.get(plan=plan)
    step = plan.steps.get()
    plan_services.update_step_cell(
        step.pk, actor=author, field="name", value="Бэкап etcd и манифестов", revision=step.revision
    )

    response = author_client.get(pdf_url(plan))

    assert response.status_code == 200
    new = PlanPdf.objects.get(plan=plan)  # the superseded copy is deleted (not an archive copy)
    assert new.pk != old.pk and new.key != old.key and new.last_event > old.last_event
    assert bytes(new.data) == b"".join(response.streaming_content)


def test_language_and_the_full_history_are_copies_of_their_own(author_client, plan):
    author_client.get(pdf_url(plan))
    author_client.get(pdf_url(plan, full=True))
    author_client.cookies["django_language"] = "en"
    author_client.get(pdf_url(plan))
    rows = set(PlanPdf.objects.filter(plan=plan).values_list("language", "full_history"))
    assert rows == {("ru", False), ("ru", True), ("en", False)}


def test_the_archive_copy_is_frozen_on_approval_and_its_hash_is_in_the_history(
    django_capture_on_commit_callbacks, client
):
    plan, author, (a1,), duty = plan_with_matrix(1)
    rows = list(plan.approval_rows.order_by("position"))
    with django_capture_on_commit_callbacks(execute=True):
        approvals.submit_plan(plan.pk, actor=author)
    with django_capture_on_commit_callbacks(execute=True):
        approvals.approve_row(rows[0].pk, actor=a1, version=1)
    with django_capture_on_commit_callbacks(execute=True):
        approvals.acknowledge_row(rows[1].pk, actor=duty, version=1)
    archive = PlanPdf.objects.get(plan=plan, freeze=True)
    assert archive.reason == "approved" and archive.status == Status.QUEUED and archive.viewer is None

    pdf_archive.render_stored(archive.pk)  # what the worker does

    archive.refresh_from_db()
    assert archive.status == Status.READY and archive.archived
    event = PlanEvent.objects.get(plan=plan, object_type="planpdf")
    assert event.changes["sha256"] == archive.sha256 == hashlib.sha256(bytes(archive.data)).hexdigest()
    assert archive.sha256 in event.comment
    # The entry about the copy is no new version: a download now gets the archive copy itself.
    client.force_login(UserFactory(username="reader"))
    assert b"".join(client.get(pdf_url(plan)).streaming_content) == bytes(archive.data)
    assert PlanPdf.objects.filter(plan=plan, status=Status.READY).count() == 1


def test_the_archive_copy_outlives_later_versions(django_capture_on_commit_callbacks, client):
    plan, author, (a1,), duty = plan_with_matrix(1)
    rows = list(plan.approval_rows.order_by("position"))
    with django_capture_on_commit_callbacks(execute=True):
        approvals.submit_plan(plan.pk, actor=author)
        approvals.approve_row(rows[0].pk, actor=a1, version=1)
        approvals.acknowledge_row(rows[1].pk, actor=duty, version=1)
    archive = PlanPdf.objects.get(plan=plan, freeze=True)
    client.force_login(author)
    client.get(pdf_url(plan))  # without a worker, the first download makes the archive copy
    archive.refresh_from_db()
    assert archive.archived and PlanEvent.objects.filter(plan=plan, object_type="planpdf").count() == 1
    data, sha = bytes(archive.data), archive.sha256

    step = plan.steps.get()
    plan_services.update_step_cell(step.pk, actor=author, field="name", value="Другое", revision=step.revision)
    client.get(pdf_url(plan))

    assert PlanPdf.objects.filter(plan=plan).count() == 2
    archive.refresh_from_db()
    assert archive.archived and bytes(archive.data) == data and archive.sha256 == sha
    # A failed archive copy could not be retried into another content: retry leaves archived rows alone.
    assert pdf_archive.retry(archive).status == Status.READY


def test_completion_asks_for_the_final_archive_copy(django_capture_on_commit_callbacks, running_plan, duty):
    from execution import transitions

    for step in running_plan.steps.all():
        transitions.tick(step.pk, "start", actor=duty)
        transitions.tick(step.pk, "done", actor=duty)
    with django_capture_on_commit_callbacks(execute=True):
        transitions.finish_plan(running_plan.pk, actor=duty, outcome="completed")
    final = PlanPdf.objects.get(plan=running_plan, reason="finished")
    assert final.freeze and final.status == Status.QUEUED  # no worker here: the first download makes it


def test_two_renders_of_one_copy_render_once(plan, author):
    copy = pdf_archive.obtain(plan, viewer=author, language="ru")
    data = bytes(PlanPdf.objects.get(pk=copy.pk).data)
    PlanPdf.objects.filter(pk=copy.pk).update(status=Status.QUEUED)
    PlanPdf.objects.filter(pk=copy.pk).update(status=Status.RENDERING)  # claimed by another worker
    pdf_archive.render_stored(copy.pk)
    again = PlanPdf.objects.get(pk=copy.pk)
    assert again.attempts == 1 and again.status == Status.RENDERING and bytes(again.data) == data


@pytest.mark.django_db(transaction=True)
def test_two_requests_at_once_make_one_copy_and_one_render(author):
    plan = PlanFactory(author=author)
    StepFactory(plan=plan, position=1)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def download():
        try:
            barrier.wait(10)
            results.append(pdf_archive.obtain(plan, viewer=author, language="ru").pk)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=download) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert not errors and len(set(results)) == 1
    copy = PlanPdf.objects.get(plan=plan)
    assert copy.attempts == 1 and copy.status == Status.READY


def test_who_may_not_see_the_plan_gets_403_everywhere(client, plan, author, monkeypatch):
    copy = pdf_archive.obtain(plan, viewer=author, language="ru")
    monkeypatch.setattr(changeplans.views_pdf, "can_view_plan", lambda user, plan: user.pk == plan.author_id)
    client.force_login(UserFactory(username="outsider"))
    assert client.get(pdf_url(plan)).status_code == 403
    assert client.get(reverse("changeplans:plan_pdf_status", args=[plan.pk, copy.pk])).status_code == 403
    assert client.post(reverse("changeplans:plan_pdf_retry", args=[plan.pk, copy.pk])).status_code == 403
    client.force_login(author)
    assert client.get(pdf_url(plan)).status_code == 200


def test_anonymous_users_are_sent_to_log_in(client, plan, author):
    copy = pdf_archive.obtain(plan, viewer=author, language="ru")
    for url in (pdf_url(plan), reverse("changeplans:plan_pdf_status", args=[plan.pk, copy.pk])):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_copy_in_the_making_shows_progress_then_sends_to_the_download(author_client, author, plan, settings):
    settings.OKNO_USE_WORKER = True
    version = pdf_archive.version_of(plan, viewer=author, language="ru")
    queued, created = pdf_archive._get_or_create(plan, version, viewer=author, reason="download")
    assert created  # as if handed to a worker that has not started yet

    page = author_client.get(pdf_url(plan))

    html = page.content.decode()
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert "Готовится PDF… 0 %" in html and 'hx-trigger="every 1s"' in html
    status_url = reverse("changeplans:plan_pdf_status", args=[plan.pk, queued.pk])
    assert status_url in html

    pdf_archive.render_stored(queued.pk)  # the worker

    ready = author_client.get(status_url, headers={"HX-Request": "true"}).content.decode()
    assert 'id="pdf-ready"' in ready and f"{status_url}?start=1" in ready
    start = author_client.get(status_url + "?start=1", headers={"HX-Request": "true"})
    assert start["HX-Redirect"] == pdf_url(plan)
    assert b"".join(author_client.get(pdf_url(plan)).streaming_content) == bytes(PlanPdf.objects.get().data)


def _failing_appendix(plan, viewer=None):
    # Refused by the PDF's URL fetcher (only static files may be loaded): a real failure of the render.
    return mark_safe('<img src="file:///etc/hostname">')


def test_a_failed_render_shows_the_error_and_retry_makes_it(author_client, plan, monkeypatch):
    monkeypatch.setattr(pdf, "appendices", [*pdf.appendices, _failing_appendix])

    page = author_client.get(pdf_url(plan))

    copy = PlanPdf.objects.get(plan=plan)
    assert copy.status == Status.FAILED and copy.error
    html = page.content.decode()
    assert page.status_code == 200 and 'id="pdf-failed"' in html and 'id="pdf-retry"' in html
    assert "Не удалось сделать PDF" in html

    # Retrying the same version renders it again (and here fails again, with its message).
    assert pdf_archive.retry(copy).status == Status.FAILED
    assert PlanPdf.objects.get(pk=copy.pk).attempts == 2

    # Fixed: «Повторить» makes the plan's current version and sends the browser to the download.
    monkeypatch.setattr(pdf, "appendices", [append for append in pdf.appendices if append is not _failing_appendix])
    retry = author_client.post(
        reverse("changeplans:plan_pdf_retry", args=[plan.pk, copy.pk]), headers={"HX-Request": "true"}
    )

    assert retry["HX-Redirect"] == pdf_url(plan)
    ready = PlanPdf.objects.get(plan=plan, status=Status.READY)
    assert b"".join(author_client.get(pdf_url(plan)).streaming_content) == bytes(ready.data)


def test_a_render_whose_worker_died_is_failed_and_a_lost_message_is_sent_again(author_client, author, plan, settings):
    settings.OKNO_USE_WORKER = True
    version = pdf_archive.version_of(plan, viewer=author, language="ru")
    copy, _ = pdf_archive._get_or_create(plan, version, viewer=author, reason="download")
    long_ago = timezone.now() - datetime.timedelta(seconds=settings.OKNO_PDF_RENDER_SECONDS + 120)
    PlanPdf.objects.filter(pk=copy.pk).update(status=Status.RENDERING, started_at=long_ago)
    status_url = reverse("changeplans:plan_pdf_status", args=[plan.pk, copy.pk])

    html = author_client.get(status_url, headers={"HX-Request": "true"}).content.decode()

    assert 'id="pdf-failed"' in html and PlanPdf.objects.get(pk=copy.pk).status == Status.FAILED

    # A queued copy nobody took (the message was lost) is handed over again; here, without a worker, made here.
    settings.OKNO_USE_WORKER = False
    PlanPdf.objects.filter(pk=copy.pk).update(
        status=Status.QUEUED, enqueued_at=timezone.now() - datetime.timedelta(seconds=600)
    )
    author_client.get(status_url, headers={"HX-Request": "true"})
    assert PlanPdf.objects.get(pk=copy.pk).status == Status.READY


def test_serving_a_stored_copy_costs_the_same_queries_whatever_the_plan(author_client, author):
    from django.test.utils import CaptureQueriesContext

    counts = []
    for steps in (1, 30):
        plan = PlanFactory(author=author)
        for n in range(1, steps + 1):
            StepFactory(plan=plan, position=n)
        author_client.get(pdf_url(plan))  # made and stored
        with CaptureQueriesContext(connection) as queries:
            response = author_client.get(pdf_url(plan))
        assert response["Content-Type"] == "application/pdf"
        counts.append(len(queries))
    # The session, the user, the plan, its newest entry, the appendices' audience (runbooks: 2), the copy.
    assert counts[0] == counts[1] <= 7


def test_the_worker_renders_at_a_lower_cpu_priority():
    import os

    from changeplans.tasks import _lower_priority

    before = os.getpriority(os.PRIO_PROCESS, 0)
    with _lower_priority(3):
        assert os.getpriority(os.PRIO_PROCESS, 0) == min(19, before + 3)
    # Raised back where the process may (root); otherwise it stays lower, which costs nothing when idle.
    assert os.getpriority(os.PRIO_PROCESS, 0) in (before, min(19, before + 3))
