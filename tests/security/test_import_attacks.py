"""The plan import and the Word export played by an attacker holding an ordinary login.

Each test is one attack on the pages a browser reaches (planio's upload, preview, corrections, confirm,
discard; the attachment download; the Word export), with real .docx/.xlsx/HTML files written here. It
asserts the concrete refusal and that nothing was created or changed, so it fails if the guard goes.
"""

import io
import re
import zipfile

import docx
import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation

from approvals.choices import ApprovalStatus, RowKind
from approvals.models import ApprovalRow
from changeplans.choices import EventKind, PlanStatus
from changeplans.models import Plan, PlanAttachment, PlanEvent, Step
from planio.models import ImportStatus, PlanImport
from tests.factories import PlanFactory, StepFactory, UserFactory
from tests.planio import builders
from tests.security.test_csp import inline_code

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HX = {"HTTP_HX_REQUEST": "true"}
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'
# What a page must never contain unescaped (the attacker's markup, live).
LIVE_MARKUP = ("<script>alert", "<img src=x", "<iframe")


@pytest.fixture(autouse=True)
def russian():
    with translation.override("ru"):
        yield


def small_spec(**changes):
    """A two-step plan in the seed's layout (its values replaced by `changes`)."""
    spec = builders.seed_spec()
    spec.steps = spec.steps[4:6]
    spec.signoff = spec.signoff[:2] + spec.signoff[-1:]
    for name, value in changes.items():
        setattr(spec, name, value)
    return spec


def docx_of(spec=None, layout=None):
    return builders.to_docx(spec or small_spec(), layout or builders.Layout())


def upload(client, data, name="plan.docx", content_type=DOCX, **fields):
    return client.post(
        reverse("planio:new") + fields.pop("query", ""),
        {"file": SimpleUploadedFile(name, data, content_type=content_type), "text": "", **fields},
    )


def paste(client, text, **fields):
    return client.post(reverse("planio:new"), {"text": text, **fields})


def started(response):
    assert response.status_code == 302, response.content.decode()[:3000]
    match = re.fullmatch(r"/imports/(\d+)/", response["Location"])
    assert match, response["Location"]
    return PlanImport.objects.get(pk=int(match.group(1)))


def client_of(user, **kwargs):
    client = Client(**kwargs)
    client.force_login(user)
    return client


def nothing_created():
    return not PlanImport.objects.exists() and not Plan.objects.exists() and not PlanAttachment.objects.exists()


def text(response):
    return response.content.decode()


def assert_inert(page, where):
    """The attacker's markup is shown as text: present escaped, never live, no inline code."""
    for live in LIVE_MARKUP:
        assert live not in page, f"{where}: {live!r} is live in the page"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, f"{where}: the payload is not shown at all"
    assert inline_code(page) == [], where
    assert 'href="javascript:' not in page.lower(), where


# --- (1) who may import at all --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["operator", "approver", "duty"])
def test_people_who_may_not_write_plans_cannot_import(request, role):
    client = client_of(request.getfixturevalue(role))
    assert client.get(reverse("planio:new")).status_code == 403
    assert upload(client, docx_of()).status_code == 403
    assert paste(client, builders.seed_text()).status_code == 403
    assert nothing_created()


def test_a_login_with_no_role_cannot_import(db):
    client = client_of(UserFactory(username="nobody"))
    assert upload(client, docx_of()).status_code == 403
    assert nothing_created()


def test_signed_out_every_import_url_sends_to_the_login_and_creates_nothing(author):
    imported = started(upload(client_of(author), docx_of()))
    anonymous = Client()
    response = upload(anonymous, docx_of())
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert anonymous.get(reverse("planio:preview", args=[imported.pk])).status_code == 302
    for name in ("planio:overrides", "planio:confirm", "planio:discard"):
        response = anonymous.post(reverse(name, args=[imported.pk]))
        assert response.status_code == 302 and "/login/" in response["Location"], name
    imported.refresh_from_db()
    assert imported.status == ImportStatus.READY and PlanImport.objects.count() == 1 and not Plan.objects.exists()


# --- (2) someone else's import ------------------------------------------------------------------------------------


def test_another_author_and_an_admin_find_no_one_elses_import_on_any_url(author, other_author, admin_user):
    imported = started(upload(client_of(author), docx_of()))
    before = (imported.status, imported.overrides, imported.result)
    for intruder in (other_author, admin_user):
        client = client_of(intruder)
        assert client.get(reverse("planio:preview", args=[imported.pk])).status_code == 404
        assert client.get(reverse("planio:preview", args=[imported.pk]) + "?poll=1", **HX).status_code == 404
        column = imported.result["columns"][1]
        key = f"{column['table']}:{column['index']}"
        posted = {f"column:{key}": "rollback", "header:title": "ПЕРЕХВАЧЕНО"}
        for name in ("planio:overrides", "planio:confirm", "planio:discard"):
            assert client.post(reverse(name, args=[imported.pk]), posted).status_code == 404, name
            assert client.post(reverse(name, args=[imported.pk]), posted, **HX).status_code == 404, name
    imported.refresh_from_db()
    assert (imported.status, imported.overrides, imported.result) == before
    assert not Plan.objects.exists()


# --- (3) into someone else's plan, a plan with content, a plan that changed ----------------------------------------


