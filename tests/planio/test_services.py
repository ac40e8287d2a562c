"""planio.services: an import from upload to confirmed plan, on real files (python-docx writes them)."""

import datetime
import io

import docx
import pytest
from django.core.exceptions import PermissionDenied
from django.test import override_settings
from django.utils import timezone, translation

from changeplans.choices import EventKind, StepKind
from changeplans.models import Plan, PlanAttachment, PlanEvent
from planio import services
from planio.errors import ImportRefused
from planio.matching import person_key
from planio.models import ImportSource, ImportStatus, PlanImport
from planio.parsed import ParsedPlan
from tests.factories import PlanFactory, StepFactory, UserFactory
from tests.planio.builders import seed_docx, seed_text

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TITLE = "Установка сетевого плагина Calico в кластере Kubernetes PROD"


@pytest.fixture(autouse=True)
def russian():
    with translation.override("ru"):
        yield


@pytest.fixture(scope="module")
def seed():
    return seed_docx()


def word(*paragraphs):
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def refusal(imp, language):
    """What the reader and recognizer say of the import's file, in `language`."""
    from planio.readers import read_file
    from planio.recognize import recognize

    with translation.override(language):
        try:
            recognize(read_file(imp.filename, bytes(imp.data)), default_time_zone="Asia/Novosibirsk")
        except ImportRefused as refused:
            return " ".join(refused.messages)
    return None


def start(actor, data, filename="plan.docx", **kwargs):
    return services.start_file_import(actor=actor, filename=filename, data=data, content_type=DOCX, **kwargs)


def test_the_seed_docx_imports_and_confirms_into_the_seed_plan(author, seed):
    imp = start(author, seed, filename="План Calico.docx")

    assert (imp.status, imp.progress, imp.error) == (ImportStatus.READY, 100, "")
    assert not Plan.objects.exists()  # nothing before the confirmation
    parsed = ParsedPlan.from_json(imp.result)
    assert len(parsed.steps) == 7 and parsed.header["title"].value == TITLE
    assert imp.document["source"] == "docx" and imp.sha256 and imp.size == len(seed)

    plan = services.confirm(imp.pk, actor=author)

    assert plan.title == TITLE and plan.author == author
    steps = list(plan.steps.order_by("position"))
    assert [s.position for s in steps] == list(range(1, 8))
    assert steps[4].risks.count() == 13
    assert steps[0].kind == StepKind.ANNOUNCEMENT
    attachment = PlanAttachment.objects.get(plan=plan)
    assert bytes(attachment.data) == seed and attachment.filename == "План Calico.docx"
    event = PlanEvent.objects.get(plan=plan, kind=EventKind.IMPORTED)
    assert event.comment.startswith("Импортирован из файла План Calico.docx")
    assert event.changes["steps"] == 7
    imp.refresh_from_db()
    assert imp.status == ImportStatus.CONFIRMED and imp.plan == plan and bytes(imp.data) == b""


def test_confirming_twice_makes_one_plan(author, seed):
    imp = start(author, seed)
    first = services.confirm(imp.pk, actor=author)
    again = services.confirm(imp.pk, actor=author)
    assert first.pk == again.pk and Plan.objects.count() == 1


def test_pasted_text_imports_and_the_text_is_attached(author):
    imp = services.start_paste_import(actor=author, text=seed_text())

    assert imp.status == ImportStatus.READY, imp.error
    assert imp.source == ImportSource.PASTE and imp.content_type == "text/plain"
    plan = services.confirm(imp.pk, actor=author)
    assert plan.steps.count() == 7
    attachment = PlanAttachment.objects.get(plan=plan)
    assert attachment.content_type == "text/plain" and bytes(attachment.data).decode() == seed_text()
    assert PlanEvent.objects.get(plan=plan, kind=EventKind.IMPORTED).comment.startswith(
        "Импортирован из вставленного текста"
    )


def test_a_document_that_is_not_a_plan_fails_with_a_russian_message(author):
    imp = start(author, word("Список покупок", "Молоко, хлеб"))

    assert imp.status == ImportStatus.FAILED
    assert imp.error == refusal(imp, "ru") and imp.error != refusal(imp, "en")
    with pytest.raises(ImportRefused):
        services.confirm(imp.pk, actor=author)
    assert not Plan.objects.exists()


