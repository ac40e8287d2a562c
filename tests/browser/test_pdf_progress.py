"""The archive PDF in a browser: «PDF для архива» shows «Готовится PDF…» while the worker makes the copy, then the
download starts by itself; a failed copy shows its error and «Повторить» makes it."""

import pytest
from playwright.sync_api import expect

from changeplans import pdf, pdf_archive
from changeplans.models import PlanPdf
from tests.browser.conftest import login
from tests.factories import PlanFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


class QueueWithoutWorker:
    """Stands in for the Celery queue: keeps what is handed over; the test then does the worker's job."""

    def __init__(self):
        self.handed_over = []

    def __call__(self, pdf_id):
        self.handed_over.append(pdf_id)

    def work(self):
        for pdf_id in self.handed_over:
            pdf_archive.render_stored(pdf_id)


@pytest.fixture
def queue(monkeypatch, settings):
    settings.OKNO_USE_WORKER = True
    queue = QueueWithoutWorker()
    monkeypatch.setattr(pdf_archive, "_hand_over", queue)
    return queue


@pytest.fixture
def plan(transactional_db):
    author = UserFactory(username="pdfauthor", roles=["author"])
    plan = PlanFactory(author=author, title="Замена сетевого плагина")
    for n in (1, 2):
        StepFactory(plan=plan, position=n, name=f"Шаг {n}")
    return plan


def test_preparing_the_pdf_then_the_download_starts(page, plan, queue):
    login(page, "pdfauthor")
    page.goto(f"/plans/{plan.pk}/")
    page.locator("#pdf-link").click()

    expect(page.locator("#pdf-preparing")).to_contain_text("Готовится PDF…")
    expect(page.locator("#pdf-progress")).to_have_attribute("hx-trigger", "every 1s")
    assert len(queue.handed_over) == 1 and PlanPdf.objects.get().status == PlanPdf.Status.QUEUED

    with page.expect_download(timeout=30_000) as info:
        queue.work()  # the worker makes the copy; the page notices within a second and starts the download
    download = info.value
    assert download.failure() is None and download.suggested_filename == f"plan-{plan.pk}-2025-03-20.pdf"
    with open(download.path(), "rb") as file:
        assert file.read() == bytes(PlanPdf.objects.get().data)
    expect(page.locator("#pdf-ready")).to_be_visible()


def _failing_appendix(plan, viewer=None):
    from django.utils.safestring import mark_safe

    return mark_safe('<img src="file:///etc/hostname">')  # refused by the PDF's URL fetcher


def test_a_failed_pdf_shows_the_error_and_retry_makes_it(page, plan, queue, monkeypatch):
    monkeypatch.setattr(pdf, "appendices", [*pdf.appendices, _failing_appendix])
    login(page, "pdfauthor")
    page.goto(f"/plans/{plan.pk}/pdf/?history=full")
    expect(page.locator("#pdf-preparing")).to_be_visible()
    queue.work()
    expect(page.locator("#pdf-failed")).to_contain_text("Не удалось сделать PDF")

    monkeypatch.setattr(pdf, "appendices", [append for append in pdf.appendices if append is not _failing_appendix])
    queue.handed_over.clear()
    page.locator("#pdf-retry").click()
    expect(page.locator("#pdf-preparing")).to_be_visible()
    assert PlanPdf.objects.filter(status=PlanPdf.Status.QUEUED).get().full_history
    with page.expect_download(timeout=30_000) as info:
        queue.work()
    assert info.value.failure() is None