def _draft(author, title="Чужой черновик"):
    return PlanFactory(author=author, title=title)


def _untouched(plan, title="Чужой черновик"):
    plan.refresh_from_db()
    return (
        plan.title == title
        and not PlanAttachment.objects.filter(plan=plan).exists()
        and not (PlanEvent.objects.filter(plan=plan, kind=EventKind.IMPORTED).exists())
    )


def test_into_another_authors_draft_is_refused_at_upload(author, other_author):
    theirs = _draft(other_author)
    client = client_of(author)
    response = upload(client, docx_of(), into=theirs.pk)
    assert response.status_code == 403 and "Редактировать план может только его автор" in text(response)
    response = paste(client, builders.seed_text(), into=theirs.pk)
    assert response.status_code == 403
    assert not PlanImport.objects.exists() and _untouched(theirs) and Plan.objects.count() == 1


@pytest.mark.parametrize("content", ["steps", "matrix", "in_review"])
def test_into_a_plan_with_content_is_refused(author, content):
    plan = _draft(author)
    if content == "steps":
        StepFactory(plan=plan, position=1)
    elif content == "matrix":
        ApprovalRow.objects.create(plan=plan, position=1, person_name="Кто-то", kind=RowKind.APPROVAL)
    else:
        Plan.objects.filter(pk=plan.pk).update(status=PlanStatus.IN_REVIEW)
    response = upload(client_of(author), docx_of(), into=plan.pk)
    assert response.status_code in (400, 403)
    assert "пуст" in text(response) or "больше нельзя" in text(response) or "нельзя изменить" in text(response)
    assert not PlanImport.objects.exists() and _untouched(plan)
    assert plan.steps.count() == (1 if content == "steps" else 0)


def test_into_a_plan_that_does_not_exist_makes_a_new_plan_and_touches_no_other(author, other_author):
    theirs = _draft(other_author)
    imported = started(upload(client_of(author), docx_of(), into=987654))
    assert imported.into_plan_id is None
    assert client_of(author).post(reverse("planio:confirm", args=[imported.pk])).status_code == 302
    assert _untouched(theirs) and Plan.objects.filter(author=author).count() == 1


def test_the_target_gaining_content_after_the_upload_refuses_the_confirm(author):
    plan = _draft(author)
    client = client_of(author)
    imported = started(upload(client, docx_of(), into=plan.pk))
    assert imported.into_plan_id == plan.pk
    StepFactory(plan=plan, position=1, name="Шаг, добавленный после загрузки")
    response = client.post(reverse("planio:confirm", args=[imported.pk]))
    assert response.status_code == 400 and "пуст" in text(response)
    assert _untouched(plan) and list(plan.steps.values_list("name", flat=True)) == ["Шаг, добавленный после загрузки"]
    imported.refresh_from_db()
    assert imported.status == ImportStatus.READY and imported.plan_id is None


def test_into_cannot_be_changed_at_confirm(author, other_author):
    mine, theirs = _draft(author, title="Мой"), _draft(other_author)
    client = client_of(author)
    imported = started(upload(client, docx_of(), into=mine.pk))
    # The confirm and the corrections carry an `into` of someone else's plan: it is not read from them
    client.post(reverse("planio:overrides", args=[imported.pk]), {"into": theirs.pk})
    response = client.post(reverse("planio:confirm", args=[imported.pk]), {"into": theirs.pk})
    assert response.status_code == 302 and response["Location"] == reverse("changeplans:plan_detail", args=[mine.pk])
    assert _untouched(theirs) and theirs.steps.count() == 0
    mine.refresh_from_db()
    assert mine.steps.count() == 2 and Plan.objects.count() == 2


def test_the_target_given_to_someone_else_after_the_upload_refuses_the_confirm(author, other_author):
    plan = _draft(author)
    client = client_of(author)
    imported = started(upload(client, docx_of(), into=plan.pk))
    Plan.objects.filter(pk=plan.pk).update(author=other_author)
    response = client.post(reverse("planio:confirm", args=[imported.pk]))
    assert response.status_code == 403 and "Редактировать план может только его автор" in text(response)
    assert _untouched(plan) and plan.steps.count() == 0


def test_a_second_confirm_returns_the_same_plan_and_writes_nothing(author):
    client = client_of(author)
    imported = started(upload(client, docx_of()))
    first = client.post(reverse("planio:confirm", args=[imported.pk]))
    plan = Plan.objects.get()
    second = client.post(
        reverse("planio:confirm", args=[imported.pk]), {"header:title": "Перезаписано", "header_guess:title": ""}
    )
    assert first["Location"] == second["Location"] == reverse("changeplans:plan_detail", args=[plan.pk])
    plan.refresh_from_db()
    assert Plan.objects.count() == 1 and plan.title != "Перезаписано"
    assert PlanAttachment.objects.count() == 1 and PlanEvent.objects.filter(kind=EventKind.IMPORTED).count() == 1
    # Nor do corrections after the confirm change anything
    response = client.post(reverse("planio:overrides", args=[imported.pk]), {"header:title": "Перезаписано"})
    assert response.status_code in (302, 400)
    plan.refresh_from_db()
    assert plan.title != "Перезаписано"


