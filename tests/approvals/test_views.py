"""Sign-off pages: the matrix on the plan page, the inbox, the diff; as pages and as htmx fragments; who may do what."""

import datetime
import json

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from approvals import selectors, services
from approvals.choices import ApprovalStatus, RowKind
from approvals.models import ApprovalRow, Delegation, MatrixTemplate, MatrixTemplateRow
from approvals.selectors import last_decided_versions, waiting_rows
from changeplans import services as plan_services
from changeplans.choices import EventKind, PlanStatus
from changeplans.models import Plan, PlanEvent
from tests.approvals.factories import plan_with_matrix
from tests.factories import PlanFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
HX = {"HTTP_HX_REQUEST": "true"}


def rows(plan):
    return list(ApprovalRow.objects.filter(plan=plan).order_by("position"))


def decide_url(row, action):
    return reverse("approvals:row_decide", args=[row.pk, action])


def toast(response):
    return json.loads(response["HX-Trigger"])["okno:toast"]


def waiting_pks(user):
    return sorted(waiting_rows(user).values_list("pk", flat=True))


def refused_events(plan, actor):
    return PlanEvent.objects.filter(plan=plan, kind=EventKind.REFUSED, actor=actor)


def edit_step(plan, author, **change):
    """A material edit of the plan's first step (a new version when the plan is under sign-off)."""
    step = plan.steps.order_by("position").first()
    field, value = next(iter(change.items()))
    plan_services.update_step_cell(step.pk, actor=author, field=field, value=value, revision=step.revision)


@pytest.fixture
def submitted():
    """A plan in review (version 1) with two parallel approvers and the duty group's acknowledgement."""
    plan, author, approvers, duty = plan_with_matrix(2)
    services.submit_plan(plan.pk, actor=author)
    return plan, author, approvers, duty


# --- the plan page --------------------------------------------------------------------------------


def test_plan_page_shows_the_matrix_and_my_buttons(client, submitted):
    plan, author, (a1, a2), duty = submitted
    r1, r2, ack = rows(plan)
    client.force_login(a1)
    html = client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
    assert 'id="approval-matrix"' in html and 'data-version="1"' in html
    # Buttons for my row only, posting the version I see.
    assert decide_url(r1, "approve") in html and decide_url(r1, "reject") in html
    assert decide_url(r2, "approve") not in html and decide_url(ack, "acknowledge") not in html
    assert 'name="version" value="1"' in html
    assert 'id="plan-status"' in html and 'data-status="in_review"' in html


def test_matrix_fragment_for_htmx_and_redirect_otherwise(client, submitted):
    plan, author, (a1, a2), duty = submitted
    client.force_login(a1)
    url = reverse("approvals:plan_matrix", args=[plan.pk])
    response = client.get(url, **HX)
    html = response.content.decode()
    assert response.status_code == 200 and "HX-Request" in response["Vary"]
    assert html.lstrip().startswith('<section class="card" id="approval-matrix"') and "<html" not in html
    # The status badge, the sign-off bar, the inbox badge and the history come out of band.
    for part in (
        'id="plan-status" hx-swap-oob="true"',
        'id="signoff-bar"',
        'id="nav-inbox-count" hx-swap-oob="true"',
        'id="history" hx-swap-oob="true"',
    ):
        assert part in html
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].endswith(f"/plans/{plan.pk}/#approval-matrix")


def test_decided_rows_show_who_signed_which_version_and_the_delegation(client, submitted):
    plan, author, (a1, a2), duty = submitted
    r1, r2, ack = rows(plan)
    deputy = UserFactory(username="deputy", last_name="Иванов", first_name="П.С.", roles=["approver"])
    today = timezone.localdate()
    Delegation.objects.create(principal=a2, deputy=deputy, starts_on=today, ends_on=today)
    services.approve_row(r1.pk, actor=a1, version=1, comment="Проверено")
    services.approve_row(r2.pk, actor=deputy, version=1)
    client.force_login(author)
    html = client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
    assert "Проверено" in html
    assert html.count('class="okno-signed-version" data-version="1"') == 2
    # "за Согласующий2 А.А. — Иванов П.С."
    assert "Согласующий2 А.А. — Иванов П.С." in html


