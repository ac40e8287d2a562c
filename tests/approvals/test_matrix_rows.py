"""The matrix builder's rows in Python (approvals/matrix_rows.py) are its template's rows, byte for byte (issue 16)."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from approvals import matrix_rows, selectors, services
from approvals.choices import RowKind
from approvals.models import ApprovalRow, Delegation
from tests.factories import PlanFactory, StepFactory, UserFactory

pytestmark = pytest.mark.django_db
TOKEN = "tok<en>&1"


@pytest.fixture
def draft(db):
    """A draft with an approver (odd characters in every text), a group's acknowledgement and an empty row."""
    author = UserFactory(username="author", roles=["author"])
    approver = UserFactory(username="approver", last_name="Кочетов", first_name="В.Н.", roles=["approver"])
    plan = PlanFactory(author=author, title="План")
    StepFactory(plan=plan, position=1, name="Шаг")
    ApprovalRow.objects.create(
        plan=plan, position=1, job_title='Начальник <отдела> & "ИТ"', person_name="Кочетов <В.Н.>", user=approver
    )
    ApprovalRow.objects.create(
        plan=plan,
        position=2,
        stage=2,
        kind=RowKind.ACKNOWLEDGEMENT,
        person_name="Дежурные & Co",
        group=Group.objects.get(name="duty_officer"),
    )
    ApprovalRow.objects.create(plan=plan, position=3, job_title="", person_name="")  # nobody chosen: a problem
    return author, plan


def both(signoff, **context):
    context = {"signoff": signoff, "csrf_token": TOKEN, **context}
    return render_to_string("approvals/inc/matrix_builder_rows.html", context), matrix_rows.render_rows(context)


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_rows_are_the_templates_rows(draft, language):
    author, plan = draft
    with translation.override(language):
        signoff = selectors.matrix_context(plan, author)
        assert signoff["can_edit_matrix"] and len(signoff["rows"]) == 3
        assert any(row.problem for row in signoff["rows"])
        variants = [
            {},
            {"csrf_token": None},
            {"focus_row": signoff["rows"][0].pk},
            {"focus_row": signoff["rows"][1].pk, "focus_move": "up"},
            {"focus_row": signoff["rows"][2].pk, "focus_move": "down"},
            {"row_id": signoff["rows"][1].pk},
        ]
        for extra in variants:
            template, python = both(signoff, **extra)
            assert python == template, extra
        # Without the people picker: the plain lists of people and groups, the row's choice selected.
        plain = {**signoff, **selectors.matrix_builder_context(plan), "picker_url": None}
        plain["choice_users"] = [("user:1", "Один <1>"), (signoff["rows"][0].who_key, "Кочетов & В.Н.")]
        plain["choice_groups"] = [(signoff["rows"][1].who_key, "Дежурные")]
        template, python = both(plain)
        assert " selected>Кочетов &amp; В.Н.</option>" in python
        assert python == template
        # No rows: the hint.
        template, python = both({**signoff, "rows": []})
        assert python == template and "okno-matrix-empty" in python


def test_the_plan_page_shows_the_rows(draft):
    author, plan = draft
    client = Client()
    client.force_login(author)
    html = client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
    assert html.count('class="okno-matrix-edit-row"') == 3
    assert 'value="Начальник &lt;отдела&gt; &amp; &quot;ИТ&quot;"' in html


def test_only_a_delegation_in_force_today_makes_a_row_the_deputys(db):
    """The rows' query asks, per row, whether its person delegated to the viewer today (matrix_context)."""
    author = UserFactory(username="author", roles=["author"])
    principal = UserFactory(username="principal", roles=["approver"])
    other = UserFactory(username="other", roles=["approver"])
    deputy = UserFactory(username="deputy", roles=["approver"])
    plan = PlanFactory(author=author)
    StepFactory(plan=plan, position=1)
    row = ApprovalRow.objects.create(plan=plan, position=1, person_name="P", user=principal)
    ApprovalRow.objects.create(plan=plan, position=2, person_name="O", user=other)
    services.submit_plan(plan.pk, actor=author)
    plan.refresh_from_db()
    today = timezone.localdate()
    day = datetime.timedelta(days=1)

    def mine():
        return [r.pk for r in selectors.matrix_context(plan, deputy)["rows"] if r.mine and r.can_sign]

    assert mine() == []
    Delegation.objects.create(principal=principal, deputy=deputy, starts_on=today - 2 * day, ends_on=today - day)
    Delegation.objects.create(principal=principal, deputy=deputy, starts_on=today + day, ends_on=today + 2 * day)
    Delegation.objects.create(principal=principal, deputy=other, starts_on=today, ends_on=today)
    assert mine() == []
    Delegation.objects.create(principal=principal, deputy=deputy, starts_on=today, ends_on=today)
    assert mine() == [row.pk]