def test_two_imports_into_one_draft_fill_it_once(author):
    plan = _draft(author)
    client = client_of(author)
    first = started(upload(client, docx_of(), into=plan.pk))
    second = started(upload(client, docx_of(small_spec(title="Второй импорт")), into=plan.pk))
    assert client.post(reverse("planio:confirm", args=[first.pk])).status_code == 302
    response = client.post(reverse("planio:confirm", args=[second.pk]))
    assert response.status_code == 400 and "пуст" in text(response)
    plan.refresh_from_db()
    assert plan.title != "Второй импорт" and plan.steps.count() == 2 and Plan.objects.count() == 1
    assert PlanAttachment.objects.filter(plan=plan).count() == 1


# --- (4) corrections naming people, groups and services that do not fit -------------------------------------------


def _person_key(imported, name):
    from planio.matching import person_key

    key = person_key(name)
    assert key in imported.result["people"], sorted(imported.result["people"])
    return key


@pytest.fixture
def signers(db):
    """The small spec's two approvers as users, and the duty officers' group."""
    from changeplans.roles import ensure_role_groups

    kochetov = UserFactory(username="kochetov", last_name="Кочетов", first_name="Виктор Николаевич", roles=["approver"])
    kuzmina = UserFactory(username="kuzmina", last_name="Кузьмина", first_name="Ольга Викторовна", roles=["approver"])
    groups = ensure_role_groups()
    return kochetov, kuzmina, groups


def test_corrections_cannot_make_the_author_or_a_group_an_approver_nor_name_what_does_not_exist(author, signers):
    from changeplans.choices import Role
    from changeplans.models import Party

    kochetov, kuzmina, groups = signers
    inactive = UserFactory(username="gone", last_name="Ушедший", is_active=False)
    authors_party = Party.objects.create(name="Партия автора", user=author)
    client = client_of(author)
    imported = started(upload(client, docx_of()))
    first, second = _person_key(imported, "Кочетов В.Н."), _person_key(imported, "Кузьмина О.В.")
    duty = _person_key(imported, "Дежурный НЭС")
    attempts = [
        {f"person:{first}": f"user:{author.pk}", f"person:{second}": f"party:{authors_party.pk}"},
        {f"person:{first}": f"group:{groups[Role.DUTY_OFFICER].pk}", f"person:{second}": "user:99999999"},
        {f"person:{first}": f"user:{inactive.pk}", f"person:{second}": "group:99999999"},
        {f"person:{first}": "user:-1", f"person:{second}": "user:1e3", f"person:{duty}": f"user:{author.pk}x"},
        {f"person:{first}": f"user:{'9' * 40}", f"person:{second}": "party:", "service:nope": "service:99999999"},
    ]
    for attempt in attempts:
        response = client.post(reverse("planio:overrides", args=[imported.pk]), attempt)
        assert response.status_code in (302, 400), attempt
        imported.refresh_from_db()
        assert imported.status == ImportStatus.READY, imported.error
        people = imported.result["people"]
        for key in (first, second):
            chosen = people[key]["choice"]
            assert chosen not in ("user:99999999", f"user:{inactive.pk}", "group:99999999", "user:-1"), chosen
    response = client.post(
        reverse("planio:overrides", args=[imported.pk]),
        {f"person:{first}": f"user:{author.pk}", f"person:{second}": f"group:{groups[Role.DUTY_OFFICER].pk}"},
    )
    assert response.status_code == 302
    assert client.post(reverse("planio:confirm", args=[imported.pk])).status_code == 302
    plan = Plan.objects.get()
    rows = list(ApprovalRow.objects.filter(plan=plan).order_by("position"))
    assert [row.kind for row in rows] == [RowKind.APPROVAL, RowKind.APPROVAL, RowKind.ACKNOWLEDGEMENT]
    # Neither the author nor a group may approve: those rows keep the name only, for the matrix builder
    assert rows[0].user_id is None and rows[0].group_id is None
    assert rows[1].user_id is None and rows[1].group_id is None
    assert not ApprovalRow.objects.filter(plan=plan, kind=RowKind.APPROVAL, user=author).exists()
    assert all(row.decided_at is None and row.decided_by_id is None and row.version_id is None for row in rows)
    imported_event = PlanEvent.objects.get(plan=plan, kind=EventKind.IMPORTED)
    assert "автор и куратор не согласуют свой план" in imported_event.comment.lower()


def test_an_approver_who_is_the_curator_is_left_out_of_the_matrix(author, signers):
    kochetov, _kuzmina, _groups = signers
    client = client_of(author)
    imported = started(upload(client, docx_of()))
    response = client.post(reverse("planio:confirm", args=[imported.pk]), {"header:curator": "Кочетов В.Н."})
    assert response.status_code == 302
    plan = Plan.objects.get()
    assert plan.curator == kochetov
    assert not ApprovalRow.objects.filter(plan=plan, user=kochetov, kind=RowKind.APPROVAL).exists()


# --- (5) a document that says it is signed -------------------------------------------------------------------------