def test_deputy_sees_the_buttons_of_the_delegated_row(client, submitted):
    plan, author, (a1, a2), duty = submitted
    r1, r2, ack = rows(plan)
    deputy = UserFactory(username="deputy", last_name="Иванов", first_name="П.С.", roles=["approver"])
    today = timezone.localdate()
    Delegation.objects.create(principal=a2, deputy=deputy, starts_on=today, ends_on=today)
    client.force_login(deputy)
    html = client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
    assert decide_url(r2, "approve") in html and decide_url(r1, "approve") not in html
    assert "okno-for-principal" in html


# --- actions --------------------------------------------------------------------------------------


def test_approve_through_htmx_returns_the_matrix_and_a_toast(client, submitted):
    plan, author, (a1, a2), duty = submitted
    r1 = rows(plan)[0]
    client.force_login(a1)
    response = client.post(decide_url(r1, "approve"), {"version": 1, "comment": "ок", "part": "matrix"}, **HX)
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<section class="card" id="approval-matrix"')
    assert toast(response)["level"] == "success"
    r1.refresh_from_db()
    assert (r1.status, r1.decided_by, r1.version.number, r1.comment) == (ApprovalStatus.APPROVED, a1, 1, "ок")


def test_approve_with_a_plain_form_redirects_back(client, submitted):
    plan, author, (a1, a2), duty = submitted
    r1 = rows(plan)[0]
    client.force_login(a1)
    response = client.post(decide_url(r1, "approve"), {"version": 1})
    assert response.status_code == 302 and response["Location"].endswith(f"/plans/{plan.pk}/#approval-matrix")
    assert rows(plan)[0].status == ApprovalStatus.APPROVED


def test_forged_post_on_another_approvers_row_is_refused_and_recorded(client, submitted):
    plan, author, (a1, a2), duty = submitted
    r2 = rows(plan)[1]
    client.force_login(a1)
    # Given approver 1, when they post approve for approver 2's row (as htmx and as a plain form)
    response = client.post(decide_url(r2, "approve"), {"version": 1, "part": "matrix"}, **HX)
    # then 403 with the reason as a toast, nothing swapped, and the attempt is in the history
    assert response.status_code == 403 and response["HX-Reswap"] == "none"
    assert toast(response)["level"] == "danger" and "Согласующий2 А.А." in toast(response)["text"]
    assert client.post(decide_url(r2, "approve"), {"version": 1}).status_code == 403
    assert client.post(decide_url(r2, "reject"), {"version": 1, "comment": "нет"}).status_code == 403
    assert rows(plan)[1].status == ApprovalStatus.PENDING
    assert refused_events(plan, a1).count() == 3
    assert refused_events(plan, a1).first().object_id == r2.pk


def test_author_cannot_approve_through_the_page(client):
    plan, author, (a1, a2), duty = plan_with_matrix(2)
    # The author is also named in the matrix: the page shows no buttons, only the reason.
    ApprovalRow.objects.filter(pk=rows(plan)[0].pk).update(user=author)
    services.submit_plan(plan.pk, actor=author)
    r1 = rows(plan)[0]
    client.force_login(author)
    html = client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
    assert decide_url(r1, "approve") not in html and "okno-refusal" in html
    response = client.post(decide_url(r1, "approve"), {"version": 1, "part": "matrix"}, **HX)
    assert response.status_code == 403
    assert rows(plan)[0].status == ApprovalStatus.PENDING
    assert refused_events(plan, author).count() == 1


def test_acting_needs_login_and_post(client, submitted):
    plan, author, (a1, a2), duty = submitted
    r1 = rows(plan)[0]
    response = client.post(decide_url(r1, "approve"), {"version": 1})
    assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(a1)
    assert client.get(decide_url(r1, "approve")).status_code == 405
    assert client.post(reverse("approvals:row_decide", args=[r1.pk, "delete"]), {"version": 1}).status_code == 404
    assert client.post(decide_url(r1, "approve"), {"version": "x"}).status_code == 400
    assert rows(plan)[0].status == ApprovalStatus.PENDING


