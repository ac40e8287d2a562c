"""The archive PDF: WeasyPrint output that is A4 landscape, carries every value of the plan, and costs a fixed
number of queries.
"""

import datetime
import io
import re
import shutil
import subprocess
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.translation import gettext, pgettext
from pypdf import PdfReader

from approvals.choices import ApprovalStatus, RowKind
from approvals.models import ApprovalRow
from changeplans.choices import Availability, EventKind, PlanStatus
from changeplans.models import PlanEvent, PlanService
from changeplans.pdf import html_to_pdf, plan_pdf_filename, render_plan_html, render_plan_pdf
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


def squash(text):
    """Text without any whitespace: table cells wrap lines wherever the column is narrow, and without the hyphens
    of words hyphenated at a line end (U+2010, which WeasyPrint adds)."""
    return re.sub(r"\s+", "", re.sub("\u2010\\s*\n", "", text))


def pdf_pages(pdf):
    return [squash(page.extract_text() or "") for page in PdfReader(io.BytesIO(pdf)).pages]


def build_plan(step_count, *, risks_per_step=2):
    """A plan with services, a responsible party, steps with risks and rollback actions, a sign-off sheet and
    history."""
    curator = UserFactory(username="curator", first_name="Анна", last_name="Кураторова")
    responsible = PartyFactory(name="Ответственный Р.Р.", contact="+7 (383) 000-00-00")
    plan = PlanFactory(
        title="Замена коммутаторов ядра",
        goal="Заменить коммутаторы ядра сети",
        curator=curator,
        responsible=responsible,
        downtime_text="30 мин",
        client_impact=True,
        banner_needed=False,
        mailing_list="it-all@example.org",
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
    add_steps(plan, range(1, step_count + 1), risks_per_step=risks_per_step)
    ApprovalRow.objects.create(
        plan=plan, position=1, job_title="Директор по ИТ", person_name="Согласующий С.С.", user=curator
    )
    ApprovalRow.objects.create(
        plan=plan,
        position=2,
        kind=RowKind.ACKNOWLEDGEMENT,
        person_name="Дежурный смены",
        status=ApprovalStatus.NOT_ACKNOWLEDGED,
    )
    PlanEvent.objects.create(
        plan=plan,
        actor=plan.author,
        kind=EventKind.CREATED,
        object_type="plan",
        object_label=plan.title,
        to_status=PlanStatus.DRAFT,
        comment="Черновик создан",
    )
    return plan


def add_steps(plan, positions, *, risks_per_step=2):
    for index in positions:
        step = StepFactory(
            plan=plan,
            position=index,
            name=f"Мероприятие номер {index}",
            description=f"Описание шага {index}:\n- первая строка\n- вторая строка",
            expected_result=f"Результат шага {index}",
            executor=PartyFactory(name=f"Исполнитель номер {index}"),
            planned_time=datetime.time(20, index % 60),
            no_rollback_needed=False,
            jira_key=f"OPS-{1000 + index}",
        )
        risks = [
            RiskFactory(
                step=step, number=n, description=f"Риск {n} шага {index}", mitigation=f"Защита {n} шага {index}"
            )
            for n in range(1, risks_per_step + 1)
        ]
        action = RollbackActionFactory(step=step, position=1, text=f"Откат шага {index}")
        action.risks.set(risks)


def test_pdf_is_a4_landscape_with_the_project_fonts():
    plan = build_plan(3)

    pdf = render_plan_pdf(plan.pk)

    assert pdf.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf))
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert width > height
        assert (round(width), round(height)) == (842, 595)  # A4 in points
    # The fonts come from static/fonts through @font-face, not from the system.
    fonts = {str(font["/BaseFont"]) for page in reader.pages for font in page["/Resources"]["/Font"].values()}
    assert fonts and all("Okno-DejaVu" in name for name in fonts), fonts
    assert reader.metadata.title == plan.title