def test_a_document_that_says_approved_imports_unsigned(author, signers):
    from changeplans.models import PlanVersion

    kochetov, kuzmina, _groups = signers
    spec = small_spec()
    for row in spec.signoff:
        row.status_text = "ОЗНАКОМЛЕН" if row.kind == "acknowledgement" else "СОГЛАСОВАНО"
    for step in spec.steps:
        step.status = "ВЫПОЛНЕНО"
    client = client_of(author)
    imported = started(upload(client, docx_of(spec)))
    assert [row["status_text"] for row in imported.result["signoff"]] == ["СОГЛАСОВАНО", "СОГЛАСОВАНО", "ОЗНАКОМЛЕН"]
    page = text(client.get(reverse("planio:preview", args=[imported.pk])))
    assert "СОГЛАСОВАНО" in page and "статусы не импортируются" in page.lower()
    assert client.post(reverse("planio:confirm", args=[imported.pk])).status_code == 302
    plan = Plan.objects.get()
    assert plan.status == PlanStatus.DRAFT
    rows = list(ApprovalRow.objects.filter(plan=plan).order_by("position"))
    assert [row.user for row in rows[:2]] == [kochetov, kuzmina]  # matched, so the matrix is ready to send
    assert [row.status for row in rows] == [
        ApprovalStatus.PENDING,
        ApprovalStatus.PENDING,
        ApprovalStatus.NOT_ACKNOWLEDGED,
    ]
    assert all(row.decided_at is None and row.decided_by_id is None and row.version_id is None for row in rows)
    assert not PlanVersion.objects.filter(plan=plan).exists()
    assert set(Step.objects.filter(plan=plan).values_list("status", flat=True)) == {"pending"}
    assert not PlanEvent.objects.filter(plan=plan).exclude(kind__in=[EventKind.CREATED, EventKind.IMPORTED]).exists()


# --- (8) CSRF on every POST ---------------------------------------------------------------------------------------


def test_corrections_naming_what_no_column_field_or_kind_is_are_harmless(author):
    client = client_of(author)
    client.raise_request_exception = False
    imported = started(upload(client, docx_of()))
    column = imported.result["columns"][1]
    key = f"{column['table']}:{column['index']}"
    garbage = {
        f"column:{key}": "__class__",
        "column:99:99": "rollback",
        "column:x": "name",
        "kind:1": "automation<script>",
        "kind:999": "banner_on",
        "service:nothing": "service:abc",
        "person:nobody": "user:1",
        "header:no_such_field": "x",
        "header:status": "approved",
        "header:author": "admin",
    }
    response = client.post(reverse("planio:overrides", args=[imported.pk]), garbage)
    assert response.status_code in (302, 400)
    imported.refresh_from_db()
    assert imported.status == ImportStatus.READY, imported.error
    assert client.get(reverse("planio:preview", args=[imported.pk])).status_code == 200
    assert client.post(reverse("planio:confirm", args=[imported.pk])).status_code == 302
    plan = Plan.objects.get()
    assert plan.author == author and plan.status == PlanStatus.DRAFT
    assert set(plan.steps.values_list("kind", flat=True)) <= {
        "work",
        "announcement",
        "banner_on",
        "banner_off",
        "completion_notice",
    }


def test_every_post_needs_the_csrf_token(author):
    imported = started(upload(client_of(author), docx_of()))
    strict = client_of(author, enforce_csrf_checks=True)
    assert upload(strict, docx_of()).status_code == 403
    assert paste(strict, builders.seed_text()).status_code == 403
    column = imported.result["columns"][1]
    posted = {f"column:{column['table']}:{column['index']}": "rollback"}
    for name in ("planio:overrides", "planio:confirm", "planio:discard"):
        assert strict.post(reverse(name, args=[imported.pk]), posted).status_code == 403, name
        assert strict.post(reverse(name, args=[imported.pk]), posted, **HX).status_code == 403, name
    imported.refresh_from_db()
    assert PlanImport.objects.count() == 1 and imported.status == ImportStatus.READY and imported.overrides == {}
    assert not Plan.objects.exists()
    # A GET does not act either
    for name in ("planio:overrides", "planio:confirm", "planio:discard"):
        assert client_of(author).get(reverse(name, args=[imported.pk])).status_code == 405, name
    assert PlanImport.objects.count() == 1 and not Plan.objects.exists()


# --- (6) markup in the document, its name and its sheets ----------------------------------------------------------


def xss_spec():
    spec = small_spec(title=f"План {SCRIPT}", header_lines=None, goal=f"Цель {IMG} {SCRIPT}")
    first, second = spec.steps
    first.name = f"Шаг {SCRIPT}"
    first.description = f"Описание {IMG}"
    first.written = {"risks": f"1. Риск {SCRIPT}\n2. Риск {IMG}", "rollback": f"1. Откат {SCRIPT}\n2. {IMG}"}
    second.expected_result = "javascript:alert(3)"
    second.executor = f"Исполнитель {IMG}"
    second.jira_key = f"KEY-1{IMG}"
    spec.signoff[0].job_title = f"Должность {SCRIPT}"
    spec.signoff[1].person_name = f"Лицо {IMG}"
    spec.signoff[1].status_text = SCRIPT
    return spec