def test_only_the_owner_sees_or_acts(author, other_author, seed):
    imp = start(author, seed)
    for action in (
        lambda: services.get_import(imp.pk, actor=other_author),
        lambda: services.confirm(imp.pk, actor=other_author),
        lambda: services.discard(imp.pk, actor=other_author),
        lambda: services.update_overrides(imp.pk, actor=other_author, header={"title": "Чужое"}),
    ):
        with pytest.raises(PlanImport.DoesNotExist):
            action()
    own = services.get_import(imp.pk, actor=author)
    assert own.pk == imp.pk and not Plan.objects.exists()
    assert "data" in own.get_deferred_fields()  # the page polls it: never the upload


def test_only_authors_import(approver, seed):
    with pytest.raises(PermissionDenied):
        start(approver, seed)
    with pytest.raises(PermissionDenied):
        services.start_paste_import(actor=approver, text="x")
    assert not PlanImport.objects.exists()


@override_settings(OKNO_IMPORT_MAX_BYTES=1000)
def test_an_upload_over_the_limit_is_refused_before_it_is_stored(author, seed):
    with pytest.raises(ImportRefused, match="больше"):
        start(author, seed)
    assert not PlanImport.objects.exists()


def test_corrections_recognise_the_stored_document_again_without_the_file(author, seed, khasanov_user):
    imp = start(author, seed)
    PlanImport.objects.filter(pk=imp.pk).update(data=b"not read again")

    imp = services.update_overrides(
        imp.pk,
        actor=author,
        header={"title": "Новое название"},
        people={person_key("Хасанов А.И."): "text"},
        kinds={"2": StepKind.WORK},
    )

    parsed = ParsedPlan.from_json(imp.result)
    assert imp.status == ImportStatus.READY and parsed.header["title"].value == "Новое название"
    assert parsed.people[person_key("Хасанов А.И.")].choice == "text"
    imp = services.update_overrides(imp.pk, actor=author, header={"goal": "Цель"})
    assert imp.overrides["header"] == {"title": "Новое название", "goal": "Цель"}  # merged
    plan = services.confirm(imp.pk, actor=author)
    assert plan.title == "Новое название" and plan.goal == "Цель" and plan.curator is None
    assert plan.steps.get(position=2).kind == StepKind.WORK


def test_a_large_upload_is_read_after_commit_by_the_worker_task(author, seed, django_capture_on_commit_callbacks):
    with override_settings(OKNO_IMPORT_WORKER_BYTES=1000), django_capture_on_commit_callbacks() as callbacks:
        imp = start(author, seed)
        assert imp.status == ImportStatus.QUEUED and imp.progress == 0
    assert len(callbacks) == 1
    callbacks[0]()  # OKNO_USE_WORKER is off in tests: common.workers.hand_over runs services.parse here
    imp.refresh_from_db()
    assert imp.status == ImportStatus.READY and len(imp.result["steps"]) == 7


def test_the_task_reads_a_queued_import_once(author, seed, django_capture_on_commit_callbacks):
    from planio.tasks import parse_import

    with override_settings(OKNO_IMPORT_WORKER_BYTES=1000), django_capture_on_commit_callbacks():
        imp = start(author, seed)
    parse_import(imp.pk)
    imp.refresh_from_db()
    assert imp.status == ImportStatus.READY
    PlanImport.objects.filter(pk=imp.pk).update(result=None)
    parse_import(imp.pk)  # delivered twice: the second does nothing
    imp.refresh_from_db()
    assert imp.result is None


