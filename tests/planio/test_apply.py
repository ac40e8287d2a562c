"""planio.apply.create_plan_from_import: the plan the preview shows, made in one transaction from a ParsedPlan
(built here by hand, as the recognizer would make it)."""

import datetime
import hashlib
import json

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from approvals.choices import ApprovalStatus, RowKind
from approvals.models import ApprovalRow
from changeplans.choices import Availability, EventKind, PlanStatus, Role, StepKind, StepStatus
from changeplans.models import Party, Plan, PlanAttachment, PlanEvent, PlanService, Risk, RollbackAction, Step
from planio.apply import create_plan_from_import
from planio.errors import ImportRefused
from planio.matching import annotate, person_key
from planio.parsed import (
    Cell,
    Overrides,
    ParsedAction,
    ParsedPlan,
    ParsedRisk,
    ParsedSignoff,
    ParsedStep,
    PersonRef,
)
from tests.factories import NSK, PartyFactory, PlanFactory, ServiceFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FILE = b"PK\x03\x04 the original bytes"


@pytest.fixture(autouse=True)
def russian():
    with translation.override("ru"):
        yield


def cell(value, text=None, problem=""):
    return Cell(
        text=text if text is not None else str(value if value is not None else ""), value=value, problem=problem
    )


def person(name, *roles):
    return PersonRef(key=person_key(name), name=name, roles=list(roles))


def step(row, name, *, executor="Хасанов А.И.", risks=(), actions=(), kind="work", **cells):
    values = {
        "name": name,
        "description": f"Описание {row}",
        "expected_result": f"Результат {row}",
        "risk_mitigation": "",
        "affected_systems": "Kubernetes PROD",
        "planned_downtime": "нет",
        "executor": executor,
        "planned_date": "2025-03-20",
        "planned_time": "20:00",
        "duration_text": "5 мин",
        "jira_key": "",
    }
    values.update(cells)
    return ParsedStep(
        row=row,
        cells={key: cell(value) for key, value in values.items()},
        kind=kind,
        risks=[ParsedRisk(number=n, description=text, mitigation=mitigation) for n, text, mitigation in risks],
        actions=[ParsedAction(text=text, risks=list(ties)) for ties, text in actions],
        no_rollback_needed=not actions,
    )


def parsed_plan(steps=3, *, signoff=(), executor="Хасанов А.И.", services=(), **header):
    """A plan as the recognizer reads the seed: header, steps (step 2 with risks and ties), sign-off rows."""
    values = {
        "title": "Установка сетевого плагина Calico в кластере Kubernetes PROD",
        "window_start": "2025-03-20T20:00",
        "window_end": "2025-03-20T23:05",
        "stated_duration_text": "",
        "downtime_text": "",
        "goal": "Установить сетевой плагин Calico вместо Flannel в PROD Кластере Kubernetes",
        "curator": "Хасанов А.И.",
        "responsible": "Хасанов А.И.",
        "responsible_contact": "+7 (913) 712-71-78 <НЭС>",
        "mailing_list": "",
        "announcement_subject": "Установка сетевого плагина Calico",
        "announcement_intro": "Нам необходимо провести плановые работы для некоторых улучшений",
        "client_impact": True,
        "banner_needed": True,
        "availability": Availability.UNAVAILABLE.value,
        "time_zone": "Asia/Novosibirsk",
    }
    values.update(header)
    parsed = ParsedPlan(header={key: cell(value) for key, value in values.items() if value is not None})
    for row in range(1, steps + 1):
        if row == 2:
            parsed.steps.append(
                step(
                    row,
                    "Установка Calico",
                    executor=executor,
                    risks=[(1, "Неправильная конфигурация IPAM", "Проверить IPAM"), (2, "Ошибки в манифестах", "")]
                    + [(n, f"Риск {n}", "") for n in range(3, 9)],
                    actions=[((1,), "Убить под"), ((5, 6, 7, 8), "Устранить причину"), ((), "Откатить всё")],
                    risk_mitigation="Тестирование на стенде",
                )
            )
        else:
            parsed.steps.append(step(row, f"Шаг {row}", executor=executor, kind="announcement" if row == 1 else "work"))
    names = {values["curator"]: ["curator"], values["responsible"]: ["responsible"]}
    for parsed_step in parsed.steps:
        names.setdefault(parsed_step.cells["executor"].text, []).append("executor")
    for position, (job_title, name, kind) in enumerate(signoff, start=1):
        parsed.signoff.append(
            ParsedSignoff(
                position=position, job_title=job_title, person_name=name, status_text="СОГЛАСОВАНО", kind=kind
            )
        )
        names.setdefault(name, []).append("signoff")
    for name, roles in names.items():
        if name:
            ref = person(name, *roles)
            parsed.people.setdefault(ref.key, ref).roles = sorted(
                set(parsed.people.get(ref.key, ref).roles) | set(roles)
            )
    for name in services:
        parsed.services[person_key(name)] = PersonRef(key=person_key(name), name=name, roles=["service"])
    return parsed