def test_markup_in_a_document_is_text_in_the_preview_the_plan_its_history_and_the_word_copy(author, approver):
    from planio.readers import read_file

    client = client_of(author)
    layout = builders.Layout(extra_columns=(f"Колонка {SCRIPT}",))
    imported = started(upload(client, docx_of(xss_spec(), layout), name=f"{IMG}.docx"))
    assert imported.status == ImportStatus.READY, imported.error
    assert imported.filename == f"{IMG}.docx"

    preview = client.get(reverse("planio:preview", args=[imported.pk]))
    page = text(preview)
    assert_inert(page, "preview")
    assert "&lt;img src=x onerror=alert(2)&gt;" in page and "Колонка &lt;script&gt;" in page
    assert "Content-Security-Policy" in preview.headers

    # A correction typed into the preview is text as well
    response = client.post(
        reverse("planio:overrides", args=[imported.pk]), {"header:goal": f"{SCRIPT}</textarea>{IMG}"}, **HX
    )
    assert response.status_code == 200 and "</textarea><img" not in text(response)
    assert_inert(text(response), "corrected preview")

    assert client.post(reverse("planio:confirm", args=[imported.pk])).status_code == 302
    plan = Plan.objects.get()
    assert plan.title == f"План {SCRIPT}"
    # The plan page (steps, matrix, history, the attachment's name) as the author and as a colleague
    for viewer in (client, client_of(approver)):
        page = text(viewer.get(reverse("changeplans:plan_detail", args=[plan.pk])))
        assert_inert(page, "plan page")
        assert "Импортирован из файла &quot;&gt;&lt;img src=x onerror=alert(2)&gt;.docx" in page

    # The Word copy holds the text as written, not as markup Word or a viewer would interpret
    response = client.get(reverse("planio_export:plan_docx", args=[plan.pk]))
    assert response.status_code == 200
    data = b"".join(response) if response.streaming else response.content
    body = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script" not in body and "<img" not in body
    document = read_file("plan.docx", data)
    texts = [cell for block in document.blocks for cell in _texts(block)]
    assert any(f"План {SCRIPT}" in t for t in texts) and any(f"Лицо {IMG}" in t for t in texts)


def _texts(block):
    if hasattr(block, "rows"):
        return [cell for row in block.rows for cell in row]
    return [block.text]


def test_markup_in_an_excel_sheet_name_and_cells_is_text(author):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = '"><img src=x onerror=alert(2)>'[:31]
    sheet.append([f"План {SCRIPT}"])
    sheet.append([f"Дата проведения работ: с 25:00 {SCRIPT}"])  # a window that cannot be read: the sheet is named
    sheet.append(["п/п", "Наименование мероприятия", "Возможные риски", f"Статус {IMG}"])
    sheet.append(["1", f"Шаг {SCRIPT}", f"1. {IMG}", "ВЫПОЛНЕНО"])
    out = io.BytesIO()
    book.save(out)
    client = client_of(author)
    imported = started(upload(client, out.getvalue(), name="plan.xlsx", content_type=XLSX))
    assert imported.status == ImportStatus.READY, imported.error
    page = text(client.get(reverse("planio:preview", args=[imported.pk])))
    assert_inert(page, "xlsx preview")
    response = client.post(reverse("planio:confirm", args=[imported.pk]))
    assert response.status_code == 400 and not Plan.objects.exists()  # no readable window: nothing created
    assert_inert(text(response), "refused confirm")


def test_links_and_markup_in_an_html_page_are_not_carried_into_the_preview(author):
    html = builders.to_html(xss_spec(), builders.Layout(), "confluence")
    html = html.replace("Описание ", '<a href="javascript:alert(4)" onclick="alert(5)">ссылка</a> Описание ', 1)
    html = html.replace("</body>", '<iframe src="https://evil.example/"></iframe><style>*{}</style></body>')
    client = client_of(author)
    imported = started(upload(client, html.encode(), name="plan.html", content_type="text/html"))
    assert imported.status == ImportStatus.READY, imported.error
    page = text(client.get(reverse("planio:preview", args=[imported.pk])))
    assert_inert(page, "html preview")
    assert "alert(4)" not in page and "alert(5)" not in page and "<iframe" not in page


# --- NUL characters (PostgreSQL refuses them in text and jsonb) -----------------------------------------------------


def test_a_nul_character_in_a_correction_is_refused_not_a_server_error(author):
    client = client_of(author)
    client.raise_request_exception = False
    imported = started(upload(client, docx_of()))
    for posted in ({"header:goal": "цель\x00"}, {"header:go\x00al": "цель"}, {"kind:1": "work\x00"}):
        for name in ("planio:overrides", "planio:confirm"):
            response = client.post(reverse(name, args=[imported.pk]), posted)
            assert response.status_code == 400, (name, posted, response.status_code)
            assert "недопустимый символ NUL" in text(response), (name, posted)
    imported.refresh_from_db()
    assert imported.status == ImportStatus.READY and imported.overrides == {} and not Plan.objects.exists()


def test_a_nul_character_in_the_pasted_text_or_its_clipboard_html_is_no_server_error(author):
    client = client_of(author)
    client.raise_request_exception = False
    html = builders.seed_html().replace("Цель работ", "Цель\x00 работ")
    # The clipboard's HTML sent as a file (import.js does so for a large paste): the NUL is dropped
    response = client.post(
        reverse("planio:new"),
        {
            "text": builders.seed_text(),
            "paste_html_file": SimpleUploadedFile("paste.html", html.encode(), content_type="text/html"),
        },
    )
    imported = started(response)
    assert imported.status == ImportStatus.READY and "\x00" not in imported.pasted_html
    assert imported.result["header"]["goal"]["value"] == builders.seed_spec().goal
    # In the form's fields the NUL is refused with the form's message, shown on the page
    for fields in ({"paste_html": html}, {"text": builders.seed_text() + "\x00"}):
        response = client.post(reverse("planio:new"), {"text": builders.seed_text(), **fields})
        assert response.status_code == 400 and "запрещённый символ: ноль-байт" in text(response), fields
    assert PlanImport.objects.count() == 1