def test_messages_written_by_the_worker_are_in_the_language_the_import_started_in(
    author, seed, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(*args, **kwargs):
        raise RuntimeError("a reader's bug")

    monkeypatch.setattr("planio.recognize.recognize", broken)
    with override_settings(OKNO_IMPORT_WORKER_BYTES=10):
        with translation.override("en"), django_capture_on_commit_callbacks() as callbacks:
            imp = start(author, seed)
        with translation.override("ru"):
            callbacks[0]()  # the worker: its own language is not the user's
    imp.refresh_from_db()
    assert (imp.status, imp.language) == (ImportStatus.FAILED, "en")
    assert imp.error.startswith("The file could not be read because of an error in Okno.")


def test_a_bug_in_a_reader_fails_the_import_with_a_generic_message(author, seed, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("a reader's bug")

    monkeypatch.setattr("planio.recognize.recognize", broken)
    imp = start(author, seed)
    assert imp.status == ImportStatus.FAILED
    assert "ошибки в Окне" in imp.error and "a reader's bug" not in imp.error
    assert "a reader's bug" in caplog.text


def test_the_time_limit_fails_the_import_with_its_message(author, seed, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    def slow(*args, **kwargs):
        raise SoftTimeLimitExceeded()  # what Celery raises inside the task when soft_time_limit passes

    monkeypatch.setattr("planio.recognize.recognize", slow)
    imp = start(author, seed)
    assert imp.status == ImportStatus.FAILED and imp.error.startswith("Разбор файла занял больше 60 с")


def test_a_parse_whose_worker_died_is_reported_failed(author, seed, django_capture_on_commit_callbacks):
    with override_settings(OKNO_IMPORT_WORKER_BYTES=1000), django_capture_on_commit_callbacks():
        imp = start(author, seed)
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    PlanImport.objects.filter(pk=imp.pk).update(status=ImportStatus.PARSING, updated_at=long_ago)

    imp = services.get_import(imp.pk, actor=author)

    assert imp.status == ImportStatus.FAILED and "прервался" in imp.error


def test_expired_unconfirmed_imports_are_deleted_when_a_new_one_starts(author, seed):
    old = start(author, seed)
    kept = start(author, seed)
    services.confirm(kept.pk, actor=author)
    day_ago = timezone.now() - datetime.timedelta(hours=25)
    PlanImport.objects.filter(pk__in=[old.pk, kept.pk]).update(created_at=day_ago)

    new = start(author, seed)

    assert set(PlanImport.objects.values_list("pk", flat=True)) == {kept.pk, new.pk}
    assert services.delete_expired() == 0


def test_discard_forgets_the_import(author, seed):
    imp = start(author, seed)
    services.discard(imp.pk, actor=author)
    assert not PlanImport.objects.exists() and not Plan.objects.exists()


def test_into_an_empty_draft_only(author, seed):
    draft = PlanFactory(author=author)
    imp = start(author, seed, into_plan_id=draft.pk)
    plan = services.confirm(imp.pk, actor=author)
    assert plan.pk == draft.pk and plan.steps.count() == 7

    with pytest.raises(ImportRefused, match="пустой черновик"):
        start(author, seed, into_plan_id=StepFactory(plan=PlanFactory(author=author)).plan_id)


@pytest.fixture
def khasanov_user(db):
    return UserFactory(username="khasanov", last_name="Хасанов", first_name="Артём Игоревич")


@pytest.mark.parametrize("source", ["docx", "text"])
def test_the_seed_imports_into_the_demo_plan_field_by_field(seed, source):
    from approvals.models import ApprovalRow
    from changeplans.services import COPIED_STEP_FIELDS, HEADER_FIELDS
    from demo.plans import load_demo

    demo = load_demo()
    if source == "docx":
        imp = start(demo.author, seed)
    else:
        imp = services.start_paste_import(actor=demo.author, text=seed_text())
    assert imp.status == ImportStatus.READY, imp.error
    plan = services.confirm(imp.pk, actor=demo.author)

    def header(p):
        return {name: getattr(p, name) for name in HEADER_FIELDS}

    def services_of(p):
        return sorted((ps.service_id, ps.availability) for ps in p.plan_services.all())

    def steps(p):
        out = []
        for step in p.steps.order_by("position"):
            fields = {name: getattr(step, name) for name in (*COPIED_STEP_FIELDS, "planned_date")}
            fields["risks"] = [(r.number, r.description, r.mitigation) for r in step.risks.order_by("number")]
            fields["rollback"] = [(a.position, a.text, a.label()) for a in step.rollback_actions.order_by("position")]
            out.append(fields)
        return out

    def rows(p):
        return [
            (r.position, r.stage, r.kind, r.job_title, r.person_name, r.user_id, r.group_id)
            for r in ApprovalRow.objects.filter(plan=p).order_by("position")
        ]

    assert header(plan) == header(demo)
    assert services_of(plan) == services_of(demo)
    imported, expected = steps(plan), steps(demo)
    for got, want in zip(imported, expected, strict=True):
        assert got == want, {k: (got[k], want[k]) for k in got if got[k] != want[k]}
    assert rows(plan) == rows(demo)