def imported(parsed, actor, **kwargs):
    annotate(parsed, Overrides())
    kwargs.setdefault("filename", "plan.docx")
    kwargs.setdefault("data", FILE)
    kwargs.setdefault("content_type", DOCX)
    return create_plan_from_import(parsed, actor=actor, **kwargs)


@pytest.fixture
def khasanov(db):
    return UserFactory(username="khasanov", last_name="Хасанов", first_name="Артём Игоревич", roles=["approver"])


def test_every_field_lands_where_the_preview_showed_it(author, khasanov):
    www = ServiceFactory(name="www.nskes.ru", display_name="Инфосайт")
    lk = ServiceFactory(name="sevice.nskes.ru", display_name="ЛК ЮЛ")
    parsed = parsed_plan(
        services=["www.nskes.ru", "ЛК ЮЛ", "unknown.example.org"], jira_url="https://jira.example.org/X-1"
    )

    plan = imported(parsed, author)

    plan = Plan.objects.get(pk=plan.pk)
    assert plan.status == PlanStatus.DRAFT and plan.author == author
    assert plan.title == "Установка сетевого плагина Calico в кластере Kubernetes PROD"
    assert plan.time_zone == "Asia/Novosibirsk"
    assert plan.window_start == datetime.datetime(2025, 3, 20, 20, 0, tzinfo=NSK)
    assert plan.window_end == datetime.datetime(2025, 3, 20, 23, 5, tzinfo=NSK)
    assert plan.goal.startswith("Установить сетевой плагин Calico")
    assert plan.client_impact and plan.banner_needed
    assert plan.curator == khasanov
    assert plan.responsible.user == khasanov
    assert plan.responsible_contact == "+7 (913) 712-71-78 <НЭС>"
    assert plan.announcement_intro == "Нам необходимо провести плановые работы для некоторых улучшений"
    assert plan.jira_url == "https://jira.example.org/X-1"
    assert {(ps.service, ps.availability) for ps in PlanService.objects.filter(plan=plan)} == {
        (www, Availability.UNAVAILABLE),
        (lk, Availability.UNAVAILABLE),
    }

    steps = list(plan.steps.order_by("position"))
    assert [s.position for s in steps] == [1, 2, 3]
    assert [s.kind for s in steps] == [StepKind.ANNOUNCEMENT, StepKind.WORK, StepKind.WORK]
    assert all(s.status == StepStatus.PENDING for s in steps)
    second = steps[1]
    assert second.name == "Установка Calico" and second.description == "Описание 2"
    assert second.expected_result == "Результат 2" and second.affected_systems == "Kubernetes PROD"
    assert second.risk_mitigation == "Тестирование на стенде"
    assert second.planned_date == datetime.date(2025, 3, 20) and second.planned_time == datetime.time(20, 0)
    assert (second.duration_text, second.duration_min, second.duration_max) == ("5 мин", 5, 5)
    assert (second.planned_downtime, second.planned_downtime_max_minutes) == ("нет", 0)
    assert second.executor == plan.responsible  # one party for Khasanov: his user's
    assert not second.no_rollback_needed and steps[0].no_rollback_needed
    risks = {risk.number: risk for risk in second.risks.all()}
    assert sorted(risks) == list(range(1, 9))
    assert risks[1].description == "Неправильная конфигурация IPAM" and risks[1].mitigation == "Проверить IPAM"
    actions = list(second.rollback_actions.order_by("position"))
    assert [(a.position, a.text, a.label()) for a in actions] == [
        (1, "Убить под", "1"),
        (2, "Устранить причину", "5/6/7/8"),
        (3, "Откатить всё", ""),
    ]