def test_a_nul_character_inside_an_html_file_is_refused_or_dropped(author):
    client = client_of(author)
    client.raise_request_exception = False
    html = builders.seed_html()
    # Near the start: the file is taken for binary and refused with the reader's message
    early = html.replace("<html", "<html\x00", 1)
    response = upload(client, early.encode(), name="plan.html", content_type="text/html")
    assert response.status_code == 400 and "не удаётся прочитать" in text(response)
    assert nothing_created()
    # Later on, in a cell: the import goes on without it
    late = html.replace("Цель работ:", "<!--" + "x" * 9000 + "-->Цель работ:\x00", 1)
    assert late.index("\x00") > 9000
    imported = started(upload(client, late.encode(), name="plan.html", content_type="text/html"))
    assert imported.status == ImportStatus.READY, imported.error
    assert client.post(reverse("planio:confirm", args=[imported.pk])).status_code == 302
    goal = Plan.objects.get().goal
    assert "\x00" not in goal and goal.endswith(builders.seed_spec().goal)  # the parser reads it as "\ufffd"


def _with_metadata(payload):
    from planio.export_docx import _add_custom_properties

    document = docx.Document(io.BytesIO(docx_of()))
    _add_custom_properties(document, {"okno": payload})
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    "payload",
    [
        '{"okno": 1, "plan": {"banner_text": "a\\u0000b", "kind": "normal\\u0000"}, "steps": [{"kind": "w\\u0000"}]}',
        '{"okno": 1, "x\\u0000": 1}',
        '{"okno": 1, "plan": ' + "[" * 100_000 + "]" * 100_000 + "}",
    ],
    ids=["nul", "nul-key", "deep"],
)
def test_a_crafted_okno_property_does_not_break_the_import(author, payload):
    client = client_of(author)
    client.raise_request_exception = False
    imported = started(upload(client, _with_metadata(payload)))
    assert imported.status == ImportStatus.READY, imported.error
    assert client.get(reverse("planio:preview", args=[imported.pk])).status_code == 200
    assert client.post(reverse("planio:confirm", args=[imported.pk])).status_code == 302
    plan = Plan.objects.get()
    assert "\x00" not in plan.banner_text and plan.steps.count() == 2


# --- (7) and (11): file names, the attachment download, the Word export's header -----------------------------------


def _download(client, attachment):
    response = client.get(reverse("changeplans:attachment_download", args=[attachment.pk]))
    assert response.status_code == 200
    return response, b"".join(response.streaming_content)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ('план "итог"; filename=evil.exe.docx', 'план "итог"; filename=evil.exe.docx'),
        ('a"\r\nSet-Cookie: x=1.docx', None),  # the multipart parser cuts the name at the quote
        ("../../etc/passwd.docx", "passwd.docx"),
        ("..\\..\\windows\\x.docx", "x.docx"),
        ("nul\x00byte.docx", "nulbyte.docx"),
        ("\u202ecod.docx", "cod.docx"),  # the right-to-left override would show it as "xcod.doc"
        ("я" * 300 + ".docx", None),
    ],
    ids=["quotes", "crlf", "traversal", "backslashes", "nul", "rtl", "long"],
)
def test_an_odd_file_name_is_stored_safely_and_downloads_with_a_sound_header(author, approver, sent, kept):
    client = client_of(author)
    original = docx_of()
    imported = started(upload(client, original, name=sent))
    name = imported.filename
    assert "/" not in name and "\\" not in name and "\x00" not in name and "\r" not in name and "\n" not in name
    assert len(name) <= 255
    if kept is not None:
        assert name == kept
    page = text(client.get(reverse("planio:preview", args=[imported.pk])))
    assert inline_code(page) == []
    assert client.post(reverse("planio:confirm", args=[imported.pk])).status_code == 302
    attachment = PlanAttachment.objects.get()
    response, data = _download(client_of(approver), attachment)
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; filename") and "\n" not in disposition and "\r" not in disposition
    assert disposition.count(";") == 1, disposition  # one parameter: nothing the name said became another
    assert response["X-Content-Type-Options"] == "nosniff" and response["Content-Type"] == DOCX
    assert "sandbox" in response["Content-Security-Policy"]
    assert "Set-Cookie" not in response.headers and data == original


def test_a_word_file_announced_as_html_is_kept_and_served_as_word(author):
    client = client_of(author)
    imported = started(upload(client, docx_of(), name="plan.docx", content_type="text/html; charset=utf-8"))
    assert client.post(reverse("planio:confirm", args=[imported.pk])).status_code == 302
    attachment = PlanAttachment.objects.get()
    assert attachment.content_type == DOCX
    response, _data = _download(client, attachment)
    assert response["Content-Type"] == DOCX and response["Content-Disposition"].startswith("attachment;")


