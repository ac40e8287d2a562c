"""The floor under every API operation, read from the schema itself, so a new endpoint is covered the day it lands.

- Without credentials: 401 with the Bearer challenge, for every operation but none.
- A read-only token: every unsafe operation refused with 403 before anything is looked up.
- A signed-in user with no role: no unsafe operation on another author's plan, step or matrix succeeds.

The per-role answers, compared with the pages, are in each resource's tests (test_plans_api, test_steps_api,
test_matrix_api, test_read_resources).
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from api.choices import TokenScope
from api.tokens import issue_token
from approvals.models import ApprovalRow
from tests.factories import PlanFactory, StepFactory, UserFactory

from .schema_ops import UNSAFE, fill, operations

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

# Operations anyone may call without credentials (none so far).
PUBLIC: set[tuple[str, str]] = set()


@pytest.fixture
def world():
    """Another author's draft with a step and a matrix row naming an approver."""
    plan = PlanFactory()
    step = StepFactory(plan=plan, position=1)
    approver = UserFactory(username="approver", roles=["approver"])
    row = ApprovalRow.objects.create(plan=plan, position=1, person_name="Согласующий", user=approver)
    return {"plan": plan, "ids": {"plan": plan.pk, "step": step.pk, "matrix": row.pk, "row": row.pk}}


def _client(user=None, scope=None) -> APIClient:
    client = APIClient()
    if user is not None:
        _token, plaintext = issue_token(
            user, name="t", scope=scope, expires_at=timezone.now() + datetime.timedelta(days=1)
        )
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


def test_the_schema_lists_operations():
    assert len(list(operations())) >= 2


@pytest.mark.parametrize(("method", "path"), sorted(operations()))
def test_without_credentials_every_operation_is_401(world, method, path):
    if (method, path) in PUBLIC:
        pytest.skip("public operation")
    response = getattr(APIClient(), method)(fill(path, world["ids"], world["ids"]["plan"]), {}, format="json")
    assert response.status_code == 401, (method, path, response.status_code)
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path"), sorted(op for op in operations() if op[0] in UNSAFE))
def test_a_read_only_token_changes_nothing(world, method, path):
    reader = UserFactory(username="reader", is_superuser=True)
    response = getattr(_client(reader, TokenScope.READ), method)(
        fill(path, world["ids"], world["ids"]["plan"]), {}, format="json"
    )
    assert response.status_code == 403, (method, path, response.status_code, response.content[:300])


@pytest.mark.parametrize(("method", "path"), sorted(op for op in operations() if op[0] in UNSAFE))
def test_a_user_without_a_role_changes_no_one_elses_plan(world, method, path):
    nobody = UserFactory(username="nobody")
    before = _state(world["plan"])
    response = getattr(_client(nobody, TokenScope.WRITE), method)(
        fill(path, world["ids"], world["ids"]["plan"]), {}, format="json"
    )
    assert response.status_code >= 400, (method, path, response.status_code, response.content[:300])
    assert response.status_code != 500
    assert _state(world["plan"]) == before


def _state(plan):
    plan.refresh_from_db()
    return (
        plan.status,
        plan.revision,
        list(plan.steps.order_by("pk").values_list("pk", "revision", "status")),
        list(ApprovalRow.objects.filter(plan=plan).order_by("pk").values_list("pk", "status")),
    )