def test_pdf_text_has_the_plan_values():
    plan = build_plan(3)

    pages = pdf_pages(render_plan_pdf(plan.pk))
    text = "".join(pages)

    for value in [
        "Замена коммутаторов ядра",
        "Заменить коммутаторы ядра сети",
        "20:0020.03.2025",  # window start in the plan's zone
        "23:0520.03.2025",
        "lk.example.org (Личный кабинет)",
        "Инфосайт, Личный кабинет",
        "КуратороваАнна",  # surname first, as the seed writes names
        "Ответственный Р.Р. +7 (383) 000-00-00",
        "30мин",
        "it-all@example.org",
        "https://jira.example.org/browse/OPS-1",
        "Согласующий С.С.",
        "Директор по ИТ",
        "Дежурный смены",
        "Черновик создан",
    ]:
        assert squash(value) in text, value
    with translation.override("ru"):
        degraded = str(Availability.DEGRADED.label)
    assert squash(f"www.example.org (Инфосайт — {degraded})") in text
    for index in range(1, 4):
        for value in [
            f"Мероприятие номер {index}",
            f"Описание шага {index}:\n- первая строка\n- вторая строка",
            f"Результат шага {index}",
            f"1. Риск 1 шага {index}",
            f"2. Риск 2 шага {index}",
            f"1. Защита 1 шага {index}",
            f"1/2 Откат шага {index}",
            f"Исполнитель номер {index}",
            f"OPS-{1000 + index}",
            f"20:{index:02d}",
        ]:
            assert squash(value) in text, value


def test_labels_follow_the_language():
    plan = build_plan(1)

    text = "".join(pdf_pages(render_plan_pdf(plan.pk, language="en")))

    assert squash("Dear colleagues!") in text
    assert squash("Impact on НЭС clients") in text
    assert squash("AFFECTS CLIENTS") in text
    assert squash("NO BANNER") in text
    # The worst availability of the services is announced.
    assert squash("WILL BE UNAVAILABLE") in text


def test_long_plan_repeats_the_table_header_and_numbers_pages():
    plan = build_plan(40, risks_per_step=4)

    pages = pdf_pages(render_plan_pdf(plan.pk))

    assert len(pages) >= 4
    with translation.override("ru"):
        number_header = squash(pgettext("table column", "No."))
        risks_header = squash(gettext("Possible risks"))
        page_labels = [
            squash(gettext("Page %(page)s of %(pages)s") % {"page": n, "pages": len(pages)})
            for n in range(1, len(pages) + 1)
        ]
    # Every page that carries steps starts with the column headers (thead is repeated).
    step_pages = [text for text in pages if "Мероприятиеномер" in text]
    assert len(step_pages) >= 3
    for text in step_pages:
        assert number_header in text and risks_header in text
    assert pages[1].index(risks_header) < pages[1].index("Мероприятиеномер")
    for label, text in zip(page_labels, pages, strict=True):
        assert label in text
    assert "Мероприятиеномер40" in "".join(pages)


def test_query_count_does_not_grow_with_steps():
    plan = build_plan(10)
    with CaptureQueriesContext(connection) as ten_steps:
        render_plan_html(plan.pk)

    add_steps(plan, range(11, 101))
    with CaptureQueriesContext(connection) as hundred_steps:
        html = render_plan_html(plan.pk)

    assert "Мероприятие номер 100" in html
    assert len(hundred_steps) == len(ten_steps), [query["sql"] for query in hundred_steps]


def test_times_are_shown_in_the_plans_zone():
    # 20:00 in Moscow is 00:00 the next day in Novosibirsk, the site's default zone.
    msk = zoneinfo.ZoneInfo("Europe/Moscow")
    plan = PlanFactory(
        time_zone="Europe/Moscow",
        window_start=datetime.datetime(2025, 3, 20, 20, 0, tzinfo=msk),
        window_end=datetime.datetime(2025, 3, 20, 23, 5, tzinfo=msk),
    )

    html = render_plan_html(plan.pk, language="en")

    assert "from 20:00 20.03.2025 to 23:05 20.03.2025" in html
    assert "20:00/20.03.2025" in html
    assert "00:00" not in html


def test_filename_uses_the_window_date_in_the_plans_zone():
    # 02:00 on 21 March in Novosibirsk is still 20 March in UTC.
    plan = PlanFactory(
        window_start=datetime.datetime(2025, 3, 21, 2, 0, tzinfo=NSK),
        window_end=datetime.datetime(2025, 3, 21, 4, 0, tzinfo=NSK),
    )

    name = plan_pdf_filename(plan)

    assert name == f"plan-{plan.pk}-2025-03-21.pdf"
    assert name.isascii()


def test_only_static_files_are_fetched():
    from weasyprint.urls import FatalURLFetchingError

    with pytest.raises(FatalURLFetchingError):
        html_to_pdf('<html><body><img src="file:///etc/hostname"></body></html>')
    with pytest.raises(FatalURLFetchingError):
        html_to_pdf('<html><body><img src="../../etc/hostname"></body></html>')


def test_plan_text_is_escaped():
    plan = PlanFactory(title='<img src="file:///etc/hostname"> & "кавычки"', goal="</style><b>жирный</b>")

    html = render_plan_html(plan.pk)
    pdf = render_plan_pdf(plan.pk)

    assert "<img" not in html and "<b>жирный" not in html
    text = "".join(pdf_pages(pdf))
    assert squash('<img src="file:///etc/hostname"> & "кавычки"') in text
    assert squash("</style><b>жирный</b>") in text


