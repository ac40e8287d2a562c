"""The scale benchmark's harness is code too: its data set is valid Okno data the pages show, and its query-growth
check fails a grown count. Tiny sizes here; the 50,000 plans are bench/scale.py's (docs/BENCHMARKS.md)."""

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from approvals import waiting
from approvals.models import ApprovalRow
from approvals.selectors import inbox_entries
from bench import scale_data
from bench.scale import check_query_growth
from changeplans.choices import PlanStatus
from changeplans.models import Plan, PlanEvent, PlanService, PlanVersion, Risk, RollbackAction, Service, Step
from tests.factories import UserFactory

PLANS, EVENTS, LONG = 30, 300, 100


@pytest.fixture
def built(db):
    return scale_data.build(plans=PLANS, events=EVENTS, long_plans=(LONG,))


def test_counts_match_what_was_asked(built):
    assert Plan.objects.count() == PLANS + 1 == built.plans
    assert PlanEvent.objects.count() == EVENTS == built.events
    assert set(Plan.objects.values_list("status", flat=True)) == set(PlanStatus.values)
    long_plan = Plan.objects.get(pk=built.long_plans[LONG])
    assert long_plan.author_id == built.bench_author and long_plan.steps.count() == LONG
    # Every step has its risks and a rollback action tied to them; every plan its services and history.
    assert Risk.objects.count() >= Step.objects.count() == RollbackAction.objects.count()
    assert RollbackAction.risks.through.objects.count() == Risk.objects.count()
    assert not Plan.objects.filter(plan_services__isnull=True).exists()
    assert not Plan.objects.filter(events__isnull=True).exists()
    assert PlanService.objects.count() >= PLANS
    submitted = Plan.objects.exclude(status__in=[PlanStatus.DRAFT, PlanStatus.CANCELLED])
    assert not submitted.filter(versions__isnull=True).exists()
    assert PlanVersion.objects.filter(snapshot__steps__0__name__isnull=False).exists()
    for table, n in built.counts.items():
        assert n > 0, table


def test_rows_keep_the_models_rules(built):
    # Deferred foreign keys and check constraints of the migrations, then each model's own validation.
    connection.check_constraints()
    for plan in Plan.objects.all():
        plan.full_clean(exclude=["status"])
    for step in Step.objects.filter(plan__author_id=built.bench_author)[:20]:
        step.full_clean(exclude=["status"])
    for row in ApprovalRow.objects.all()[:50]:
        row.full_clean(exclude=["status"])
    # The sequences were moved past the copied ids: the next rows the application writes do not collide.
    UserFactory(username="after_the_copy", roles=["author"])
    Service.objects.create(name="after.example.org", display_name="После")


def test_the_busy_approver_has_plans_waiting(built):
    user = UserFactory._meta.model.objects.get(pk=built.busy_approver)
    entries = inbox_entries(user)
    assert len(entries) == built.busy_waiting_plans >= 1
    assert all(entry["plan"].status == PlanStatus.IN_REVIEW for entry in entries)
    # One was changed after the approver signed it: the inbox's "what changed since" is there at any size.
    assert any(entry["last_decided"] == 1 and entry["version"] == 2 and entry["changes"] for entry in entries)
    # The copied rows carry the waiting marker the rule gives (approvals/waiting.py), as the services would set it.
    assert not waiting.drifted().exists() and ApprovalRow.objects.filter(waiting=True).exists()


def test_pages_render_with_it(built):
    author = UserFactory._meta.model.objects.get(pk=built.bench_author)
    client = Client()
    client.force_login(author)
    listing = client.get(reverse("changeplans:plan_list"))
    newest = Plan.objects.order_by("-window_start", "-id").first()
    assert listing.status_code == 200
    assert reverse("changeplans:plan_detail", args=[newest.pk]) in listing.content.decode()
    with_word = Plan.objects.filter(steps__name__icontains="узел").order_by("-window_start", "-id").first()
    found = client.get(reverse("changeplans:plan_list"), {"q": "узел"})
    assert found.status_code == 200
    assert reverse("changeplans:plan_detail", args=[with_word.pk]) in found.content.decode()
    for status in PlanStatus.values:
        plan = Plan.objects.filter(status=status).first()
        page = client.get(reverse("changeplans:plan_detail", args=[plan.pk]))
        assert page.status_code == 200, status
        assert plan.steps.order_by("-position").first().name in page.content.decode()
    long_page = client.get(reverse("changeplans:plan_detail", args=[built.long_plans[LONG]]))
    assert (
        f'id="step-{Step.objects.get(plan_id=built.long_plans[LONG], position=LONG).pk}"' in long_page.content.decode()
    )
    approver = Client()
    approver.force_login(UserFactory._meta.model.objects.get(pk=built.busy_approver))
    inbox = approver.get(reverse("approvals:inbox"))
    waiting = Plan.objects.filter(status=PlanStatus.IN_REVIEW, approval_rows__user_id=built.busy_approver).first()
    assert inbox.status_code == 200 and waiting.title in inbox.content.decode()


def test_query_growth_check_flags_a_grown_count_and_passes_an_equal_one():
    small = {"plan list": 9, "inbox": 7, "badge": 1, "not measured": None}
    assert check_query_growth(small, {"plan list": 9, "inbox": 7, "badge": 1, "not measured": 3}) == []
    assert check_query_growth(small, {"plan list": 10, "inbox": 7, "badge": 1}) == ["plan list: 9 → 10 queries"]
    assert (
        check_query_growth(small, {"plan list": 8, "inbox": 7}) == []
    )  # fewer is fine; a missing page is not compared
