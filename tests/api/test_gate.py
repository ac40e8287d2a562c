"""The deployment gate: GET /api/v1/gate/ (api/gate.py, api/views_gate.py, docs/gate.md)."""

import datetime
import zoneinfo

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from api.choices import TokenScope
from api.gate import gate_decision
from api.tokens import issue_token
from changeplans.choices import GatePolicy, PlanStatus
from changeplans.models import Plan, PlanService
from runbooks.models import Cluster, StepAutomation
from tests.factories import PlanFactory, ServiceFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NSK = zoneinfo.ZoneInfo("Asia/Novosibirsk")
START = datetime.datetime(2025, 3, 20, 20, 0, tzinfo=NSK)
END = datetime.datetime(2025, 3, 20, 23, 5, tzinfo=NSK)
INSIDE = START + datetime.timedelta(hours=1)
BEFORE = START - datetime.timedelta(hours=3)
AFTER = END + datetime.timedelta(hours=1)
URL = reverse("api:gate")


@pytest.fixture
def service(db):
    return ServiceFactory(name="www.nskes.ru", display_name="Инфосайт")


@pytest.fixture
def cluster(db):
    return Cluster.objects.create(name="prod-k8s")


@pytest.fixture
def api(client):
    """A signed-in engineer who reads the gate's reasons in English."""
    client.force_login(UserFactory(username="pipeline", roles=["author"]))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def make_plan(status, *, service=None, cluster=None, start=START, end=END, title=None):
    """A plan in `status` for the service (PlanService) or touching the cluster (a step's automation)."""
    plan = PlanFactory(window_start=start, window_end=end, **({"title": title} if title else {}))
    Plan.objects.filter(pk=plan.pk).update(status=status)  # the status field is protected: no transition here
    plan.refresh_from_db()
    if service is not None:
        PlanService.objects.create(plan=plan, service=service)
    if cluster is not None:
        step = StepFactory(plan=plan, position=1)
        StepAutomation.objects.create(step=step, kind="shell", cluster=cluster, spec={"argv": ["true"]})
    return plan


def ask(client, at=None, **target):
    params = {**target, **({"at": at.isoformat() if isinstance(at, datetime.datetime) else at} if at else {})}
    return client.get(URL, params)


@pytest.fixture(params=["service", "cluster"])
def target(request, service, cluster):
    """(query parameters, make_plan keyword): each case runs for a service and for a cluster."""
    if request.param == "service":
        return {"service": service.name}, {"service": service}
    return {"cluster": cluster.name}, {"cluster": cluster}


# --- every case, for a service and for a cluster ---


def test_no_plan_blocks(api, target):
    query, _ = target
    response = ask(api, INSIDE, **query)

    assert response.status_code == 423
    body = response.json()
    assert body["allowed"] is False and body["decision"] == "blocked"
    assert body["plans"] == []
    assert len(body["reasons"]) == 1 and body["reasons"][0].startswith("No plan")


@pytest.mark.parametrize(
    ("status", "at", "reason"),
    [
        (PlanStatus.DRAFT, INSIDE, "is a draft: it has not been submitted for sign-off"),
        (PlanStatus.IN_REVIEW, INSIDE, "is in review: it is not approved yet"),
        (PlanStatus.REJECTED, INSIDE, "was rejected"),
        (PlanStatus.APPROVED, BEFORE, "is approved, but its window opens at 20.03.2025 20:00 (Asia/Novosibirsk)"),
        (PlanStatus.APPROVED, AFTER, "is approved, but its window closed at 20.03.2025 23:05 (Asia/Novosibirsk)"),
        (PlanStatus.IN_PROGRESS, AFTER, "is in progress, but its window closed at 20.03.2025 23:05"),
        (PlanStatus.IN_PROGRESS, BEFORE, "is in progress, but its window opens at 20.03.2025 20:00"),
        (PlanStatus.COMPLETED, INSIDE, "has finished (COMPLETED): its work is over"),
        (PlanStatus.COMPLETED_WITH_ROLLBACK, INSIDE, "has finished (COMPLETED WITH ROLLBACK)"),
        (PlanStatus.FAILED, INSIDE, "has finished (FAILED)"),
        (PlanStatus.CANCELLED, INSIDE, "was cancelled"),
    ],
)
def test_blocked_cases_name_the_plan_and_why(api, target, status, at, reason):
    query, link = target
    plan = make_plan(status, title="Замена CNI", **link)

    response = ask(api, at, **query)

    assert response.status_code == 423
    body = response.json()
    assert body["allowed"] is False and body["decision"] == "blocked"
    assert [p["id"] for p in body["plans"]] == [plan.pk]
    assert body["plans"][0]["status"] == status
    assert body["reasons"][0].startswith("No approved plan")
    assert f"Plan #{plan.pk} “Замена CNI” {reason}" in body["reasons"][1]


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (PlanStatus.APPROVED, "is approved and its window is open until 20.03.2025 23:05 (Asia/Novosibirsk)."),
        (PlanStatus.IN_PROGRESS, "is in progress and its window is open until 20.03.2025 23:05 (Asia/Novosibirsk)."),
    ],
)
def test_open_window_allows(api, target, status, reason, rf):
    query, link = target
    plan = make_plan(status, title="Замена CNI", **link)

    response = ask(api, INSIDE, **query)

    assert response.status_code == 200
    body = response.json()
    assert body["allowed"] is True and body["decision"] == "allowed"
    assert body["reasons"] == [f"Plan #{plan.pk} “Замена CNI” {reason}"]
    assert body["plans"] == [
        {
            "id": plan.pk,
            "title": "Замена CNI",
            "status": status,
            "window_start": "2025-03-20T20:00:00+07:00",
            "window_end": "2025-03-20T23:05:00+07:00",
            "time_zone": "Asia/Novosibirsk",
            "url": f"http://testserver/plans/{plan.pk}/",
        }
    ]
    assert body["checked_at"] == "2025-03-20T21:00:00+07:00"
    assert response["Cache-Control"] == "no-store"