def seed_values():
    """Every field value of seed 000, as the demo stores it."""
    from demo.plans import DEMO_APPROVERS, DEMO_PLAN, DEMO_SERVICES, DEMO_STEPS, DEMO_TITLE, STEP5_RISKS

    values = [
        DEMO_TITLE,
        DEMO_PLAN["goal"],
        "20:00 20.03.2025",
        "23:05 20.03.2025",
        "20:00/20.03.2025",
        "23:05/20.03.2025",
        "Хасанов А.И. +7 (913) 712-71-78 <НЭС>",
        "Хасанов А.И.",  # the curator, surname first as in the seed
        "Нам необходимо провести плановые работы для некоторых улучшений",
        "Инфосайт, ЛК ЮЛ, ЛК ФЛ, МП Платосфера",
        "Дежурный НЭС",
        "Департамент ИТ",
        "5/6/7/8 Устранить причину и перезапустить узел/кластер.",
        "1. Убить под с конфликтующим адресом",
        "Анализ ошибки, исправление, повторный деплой",
    ]
    values += [name for name, _display in DEMO_SERVICES]
    values += [f"{number}. {text}" for number, text in enumerate(STEP5_RISKS, start=1)]
    values += [person for _job, person, _username in DEMO_APPROVERS]
    values += [job for job, _person, _username in DEMO_APPROVERS]
    for step in DEMO_STEPS:
        values += [
            step["name"],
            step["description"],
            step["expected_result"],
            step["executor"],
            step["duration"],
            step["planned_date"].strftime("%d.%m.%Y"),
        ]
        if step["planned_time"]:
            values.append(step["planned_time"].strftime("%H:%M"))
        if step["risk_mitigation"]:
            values.append(step["risk_mitigation"])
        values.append(step["affected_systems"])
        for _numbers, text in step["rollback"] or ():
            values.append(text)
    return values


def test_demo_plan_pdf_carries_every_seed_value():
    from demo.plans import load_demo

    plan = load_demo()
    pdf = render_plan_pdf(plan.pk)

    text = "".join(pdf_pages(pdf))
    missing = [value for value in seed_values() if squash(value) not in text]
    assert not missing
    assert "+7(913)712-71-78" in text
    # poppler reads the same document; with -layout, cells that wrap interleave, so check one-line values.
    if shutil.which("pdftotext"):
        layout = subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
        ).stdout.decode()
        for value in [
            "+7 (913) 712-71-78",
            "Дежурный НЭС",
            "Кочетов В.Н.",
            "Шпагин А.В. (Интакт)",
            "20:00/20.03.2025",
            "23:05/20.03.2025",
            "2-3 часа",
            "30мин",
        ]:
            assert value in layout, value


# --- the sign-off sheet as evidence: who signed which version when --------------------------------


def signed_plan(extra_approvers=0):
    """A plan submitted twice (version 2 current): row 1 signed by a deputy with a comment, row 2 by its owner,
    the duty officer acknowledged."""
    from approvals import services as approvals
    from approvals.models import Delegation
    from tests.approvals.factories import plan_with_matrix

    plan, author, users, duty = plan_with_matrix(2 + extra_approvers, duty=True)
    principal, owner = users[:2]
    deputy = UserFactory(username="deputy", last_name="Иванов", first_name="П.С.", roles=["approver"])
    today = timezone.localdate()
    Delegation.objects.create(principal=principal, deputy=deputy, starts_on=today, ends_on=today)
    approvals.submit_plan(plan.pk, actor=author)
    step = plan.steps.get()
    from changeplans import services as plan_services

    plan_services.update_step_cell(step.pk, actor=author, field="name", value="Шаг 1 исправлен", revision=step.revision)
    rows = list(ApprovalRow.objects.filter(plan=plan).order_by("position"))
    approvals.approve_row(rows[0].pk, actor=deputy, version=2, comment="Согласовано заместителем")
    approvals.approve_row(rows[1].pk, actor=owner, version=2)
    for row, user in zip(rows[2:-1], users[2:], strict=True):
        approvals.approve_row(row.pk, actor=user, version=2, comment=f"Комментарий {row.position}")
    approvals.acknowledge_row(rows[-1].pk, actor=duty, version=2)
    return plan, author, principal, owner, deputy, duty


