"""The import pages: who may import, upload → preview → corrections → confirm, refusals, limits, query counts.

Documents are real .docx files written here with python-docx (a plan in the seed's layout, `plan_docx`).
"""

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from docx import Document

from changeplans.choices import EventKind, PlanStatus
from changeplans.models import Plan, PlanEvent
from planio.models import ImportStatus, PlanImport
from tests.factories import PlanFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
HX = {"HTTP_HX_REQUEST": "true"}
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ROLLBACK_RENAMED = "Запасной вариант"  # not a rollback header the recognizer knows
HEADERS = [
    "п/п",
    "Наименование мероприятия",
    "Краткое описание работ",
    "Ожидаемый результат",
    "Возможные риски",
    "Минимизация риска",
    "Затронутые системы/ сервисы/оборудование (влияние на бизнес-процессы)",
    "Планируемое время простоя систем",
    "Ответственный исполнитель работ",
    "Дата начала проведения работ",
    "Время начала проведения работ",
    "Продолжительность работ",
    "Действия, если что-то пойдет не так",
    "задача в Jira",
    "Статус работы",
]


def plan_docx(steps=3, *, rollback_header=None, title="Обновление кластера", window=True):
    """A small plan in the seed's layout: title, header block, the 15-column step table."""
    document = Document()
    document.add_paragraph(title)
    if window:
        document.add_paragraph("Дата проведения работ: с 20:00 20.03.25 до 23:05 20.03.2025")
    document.add_paragraph("Цель работ: Обновить кластер")
    headers = list(HEADERS)
    if rollback_header:
        headers[12] = rollback_header
    table = document.add_table(rows=1 + steps, cols=len(headers))
    for index, text in enumerate(headers):
        table.rows[0].cells[index].text = text
    for n in range(1, steps + 1):
        row = [
            str(n),
            f"Шаг {n}",
            "Описание работ",
            "Результат",
            "1. Сбой узла\n2. Потеря связи",
            "Проверка перед началом",
            "Кластер",
            "нет",
            "Хасанов А.И.",
            "20.03.2025",
            f"{20 + n // 60}:{n % 60:02d}",
            "5 мин",
            "1. Перезапустить узел\n2. Вернуть настройки",
            "",
            "НЕ ВЫПОЛНЕНО",
        ]
        for index, text in enumerate(row):
            table.rows[n].cells[index].text = text
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def upload(client, data, name="plan.docx", **extra):
    return client.post(
        reverse("planio:new") + extra.pop("query", ""),
        {"file": SimpleUploadedFile(name, data, content_type=DOCX), "text": "", **extra},
    )


def started(response):
    assert response.status_code == 302, response.content.decode()[:2000]
    match = re.fullmatch(r"/imports/(\d+)/", response["Location"])
    assert match, response["Location"]
    return PlanImport.objects.get(pk=int(match.group(1)))


def text_of(response):
    return response.content.decode().replace("\xa0", " ")  # filesizeformat's figures keep to their units


# --- who may import ---


@pytest.mark.parametrize("role", ["operator", "approver"])
def test_only_authors_may_import(client, request, role):
    user = request.getfixturevalue(role)
    client.force_login(user)
    assert client.get(reverse("planio:new")).status_code == 403
    response = upload(client, plan_docx())
    assert response.status_code == 403
    assert PlanImport.objects.count() == 0
    # And the plan list offers them no import
    assert 'id="import-plan-link"' not in text_of(client.get(reverse("changeplans:plan_list")))


def test_the_upload_is_still_protected_against_csrf(author):
    client = Client(enforce_csrf_checks=True)
    client.force_login(author)
    response = upload(client, plan_docx(1))
    assert response.status_code == 403 and PlanImport.objects.count() == 0