def test_each_service_keeps_the_availability_okno_s_export_states(author):
    www = ServiceFactory(name="www.nskes.ru", display_name="Инфосайт")
    lk = ServiceFactory(name="sevice.nskes.ru", display_name="ЛК ЮЛ")
    parsed = parsed_plan(services=["www.nskes.ru", "sevice.nskes.ru"], availability=Availability.AVAILABLE.value)
    parsed.header["service_availability"] = Cell(text="", value={"WWW.nskes.ru": Availability.DEGRADED.value})

    plan = imported(parsed, author)

    assert {(ps.service, ps.availability) for ps in PlanService.objects.filter(plan=plan)} == {
        (www, Availability.DEGRADED),
        (lk, Availability.AVAILABLE),
    }


def test_services_keep_the_documents_order_though_the_stored_result_sorts_keys(author):
    late = ServiceFactory(name="zzz.example.org", display_name="Последний")
    early = ServiceFactory(name="aaa.example.org", display_name="Первый")
    parsed = parsed_plan(services=["zzz.example.org", "aaa.example.org"])
    parsed.header["services"] = cell(["zzz.example.org", "aaa.example.org"], text="zzz.example.org, aaa.example.org")
    annotate(parsed, Overrides())
    stored = ParsedPlan.from_json(json.loads(json.dumps(parsed.to_json(), sort_keys=True)))  # as jsonb keeps it
    assert list(stored.services) == ["aaa.example.org", "zzz.example.org"]

    plan = create_plan_from_import(stored, actor=author, filename="p.docx", data=FILE, content_type=DOCX)

    assert [ps.service for ps in PlanService.objects.filter(plan=plan).order_by("id")] == [late, early]


def test_the_file_is_attached_and_the_history_names_it(author, khasanov):
    plan = imported(parsed_plan(), author, filename="План Calico.docx")

    attachment = PlanAttachment.objects.get(plan=plan)
    assert bytes(attachment.data) == FILE and attachment.size == len(FILE)
    assert attachment.sha256 == hashlib.sha256(FILE).hexdigest()
    assert attachment.filename == "План Calico.docx" and attachment.content_type == DOCX
    assert attachment.uploaded_by == author and attachment.purpose == "import"
    events = list(PlanEvent.objects.filter(plan=plan).order_by("id"))
    assert [e.kind for e in events] == [EventKind.CREATED, EventKind.IMPORTED]
    assert events[1].comment == "Импортирован из файла План Calico.docx"
    assert events[1].changes == {"steps": 3, "risks": 8, "signoff_rows": 0}
    assert events[1].get_kind_display() == "Импортирован"


def test_pasted_text_is_attached_as_text(author, khasanov):
    plan = imported(parsed_plan(), author, filename="", data="текст".encode(), content_type="text/plain")

    attachment = PlanAttachment.objects.get(plan=plan)
    assert attachment.filename == "pasted.txt" and bytes(attachment.data).decode() == "текст"
    assert PlanEvent.objects.get(plan=plan, kind=EventKind.IMPORTED).comment == "Импортирован из вставленного текста"