def test_window_boundaries(api, target):
    # Given an approved plan with the window [20:00, 23:05) Novosibirsk
    query, link = target
    make_plan(PlanStatus.APPROVED, **link)
    second = datetime.timedelta(seconds=1)
    # Then: allowed from exactly its start, blocked from exactly its end
    assert ask(api, START - second, **query).status_code == 423
    assert ask(api, START, **query).status_code == 200
    assert ask(api, END - second, **query).status_code == 200
    response = ask(api, END, **query)
    assert response.status_code == 423
    assert "window closed at 20.03.2025 23:05" in response.json()["reasons"][1]


def test_at_in_another_zone(api, target):
    query, link = target
    make_plan(PlanStatus.APPROVED, **link)
    # 20:00 in Novosibirsk (+07) is 13:00 UTC and 16:00 in Moscow (+03)
    assert ask(api, "2025-03-20T13:00:00Z", **query).status_code == 200
    assert ask(api, "2025-03-20T12:59:59Z", **query).status_code == 423
    assert ask(api, "2025-03-20T16:00:00+03:00", **query).status_code == 200
    assert ask(api, "2025-03-20T15:59:59+03:00", **query).status_code == 423
    # 23:05 in Novosibirsk is 09:05 in New York (EDT, −04:00): the window has closed
    response = ask(api, "2025-03-20T12:05:00-04:00", **query)
    assert response.status_code == 423
    assert response.json()["checked_at"] == "2025-03-20T23:05:00+07:00"


def test_an_unencoded_plus_in_at_is_read_as_the_offset(api, service):
    # `curl "…&at=2025-03-20T20:30:00+07:00"` without --data-urlencode: the "+" arrives as a space
    make_plan(PlanStatus.APPROVED, service=service)
    response = api.get(f"{URL}?service={service.name}&at=2025-03-20T20:30:00+07:00")
    assert response.status_code == 200
    assert response.json()["checked_at"] == "2025-03-20T20:30:00+07:00"


def test_at_defaults_to_now(api, target):
    query, link = target
    now = timezone.now().replace(microsecond=0)
    plan = make_plan(
        PlanStatus.APPROVED, start=now - datetime.timedelta(minutes=5), end=now + datetime.timedelta(hours=2), **link
    )
    response = api.get(URL, query)
    assert response.status_code == 200
    assert [p["id"] for p in response.json()["plans"]] == [plan.pk]
    # A window that closed a minute ago no longer allows
    Plan.objects.filter(pk=plan.pk).update(window_end=now - datetime.timedelta(minutes=1))
    assert api.get(URL, query).status_code == 423


def test_cancelled_and_approved_plans_together_allow(api, target):
    # Given a cancelled plan and an approved one, both with their window open
    query, link = target
    make_plan(PlanStatus.CANCELLED, title="Отменённые работы", **link)
    approved = make_plan(PlanStatus.APPROVED, title="Утверждённые работы", **link)

    response = ask(api, INSIDE, **query)

    # Then: the approved plan allows; only it is named
    assert response.status_code == 200
    body = response.json()
    assert [p["id"] for p in body["plans"]] == [approved.pk]
    assert body["reasons"] == [
        f"Plan #{approved.pk} “Утверждённые работы” is approved and its window is open until 20.03.2025 23:05 "
        "(Asia/Novosibirsk)."
    ]