def test_stale_version_gives_a_message_with_a_link_to_the_diff(client, submitted):
    plan, author, (a1, a2), duty = submitted
    r1, r2, ack = rows(plan)
    services.approve_row(r1.pk, actor=a1, version=1)
    edit_step(plan, author, duration_text="2-3 часа")  # version 2
    client.force_login(a2)
    diff_url = reverse("approvals:plan_diff", args=[plan.pk]) + "?from=1"
    # As htmx: the matrix comes back (409) with the message and the link; nothing is signed.
    response = client.post(decide_url(r2, "approve"), {"version": 1, "part": "matrix"}, **HX)
    html = response.content.decode()
    assert response.status_code == 409 and "okno-stale" in html and f'href="{diff_url}"' in html
    assert 'name="version" value="2"' in html  # the refreshed buttons sign what is current
    assert toast(response)["level"] == "warning"
    # As a plain form: to the diff, with the message.
    response = client.post(decide_url(r2, "approve"), {"version": 1})
    assert response.status_code == 302 and response["Location"] == diff_url
    assert rows(plan)[1].status == ApprovalStatus.PENDING


def test_reject_needs_a_reason_and_the_author_sees_it(client, submitted):
    plan, author, (a1, a2), duty = submitted
    r2 = rows(plan)[1]
    client.force_login(a2)
    response = client.post(decide_url(r2, "reject"), {"version": 1, "comment": "  ", "part": "matrix"}, **HX)
    html = response.content.decode()
    assert response.status_code == 422 and "okno-decision-error" in html
    assert f'id="reject-matrix-{r2.pk}" class="collapse w-100 okno-reject-form show"' in html  # the form stays open
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.IN_REVIEW

    response = client.post(
        decide_url(r2, "reject"), {"version": 1, "comment": "Нет плана отката", "part": "matrix"}, **HX
    )
    assert response.status_code == 200 and 'data-status="rejected"' in response.content.decode()
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.REJECTED

    client.force_login(author)
    html = client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
    assert 'class="okno-rejection-reason">Нет плана отката<' in html
    assert 'id="submit-plan"' in html  # the author may send it again


def test_duty_group_member_acknowledges(client, submitted):
    plan, author, (a1, a2), duty = submitted
    r1, r2, ack = rows(plan)
    services.approve_row(r1.pk, actor=a1, version=1)
    services.approve_row(r2.pk, actor=a2, version=1)
    # An approver may not acknowledge for the duty officer.
    client.force_login(a1)
    assert client.post(decide_url(ack, "acknowledge"), {"version": 1}).status_code == 403
    assert refused_events(plan, a1).count() == 1
    client.force_login(duty)
    html = client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
    assert decide_url(ack, "acknowledge") in html and decide_url(r1, "approve") not in html
    response = client.post(decide_url(ack, "acknowledge"), {"version": 1, "part": "matrix"}, **HX)
    assert response.status_code == 200
    assert (
        'id="plan-status" hx-swap-oob="true"><span class="badge okno-status text-bg-primary" data-status="approved"'
        in response.content.decode()
    )
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.APPROVED


# --- submit and templates ---------------------------------------------------------------------------


def test_author_submits_from_the_page(client):
    plan, author, approvers, duty = plan_with_matrix(2)
    client.force_login(author)
    html = client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
    assert 'id="submit-plan"' in html and "submit-refusal" not in html
    response = client.post(reverse("approvals:plan_submit", args=[plan.pk]), **HX)
    assert response.status_code == 200 and toast(response)["level"] == "success"
    assert 'data-version="1"' in response.content.decode()
    plan.refresh_from_db()
    assert plan.status == PlanStatus.IN_REVIEW and plan.versions.count() == 1


def test_submit_errors_are_shown(client, author):
    # Given a draft with steps but no approvers, and one with approvers but no steps
    no_matrix = PlanFactory(author=author)
    StepFactory(plan=no_matrix, position=1)
    no_steps = PlanFactory(author=author)
    ApprovalRow.objects.create(
        plan=no_steps, position=1, person_name="Согласующий", user=UserFactory(username="x", roles=["approver"])
    )
    client.force_login(author)
    for plan in (no_matrix, no_steps):
        # the page names the reason next to a disabled button
        html = client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
        assert 'id="submit-refusal"' in html
        # and a post anyway is refused with the message where the button is
        response = client.post(reverse("approvals:plan_submit", args=[plan.pk]), **HX)
        assert response.status_code == 422 and "okno-submit-error" in response.content.decode()
        assert toast(response)["level"] == "danger"
        assert Plan.objects.get(pk=plan.pk).status == PlanStatus.DRAFT
    response = client.post(reverse("approvals:plan_submit", args=[no_matrix.pk]))
    assert response.status_code == 302