def test_sign_off_rows_are_unsigned_whatever_the_document_says(author, khasanov):
    kochetov = UserFactory(username="kochetov", last_name="Кочетов", first_name="Виктор Николаевич")
    duty_group = UserFactory(username="duty1", roles=[Role.DUTY_OFFICER]).groups.get()
    parsed = parsed_plan(
        signoff=[
            ("рук группы контроля качества", "Кочетов В.Н.", RowKind.APPROVAL),
            ("инженер", "Никому Неизвестный", RowKind.APPROVAL),
            ("", "Дежурный НЭС", RowKind.ACKNOWLEDGEMENT),
        ]
    )

    plan = imported(parsed, author)

    rows = list(ApprovalRow.objects.filter(plan=plan).order_by("position"))
    assert [(r.position, r.person_name, r.kind, r.status) for r in rows] == [
        (1, "Кочетов В.Н.", RowKind.APPROVAL, ApprovalStatus.PENDING),
        (2, "Никому Неизвестный", RowKind.APPROVAL, ApprovalStatus.PENDING),
        (3, "Дежурный НЭС", RowKind.ACKNOWLEDGEMENT, ApprovalStatus.NOT_ACKNOWLEDGED),
    ]
    assert [(r.user, r.group) for r in rows] == [(kochetov, None), (None, None), (None, duty_group)]
    assert all(r.decided_at is None and r.decided_by is None for r in rows)
    assert rows[0].job_title == "рук группы контроля качества"


def test_the_matrix_rules_hold_the_curator_does_not_approve_and_nobody_twice(author, khasanov):
    kochetov = UserFactory(username="kochetov", last_name="Кочетов", first_name="Виктор Николаевич")
    duty_group = UserFactory(username="duty1", roles=[Role.DUTY_OFFICER]).groups.get()
    parsed = parsed_plan(
        signoff=[
            ("куратор", "Хасанов А.И.", RowKind.APPROVAL),
            ("рук", "Кочетов В.Н.", RowKind.APPROVAL),
            ("рук ещё раз", "Кочетов В. Н.", RowKind.APPROVAL),
            ("дежурный", "Дежурный", RowKind.APPROVAL),
        ]
    )
    annotate(parsed, Overrides(people={person_key("Дежурный"): f"group:{duty_group.pk}"}))

    plan = create_plan_from_import(parsed, actor=author, filename="plan.docx", data=FILE, content_type=DOCX)

    rows = list(ApprovalRow.objects.filter(plan=plan).order_by("position"))
    assert [(r.person_name, r.user, r.group) for r in rows] == [
        ("Хасанов А.И.", None, None),  # the curator
        ("Кочетов В.Н.", kochetov, None),
        ("Кочетов В. Н.", None, None),  # already in row 2
        ("Дежурный", None, None),  # a group cannot approve
    ]
    comment = PlanEvent.objects.get(plan=plan, kind=EventKind.IMPORTED).comment
    assert "Строка согласования 1 (Хасанов А.И.)" in comment
    assert "Строка согласования 3" in comment and "Строка согласования 4" in comment


def test_executors_as_chosen_a_party_a_user_or_a_new_party(author, khasanov):
    contractor = PartyFactory(name="ООО «ПрофСофт»")
    parsed = parsed_plan(steps=4)
    parsed.steps[0].cells["executor"] = cell("ООО «профсофт»")
    parsed.steps[2].cells["executor"] = cell("Петров П.П.")
    parsed.steps[3].cells["executor"] = cell("Петров П.П.")
    for name in ("ООО «профсофт»", "Петров П.П."):
        parsed.people[person_key(name)] = person(name, "executor")

    plan = imported(parsed, author)

    executors = [s.executor for s in plan.steps.order_by("position")]
    assert executors[0] == contractor
    assert executors[1].user == khasanov
    assert executors[2].name == "Петров П.П." and executors[2] == executors[3]
    assert Party.objects.filter(name="Петров П.П.").count() == 1