def test_a_plan_for_something_else_does_not_count(api, service, cluster):
    # An approved open plan for another service, touching another cluster
    other = make_plan(PlanStatus.APPROVED, service=ServiceFactory())
    StepAutomation.objects.create(
        step=StepFactory(plan=other, position=1), kind="shell", cluster=Cluster.objects.create(name="dev-k8s"), spec={}
    )
    make_plan(PlanStatus.APPROVED)  # and one that names nothing

    assert ask(api, INSIDE, service=service.name).status_code == 423
    assert ask(api, INSIDE, cluster=cluster.name).status_code == 423


def test_the_next_approved_window_is_named_when_blocked(api, target):
    # Given a cancelled plan around now and an approved one next week
    query, link = target
    make_plan(PlanStatus.CANCELLED, **link)
    week = datetime.timedelta(days=7)
    upcoming = make_plan(PlanStatus.APPROVED, start=START + week, end=END + week, **link)

    response = ask(api, INSIDE, **query)

    assert response.status_code == 423
    body = response.json()
    assert [p["id"] for p in body["plans"]][-1] == upcoming.pk
    assert body["reasons"][-1].endswith("is approved, but its window opens at 27.03.2025 20:00 (Asia/Novosibirsk).")


def test_a_cluster_plan_with_many_automated_steps_is_named_once(api, cluster):
    plan = make_plan(PlanStatus.IN_REVIEW, cluster=cluster)
    step = StepFactory(plan=plan, position=2)
    StepAutomation.objects.create(step=step, kind="shell", cluster=cluster, spec={})

    body = ask(api, INSIDE, cluster=cluster.name).json()

    assert [p["id"] for p in body["plans"]] == [plan.pk]


# --- the service's policy for "no plan" ---


def test_policy_block_is_the_default(service):
    assert service.gate_without_plan == GatePolicy.BLOCK


def test_the_policy_is_edited_in_the_service_admin(client, admin_user, service):
    client.force_login(admin_user)
    url = reverse("admin:changeplans_service_change", args=[service.pk])
    page = client.get(url).content.decode()
    assert 'name="gate_without_plan"' in page and "Шлюз развёртываний" in page

    response = client.post(
        url,
        {
            "name": service.name,
            "display_name": service.display_name,
            "shows_banner": "on",
            "gate_without_plan": GatePolicy.ALLOW,
        },
    )

    assert response.status_code == 302
    service.refresh_from_db()
    assert service.gate_without_plan == GatePolicy.ALLOW


@pytest.mark.parametrize(
    ("policy", "expected"),
    [(GatePolicy.BLOCK, 423), (GatePolicy.ALLOW, 200)],
)
def test_policy_without_any_plan(api, service, policy, expected):
    service.gate_without_plan = policy
    service.save()

    response = ask(api, INSIDE, service=service.name)

    assert response.status_code == expected
    if policy == GatePolicy.ALLOW:
        assert response.json()["reasons"] == [
            "No plan in review, approved or in progress for the service “www.nskes.ru” covers this time;"
            " the service’s policy allows deployments without a plan."
        ]
        assert response.json()["plans"] == []


@pytest.mark.parametrize(
    ("status", "at", "expected"),
    [
        # A plan that claims the time: its rules apply
        (PlanStatus.IN_REVIEW, INSIDE, 423),
        (PlanStatus.IN_PROGRESS, AFTER, 423),  # overrunning work still holds the service
        (PlanStatus.APPROVED, INSIDE, 200),  # by the plan, not by the policy
        # A plan that does not: the policy applies
        (PlanStatus.APPROVED, BEFORE, 200),
        (PlanStatus.APPROVED, AFTER, 200),
        (PlanStatus.CANCELLED, INSIDE, 200),
        (PlanStatus.COMPLETED, INSIDE, 200),
        (PlanStatus.REJECTED, INSIDE, 200),
        (PlanStatus.DRAFT, INSIDE, 200),  # a draft freezes nothing: any author could write one
    ],
)
def test_policy_allow_with_plans(api, service, status, at, expected):
    service.gate_without_plan = GatePolicy.ALLOW
    service.save()
    plan = make_plan(status, service=service)

    response = ask(api, at, service=service.name)

    assert response.status_code == expected
    reasons = response.json()["reasons"]
    if expected == 423:
        assert reasons[0] == (
            "The service “www.nskes.ru” allows deployments without a plan, but a plan claims this time:"
            " its rules apply."
        )
        assert f"Plan #{plan.pk}" in reasons[1]
    elif status == PlanStatus.APPROVED and at == INSIDE:
        assert reasons[0].startswith(f"Plan #{plan.pk}")
    else:
        assert "policy allows deployments without a plan" in reasons[0]


def test_a_cluster_without_a_plan_is_blocked_whatever_the_service_policy(api, service, cluster):
    # Given a service that allows deployments without a plan, and a cluster nobody plans work on
    service.gate_without_plan = GatePolicy.ALLOW
    service.save()

    response = ask(api, INSIDE, service=service.name, cluster=cluster.name)

    # Then: the deployment touches both, and the cluster blocks it; each reason names its target
    assert response.status_code == 423
    assert response.json()["reasons"] == [
        "Service “www.nskes.ru”: No plan in review, approved or in progress for the service “www.nskes.ru” covers"
        " this time; the service’s policy allows deployments without a plan.",
        "Cluster “prod-k8s”: No plan touching the cluster “prod-k8s” covers this time.",
    ]


