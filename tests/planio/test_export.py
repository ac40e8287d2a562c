"""The Word export: a real .docx (opened again with python-docx) in the seed's layout — A4 landscape, the
header block, the announcement, the 15-column step table with its header row repeated on every page, the
sign-off matrix with statuses — plus the "okno" custom property, in a fixed number of queries."""

import datetime
import io
import json
import zipfile
import zoneinfo

import docx
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn
from docx.shared import Pt

from approvals.choices import ApprovalStatus, RowKind
from approvals.models import ApprovalRow
from changeplans.choices import Availability, PlanKind, StepKind, StepStatus
from changeplans.models import PlanService, Step
from planio.export_docx import (
    CONTENT_TYPE,
    STEP_COLUMN_WEIGHTS,
    TEXT_WIDTH,
    plan_docx_filename,
    render_plan_docx,
)
from tests.factories import (
    PartyFactory,
    PlanFactory,
    RiskFactory,
    RollbackActionFactory,
    ServiceFactory,
    StepFactory,
    UserFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NSK = zoneinfo.ZoneInfo("Asia/Novosibirsk")
MSK = zoneinfo.ZoneInfo("Europe/Moscow")
SEED_STEP_HEADERS = [
    "п/п",
    "Наименование\nмероприятия",
    "Краткое описание\nработ",
    "Ожидаемый\nрезультат",
    "Возможные\nриски",
    "Минимизация риска",
    "Затронутые системы/\nсервисы/оборудование (влияние на бизнес-процессы)",
    "Планируемое\nвремя простоя\nсистем",
    "Ответственный исполнитель работ",
    "Дата начала проведения\nработ",
    "Время начала проведения\nработ",
    "Продолжительность\nработ",
    "Действия, если\nчто-то пойдет не так",
    "Задача в Jira",
    "Статус\nработы",
]


def open_docx(data):
    return docx.Document(io.BytesIO(data))


def paragraphs(document):
    return [p.text for p in document.paragraphs]


def cells(table):
    return [[cell.text for cell in row.cells] for row in table.rows]


def custom_properties(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("docProps/custom.xml").decode(), archive.read("[Content_Types].xml").decode()


def okno_metadata(data):
    from lxml import etree

    xml, _types = custom_properties(data)
    root = etree.fromstring(xml.encode())
    ns = {"cp": root.nsmap[None], "vt": "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"}
    (value,) = root.xpath("cp:property[@name='okno']/vt:lpwstr/text()", namespaces=ns)
    return json.loads(value)


def build_plan(step_count=3):
    """A plan with everything the export shows: services, curator, responsible, Jira, risks with per-risk
    mitigations, tied rollback actions, a "нет" rollback, an empty rollback, a sign-off matrix."""
    curator = UserFactory(username="curator", first_name="А.А.", last_name="Кураторова")
    responsible = PartyFactory(name="Ответственный Р.Р.", contact="+7 (383) 000-00-00")
    plan = PlanFactory(
        title="Замена коммутаторов ядра",
        goal="Заменить коммутаторы ядра сети\nи проверить маршруты",
        kind=PlanKind.EMERGENCY,
        curator=curator,
        responsible=responsible,
        downtime_text="возможное время до 40 мин",
        stated_duration_text="3 ч 5 мин",
        client_impact=True,
        banner_needed=False,
        mailing_list="it-all@example.org",
        announcement_subject="Замена коммутаторов",
        banner_text="Идут работы",
        announcement_from="it.info@example.org",
        jira_url="https://jira.example.org/browse/OPS-1",
    )
    PlanService.objects.create(
        plan=plan,
        service=ServiceFactory(name="www.example.org", display_name="Инфосайт"),
        availability=Availability.DEGRADED,
    )
    PlanService.objects.create(
        plan=plan,
        service=ServiceFactory(name="lk.example.org", display_name="Личный кабинет"),
        availability=Availability.UNAVAILABLE,
    )
    add_steps(plan, range(1, step_count + 1))
    ApprovalRow.objects.create(plan=plan, position=1, job_title="Директор по ИТ", person_name="Кураторова А.А.")
    ApprovalRow.objects.create(
        plan=plan,
        position=2,
        stage=2,
        kind=RowKind.ACKNOWLEDGEMENT,
        person_name="Дежурный смены",
        status=ApprovalStatus.NOT_ACKNOWLEDGED,
    )
    return plan


def add_steps(plan, positions):
    for index in positions:
        step = StepFactory(
            plan=plan,
            position=index,
            kind=StepKind.WORK if index % 2 else StepKind.BANNER_ON,
            name=f"Мероприятие {index}",
            description=f"Описание шага {index}:\n- первая строка\n- вторая строка",
            expected_result=f"Результат шага {index}",
            risk_mitigation=f"Общая мера {index}",
            affected_systems="Prod среда;\nKubernetes.",
            planned_downtime="нет",
            executor=PartyFactory(name=f"Исполнитель {index}"),
            planned_date=datetime.date(2025, 3, 20),
            planned_time=datetime.time(20, index % 60),
            duration_text="5 мин",
            no_rollback_needed=False,
            jira_key=f"OPS-{1000 + index}",
        )
        risks = [
            RiskFactory(step=step, number=1, description=f"Риск 1 шага {index}", mitigation=f"Защита 1 шага {index}"),
            RiskFactory(step=step, number=2, description=f"Риск 2 шага {index}", mitigation=""),
        ]
        both = RollbackActionFactory(step=step, position=1, text=f"Откат шага {index}")
        both.risks.set(risks)
        first = RollbackActionFactory(step=step, position=2, text="Перезапустить")
        first.risks.set(risks[:1])


def step_table(document):
    return document.tables[1]


def test_page_is_a4_landscape_with_narrow_margins():
    document = open_docx(render_plan_docx(build_plan().pk))

    section = document.sections[0]
    assert section.orientation == WD_ORIENT.LANDSCAPE
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (297, 210)
    assert section.left_margin == section.right_margin == section.top_margin == section.bottom_margin
    assert round(section.left_margin.mm, 1) == 12.7


def test_header_block_and_announcement_as_the_seed_writes_them():
    plan = build_plan()

    document = open_docx(render_plan_docx(plan.pk))

    texts = paragraphs(document)
    assert texts[:14] == [
        "Замена коммутаторов ядра",
        "Дата проведения работ: с 20:00 20.03.2025 до 23:05 20.03.2025",
        "Общая продолжительность работ: 3 ч 5 мин",
        "Время простоя: возможное время до 40 мин",
        "Цель работ: Заменить коммутаторы ядра сети\nи проверить маршруты",
        "Недоступные сервисы: www.example.org, lk.example.org",
        "Куратор работ: Кураторова А.А.",
        "Задача в Jira: https://jira.example.org/browse/OPS-1",
        "Рассылка: it-all@example.org",
        "Тема: Замена коммутаторов",
        "Уважаемые коллеги!",
        "Нам необходимо провести плановые работы для некоторых улучшений",
        "Приносим извинения за возникшие неудобства!",
        "С уважением,",
    ]
    assert texts[14] == "Департамент ИТ"
    assert document.paragraphs[0].runs[0].bold
    assert cells(document.tables[0]) == [
        ["Время начала", "20:00/20.03.2025"],
        ["Плановое время окончания", "23:05/20.03.2025"],
        ["Влияние на сервисы", "Инфосайт, Личный кабинет"],
        ["Влияние на клиентов НЭС", "ВЛИЯЕТ НА КЛИЕНТОВ"],
        ["Наличие баннера", "БЕЗ БАННЕРА"],
        ["План работ", "Замена коммутаторов ядра"],
        ["Ответственный за работы", "Ответственный Р.Р. +7 (383) 000-00-00"],
        ["Доступность сервисов во время работ", "БУДЕТ НЕДОСТУПЕН"],
    ]
    # Document order: the announcement table sits between the intro and the apology.
    body = [child.tag.split("}")[1] for child in document.element.body]
    assert body[:13] == ["p"] * 12 + ["tbl"]


def test_empty_optional_header_lines_keep_their_label_and_jira_only_when_set():
    plan = PlanFactory(title="Пустой план", goal="", downtime_text="", mailing_list="")

    texts = paragraphs(open_docx(render_plan_docx(plan.pk)))

    assert "Время простоя:" in texts and "Рассылка:" in texts and "Общая продолжительность работ:" in texts
    assert "Куратор работ:" in texts
    assert not any(text.startswith("Задача в Jira") for text in texts)


def test_step_table_has_15_fixed_columns_and_a_repeated_header_row():
    document = open_docx(render_plan_docx(build_plan().pk))

    table = step_table(document)
    assert len(table.columns) == 15
    widths = [column.width for column in table.columns]
    assert sum(widths) == TEXT_WIDTH
    assert widths[2] > widths[0]
    assert len(STEP_COLUMN_WEIGHTS) == 15
    layout = table._tbl.tblPr.find(qn("w:tblLayout"))
    assert layout is not None and layout.get(qn("w:type")) == "fixed"
    header, *data = table.rows
    assert header._tr.trPr.find(qn("w:tblHeader")) is not None
    assert all(row._tr.trPr is None or row._tr.trPr.find(qn("w:tblHeader")) is None for row in data)
    assert [cell.text for cell in header.cells] == SEED_STEP_HEADERS
    assert all(run.bold for cell in header.cells for p in cell.paragraphs for run in p.runs)
    # 8 pt cells (by the cell style), every cell width set as the column's.
    style = header.cells[0].paragraphs[0].style
    assert style.font.size == Pt(8)
    assert [cell.width for cell in data[0].cells] == widths


def test_step_cells_as_the_pdf_writes_them():
    plan = build_plan(step_count=2)
    step = plan.steps.get(position=2)
    step.no_rollback_needed = True
    step.save()
    step.rollback_actions.all().delete()
    step.risks.all().delete()
    step.jira_key = ""
    step.planned_time = None
    step.save()

    rows = cells(step_table(open_docx(render_plan_docx(plan.pk))))

    assert rows[1] == [
        "1",
        "Мероприятие 1",
        "Описание шага 1:\n- первая строка\n- вторая строка",
        "Результат шага 1",
        "1. Риск 1 шага 1\n2. Риск 2 шага 1",
        "Общая мера 1\n1. Защита 1 шага 1",
        "Prod среда;\nKubernetes.",
        "нет",
        "Исполнитель 1",
        "20.03.2025",
        "20:01",
        "5 мин",
        "1/2 Откат шага 1\n1. Перезапустить",
        "OPS-1001",
        "НЕ ВЫПОЛНЕНО",
    ]
    assert rows[2][4] == "нет"  # no risks
    assert rows[2][12] == "нет"  # no rollback needed
    assert rows[2][10] == "" and rows[2][13] == ""
    assert len(rows) == 3


def test_status_word_is_the_steps_current_status():
    plan = build_plan(step_count=2)
    Step.objects.filter(plan=plan, position=1).update(status=StepStatus.DONE)

    rows = cells(step_table(open_docx(render_plan_docx(plan.pk))))

    assert [row[14] for row in rows[1:]] == ["ВЫПОЛНЕНО", "НЕ ВЫПОЛНЕНО"]


def test_rollback_is_empty_when_neither_actions_nor_no_rollback():
    plan = PlanFactory()
    StepFactory(plan=plan, position=1, no_rollback_needed=False)

    rows = cells(step_table(open_docx(render_plan_docx(plan.pk))))

    assert rows[1][12] == ""


def test_signoff_matrix_with_statuses_and_a_deputy():
    from demo.plans import load_demo

    plan = load_demo()

    document = open_docx(render_plan_docx(plan.pk))

    signoff = cells(document.tables[2])
    assert signoff[0] == ["№", "Должность", "ФИО", "Статус"]
    assert document.tables[2].rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    assert signoff[1] == [
        "1",
        "рук группы контроля качества и развития ИТ-инфраструктуры",
        "Кочетов В.Н.",
        "СОГЛАСОВАНО",
    ]
    # Row 5 signed by Turchaninov's deputy: the status says who signed for whom.
    assert signoff[5] == ["5", "инженер", "Турчанинов П.В.", "СОГЛАСОВАНО\nИванов П.С. за Турчанинова П.В."]
    assert signoff[6][3] == "НА СОГЛАСОВАНИИ"
    assert signoff[10] == ["10", "", "Дежурный НЭС", "НЕ ОЗНАКОМЛЕН"]


def test_demo_plan_carries_the_seed_values():
    from demo.plans import load_demo

    plan = load_demo()

    document = open_docx(render_plan_docx(plan.pk))

    texts = paragraphs(document)
    assert texts[:10] == [
        "Установка сетевого плагина Calico в кластере Kubernetes PROD",
        "Дата проведения работ: с 20:00 20.03.2025 до 23:05 20.03.2025",
        "Общая продолжительность работ:",
        "Время простоя:",
        "Цель работ: Установить сетевой плагин Calico вместо Flannel в PROD Кластере Kubernetes",
        "Недоступные сервисы: www.nskes.ru, sevice.nskes.ru, narod.nskes.ru, platosfera.ru",
        "Куратор работ: Хасанов А.И.",
        "Рассылка:",
        "Тема: Установка сетевого плагина Calico в кластере Kubernetes PROD",
        "Уважаемые коллеги!",
    ]
    announcement = dict(cells(document.tables[0]))
    assert announcement["Влияние на сервисы"] == "Инфосайт, ЛК ЮЛ, ЛК ФЛ, МП Платосфера"
    assert announcement["Наличие баннера"] == "БАННЕР УСТАНОВЛЕН"
    assert announcement["Ответственный за работы"] == "Хасанов А.И. +7 (913) 712-71-78 <НЭС>"
    rows = cells(step_table(document))
    assert len(rows) == 8
    step5 = rows[5]
    assert step5[4].split("\n")[12] == "13. Длительные простои при миграции"
    assert "5/6/7/8 Устранить причину и перезапустить узел/кластер." in step5[12].split("\n")
    assert rows[1][10] == "16:00" and rows[6][10] == ""
    assert rows[1][1] == "Произвести рассылку о плановых работах."


def test_metadata_property_carries_what_the_layout_cannot_show():
    plan = build_plan(step_count=2)

    data = render_plan_docx(plan.pk)

    xml, content_types = custom_properties(data)
    assert "application/vnd.openxmlformats-officedocument.custom-properties+xml" in content_types
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "relationships/custom-properties" in archive.read("_rels/.rels").decode()
    assert okno_metadata(data) == {
        "okno": 1,
        "plan": {
            "kind": "emergency",
            "time_zone": "Asia/Novosibirsk",
            "banner_text": "Идут работы",
            "announcement_from": "it.info@example.org",
            "announcement_intro": "Нам необходимо провести плановые работы для некоторых улучшений",
            "responsible_contact": "+7 (383) 000-00-00",
        },
        "services": [
            {"name": "www.example.org", "availability": "degraded"},
            {"name": "lk.example.org", "availability": "unavailable"},
        ],
        "steps": [
            {
                "kind": kind,
                "mitigation_lines": 1,
                "rollback": [{"risks": [1, 2], "lines": 1}, {"risks": [1], "lines": 1}],
            }
            for kind in ("work", "banner_on")
        ],
        "signoff": [{"kind": "approval", "stage": 1}, {"kind": "acknowledgement", "stage": 2}],
    }
    core = open_docx(data).core_properties
    assert core.title == "Замена коммутаторов ядра"


def test_window_across_midnight_in_the_plans_zone():
    plan = PlanFactory(
        time_zone="Europe/Moscow",
        window_start=datetime.datetime(2025, 11, 14, 21, 0, tzinfo=MSK),
        window_end=datetime.datetime(2025, 11, 15, 1, 30, tzinfo=MSK),
    )

    document = open_docx(render_plan_docx(plan.pk))

    assert paragraphs(document)[1] == "Дата проведения работ: с 21:00 14.11.2025 до 01:30 15.11.2025"
    assert cells(document.tables[0])[:2] == [
        ["Время начала", "21:00/14.11.2025"],
        ["Плановое время окончания", "01:30/15.11.2025"],
    ]
    assert okno_metadata(render_plan_docx(plan.pk))["plan"]["time_zone"] == "Europe/Moscow"


def test_english_export_has_english_labels():
    plan = build_plan(step_count=1)

    document = open_docx(render_plan_docx(plan.pk, language="en"))

    texts = paragraphs(document)
    assert texts[1] == "Date of the work: from 20:00 20.03.2025 to 23:05 20.03.2025"
    assert texts[3] == "Possible downtime up to: возможное время до 40 мин"
    header = cells(step_table(document))[0]
    assert header[:3] == ["No.", "Activity", "Description"]
    assert header[12] == "What to do if something goes wrong"
    assert cells(step_table(document))[1][14] == "NOT DONE"
    assert cells(document.tables[0])[3] == ["Impact on НЭС clients", "AFFECTS CLIENTS"]
    assert cells(document.tables[2])[0] == ["No.", "Position", "Full name", "Status"]
    # The language is only for this document.
    assert translation.get_language() != "en"


def test_text_xml_cannot_carry_is_dropped_not_fatal():
    plan = PlanFactory(title="План\x01 с управляющим символом", goal="строка\x0bвторая")

    texts = paragraphs(open_docx(render_plan_docx(plan.pk)))

    assert texts[0] == "План с управляющим символом"
    assert texts[4] == "Цель работ: строка\nвторая"


def test_query_count_does_not_grow_with_steps():
    plan = build_plan(step_count=10)
    with CaptureQueriesContext(connection) as ten_steps:
        render_plan_docx(plan.pk)

    add_steps(plan, range(11, 61))
    with CaptureQueriesContext(connection) as sixty_steps:
        data = render_plan_docx(plan.pk)

    assert len(cells(step_table(open_docx(data)))) == 61
    assert len(sixty_steps) == len(ten_steps), [query["sql"] for query in sixty_steps]


def test_filename_is_ascii_with_the_window_date_in_the_plans_zone():
    plan = PlanFactory(
        window_start=datetime.datetime(2025, 3, 21, 2, 0, tzinfo=NSK),
        window_end=datetime.datetime(2025, 3, 21, 4, 0, tzinfo=NSK),
    )

    assert plan_docx_filename(plan) == f"plan-{plan.pk}-2025-03-21.docx"


# --- the view and the link ------------------------------------------------------------------------------------


def test_download_for_a_signed_in_user(client):
    plan = build_plan(step_count=1)
    client.force_login(UserFactory(username="reader"))

    response = client.get(reverse("planio_export:plan_docx", args=[plan.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == CONTENT_TYPE
    assert response["Content-Disposition"] == f'attachment; filename="{plan_docx_filename(plan)}"'
    assert paragraphs(open_docx(response.content))[0] == "Замена коммутаторов ядра"


def test_download_follows_the_users_language(client):
    plan = build_plan(step_count=1)
    client.force_login(UserFactory(username="reader"))
    client.cookies["django_language"] = "en"

    response = client.get(reverse("planio_export:plan_docx", args=[plan.pk]))

    assert paragraphs(open_docx(response.content))[1].startswith("Date of the work: from ")


def test_anonymous_is_sent_to_sign_in_and_unknown_plan_is_404(client):
    plan = PlanFactory()
    url = reverse("planio_export:plan_docx", args=[plan.pk])

    response = client.get(url)
    assert response.status_code == 302 and "login" in response["Location"]

    client.force_login(UserFactory(username="reader"))
    assert client.get(reverse("planio_export:plan_docx", args=[plan.pk + 1000])).status_code == 404
    assert client.post(url).status_code == 405


def test_plan_page_links_the_word_copy_next_to_the_pdf(client):
    plan = build_plan(step_count=1)
    client.force_login(UserFactory(username="reader"))

    html = client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()

    url = reverse("planio_export:plan_docx", args=[plan.pk])
    assert f'href="{url}" id="docx-link"' in html
    assert html.index('id="pdf-link"') < html.index('id="docx-link"')
