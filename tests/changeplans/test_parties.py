"""No edit of one plan changes another (issue 11, finding 5).

PlanForm.header_data() found the responsible party by name across all plans and overwrote its contact:
author B's plan with responsible "Хасанов А.И." and a new contact changed the announcement, page and
PDF of author A's approved plan, with no history entry, version or re-approval.
"""

import re
import zoneinfo

import pytest
from django.urls import reverse

from changeplans import announcements, versioning
from changeplans.choices import PlanStatus
from changeplans.models import Party, Plan
from changeplans.pdf import plan_context
from changeplans.selectors import load_plan
from notifications.choices import MessageKind

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
HX = {"HTTP_HX_REQUEST": "true"}
NSK = zoneinfo.ZoneInfo("Asia/Novosibirsk")
CONTACT_A = "+7 (913) 712-71-78 НЭС"


def header_post(**overrides):
    data = {
        "title": "Установка Calico",
        "kind": "normal",
        "time_zone": "Asia/Novosibirsk",
        "window_start": "2026-03-20T20:00",
        "window_end": "2026-03-20T23:00",
        "availability": "unavailable",
        "responsible_name": "Хасанов А.И.",
        "responsible_contact": CONTACT_A,
    }
    data.update(overrides)
    return data


# Plan B works another day: the same person in A's window would be a conflict, which A's page rightly shows.
B_WINDOW = {"window_start": "2026-03-27T20:00", "window_end": "2026-03-27T23:00"}


def _without_tokens(html):
    # CSRF tokens are masked afresh on every response; everything else must be the same bytes.
    return re.sub(r'(csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+', r"\1…", html)


def observe(client, plan):
    """Everything of a plan another author must not be able to change."""
    plan = load_plan(plan.pk)
    return {
        "page": _without_tokens(client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()),
        "announcement_page": _without_tokens(
            client.get(reverse("execution:plan_announcements", args=[plan.pk])).content.decode()
        ),
        "announcement": announcements.render(plan, MessageKind.ANNOUNCEMENT),
        "versions": list(plan.versions.values_list("number", "snapshot")),
        "history": list(plan.events.values_list("pk", "kind", "changes")),
        "row": Plan.objects.filter(pk=plan.pk).values().get(),
    }


@pytest.fixture
def approved_plan_of_a(client, author):
    # Author A creates a plan with "Хасанов А.И." and his contact, submits it, and it is approved
    client.force_login(author)
    response = client.post(reverse("changeplans:plan_create"), header_post())
    assert response.status_code == 302
    plan = Plan.objects.get()
    versioning.freeze_version(plan, actor=author)
    Plan.objects.filter(pk=plan.pk).update(status=PlanStatus.APPROVED)
    return plan


def test_another_authors_edit_leaves_an_approved_plan_byte_identical(client, author, other_author, approved_plan_of_a):
    plan_a = approved_plan_of_a
    before = observe(client, plan_a)
    assert CONTACT_A in before["page"] and CONTACT_A in before["announcement"][1]
    # When author B creates a plan with the same responsible (another spelling) and a new contact
    client.force_login(other_author)
    response = client.post(
        reverse("changeplans:plan_create"),
        header_post(
            title="План Б", responsible_name="хасанов а.и.", responsible_contact="+7 999 000-00-00", **B_WINDOW
        ),
    )
    assert response.status_code == 302
    plan_b = Plan.objects.exclude(pk=plan_a.pk).get()
    # And edits that plan's header with yet another contact
    response = client.post(
        reverse("changeplans:plan_header", args=[plan_b.pk]),
        header_post(title="План Б", responsible_contact="8-800-ВЗЛОМ", revision=plan_b.revision, **B_WINDOW),
        **HX,
    )
    assert response.status_code == 200
    # Then author A's plan is unchanged: page, announcement, versions, history, row
    client.force_login(author)
    after = observe(client, plan_a)
    for key in before:
        assert after[key] == before[key], key
    assert "8-800-ВЗЛОМ" not in after["page"] and "+7 999 000-00-00" not in after["announcement"][1]
    # And B's own plan shows B's contact, with the change in its history
    plan_b = load_plan(plan_b.pk)
    assert plan_b.responsible_contact == "8-800-ВЗЛОМ"
    assert "8-800-ВЗЛОМ" in announcements.render(plan_b, MessageKind.ANNOUNCEMENT)[1]
    assert plan_b.events.filter(kind="edited", changes__has_key="responsible_contact").exists()


def test_the_pdf_of_a_plan_shows_its_own_contact(author, other_author, approved_plan_of_a, client):
    client.force_login(other_author)
    client.post(reverse("changeplans:plan_create"), header_post(title="План Б", responsible_contact="+7 999 000-00-00"))
    plan = load_plan(approved_plan_of_a.pk)
    from changeplans.lint import lint_plan

    steps = list(plan.steps.all())
    context = plan_context(plan, steps, [], lint_plan(plan, steps=steps))
    assert context["responsible_text"] == f"Хасанов А.И. {CONTACT_A}"


def test_header_edits_never_change_a_shared_party(author, approved_plan_of_a, client):
    party = Party.objects.get()
    party_before = Party.objects.filter(pk=party.pk).values().get()
    client.force_login(author)
    plan = approved_plan_of_a
    client.post(
        reverse("changeplans:plan_header", args=[plan.pk]),
        header_post(responsible_contact="+7 000", revision=plan.revision),
        **HX,
    )
    assert Party.objects.filter(pk=party.pk).values().get() == party_before
    plan.refresh_from_db()
    assert plan.responsible_contact == "+7 000"


def test_a_new_plan_copies_the_partys_contact_when_none_is_typed(author, client):
    Party.objects.create(name="Хасанов А.И.", contact=CONTACT_A)
    client.force_login(author)
    client.post(reverse("changeplans:plan_create"), header_post(responsible_contact=""))
    assert Plan.objects.get().responsible_contact == CONTACT_A