def test_service_and_cluster_each_need_their_plan(api, service, cluster):
    plan = make_plan(PlanStatus.APPROVED, service=service, cluster=cluster)
    assert ask(api, INSIDE, service=service.name, cluster=cluster.name).status_code == 200
    # The same plan touching only the cluster: the service has no plan
    PlanService.objects.filter(plan=plan).delete()
    response = ask(api, INSIDE, service=service.name, cluster=cluster.name)
    assert response.status_code == 423
    assert [p["id"] for p in response.json()["plans"]] == [plan.pk]


# --- bad input, authentication, language ---


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"service": "nowhere.example.org"}, "service", "There is no service “nowhere.example.org” in Okno"),
        ({"cluster": "nowhere"}, "cluster", "There is no cluster “nowhere” in Okno"),
        ({}, "non_field_errors", "Name a service (?service=…) or a cluster (?cluster=…), or both."),
        ({"service": "www.nskes.ru", "at": "tomorrow"}, "at", "Enter the time in ISO 8601 with its offset"),
        ({"service": "www.nskes.ru", "at": "2025-13-40T20:00:00+07:00"}, "at", "Enter the time in ISO 8601"),
        ({"service": "www.nskes.ru", "at": "2025-03-20T20:00:00"}, "at", "The time needs its offset from UTC"),
        ({"service": "www.nskes.ru", "at": "2025-03-20"}, "at", "The time needs its offset from UTC"),
        ({"service": "www.nskes.ru", "at": "0001-01-01T00:00:00+14:00"}, "at", "Enter a date between"),
        ({"service": "www.nskes.ru", "at": "9999-12-31T23:59:59-12:00"}, "at", "Enter a date between"),
    ],
)
def test_bad_input_is_400_with_the_reason(api, service, params, field, message):
    response = api.get(URL, params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert message in body["errors"][field][0]
    assert message in body["detail"]


def test_unauthenticated_is_refused(client, service):
    make_plan(PlanStatus.APPROVED, service=service)
    response = ask(client, INSIDE, service=service.name)
    assert response.status_code in (401, 403)
    assert "plans" not in response.json()


def test_a_read_only_token_is_enough(client, service):
    user = UserFactory(username="gitlab-ci")
    _token, plaintext = issue_token(
        user, name="CI", scope=TokenScope.READ, expires_at=timezone.now() + datetime.timedelta(days=30)
    )
    make_plan(PlanStatus.APPROVED, service=service)

    response = client.get(
        URL, {"service": service.name, "at": INSIDE.isoformat()}, HTTP_AUTHORIZATION=f"Bearer {plaintext}"
    )

    assert response.status_code == 200
    assert response.json()["allowed"] is True


def test_reasons_are_russian_by_default(client, service):
    client.force_login(UserFactory(username="pipeline"))
    plan = make_plan(PlanStatus.IN_REVIEW, service=service, title="Замена CNI")

    body = ask(client, INSIDE, service=service.name).json()

    assert (
        body["reasons"][0] == "Ни у одного утверждённого плана для сервиса «www.nskes.ru» в это время не открыто окно."
    )
    assert body["reasons"][1] == (
        f"План №{plan.pk} «Замена CNI» на согласовании: он ещё не утверждён"
        " (окно 20.03.2025 20:00 (Asia/Novosibirsk) – 20.03.2025 23:05 (Asia/Novosibirsk))."
    )


def test_the_query_count_does_not_grow_with_plans(api, service, django_assert_max_num_queries):
    for _n in range(5):
        make_plan(PlanStatus.CANCELLED, service=service)
    # session, user, service, and the gate's three plan queries
    with django_assert_max_num_queries(8):
        assert ask(api, INSIDE, service=service.name).status_code == 423


# --- the selector itself ---


def test_gate_decision_needs_a_target_and_an_aware_time(service):
    with pytest.raises(ValueError, match="service or a cluster"):
        gate_decision(at=INSIDE)
    with pytest.raises(ValueError, match="aware"):
        gate_decision(service=service, at=INSIDE.replace(tzinfo=None))


def test_gate_decision_returns_the_plans(service, cluster):
    plan = make_plan(PlanStatus.APPROVED, service=service, cluster=cluster)

    decision = gate_decision(service=service, cluster=cluster, at=INSIDE)

    assert decision.allowed is True
    assert decision.plans == [plan]  # named by both targets, listed once
    assert decision.at == INSIDE
    assert [check.allowed for check in decision.checks] == [True, True]