def test_only_the_author_submits(client):
    plan, author, (a1, a2), duty = plan_with_matrix(2)
    client.force_login(a1)
    assert 'id="submit-plan"' not in client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
    response = client.post(reverse("approvals:plan_submit", args=[plan.pk]), **HX)
    assert response.status_code == 403 and toast(response)["level"] == "danger"
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.DRAFT


def test_author_applies_a_matrix_template(client, author):
    plan = PlanFactory(author=author)
    StepFactory(plan=plan, position=1)
    template = MatrixTemplate.objects.create(name="PROD Kubernetes")
    boss = UserFactory(username="boss", roles=["approver"])
    MatrixTemplateRow.objects.create(
        template=template, position=1, job_title="Директор по ИТ", person_name="Матвеев И.Б.", user=boss
    )
    MatrixTemplateRow.objects.create(
        template=template,
        position=2,
        kind=RowKind.ACKNOWLEDGEMENT,
        person_name="Дежурный НЭС",
        group=Group.objects.get_or_create(name="duty_officer")[0],
    )
    client.force_login(author)
    html = client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
    assert 'id="matrix-template"' in html  # its options load when the author opens the control
    options = client.get(reverse("approvals:matrix_templates", args=[plan.pk]), **HX).content.decode()
    assert "PROD Kubernetes" in options
    response = client.post(reverse("approvals:plan_apply_template", args=[plan.pk]), {"template": template.pk}, **HX)
    assert response.status_code == 200 and "Матвеев И.Б." in response.content.decode()
    assert [(r.person_name, r.status) for r in rows(plan)] == [
        ("Матвеев И.Б.", ApprovalStatus.PENDING),
        ("Дежурный НЭС", ApprovalStatus.NOT_ACKNOWLEDGED),
    ]
    # A missing template is an input error; another user is refused; a plan under sign-off keeps its matrix.
    assert (
        client.post(reverse("approvals:plan_apply_template", args=[plan.pk]), {"template": 999999}, **HX).status_code
        == 422
    )
    client.force_login(boss)
    assert (
        client.post(
            reverse("approvals:plan_apply_template", args=[plan.pk]), {"template": template.pk}, **HX
        ).status_code
        == 403
    )
    services.submit_plan(plan.pk, actor=author)
    client.force_login(author)
    assert 'id="matrix-template"' not in client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
    response = client.post(reverse("approvals:plan_apply_template", args=[plan.pk]), {"template": template.pk}, **HX)
    assert response.status_code == 422 and "okno-matrix-error" in response.content.decode()


# --- the inbox --------------------------------------------------------------------------------------


def test_inbox_shows_only_my_rows_in_open_stages(client):
    # Given a sequential plan (approver1 in stage 1, approver2 in stage 2), a draft and a plan of others
    plan, author, (a1, a2), duty = plan_with_matrix(2, stages=[1, 2])
    services.submit_plan(plan.pk, actor=author)
    draft, *_ = plan_with_matrix(2, author=author)
    other = PlanFactory(author=author)
    StepFactory(plan=other, position=1)
    stranger = UserFactory(username="stranger", roles=["approver"])
    ApprovalRow.objects.create(plan=other, position=1, person_name="Чужой", user=stranger)
    services.submit_plan(other.pk, actor=author)
    url = reverse("approvals:inbox")

    client.force_login(a2)
    assert "inbox-row-" not in client.get(url).content.decode()  # stage 2 is not open yet
    r1, r2, ack = rows(plan)
    (foreign,) = rows(other)
    # The query's choice, row by row: stage 1 only, the duty group's acknowledgement, nothing of the draft.
    assert waiting_pks(a1) == [r1.pk] and waiting_pks(a2) == [] and waiting_pks(duty) == [ack.pk]
    assert waiting_pks(stranger) == [foreign.pk] and waiting_pks(author) == []
    client.force_login(a1)
    response = client.get(url)
    html = response.content.decode()
    assert f'id="inbox-row-{r1.pk}"' in html and html.count('class="okno-inbox-row"') == 1
    assert decide_url(r1, "approve") in html
    # As an htmx fragment: the list alone.
    response = client.get(url, **HX)
    assert response.content.decode().lstrip().startswith('<section id="inbox"') and "HX-Request" in response["Vary"]

    services.approve_row(r1.pk, actor=a1, version=1)
    client.force_login(a2)
    assert f'id="inbox-row-{r2.pk}"' in client.get(url).content.decode()
    client.force_login(duty)
    html = client.get(url).content.decode()
    assert f'id="inbox-row-{ack.pk}"' in html and decide_url(ack, "acknowledge") in html
    # Stage 1 is complete: stage 2 opens; the acknowledgement still waits; the other plan is unchanged.
    assert waiting_pks(a1) == [] and waiting_pks(a2) == [r2.pk] and waiting_pks(duty) == [ack.pk]
    assert waiting_pks(stranger) == [foreign.pk]
    services.acknowledge_row(ack.pk, actor=duty, version=1)
    assert waiting_pks(duty) == []


