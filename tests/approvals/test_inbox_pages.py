"""The inbox in pages and the navigation badge in one query (issue 16: 186 waiting plans were all rendered)."""

import pytest
from django.urls import reverse

from approvals import selectors, waiting
from approvals.choices import ApprovalStatus
from approvals.models import ApprovalRow
from changeplans.choices import PlanStatus
from changeplans.models import Plan, PlanVersion
from tests.changeplans.test_lists_scale import make_plans
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def waiting_plans(author, approver, count, title="На согласовании"):
    """`count` plans in review, each with one pending row of `approver` (plan 1 the soonest window)."""
    plans = make_plans(author, count, steps=1, title=title)
    Plan.objects.filter(pk__in=[plan.pk for plan in plans]).update(status=PlanStatus.IN_REVIEW)
    PlanVersion.objects.bulk_create(PlanVersion(plan=plan, number=1, snapshot={}) for plan in plans)
    ApprovalRow.objects.bulk_create(
        ApprovalRow(plan=plan, position=1, person_name="Согласующий", user=approver, status=ApprovalStatus.PENDING)
        for plan in plans
    )
    waiting.mark_all()  # written behind the services' back, as bench/scale_data.py does: the marker from the rows
    return plans


@pytest.fixture
def approver(db):
    return UserFactory(username="approver", last_name="Согласующий", roles=["approver"])


def test_inbox_shows_a_page_and_reaches_the_last(client, author, approver, settings):
    settings.OKNO_PAGE_SIZE = 25
    waiting_plans(author, approver, 60)
    client.force_login(approver)
    url = reverse("approvals:inbox")
    html = client.get(url).content.decode()
    assert html.count('class="okno-inbox-row"') == 25 and "Показано 1–25 из 60" in html
    assert 'href="?page=3"' in html
    last = client.get(url, {"page": 3}).content.decode()
    assert last.count('class="okno-inbox-row"') == 10 and "На согласовании 60<" in last


def test_inbox_queries_do_not_grow_with_waiting_plans(client, author, approver, django_assert_num_queries):
    waiting_plans(author, approver, 5, title="Первые")
    client.force_login(approver)
    url = reverse("approvals:inbox")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(url)
    waiting_plans(author, approver, 80, title="Ещё")
    with django_assert_num_queries(len(few)):
        client.get(url)


def test_a_decision_answers_with_the_page_it_came_from(client, author, approver, settings):
    settings.OKNO_PAGE_SIZE = 10
    plans = waiting_plans(author, approver, 25)
    client.force_login(approver)
    row = ApprovalRow.objects.get(plan=plans[12])  # the 13th soonest: on page 2
    page2 = reverse("approvals:inbox") + "?page=2"
    response = client.post(
        reverse("approvals:row_decide", args=[row.pk, "reject"]),
        {"version": "1", "part": "inbox", "comment": "Нет отката"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver" + page2,
    )
    html = response.content.decode()
    assert response.status_code == 200
    # Page 2 again, without the rejected plan: the rows after it moved up.
    assert 'data-page="2"' in html and "Показано 11–20 из 24" in html
    assert f'id="inbox-row-{row.pk}"' not in html


def test_the_badge_is_one_query(author, approver, django_assert_num_queries):
    waiting_plans(author, approver, 30)
    with django_assert_num_queries(1):
        assert selectors.inbox_access(approver) == (True, 30)
    nobody = UserFactory(username="nobody", roles=["approver"])
    assert selectors.inbox_access(nobody) == (True, 0)  # a signer by role, nothing waiting
    stranger = UserFactory(username="stranger", roles=["author"])
    assert selectors.inbox_access(stranger) == (False, 0)


def test_the_prepared_badge_query_answers_as_the_orm_one(author, approver):
    # The navigation's query is built once with stand-in parameters (approvals.selectors._access_counts):
    # a deputy, a duty group's member and an approver get what the ORM query itself answers.
    import datetime

    from django.contrib.auth.models import Group
    from django.utils import timezone

    from approvals.choices import RowKind
    from approvals.models import Delegation

    plans = waiting_plans(author, approver, 3)
    duty = UserFactory(username="duty", roles=["duty_officer"])
    ApprovalRow.objects.create(
        plan=plans[0],
        position=2,
        kind=RowKind.ACKNOWLEDGEMENT,
        person_name="Дежурные",
        group=Group.objects.get(name="duty_officer"),
        status=ApprovalStatus.NOT_ACKNOWLEDGED,
    )
    waiting.mark_all()
    deputy = UserFactory(username="deputy", roles=["approver"])
    today = timezone.localdate()
    Delegation.objects.create(
        principal=approver, deputy=deputy, starts_on=today - datetime.timedelta(days=1), ends_on=today
    )
    for user, expected in ((approver, 3), (deputy, 3), (duty, 1), (author, 0)):
        named, count = selectors._access_query(user, today).get()
        assert selectors._access_counts(user) == (bool(named), count) and count == expected


def test_a_deputys_inbox_queries_do_not_grow_with_the_rows_signed_for_others(client, author, approver):
    # Each row a deputy signs for a principal is guarded by the delegation: read once, not once a row.
    import datetime

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from approvals.models import Delegation

    deputy = UserFactory(username="deputy", roles=["approver"])
    today = timezone.localdate()
    Delegation.objects.create(
        principal=approver, deputy=deputy, starts_on=today - datetime.timedelta(days=1), ends_on=today
    )
    waiting_plans(author, approver, 2, title="Первые")
    client.force_login(deputy)
    url = reverse("approvals:inbox")
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    waiting_plans(author, approver, 20, title="Ещё")
    with CaptureQueriesContext(connection) as more:
        html = client.get(url).content.decode()
    assert html.count('class="okno-inbox-row"') == 22 and html.count("okno-approve-form") == 22
    assert len(more) == len(few)