def test_signoff_sheet_shows_who_signed_which_version_when():
    plan, author, principal, owner, deputy, duty = signed_plan()
    rows = list(ApprovalRow.objects.filter(plan=plan).order_by("position"))
    # Decided at a known moment: 22:30 in Novosibirsk is 15:30 UTC.
    decided = datetime.datetime(2025, 3, 18, 22, 30, tzinfo=NSK)
    ApprovalRow.objects.filter(pk=rows[0].pk).update(decided_at=decided)

    html = render_plan_html(plan.pk, language="en")
    text = "".join(pdf_pages(html_to_pdf(html)))

    with translation.override("en"):
        approved_label = str(ApprovalStatus.APPROVED.label)
        acknowledged_label = str(ApprovalStatus.ACKNOWLEDGED.label)
    first = re.search(r'<tr class="signoff-row" data-position="1">(.*?)</tr>', html, re.S).group(1)
    cells = [re.sub(r"<[^>]+>", " ", cell).split() for cell in re.findall(r"<td[^>]*>(.*?)</td>", first, re.S)]
    assert cells == [
        ["1"], ["руководитель"], ["Согласующий1", "А.А."], approved_label.split(),
        ["Иванов", "П.С.", "for", "Согласующий1", "А.А."], ["2"], ["22:30", "18.03.2025"],
        ["Согласовано", "заместителем"],
    ]  # fmt: skip
    second = re.search(r'<tr class="signoff-row" data-position="2">(.*?)</tr>', html, re.S).group(1)
    assert "Согласующий2 А.А." in second and "for " not in second
    duty_row = re.search(r'<tr class="signoff-row" data-position="3">(.*?)</tr>', html, re.S).group(1)
    assert acknowledged_label in duty_row and "Дежурный Д.Д." in duty_row
    # The same evidence in the PDF's text.
    for value in [
        "ИвановП.С.forСогласующий1А.А.",
        "22:3018.03.2025",
        "Согласованозаместителем",
        squash(acknowledged_label),
    ]:
        assert value in text, value


def test_signoff_sheet_in_russian_carries_the_seed_statuses():
    plan, *_users = signed_plan()
    ApprovalRow.objects.filter(plan=plan, position=2).update(comment="")

    text = "".join(pdf_pages(render_plan_pdf(plan.pk)))

    with translation.override("ru"):
        for status in (ApprovalStatus.APPROVED, ApprovalStatus.ACKNOWLEDGED):
            assert squash(str(status.label)) in text
        on_behalf = squash(gettext("for %(name)s") % {"name": "Согласующий1 А.А."})
    assert squash("Иванов П.С.") + on_behalf in text


def test_signoff_sheet_lists_the_plan_versions():
    plan, author, *_users = signed_plan()
    from changeplans.models import PlanVersion

    PlanVersion.objects.filter(plan=plan, number=1).update(created_at=datetime.datetime(2025, 3, 17, 9, 15, tzinfo=NSK))
    PlanVersion.objects.filter(plan=plan, number=2).update(
        created_at=datetime.datetime(2025, 3, 18, 23, 45, tzinfo=NSK)
    )

    html = render_plan_html(plan.pk, language="en")

    versions = re.findall(r'<tr class="version-row">(.*?)</tr>', html, re.S)
    author_name = f"{author.last_name} {author.first_name}"
    assert [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in versions] == [
        f"1 09:15 17.03.2025 {author_name}",
        f"2 23:45 18.03.2025 {author_name}",
    ]
    text = "".join(pdf_pages(html_to_pdf(html)))
    assert squash(f"2 23:45 18.03.2025 {author_name}") in text


def test_unsubmitted_plan_says_it_has_no_versions():
    plan = build_plan(1)
    with translation.override("en"):
        empty = gettext("No versions yet: the plan has not been submitted for sign-off.")
    html = render_plan_html(plan.pk, language="en")
    assert empty in html
    assert 'class="version-row"' not in html


def test_query_count_does_not_grow_with_signatures_and_versions():
    # Given a signed plan with two approvers, two versions, a delegation and two steps
    plan, *_users = signed_plan()
    add_steps(plan, [2])
    with CaptureQueriesContext(connection) as small:
        render_plan_html(plan.pk)
    small_html = render_plan_html(plan.pk)

    # When another plan has eight approvers who all signed, and more steps
    big, *_users = signed_plan(extra_approvers=6)
    add_steps(big, range(3, 30))
    with CaptureQueriesContext(connection) as large:
        html = render_plan_html(big.pk)

    # Then the number of queries is the same
    assert html.count('class="signoff-row"') == 9 and small_html.count('class="signoff-row"') == 3
    assert len(large) == len(small), [query["sql"] for query in large]
