"""«за Турчанинова П.В.»: wherever Okno writes who a deputy signed for, the name is in the genitive in Russian
(common.names) and as it is in English. The seed's row 5 was signed by Иванов П.С. for Турчанинов П.В.

Break it by hand: make common.names.name_after_for return its argument; every test here fails."""

import datetime
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from pypdf import PdfReader

from approvals import services
from approvals.models import ApprovalRow, Delegation
from changeplans.choices import EventKind
from changeplans.models import PlanEvent
from changeplans.pdf import render_plan_pdf
from tests.approvals.factories import plan_with_matrix
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def text_of(html):
    """The page's text as read: tags dropped, whitespace squeezed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.fixture
def seed():
    from demo.plans import load_demo

    return load_demo()


def test_the_matrix_row_says_for_whom_in_the_genitive(seed, client):
    client.force_login(seed.author)
    url = reverse("changeplans:plan_detail", args=[seed.pk])

    russian = text_of(client.get(url, HTTP_ACCEPT_LANGUAGE="ru").content.decode())
    client.cookies["django_language"] = "en"
    english = text_of(client.get(url).content.decode())

    assert "за Турчанинова П.В. — Иванов П.С." in russian
    assert "за Турчанинов П.В." not in russian
    assert "for Турчанинов П.В. — Иванов П.С." in english


def test_the_pdf_says_for_whom_in_the_genitive(seed):
    pdf = render_plan_pdf(seed.pk, language="ru")
    text = "".join(re.sub(r"\s+", "", page.extract_text() or "") for page in PdfReader(io.BytesIO(pdf)).pages)

    assert "заТурчаниноваП.В." in text
    assert "заТурчаниновП.В." not in text


def test_the_deputys_button_and_the_history_decline_the_principal(client):
    plan, author, (principal, _other), _duty = plan_with_matrix(2)
    ApprovalRow.objects.filter(plan=plan, user=principal).update(person_name="Турчанинов П.В.")
    principal.last_name, principal.first_name = "Турчанинов", "П.В."
    principal.save()
    deputy = UserFactory(username="ivanov", last_name="Иванов", first_name="П.С.", roles=["approver"])
    today = timezone.localdate()
    Delegation.objects.create(
        principal=principal, deputy=deputy, starts_on=today, ends_on=today + datetime.timedelta(days=1)
    )
    services.submit_plan(plan.pk, actor=author)

    # The deputy's own view of the row: the button says whom they sign for
    client.force_login(deputy)
    page = text_of(client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode())
    assert "за Турчанинова П.В." in page

    row = ApprovalRow.objects.get(plan=plan, user=principal)
    with translation.override("ru"):
        services.approve_row(row.pk, actor=deputy, version=1)
    event = PlanEvent.objects.filter(plan=plan, actor=deputy, object_id=row.pk).exclude(kind=EventKind.REFUSED).get()
    assert "за Турчанинова П.В." in event.comment