def test_inbox_shows_delegated_rows_for_the_principal(client, submitted):
    plan, author, (a1, a2), duty = submitted
    deputy = UserFactory(username="deputy", last_name="Иванов", first_name="П.С.", roles=["approver"])
    today = timezone.localdate()
    Delegation.objects.create(principal=a1, deputy=deputy, starts_on=today - datetime.timedelta(days=3), ends_on=today)
    Delegation.objects.create(
        principal=a2,
        deputy=deputy,
        starts_on=today + datetime.timedelta(days=1),
        ends_on=today + datetime.timedelta(days=2),
    )
    client.force_login(deputy)
    html = client.get(reverse("approvals:inbox")).content.decode()
    r1, r2, ack = rows(plan)
    assert f'id="inbox-row-{r1.pk}"' in html and f'id="inbox-row-{r2.pk}"' not in html
    assert "okno-inbox-principal" in html and "Согласующий1 А.А." in html
    # Only the delegation in force today counts; the principal still sees their own row.
    assert waiting_pks(deputy) == [r1.pk] and waiting_pks(a1) == [r1.pk] and waiting_pks(a2) == [r2.pk]


def test_inbox_links_to_what_changed_since_my_last_signature(client, submitted):
    plan, author, (a1, a2), duty = submitted
    services.approve_row(rows(plan)[0].pk, actor=a1, version=1)
    edit_step(plan, author, name="Другое имя шага")  # version 2 resets approver 1
    client.force_login(a1)
    html = client.get(reverse("approvals:inbox")).content.decode()
    diff = reverse("approvals:plan_diff", args=[plan.pk])
    assert f'href="{diff}?from=1&amp;to=2"' in html
    assert 'data-version="2"' in html and 'name="version" value="2"' in html
    assert last_decided_versions(a1, [plan.pk]) == {plan.pk: 1}
    assert last_decided_versions(a2, [plan.pk]) == {}


def test_acting_from_the_inbox_returns_the_inbox(client, submitted):
    plan, author, (a1, a2), duty = submitted
    r1 = rows(plan)[0]
    client.force_login(a1)
    response = client.post(decide_url(r1, "approve"), {"version": 1, "part": "inbox"}, **HX)
    html = response.content.decode()
    assert (
        response.status_code == 200 and html.lstrip().startswith('<section id="inbox"') and 'id="inbox-empty"' in html
    )
    assert 'id="nav-inbox-count" hx-swap-oob="true"></span>' in html  # the badge empties
    response = client.post(decide_url(rows(plan)[1], "approve"), {"version": 1, "part": "inbox"})
    assert response.status_code == 403


def _inbox_plan(author, approver, duty_group):
    """A plan in review whose version 2 waits for `approver` after they approved version 1."""
    plan = PlanFactory(author=author)
    StepFactory(plan=plan, position=1)
    row = ApprovalRow.objects.create(plan=plan, position=1, person_name="Согласующий", user=approver)
    ApprovalRow.objects.create(
        plan=plan,
        position=2,
        kind=RowKind.ACKNOWLEDGEMENT,
        person_name="Дежурный",
        group=duty_group,
        status=ApprovalStatus.NOT_ACKNOWLEDGED,
    )
    services.submit_plan(plan.pk, actor=author)
    services.approve_row(row.pk, actor=approver, version=1)
    edit_step(plan, author, name="Изменённый шаг")
    return plan