def test_an_html_attachment_is_never_served_inline(author):
    html = builders.seed_html().replace("</body>", f"{SCRIPT}</body>")
    client = client_of(author)
    imported = started(upload(client, html.encode(), name="plan.html", content_type="text/html"))
    assert client.post(reverse("planio:confirm", args=[imported.pk])).status_code == 302
    response, data = _download(client, PlanAttachment.objects.get())
    assert SCRIPT.encode() in data  # the original, byte for byte
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_the_word_export_file_name_carries_nothing_of_the_title(author):
    plan = PlanFactory(author=author, title='"; filename="evil.exe\r\nX-Injected: 1')
    client = client_of(author)
    response = client.get(reverse("planio_export:plan_docx", args=[plan.pk]))
    assert response.status_code == 200
    assert re.fullmatch(r'attachment; filename="plan-\d+-\d{4}-\d{2}-\d{2}\.docx"', response["Content-Disposition"])
    assert "X-Injected" not in response.headers


# --- (10) a plan the user may not see, or that does not exist -------------------------------------------------------


def test_the_word_export_and_the_attachment_answer_404_to_whoever_may_not_see_the_plan(author, approver, monkeypatch):
    client = client_of(author)
    imported = started(upload(client, docx_of()))
    client.post(reverse("planio:confirm", args=[imported.pk]))
    plan, attachment = Plan.objects.get(), PlanAttachment.objects.get()
    export = reverse("planio_export:plan_docx", args=[plan.pk])
    download = reverse("changeplans:attachment_download", args=[attachment.pk])
    colleague = client_of(approver)
    assert colleague.get(export).status_code == 200 and colleague.get(download).status_code == 200
    # Signed out: the login page, no bytes
    for url in (export, download):
        response = Client().get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
    # A plan or a file that is not there
    assert colleague.get(reverse("planio_export:plan_docx", args=[plan.pk + 1000])).status_code == 404
    assert colleague.get(reverse("changeplans:attachment_download", args=[attachment.pk + 1000])).status_code == 404
    # Whoever the plan rules say may not see it (today every active login sees every plan): 404, not the file
    import changeplans.views_attachments
    import planio.views_export

    def nobody_but_the_author(user, seen):
        return user.pk == seen.author_id

    monkeypatch.setattr(planio.views_export, "can_view_plan", nobody_but_the_author)
    monkeypatch.setattr(changeplans.views_attachments, "can_view_plan", nobody_but_the_author)
    assert colleague.get(export).status_code == 404 and colleague.get(download).status_code == 404
    assert client.get(export).status_code == 200


# --- (9) inputs made to be large -----------------------------------------------------------------------------------


def _server_still_answers(client):
    assert client.get(reverse("changeplans:plan_list")).status_code == 200
    assert client.get(reverse("planio:new")).status_code == 200


def _finished(client, response, callbacks):
    """The import a large upload started, read by the worker task (run here: its on_commit callback)."""
    imported = started(response)
    for callback in callbacks:
        callback()
    imported.refresh_from_db()
    return imported


GENERIC_FAILURE = "из-за ошибки в Окне"  # planio.services._failure: a bug, not a refusal


def test_a_paste_of_many_megabytes_is_refused_before_it_is_read(author):
    client = client_of(author)
    huge = builders.seed_text() + "\n" + "Ш" * (6 * 1024 * 1024)
    for response in (
        client.post(reverse("planio:new"), {"text": huge}),  # multipart, as the form sends it
        client.post(reverse("planio:new"), f"text={huge}", content_type="application/x-www-form-urlencoded"),
    ):
        assert response.status_code == 413 and "сохраните план в файл" in text(response)
    assert nothing_created()
    _server_still_answers(client)


def _rewritten(data, part, change):
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            target.writestr(info, change(content) if info.filename == part else content)
    return out.getvalue()


def test_an_excel_sheet_declaring_a_million_rows_and_every_column_is_read_in_bounded_time(author):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["План"])
    sheet.append(["Дата проведения работ: с 20:00 20.03.2025 до 23:05 20.03.2025"])
    out = io.BytesIO()
    book.save(out)

    def far_corner(xml):
        xml = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', xml)
        far = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>z</t></is></c></row>'
        return xml.replace(b"</sheetData>", far + b"</sheetData>")

    data = _rewritten(out.getvalue(), "xl/worksheets/sheet1.xml", far_corner)
    client = client_of(author)
    response = upload(client, data, name="plan.xlsx", content_type=XLSX)
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        imported = started(response)
        assert imported.status == ImportStatus.READY and len(imported.result["steps"]) == 0
    else:
        assert GENERIC_FAILURE not in text(response)
    assert not Plan.objects.exists()
    _server_still_answers(client)


def test_a_word_file_of_ten_thousand_tiny_tables_is_read_in_bounded_time(author, django_capture_on_commit_callbacks):
    document = docx.Document()
    document.add_paragraph("План")
    document.add_paragraph("Дата проведения работ: с 20:00 20.03.2025 до 23:05 20.03.2025")
    for n in range(10_000):
        document.add_table(rows=1, cols=1).cell(0, 0).text = f"{n * 7919 % 100003:x}"
    out = io.BytesIO()
    document.save(out)
    client = client_of(author)
    with django_capture_on_commit_callbacks() as callbacks:
        response = upload(client, out.getvalue())
    if response.status_code == 400:
        assert GENERIC_FAILURE not in text(response) and nothing_created()
    else:
        imported = _finished(client, response, callbacks)
        assert imported.status in (ImportStatus.READY, ImportStatus.FAILED)
        assert GENERIC_FAILURE not in imported.error
        assert client.get(reverse("planio:preview", args=[imported.pk])).status_code == 200
    _server_still_answers(client)


