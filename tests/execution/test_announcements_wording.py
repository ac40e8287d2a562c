"""The announcements page in words (issue 15, item 11): no internal group ids, who took a banner down
(Okno itself too), the general list named once, e-mail previews tall enough for the whole message."""

import datetime
import re

import pytest
from django.urls import reverse

from changeplans.models import Banner, PlanService
from notifications.models import OutboundEmail
from tests.factories import NSK, PlanFactory, ServiceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def plan(author):
    plan = PlanFactory(author=author, title="Обновление кластера", mailing_list="ops@example.org")
    PlanService.objects.create(plan=plan, service=ServiceFactory(display_name="Инфосайт"))
    return plan


def page(client, plan):
    response = client.get(reverse("execution:plan_announcements", args=[plan.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_deliveries_name_what_they_were_sent_for(author_client, plan):
    # Given an overrun alert, a send of a step since deleted and one of an unknown kind
    for group in (f"plan:{plan.pk}:alerts", f"plan:{plan.pk}:step:999999", f"plan:{plan.pk}:something"):
        OutboundEmail.objects.create(key=group, to="duty@example.org", subject="Тема", text="x", group=group)
    content = page(author_client, plan)
    # Then the page names them in words, never by the internal id
    assert f"plan:{plan.pk}:" not in content
    assert "Оповещение дежурным о превышении времени" in content
    assert "Автоматический шаг, которого больше нет в плане" in content
    assert "Другое сообщение плана" in content


def test_a_banner_okno_took_down_says_so(author_client, plan):
    # Given a banner Okno put up and took down by itself, and one still shown
    service = plan.plan_services.get().service
    start = datetime.datetime(2025, 3, 20, 20, 0, tzinfo=NSK)
    Banner.objects.create(service=service, plan=plan, text="Ведутся работы", shown_from=start, shown_until=start)
    Banner.objects.create(service=service, plan=plan, text="Снова работы", shown_from=start)
    content = page(author_client, plan)
    # Then «Снял» says Okno for the first and stays empty for the one still up
    cells = re.findall(r'<td class="okno-banner-removed-by">([^<]*)</td>', content)
    assert sorted(cells) == ["", "Okno"]


def test_the_general_list_is_named_once_and_previews_are_whole(author_client, plan):
    content = page(author_client, plan)
    assert "(общий список из настроек Okno)" in content and "((" not in content and "))" not in content
    # Every preview frame is taller than the default 34rem: the whole e-mail (down to the signature) shows
    heights = [int(h) for h in re.findall(r'<iframe sandbox=""[^>]*height:(\d+)rem', content)]
    assert len(heights) == 3 and all(h > 34 for h in heights), heights