def test_an_override_to_text_makes_the_curator_empty(author, khasanov):
    parsed = parsed_plan()
    annotate(parsed, Overrides(people={person_key("Хасанов А.И."): "text"}))

    plan = create_plan_from_import(parsed, actor=author, filename="p.docx", data=FILE, content_type=DOCX)

    assert plan.curator is None
    assert plan.responsible.name == "Хасанов А.И." and plan.responsible.user is None  # a party of that name
    assert "Куратор «Хасанов А.И.»" in PlanEvent.objects.get(plan=plan, kind=EventKind.IMPORTED).comment


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ({"title": ""}, "нет названия"),
        ({"window_start": None}, "даты проведения работ"),
        ({"window_end": None}, "даты проведения работ"),
    ],
)
def test_no_plan_without_a_title_or_a_window(author, header, message):
    with pytest.raises(ImportRefused) as refused:
        imported(parsed_plan(**header), author)
    assert message in refused.value.messages[0].lower()
    assert not Plan.objects.exists() and not PlanAttachment.objects.exists() and not Party.objects.exists()


def test_a_window_cell_with_a_problem_refuses_with_that_problem(author):
    parsed = parsed_plan()
    parsed.header["window_end"] = Cell(text="до 25:00", value=None, problem="Не удалось прочитать время «25:00»")
    with pytest.raises(ImportRefused, match="25:00"):
        imported(parsed, author)
    assert not Plan.objects.exists()


def test_a_window_that_ends_before_it_starts_is_refused_in_russian(author):
    with pytest.raises(ImportRefused, match="Окно работ должно заканчиваться"):
        imported(parsed_plan(window_end="2025-03-20T19:00"), author)
    assert not Plan.objects.exists()


def test_an_unreadable_plan_downtime_is_refused_and_nothing_is_written(author, khasanov):
    with pytest.raises(ImportRefused, match="простоя"):
        imported(parsed_plan(downtime_text="на время перезагрузки"), author)
    assert not Plan.objects.exists() and not Step.objects.exists() and not PlanEvent.objects.exists()


def test_an_unreadable_step_duration_is_kept_as_written(author):
    parsed = parsed_plan(steps=1)
    parsed.steps[0].cells["duration_text"] = Cell(text="пока не кончится", value=None, problem="не прочитано")
    plan = imported(parsed, author)
    only = plan.steps.get()
    assert (only.duration_text, only.duration_min, only.duration_max) == ("пока не кончится", None, None)


def test_only_authors_import(approver):
    with pytest.raises(PermissionDenied):
        imported(parsed_plan(), approver)
    assert not Plan.objects.exists()


def test_into_an_empty_draft_overwrites_its_header(author, khasanov):
    draft = PlanFactory(author=author, title="Пустой черновик")

    plan = imported(parsed_plan(), author, into_plan_id=draft.pk)

    assert plan.pk == draft.pk
    draft.refresh_from_db()
    assert draft.title.startswith("Установка сетевого плагина") and draft.steps.count() == 3
    assert [e.kind for e in PlanEvent.objects.filter(plan=draft)] == [EventKind.IMPORTED]


def test_not_into_a_plan_with_steps_nor_someone_elses(author, other_author):
    full = StepFactory(plan=PlanFactory(author=author)).plan
    with pytest.raises(ImportRefused, match="пустой черновик"):
        imported(parsed_plan(), author, into_plan_id=full.pk)
    theirs = PlanFactory(author=other_author)
    with pytest.raises(PermissionDenied):
        imported(parsed_plan(), author, into_plan_id=theirs.pk)
    assert Plan.objects.count() == 2 and not PlanAttachment.objects.exists()


def test_not_into_a_plan_that_is_gone(author):
    with pytest.raises(ImportRefused, match="больше нет"):
        imported(parsed_plan(), author, into_plan_id=999999)
    assert not Plan.objects.exists()


