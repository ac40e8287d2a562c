"""The inbox's rows in Python (approvals/inbox_rows.py) are its template's rows, byte for byte (issue 16)."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from approvals import inbox_rows, selectors, services
from approvals.choices import ApprovalStatus, RowKind
from approvals.models import ApprovalRow, Delegation
from changeplans import services as plan_services
from tests.factories import PlanFactory, StepFactory, UserFactory

pytestmark = pytest.mark.django_db
TOKEN = "tok<en>&1"


def assert_rows_match(user, error=None, token=TOKEN):
    entries = selectors.inbox_entries(user)
    assert entries
    for entry in entries:
        template = render_to_string("approvals/inc/inbox_row.html", {"e": entry, "error": error, "csrf_token": token})
        assert inbox_rows.render_rows([entry], csrf_token=token, error=error) == template.removesuffix("\n")


@pytest.fixture
def waiting(db):
    """Plans in review waiting for an approver (one of them for a principal), a deputy and the duty group."""
    author = UserFactory(username="author", roles=["author"])
    approver = UserFactory(username="approver", last_name="Кочетов", first_name="В.Н.", roles=["approver"])
    principal = UserFactory(username="principal", last_name="Иванов", first_name="П.С.", roles=["approver"])
    duty = UserFactory(username="duty", roles=["duty_officer"])
    today = timezone.localdate()
    Delegation.objects.create(principal=principal, deputy=approver, starts_on=today, ends_on=today)
    plans = []
    for n, (title, job) in enumerate(
        [('План <b>"1"</b> & «узлы»', "Начальник <отдела> & 'ИТ'"), ("Второй план", ""), ("Третий", "ИТ")], start=1
    ):
        start = datetime.datetime(2026, 3, 20 + n, 22, 30, tzinfo=datetime.UTC)
        end = start + datetime.timedelta(hours=3)
        plan = PlanFactory(author=author, title=title, window_start=start, window_end=end)
        StepFactory(plan=plan, position=1, name="Шаг")
        person = principal if n == 2 else approver
        row = ApprovalRow.objects.create(plan=plan, position=1, job_title=job, person_name=f"{person} <x>", user=person)
        ApprovalRow.objects.create(
            plan=plan,
            position=2,
            kind=RowKind.ACKNOWLEDGEMENT,
            person_name="Дежурные & Co",
            group=Group.objects.get(name="duty_officer"),
            status=ApprovalStatus.NOT_ACKNOWLEDGED,
        )
        services.submit_plan(plan.pk, actor=author)
        plans.append((plan, row))
    # The first plan changed after the approver signed it: «1 change since version 1».
    plan, row = plans[0]
    services.approve_row(row.pk, actor=approver, version=1)
    step = plan.steps.first()
    plan_services.update_step_cell(step.pk, actor=author, field="name", value="Другой шаг", revision=step.revision)
    return author, approver, duty, plans


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_rows_are_the_templates_rows(waiting, language):
    author, approver, duty, plans = waiting
    with translation.override(language):
        assert_rows_match(approver)
        assert_rows_match(duty)
        assert_rows_match(approver, token=None)
        # A refused rejection shows its message and the text typed under its row (and only there).
        error = {"row": plans[1][1].pk, "comment": 'Нет <отката> & "плана"', "message": "Укажите <причину>"}
        assert_rows_match(approver, error=error)


def test_a_refusal_is_the_templates(waiting):
    # The curator of a plan waits on it but may not sign: «not now» with the reason.
    author, approver, duty, plans = waiting
    plan = plans[2][0]
    type(plan).objects.filter(pk=plan.pk).update(curator=approver)
    entries = selectors.inbox_entries(approver)
    refused = [entry for entry in entries if entry["row"].refusal]
    assert refused and not refused[0]["row"].can_sign
    assert_rows_match(approver)


def test_the_page_shows_the_python_rows(client, waiting):
    author, approver, duty, plans = waiting
    client.force_login(approver)
    html = client.get(reverse("approvals:inbox")).content.decode()
    assert html.count('class="okno-inbox-row"') == 3 and 'name="csrfmiddlewaretoken"' in html
    assert "План &lt;b&gt;&quot;1&quot;&lt;/b&gt; &amp; «узлы»" in html and "1 изменение с версии 1" in html
    assert "за Иванова П.С." in html  # the deputy signs for the principal