@pytest.mark.parametrize("who", ["approver", "duty"])
def test_inbox_query_count_does_not_grow_with_plans(client, author, who):
    approver = UserFactory(username="approver", roles=["approver"])
    duty = UserFactory(username="duty", roles=["duty_officer"])
    duty_group = Group.objects.get(name="duty_officer")
    user = approver if who == "approver" else duty
    client.force_login(user)
    url = reverse("approvals:inbox")

    def inbox_queries(expected_rows):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.content.decode().count('class="okno-inbox-row"') == expected_rows
        return len(queries)

    for _ in range(2):
        _inbox_plan(author, approver, duty_group)
    few = inbox_queries(2)
    for _ in range(8):
        _inbox_plan(author, approver, duty_group)
    assert inbox_queries(10) == few


@pytest.mark.parametrize("who", ["approver", "duty", "author"])
def test_matrix_query_count_does_not_grow_with_rows(who):
    def matrix_queries(approvers):
        author = UserFactory(username=f"author-{approvers}", roles=["author"])
        plan, author, users, duty = plan_with_matrix(approvers, author=author)
        services.submit_plan(plan.pk, actor=author)
        user = {"approver": users[0], "duty": duty, "author": author}[who]
        plan = Plan.objects.get(pk=plan.pk)
        with CaptureQueriesContext(connection) as queries:
            signoff = selectors.matrix_context(plan, user)
        assert len(signoff["rows"]) == approvers + 1
        return len(queries)

    assert matrix_queries(2) == matrix_queries(8)


def test_nav_badge_counts_in_one_query(submitted):
    plan, author, (a1, a2), duty = submitted
    template = Template("{% load signoff %}{% waiting_count as n %}{{ n }}")
    with CaptureQueriesContext(connection) as queries:
        text = template.render(Context({"user": a1}))
    assert text == "1" and len(queries) == 1
    assert Template("{% load signoff %}{% waiting_count as n %}{{ n }}").render(Context({"user": author})) == "0"


def test_nav_link_on_every_page(client, submitted):
    plan, author, (a1, a2), duty = submitted
    client.force_login(a1)
    html = client.get(reverse("changeplans:plan_list")).content.decode()
    assert 'id="nav-inbox"' in html and 'data-count="1"' in html


# --- the diff page ----------------------------------------------------------------------------------


def test_diff_page_defaults_to_changes_since_my_signature(client, submitted):
    plan, author, (a1, a2), duty = submitted
    services.approve_row(rows(plan)[0].pk, actor=a1, version=1)
    edit_step(plan, author, name="Снять дамп etcd")  # version 2
    edit_step(plan, author, duration_text="30 мин")  # version 3
    url = reverse("approvals:plan_diff", args=[plan.pk])
    client.force_login(a1)
    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-from="1" data-to="3"' in html
    assert "<del>Шаг 1</del>" in html and "<ins>Снять дамп etcd</ins>" in html
    assert html.count('class="okno-change"') == 2
    assert html.count('class="list-group-item py-1 okno-version"') == 3
    # My row is there to sign version 3.
    assert decide_url(rows(plan)[0], "approve") in html and 'name="version" value="3"' in html


def test_diff_page_as_fragment_and_with_chosen_versions(client, submitted):
    plan, author, (a1, a2), duty = submitted
    edit_step(plan, author, name="Снять дамп etcd")  # version 2
    edit_step(plan, author, duration_text="30 мин")  # version 3
    url = reverse("approvals:plan_diff", args=[plan.pk])
    client.force_login(a2)
    response = client.get(url, {"from": 2, "to": 3}, **HX)
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="diff"') and 'data-from="2" data-to="3"' in html
    assert html.count('class="okno-change"') == 1 and "Снять дамп etcd" not in html
    # Someone who never signed sees everything from version 1; a wrong number falls back to that.
    assert 'data-from="1" data-to="3"' in client.get(url, {"from": 99}).content.decode()
    assert 'data-from="3" data-to="3"' in client.get(url, {"from": 3, "to": 3}).content.decode()