def test_a_file_name_cannot_break_the_download_header(client, author):
    plan = imported(parsed_plan(), author, filename='evil\r\nSet-Cookie: x=1".docx')
    attachment = PlanAttachment.objects.get(plan=plan)
    assert attachment.filename == 'evil Set-Cookie: x=1".docx'
    client.force_login(author)
    response = client.get(reverse("changeplans:attachment_download", args=[attachment.pk]))
    assert response.status_code == 200 and "Set-Cookie" not in response.headers


def test_the_step_kind_chosen_in_the_preview_wins(author):
    parsed = parsed_plan(steps=2)
    annotate(parsed, Overrides())
    plan = create_plan_from_import(
        parsed, actor=author, filename="p.docx", data=FILE, content_type=DOCX, kinds={"2": StepKind.BANNER_ON}
    )
    assert [s.kind for s in plan.steps.order_by("position")] == [StepKind.ANNOUNCEMENT, StepKind.BANNER_ON]


def test_queries_do_not_grow_with_the_steps(author, khasanov):
    def count(steps):
        parsed = parsed_plan(steps=steps, signoff=[("рук", "Кочетов В.Н.", RowKind.APPROVAL)])
        annotate(parsed, Overrides())
        with CaptureQueriesContext(connection) as queries:
            create_plan_from_import(parsed, actor=author, filename="p.docx", data=FILE, content_type=DOCX)
        return len(queries)

    UserFactory(username="kochetov", last_name="Кочетов", first_name="Виктор Николаевич")
    count(10)  # the first import creates the parties the later ones find
    assert count(10) == count(60)
    assert Step.objects.count() == 80 and Risk.objects.count() == 24 and RollbackAction.objects.count() == 9


def test_the_plan_page_shows_the_attachment_and_it_downloads(client, author, khasanov, approver):
    plan = imported(parsed_plan(), author, filename="План работ.docx")
    client.force_login(approver)  # anyone who may see the plan

    page = client.get(reverse("changeplans:plan_detail", args=[plan.pk]))
    attachment = PlanAttachment.objects.get(plan=plan)
    url = reverse("changeplans:attachment_download", args=[attachment.pk])
    assert url in page.content.decode() and "План работ.docx" in page.content.decode()
    assert "Импортирован из файла План работ.docx" in page.content.decode()
    assert "Шагов: 3" in page.content.decode() and "Строк согласования: 0" in page.content.decode()

    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == FILE
    assert response["Content-Type"] == DOCX
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''%D0%9F%D0%BB%D0%B0%D0%BD" in response["Content-Disposition"]


def test_an_html_attachment_is_a_download_and_strangers_get_404(client, author, khasanov):
    plan = imported(
        parsed_plan(), author, filename="x.html", data=b"<script>alert(1)</script>", content_type="text/html"
    )
    attachment = PlanAttachment.objects.get(plan=plan)
    url = reverse("changeplans:attachment_download", args=[attachment.pk])

    assert client.get(url).status_code == 302  # signed out: to the login page
    inactive = UserFactory(username="gone", is_active=False)
    client.force_login(inactive)
    assert client.get(url).status_code in (302, 404)
    client.force_login(author)
    assert client.get(reverse("changeplans:attachment_download", args=[attachment.pk + 1000])).status_code == 404
    response = client.get(url)
    assert response["Content-Disposition"].startswith("attachment;") and response["X-Content-Type-Options"] == "nosniff"


def test_the_plan_page_costs_one_query_for_its_attachments_however_many(client, author, khasanov):
    plan = imported(parsed_plan(), author)
    client.force_login(author)
    url = reverse("changeplans:plan_detail", args=[plan.pk])
    client.get(url)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    one = count()
    for n in range(3):
        PlanAttachment.objects.create(plan=plan, filename=f"{n}.txt", size=1, sha256="0" * 64, data=b"x")
    assert count() == one
