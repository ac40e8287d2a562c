"""Schemathesis over every operation of the API's OpenAPI schema, against a real server (issue 17, docs/api.md).

A live server on PostgreSQL, a real read-write token of a user with every role, and a small world (plans,
steps, a matrix, a service) whose ids are put into the paths of reads (each read is sent as generated and again
with real ids), so that they reach real objects and not only 404s. Writes name missing objects only, so no
example changes what another sees (Hypothesis replays a failure and must meet the same state). The run is
derandomized (the same examples every time) and checks
that no answer is a server error and every answer matches the schema: its status is documented, its
content type and headers are, and its body validates against the documented response schema.
"""

from __future__ import annotations

import datetime

import pytest
import requests
import schemathesis
from django.contrib.auth.models import Group
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.choices import TokenScope
from api.tokens import issue_token
from approvals.models import ApprovalRow
from changeplans.choices import Role
from changeplans.models import PlanService
from changeplans.versioning import freeze_version
from runbooks import library
from runbooks.models import AutomationRun
from tests.factories import (
    PlanFactory,
    RiskFactory,
    RollbackActionFactory,
    ServiceFactory,
    StepFactory,
    UserFactory,
)

from .schema_ops import api_schema, id_kind

pytestmark = [pytest.mark.postgres]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 30


@pytest.fixture
def world(live_server, transactional_db):
    """A user with every role and a read-write token; a plan of theirs with steps, another author's plan."""
    fuzzer = UserFactory(username="fuzzer", first_name="Фаззер", last_name="Проверкин")
    fuzzer.groups.set([Group.objects.get_or_create(name=role.value)[0] for role in Role])
    _token, plaintext = issue_token(
        fuzzer, name="schemathesis", scope=TokenScope.WRITE, expires_at=timezone.now() + datetime.timedelta(days=1)
    )
    now = timezone.now().replace(microsecond=0)
    service = ServiceFactory(name="billing.example.org")
    own = PlanFactory(
        author=fuzzer,
        title="Замена CNI на Calico",
        window_start=now + datetime.timedelta(days=2),
        window_end=now + datetime.timedelta(days=2, hours=4),
    )
    PlanService.objects.create(plan=own, service=service)
    steps = [StepFactory(plan=own, position=n) for n in range(1, 4)]
    risk = RiskFactory(step=steps[0], number=1)
    rollback = RollbackActionFactory(step=steps[0], text="Вернуть Flannel")
    rollback.risks.add(risk)
    row = ApprovalRow.objects.create(plan=own, position=1, person_name="Проверкин Ф.", user=fuzzer)
    freeze_version(own, actor=fuzzer)
    other = PlanFactory(title="Чужой план")
    runbook = library.create_runbook("title: Регламент\nsteps:\n  - name: Шаг\n", actor=fuzzer).runbook
    run = AutomationRun.objects.create(plan=own, step=steps[1], kind="shell", timeout_seconds=60, started_by=fuzzer)
    return {
        "url": live_server.url,
        "headers": {"Authorization": f"Bearer {plaintext}", "Accept-Language": "ru"},
        "ids": {
            "plan": [own.pk, other.pk],
            "step": [s.pk for s in steps],
            "service": [service.pk],
            "matrix": [row.pk],
            "rollback_action": [rollback.pk],
            "version": [1],
            "runbook": [runbook.pk],
            "run": [run.pk],
        },
    }


MISSING = 10**12  # added to a generated id in a write's path: no object has it


def _real_ids(case, world) -> bool:
    """Put ids of real objects into a read's path; False when there is none to replace, or for a write.

    A write on a real object changes what the next example sees, and Hypothesis replays a failing example to
    confirm it: the replay would meet another state. So writes only ever name missing objects here (their
    writes on real objects, role by role, are in the resources' own tests).
    """
    if case.method.upper() != "GET":
        return False
    params = case.path_parameters or {}
    replaced = False
    for name, value in list(params.items()):
        if not isinstance(value, int):
            continue
        candidates = world["ids"].get(id_kind(case.path, name))
        if candidates:
            params[name] = candidates[value % len(candidates)]
            replaced = True
    return replaced


def _never_real(case) -> None:
    """A write's ids moved out of the range of real objects, so no example changes one."""
    if case.method.upper() == "GET":
        return
    params = case.path_parameters or {}
    for name, value in list(params.items()):
        if isinstance(value, int) and not isinstance(value, bool):
            params[name] = MISSING + abs(value)


def test_every_operation_answers_within_its_schema(world):
    schema = schemathesis.openapi.from_dict(api_schema())
    session = requests.Session()
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @hypothesis_settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case):
            _never_real(case)
            case.call_and_validate(base_url=world["url"], session=session, headers=world["headers"], checks=CHECKS)
            if _real_ids(case, world):
                case.call_and_validate(base_url=world["url"], session=session, headers=world["headers"], checks=CHECKS)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected per operation, reported together
            failures.append(f"{operation.label}: {exc}")
    assert operations > 1, "the schema lists no operation"
    assert not failures, "\n\n".join(failures)