def test_diff_page_of_a_draft_and_anyone_signed_in_sees_it(client, author):
    plan = PlanFactory(author=author)
    url = reverse("approvals:plan_diff", args=[plan.pk])
    assert client.get(url).status_code == 302
    client.force_login(UserFactory(username="reader"))
    response = client.get(url)
    assert response.status_code == 200 and 'id="diff"' not in response.content.decode()
    assert client.get(reverse("approvals:plan_diff", args=[999999])).status_code == 404


def test_acting_from_the_diff_page_returns_my_rows(client, submitted):
    plan, author, (a1, a2), duty = submitted
    edit_step(plan, author, name="Снять дамп etcd")  # version 2
    client.force_login(a1)
    response = client.post(decide_url(rows(plan)[0], "approve"), {"version": 2, "part": "diff"}, **HX)
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<section id="diff-actions"')
    assert 'data-status="approved"' in html
    assert rows(plan)[0].version.number == 2


# --- admin ------------------------------------------------------------------------------------------


def test_admin_keeps_decided_rows(client, admin_user, submitted):
    plan, author, (a1, a2), duty = submitted
    r1, r2, ack = rows(plan)
    services.approve_row(r1.pk, actor=a1, version=1)
    client.force_login(admin_user)
    change = reverse("admin:approvals_approvalrow_change", args=[r1.pk])
    html = client.get(change).content.decode()
    assert 'name="person_name"' not in html and 'name="status"' not in html  # all read-only
    assert client.get(reverse("admin:approvals_approvalrow_delete", args=[r1.pk])).status_code == 403
    # An undecided row may be corrected but not signed here.
    html = client.get(reverse("admin:approvals_approvalrow_change", args=[r2.pk])).content.decode()
    assert 'name="person_name"' in html and 'name="status"' not in html and 'name="decided_by"' not in html
    response = client.post(
        reverse("admin:approvals_approvalrow_changelist"), {"action": "delete_selected", "_selected_action": [r1.pk]}
    )
    assert ApprovalRow.objects.filter(pk=r1.pk).exists()
    assert response.status_code in (200, 302)


def test_admin_delegation_records_who_created_it(client, admin_user):
    principal = UserFactory(username="principal")
    deputy = UserFactory(username="deputy")
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:approvals_delegation_add"),
        {
            "principal": principal.pk,
            "deputy": deputy.pk,
            "starts_on": "2025-03-01",
            "ends_on": "2025-03-10",
            "reason": "отпуск",
        },
    )
    assert response.status_code == 302
    assert Delegation.objects.get().created_by == admin_user


def test_admin_matrix_template_with_rows(client, admin_user):
    client.force_login(admin_user)
    approver = UserFactory(username="boss")
    response = client.post(
        reverse("admin:approvals_matrixtemplate_add"),
        {
            "name": "PROD Kubernetes",
            "description": "",
            "rows-TOTAL_FORMS": "1",
            "rows-INITIAL_FORMS": "0",
            "rows-MIN_NUM_FORMS": "0",
            "rows-MAX_NUM_FORMS": "1000",
            "rows-0-position": "1",
            "rows-0-stage": "1",
            "rows-0-kind": "approval",
            "rows-0-job_title": "Директор по ИТ",
            "rows-0-person_name": "Матвеев И.Б.",
            "rows-0-user": approver.pk,
            "rows-0-group": "",
        },
    )
    assert response.status_code == 302
    assert MatrixTemplate.objects.get().rows.get().person_name == "Матвеев И.Б."
    assert client.get(reverse("admin:approvals_matrixtemplate_changelist")).status_code == 200


def test_admin_new_acknowledgement_row_starts_not_acknowledged(client, admin_user, author):
    plan = PlanFactory(author=author)
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:approvals_approvalrow_add"),
        {
            "plan": plan.pk,
            "position": 1,
            "kind": "acknowledgement",
            "job_title": "",
            "person_name": "Дежурный НЭС",
            "user": "",
            "group": Group.objects.get_or_create(name="duty_officer")[0].pk,
            "stage": 1,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ApprovalRow.objects.get(plan=plan).status == ApprovalStatus.NOT_ACKNOWLEDGED
