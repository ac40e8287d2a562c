"""The delay notice's services (changeplans.announcements): the preview shows exactly what `send_delay_notice` sends,
under the next number; the view only validates the form and calls them (its pages: test_announcements.py)."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from changeplans import announcements
from changeplans.choices import PlanStatus
from changeplans.models import PlanService
from notifications.models import OutboundEmail
from tests.factories import NSK, PlanFactory, ServiceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def plan(author):
    plan = PlanFactory(
        author=author, title="Обновление кластера", status=PlanStatus.APPROVED, mailing_list="ops@example.org"
    )
    PlanService.objects.create(
        plan=plan, service=ServiceFactory(display_name="Инфосайт", mailing_list="site@example.org")
    )
    return plan


def an_hour_late(plan):
    return plan.window_end + datetime.timedelta(hours=1)


def test_the_preview_is_the_next_notice_in_the_plans_zone_and_queues_nothing(plan, django_assert_max_num_queries):
    new_end = an_hour_late(plan).astimezone(datetime.UTC)

    with django_assert_max_num_queries(8):
        preview = announcements.preview_delay_notice(plan, new_end=new_end, reason="  Миграция идёт дольше \n")

    assert preview.number == 1
    assert preview.new_end == new_end and preview.new_end.tzinfo == NSK
    assert preview.reason == "Миграция идёт дольше"
    assert preview.subject == "Продление работ: Обновление кластера"
    assert "Миграция идёт дольше" in preview.text and announcements.seed_time(preview.new_end) in preview.text
    assert {r.address for r in preview.recipients.valid} >= {"ops@example.org", "site@example.org"}
    assert not OutboundEmail.objects.exists()


def test_what_the_preview_shows_is_what_is_sent(plan, author, django_capture_on_commit_callbacks):
    new_end, reason = an_hour_late(plan), "Долго"
    preview = announcements.preview_delay_notice(plan, new_end=new_end, reason=reason)

    with django_capture_on_commit_callbacks(execute=True):
        result = announcements.send_delay_notice(
            plan.pk, actor=author, new_end=new_end, reason=reason, number=preview.number
        )

    assert result.number == preview.number == 1 and not result.already_sent
    sent = OutboundEmail.objects.filter(group=announcements.delay_group(plan.pk, 1))
    assert {email.text for email in sent} == {preview.text}
    assert {email.subject for email in sent} == {preview.subject}
    # The next preview takes the next number.
    assert announcements.preview_delay_notice(plan, new_end=new_end, reason="Ещё дольше").number == 2


def test_no_preview_while_the_plan_cannot_take_a_delay_notice(author):
    draft = PlanFactory(author=author, status=PlanStatus.DRAFT)

    with pytest.raises(ValidationError) as refused:
        announcements.preview_delay_notice(draft, new_end=an_hour_late(draft), reason="Долго")

    assert refused.value.messages == [announcements.delay_refusal(draft)]


def test_render_checks_nothing_and_keeps_the_number_it_is_given(author):
    draft = PlanFactory(author=author, status=PlanStatus.DRAFT)

    preview = announcements.render_delay_notice(draft, number=7, new_end=an_hour_late(draft), reason="Долго")

    assert preview.number == 7 and "Долго" in preview.text


# --- the view: validate, call the service, show the outcome -----------------------------------------------------


def delay_url(plan):
    return reverse("execution:plan_delay_notice", args=[plan.pk])


def test_edit_shows_the_form_again_without_a_preview(author_client, plan):
    form = {"new_end": "2025-03-21T00:30", "reason": "Долго", "number": "1", "action": "edit"}

    response = author_client.post(delay_url(plan), form, **HX)

    content = response.content.decode()
    assert response.status_code == 200
    assert 'id="delay-confirm"' not in content and "Долго</textarea>" in content
    assert not OutboundEmail.objects.exists()


def test_without_htmx_sending_redirects_to_the_notice_with_a_message(
    author_client, plan, django_capture_on_commit_callbacks
):
    form = {"new_end": "2025-03-21T00:30", "reason": "Долго", "number": "1", "action": "send"}

    with django_capture_on_commit_callbacks(execute=True):
        response = author_client.post(delay_url(plan), form)

    assert response.status_code == 302
    assert response["Location"] == reverse("execution:plan_announcements", args=[plan.pk]) + "#delay-notice"
    assert OutboundEmail.objects.filter(group=announcements.delay_group(plan.pk, 1)).exists()


def test_without_htmx_a_refused_preview_is_the_whole_page_with_the_reason(author_client, author):
    draft = PlanFactory(author=author, status=PlanStatus.DRAFT)

    response = author_client.post(
        delay_url(draft), {"new_end": "2025-03-21T00:30", "reason": "Долго", "action": "preview"}
    )

    content = response.content.decode()
    assert response.status_code == 422
    assert "<html" in content and announcements.delay_refusal(draft) in content