def test_pages_need_login(client):
    response = client.get(reverse("planio:new"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_plan_list_offers_the_import_to_authors(author_client):
    page = text_of(author_client.get(reverse("changeplans:plan_list")))
    assert f'href="{reverse("planio:new")}"' in page and "Импорт плана" in page


def test_another_author_does_not_find_someone_elses_import(author_client, other_author):
    imported = started(upload(author_client, plan_docx()))
    other = Client()
    other.force_login(other_author)
    assert other.get(reverse("planio:preview", args=[imported.pk])).status_code == 404
    for name in ("planio:overrides", "planio:confirm", "planio:discard"):
        assert other.post(reverse(name, args=[imported.pk])).status_code == 404
    imported.refresh_from_db()
    assert imported.status == ImportStatus.READY and Plan.objects.count() == 0


# --- upload → preview → corrections → confirm ---


def test_upload_preview_correct_and_confirm(author_client, author):
    # Given a plan whose rollback column has a header nobody taught the recognizer
    response = upload(author_client, plan_docx(3, rollback_header=ROLLBACK_RENAMED))
    imported = started(response)
    assert imported.status == ImportStatus.READY

    # The preview shows the plan, the unsure column marked «проверьте» and not imported yet
    page = text_of(author_client.get(reverse("planio:preview", args=[imported.pk])))
    assert "Обновление кластера" in page and "Шаг 3" in page
    column = next(c for c in imported.result["columns"] if c["header"] == ROLLBACK_RENAMED)
    assert column["field"] == "" and not column["sure"]
    row = re.search(rf'<tr[^>]*>((?:(?!</tr>).)*name="column:{column["table"]}:{column["index"]}".*?)</tr>', page, re.S)
    assert row and "проверьте" in row.group(1) and ROLLBACK_RENAMED in row.group(1)
    assert "Перезапустить узел" not in page

    # When the column is mapped to the rollback (an htmx change of the select)
    key = f"{column['table']}:{column['index']}"
    response = author_client.post(
        reverse("planio:overrides", args=[imported.pk]),
        {f"column:{key}": "rollback", f"column_guess:{key}": ""},
        **HX,
    )
    # Then the preview is swapped in with the actions tied to their risks
    assert response.status_code == 200
    page = text_of(response)
    assert page.lstrip().startswith('<div id="import-preview">')
    assert "Перезапустить узел" in page and "→ риск 1" in page
    imported.refresh_from_db()
    assert imported.overrides["columns"] == {key: "rollback"}

    # When the draft is created
    response = author_client.post(reverse("planio:confirm", args=[imported.pk]))
    plan = Plan.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("changeplans:plan_detail", args=[plan.pk])
    # Then the plan page shows it, with the success message and the rollback actions
    page = text_of(author_client.get(response["Location"]))
    assert "Черновик плана создан" in page
    assert plan.status == PlanStatus.DRAFT and plan.author == author and plan.title == "Обновление кластера"
    steps = list(plan.steps.order_by("position"))
    assert [s.name for s in steps] == ["Шаг 1", "Шаг 2", "Шаг 3"]
    assert [a.text for a in steps[0].rollback_actions.order_by("position")] == [
        "Перезапустить узел",
        "Вернуть настройки",
    ]
    assert PlanEvent.objects.filter(plan=plan, kind=EventKind.IMPORTED).exists()
    # And the import now leads to its plan
    response = author_client.get(reverse("planio:preview", args=[imported.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("changeplans:plan_detail", args=[plan.pk])


def test_without_js_the_corrections_apply_with_a_page_reload(author_client):
    imported = started(upload(author_client, plan_docx(2, rollback_header=ROLLBACK_RENAMED)))
    key = next(c for c in imported.result["columns"] if c["header"] == ROLLBACK_RENAMED)
    key = f"{key['table']}:{key['index']}"
    response = author_client.post(reverse("planio:overrides", args=[imported.pk]), {f"column:{key}": "rollback"})
    assert response.status_code == 302 and response["Location"] == reverse("planio:preview", args=[imported.pk])
    # The create button submits the same form: what it shows is what is created
    response = author_client.post(reverse("planio:confirm", args=[imported.pk]), {f"column:{key}": "rollback"})
    assert response.status_code == 302
    assert Plan.objects.get().steps.get(position=1).rollback_actions.count() == 2


def test_a_guess_left_alone_is_not_an_override(author_client):
    imported = started(upload(author_client, plan_docx(2)))
    page = text_of(author_client.get(reverse("planio:preview", args=[imported.pk])))
    # Every select and text field of the page posted back as it was: no override is recorded
    fields = dict(re.findall(r'<input type="hidden" name="([a-z]+_guess:[^"]+)" value="([^"]*)"', page))
    posted = {name.replace("_guess", ""): value for name, value in fields.items()}
    assert "column:0:12" in posted and "header:title" in posted
    author_client.post(reverse("planio:overrides", args=[imported.pk]), {**posted, **fields}, **HX)
    imported.refresh_from_db()
    assert imported.overrides in ({}, {"columns": {}, "people": {}, "kinds": {}, "services": {}, "header": {}})


def test_a_plan_without_title_and_window_cannot_be_confirmed_until_they_are_typed(author_client):
    imported = started(upload(author_client, plan_docx(2, window=False)))
    page = text_of(author_client.get(reverse("planio:preview", args=[imported.pk])))
    assert 'id="header-window"' in page and "bg-danger-subtle" in page
    assert 'name="header:window"' in page

    response = author_client.post(reverse("planio:confirm", args=[imported.pk]))
    # Refused at the top, the preview kept
    assert response.status_code == 400
    page = text_of(response)
    assert 'id="import-errors"' in page and 'id="import-steps"' in page
    assert Plan.objects.count() == 0

    response = author_client.post(
        reverse("planio:confirm", args=[imported.pk]),
        {"header:window": "с 21:00 14.11.25 до 01:30 15.11.2025", "header_guess:window": ""},
    )
    assert response.status_code == 302, text_of(response)[:3000]
    plan = Plan.objects.get()
    assert plan.window_end > plan.window_start


def test_cells_that_could_not_be_read_are_counted_and_highlighted(author_client):
    document = Document(io.BytesIO(plan_docx(3)))
    document.tables[0].rows[2].cells[10].text = "около девяти"  # step 2's start time
    out = io.BytesIO()
    document.save(out)
    imported = started(upload(author_client, out.getvalue()))
    page = text_of(author_client.get(reverse("planio:preview", args=[imported.pk])))
    assert "1 ячейка не распознана — проверьте её" in page
    row = re.search(r'<tr id="import-step-2".*?</tr>', page, re.S).group(0)
    cell = re.search(r'<td class="okno-f-planned_time bg-danger-subtle[^"]*".*?</td>', row, re.S)
    assert cell and "около девяти" in cell.group(0) and "okno-import-reason" in cell.group(0)
    problem = imported.result["steps"][1]["cells"]["planned_time"]["problem"]
    assert problem and problem in cell.group(0)


def test_discard_forgets_the_import(author_client):
    imported = started(upload(author_client, plan_docx(1)))
    response = author_client.post(reverse("planio:discard", args=[imported.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("changeplans:plan_list")
    assert not PlanImport.objects.exists() and not Plan.objects.exists()


def test_import_into_an_empty_draft(author_client, author):
    draft = PlanFactory(author=author, title="Пустой черновик")
    page = text_of(author_client.get(reverse("changeplans:plan_detail", args=[draft.pk])))
    link = f"{reverse('planio:new')}?into={draft.pk}"
    assert f'href="{link}"' in page
    form = text_of(author_client.get(link))
    assert "Пустой черновик" in form and f'name="into" value="{draft.pk}"' in form

    imported = started(upload(author_client, plan_docx(2), into=str(draft.pk)))
    author_client.post(reverse("planio:confirm", args=[imported.pk]))
    assert list(Plan.objects.values_list("pk", flat=True)) == [draft.pk]
    assert draft.steps.count() == 2


def test_a_plan_with_steps_offers_no_import_into_it(author_client, author):
    plan = PlanFactory(author=author)
    StepFactory(plan=plan)
    page = text_of(author_client.get(reverse("changeplans:plan_detail", args=[plan.pk])))
    assert 'id="import-into-link"' not in page


# --- refusals ---


def test_text_that_is_not_a_plan_is_refused_and_kept(author_client):
    text = "Купить молоко\nпозвонить маме"
    response = author_client.post(reverse("planio:new"), {"text": text})
    assert response.status_code == 400
    page = text_of(response)
    assert 'id="import-refusal"' in page
    refusal = re.search(r'id="import-refusal">(.*?)</div></div>', page, re.S).group(1)
    assert re.search("[а-яА-Я]", refusal), refusal  # in Russian
    assert text in page  # the textarea keeps what was pasted
    assert PlanImport.objects.filter(status=ImportStatus.READY).count() == 0 and Plan.objects.count() == 0


def test_an_empty_form_and_a_form_with_both_are_refused(author_client):
    response = author_client.post(reverse("planio:new"), {"text": "  "})
    assert response.status_code == 400 and "Выберите файл плана или вставьте его текст" in text_of(response)
    response = upload(author_client, plan_docx(1), text="Шаг 1")
    assert response.status_code == 400 and "не то и другое" in text_of(response)
    assert "Шаг 1" in text_of(response)


def test_a_paste_over_the_form_field_limit_is_refused(author_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = author_client.post(reverse("planio:new"), {"text": "шаг\t" * 5_000})
    assert response.status_code == 413
    assert "Вставленный текст больше 9,8 КБ" in text_of(response)
    assert PlanImport.objects.count() == 0


def test_a_file_over_the_limit_is_refused_with_its_size(author_client, settings):
    settings.OKNO_IMPORT_MAX_BYTES = 10_000
    response = upload(author_client, b"x" * 25_000, name="big.docx", text="")
    assert response.status_code == 400
    page = text_of(response)
    assert "24,4 КБ" in page and "9,8 КБ" in page
    assert PlanImport.objects.count() == 0


def test_a_pasted_plan_with_clipboard_html(author_client):
    html = (
        "<html><body><p>Обновление кластера</p><p>Дата проведения работ: с 20:00 20.03.25 до 23:05 20.03.2025</p>"
        "<table><tr>" + "".join(f"<td>{h}</td>" for h in HEADERS) + "</tr><tr>"
        "<td>1</td><td>Шаг из HTML</td>" + "<td></td>" * 13 + "</tr></table></body></html>"
    )
    response = author_client.post(reverse("planio:new"), {"text": "Обновление кластера\tШаг", "paste_html": html})
    imported = started(response)
    assert "Шаг из HTML" in text_of(author_client.get(reverse("planio:preview", args=[imported.pk])))
    # A large clipboard HTML comes as a file (static/okno/import.js): not held to the form-field limit
    big = SimpleUploadedFile("paste.html", html.encode(), content_type="text/html")
    response = author_client.post(reverse("planio:new"), {"text": "Обновление кластера", "paste_html_file": big})
    imported = started(response)
    assert imported.pasted_html == html


# --- progress ---


def test_a_queued_import_shows_its_progress_and_polls(author_client, author):
    imported = PlanImport.objects.create(
        owner=author, filename="plan.docx", data=b"x", size=1, status=ImportStatus.PARSING, progress=50
    )
    url = reverse("planio:preview", args=[imported.pk])
    page = text_of(author_client.get(url))
    assert "Готовится предпросмотр… 50 %" in page and 'hx-trigger="every 1s"' in page
    assert 'id="import-progress"' in text_of(author_client.get(url + "?poll=1", **HX))
    PlanImport.objects.filter(pk=imported.pk).update(status=ImportStatus.FAILED, error="Файл повреждён.")
    response = author_client.get(url + "?poll=1", **HX)
    assert response.headers.get("HX-Refresh") == "true"
    page = text_of(author_client.get(url))
    assert "Файл повреждён." in page and f'href="{reverse("planio:new")}"' in page


# --- cost ---


def preview_queries(client, imported):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("planio:preview", args=[imported.pk]))
    assert response.status_code == 200
    return len(queries)


def test_preview_query_count_does_not_grow_with_steps(author_client):
    small = started(upload(author_client, plan_docx(10)))
    large = started(upload(author_client, plan_docx(60)))
    assert len(large.result["steps"]) == 60
    assert preview_queries(author_client, small) == preview_queries(author_client, large)


# --- a 200 MB upload ---


class _Body:
    """A multipart body of `size` bytes of file content, made while it is sent (never held in memory)."""

    CHUNK = b"\0" * (1 << 20)

    def __init__(self, head, tail, size):
        self.head, self.tail, self.size = head, tail, size

    def __len__(self):
        return len(self.head) + self.size + len(self.tail)

    def __iter__(self):
        yield self.head
        left = self.size
        while left > 0:
            chunk = self.CHUNK[: min(left, len(self.CHUNK))]
            left -= len(chunk)
            yield chunk
        yield self.tail


@pytest.mark.django_db(transaction=True)
def test_a_200_mb_upload_is_refused_and_the_server_keeps_answering(live_server):
    import requests

    author = UserFactory(username="big_author", roles=["author"])
    client = Client()
    client.force_login(author)
    session = requests.Session()
    session.cookies.set("sessionid", client.cookies["sessionid"].value)
    form = session.get(live_server.url + reverse("planio:new"), timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)

    boundary = "okno-boundary-7MA4YWxkTrZu0gW"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n{token}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="huge.docx"\r\n'
        f"Content-Type: {DOCX}\r\n\r\n"
    ).encode()
    tail = (
        f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\nмой текст\r\n--{boundary}--\r\n'
    ).encode()
    response = session.post(
        live_server.url + reverse("planio:new"),
        data=_Body(head, tail, 200 * 1024 * 1024),
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Referer": live_server.url + reverse("planio:new"),
        },
        timeout=120,
    )
    assert response.status_code == 400
    page = response.text.replace("\xa0", " ")
    assert "200,0 МБ" in page and "20,0 МБ" in page
    assert "мой текст" in page  # what came after the file was read and kept
    assert PlanImport.objects.count() == 0
    # The server still answers
    assert session.get(live_server.url + reverse("planio:new"), timeout=30).status_code == 200