def test_deeply_nested_html_tables_are_refused_as_no_plan(author, django_capture_on_commit_callbacks):
    depth = 100_000
    page = "<table><tr><td>" * depth + "Дата проведения работ" + "</td></tr></table>" * depth
    client = client_of(author)
    with django_capture_on_commit_callbacks() as callbacks:
        response = upload(client, page.encode(), name="plan.html", content_type="text/html")
    imported = _finished(client, response, callbacks)  # 3 MB: read by the worker
    assert imported.status == ImportStatus.FAILED and "не найден план работ" in imported.error
    assert "не найден план работ" in text(client.get(reverse("planio:preview", args=[imported.pk])))
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("planio:new"), {"text": "x", "paste_html": page[:900_000]})
    imported = _finished(client, response, callbacks)
    assert imported.status == ImportStatus.FAILED and "не найден план работ" in imported.error
    assert PlanImport.objects.count() == 2 and not Plan.objects.exists()
    _server_still_answers(client)


def test_a_very_long_cell_is_read_in_bounded_time(author, django_capture_on_commit_callbacks):
    words = [f"{n * 7919 % 1000003:x}.{n % 97}" for n in range(400_000)]  # barely compressible, ~4 MB
    spec = small_spec()
    spec.steps[0].description = " ".join(words)
    spec.steps[1].written = {"risks": "\n".join(f"{n}. " + words[n] for n in range(1, 20_000))}
    client = client_of(author)
    with django_capture_on_commit_callbacks() as callbacks:
        response = upload(client, docx_of(spec))
    imported = _finished(client, response, callbacks)
    assert imported.status == ImportStatus.READY, imported.error
    assert client.get(reverse("planio:preview", args=[imported.pk])).status_code == 200
    assert client.post(reverse("planio:confirm", args=[imported.pk])).status_code == 302
    assert Plan.objects.get().steps.order_by("position").first().description.endswith(words[-1])
    _server_still_answers(client)


@pytest.mark.parametrize(
    "source",
    [
        "word",
        "excel",
    ],
)
def test_a_pasted_line_longer_than_the_csv_field_limit_is_no_crash(author, source, django_capture_on_commit_callbacks):
    client = client_of(author)
    goal = "обновление " * 20_000  # 220 000 characters in one cell
    spec = small_spec(goal=goal.strip(), header_lines=None)
    spec.steps[0].description = goal.strip()
    pasted = builders.to_text(spec) if source == "word" else builders.to_tsv(spec)
    with django_capture_on_commit_callbacks() as callbacks:
        response = paste(client, pasted)
    if response.status_code == 302:
        imported = _finished(client, response, callbacks)
        assert imported.status == ImportStatus.READY, imported.error
    else:
        assert response.status_code == 400 and GENERIC_FAILURE not in text(response)
        assert nothing_created()
    _server_still_answers(client)


def test_thousands_of_unavailable_services_are_refused_not_a_preview_of_megabytes(author):
    from tests.factories import ServiceFactory

    for n in range(3):
        ServiceFactory(name=f"svc{n}.example.ru", display_name=f"Сервис {n}")
    names = [f"s{n}.example.ru" for n in range(5_000)]
    client = client_of(author)
    response = upload(client, docx_of(small_spec(header_lines=None, services=names)))
    assert response.status_code == 400
    assert "недоступных сервисов: 5000" in text(response) and "не больше 100" in text(response)
    assert nothing_created()


# --- (3) racing confirms on separate connections ---------------------------------------------------------------------


def _at_once(*calls):
    """Run the calls in threads released together (each thread has its own database connection)."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=30)
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - reported to the test below
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n, call)) for n, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_racing_confirms_make_one_plan_and_fill_an_empty_draft_once(transactional_db):
    author = UserFactory(username="racer", roles=["author"])
    client = client_of(author)
    imported = started(upload(client, docx_of()))
    url = reverse("planio:confirm", args=[imported.pk])
    results = _at_once(lambda: client_of(author).post(url), lambda: client_of(author).post(url))
    assert [getattr(r, "status_code", r) for r in results] == [302, 302]
    assert Plan.objects.count() == 1 and PlanAttachment.objects.count() == 1
    assert PlanEvent.objects.filter(kind=EventKind.IMPORTED).count() == 1

    draft = PlanFactory(author=author, title="Пустой черновик")
    first = started(upload(client, docx_of(), query="", into=draft.pk))
    second = started(upload(client, docx_of(small_spec(title="Второй")), into=draft.pk))
    results = _at_once(
        lambda: client_of(author).post(reverse("planio:confirm", args=[first.pk])),
        lambda: client_of(author).post(reverse("planio:confirm", args=[second.pk])),
    )
    codes = sorted(getattr(r, "status_code", r) for r in results)
    assert codes == [302, 400], codes
    draft.refresh_from_db()
    assert draft.steps.count() == 2 and PlanAttachment.objects.filter(plan=draft).count() == 1
    assert PlanEvent.objects.filter(plan=draft, kind=EventKind.IMPORTED).count() == 1
    assert Plan.objects.count() == 2
