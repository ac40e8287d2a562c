"""Issue 17, "Done when": the seed plan's whole sign-off and execution runs through the API alone, and the plan page
then looks the same as after the browser flow.

The seed (/work/shared/seeds/000_…txt) is the demo's plan: demo/plans.py holds its data (DEMO_PLAN, DEMO_STEPS, the
matrix template, DEMO_SIGNATURES). The reference plan is the demo loader's (load_demo: the plan written as the seed
has it, submitted and partly signed through the services), finished through the same services the pages call.
The API plan is made from the same data by HTTP requests only, each by the right person's token. The users, the
services, the delegation and the matrix template exist before (load_demo makes them; the API creates none of them).
"""

import re
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from approvals import services as approvals
from approvals.choices import RowKind
from approvals.models import MatrixTemplate
from changeplans.choices import Availability, PlanStatus, StepStatus
from changeplans.models import Plan, Service
from demo.plans import DEMO_MATRIX_TEMPLATE, DEMO_PLAN, DEMO_SIGNATURES, DEMO_STEPS, DEMO_TIME_ZONE, load_demo
from execution import transitions
from tests.api.test_steps_api import api_client, call

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


# --- the reference: the demo loader's plan, finished through the services (the pages' flow) -------------------------


def finish_reference(plan, users):
    """What the people do in the browser after load_demo: the other signatures, the acknowledgement, the work."""
    version = plan.versions.get().number
    for row in plan.approval_rows.order_by("position"):
        if row.kind == RowKind.ACKNOWLEDGEMENT:
            approvals.acknowledge_row(row.pk, actor=users["duty"], version=version)
        elif not row.is_decided:
            approvals.approve_row(row.pk, actor=row.user, version=version)
    transitions.start_plan(plan.pk, actor=users["duty"])
    for step in plan.steps.order_by("position"):
        transitions.tick(step.pk, "start", actor=users["duty"])
        transitions.tick(step.pk, "done", actor=users["duty"])
    transitions.finish_plan(plan.pk, actor=users["duty"], outcome="completed")


# --- the same through the API -------------------------------------------------------------------------------------


def ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.content.decode()[:500])
    return response.json() if response.content else None


def _cells(spec):
    return {
        "name": spec["name"],
        "kind": spec["kind"],
        "description": spec["description"],
        "expected_result": spec["expected_result"],
        "risk_mitigation": spec["risk_mitigation"],
        "affected_systems": spec["affected_systems"],
        "planned_downtime": spec["planned_downtime"],
        "executor": spec["executor"],
        "planned_date": spec["planned_date"].strftime("%d.%m.%Y"),
        "planned_time": spec["planned_time"].strftime("%H:%M") if spec["planned_time"] else "",
        "duration_text": spec["duration"],
        "jira_key": spec["jira_key"],
    }


def _risks(spec):
    return {
        "risks": [{"number": n, "description": text} for n, text in enumerate(spec["risks"], start=1)],
        "rollback_actions": [{"text": text, "risk_numbers": list(numbers)} for numbers, text in spec["rollback"] or ()],
        "no_rollback_needed": spec["rollback"] is None,
    }


def run_through_the_api(users):
    """The seed's flow, every step an HTTP request by the person who does it in real life."""
    author, duty = api_client(users["khasanov"]), api_client(users["duty"])
    # The author creates the plan with the seed's header
    services = [Service.objects.get(name=name).pk for name in ("www.nskes.ru", "sevice.nskes.ru", "narod.nskes.ru")]
    services.append(Service.objects.get(name="platosfera.ru").pk)
    header = {
        **{k: v for k, v in DEMO_PLAN.items() if k not in ("window_start", "window_end")},
        "time_zone": DEMO_TIME_ZONE,
        "window_start": "2025-03-20T20:00:00",
        "window_end": "2025-03-20T23:05:00",
        "services": services,
        "availability": Availability.UNAVAILABLE,
        "curator": users["khasanov"].pk,
        "responsible_name": "Хасанов А.И.",
        "responsible_contact": "+7 (913) 712-71-78 <НЭС>",
    }
    plan = ok(call(author, "post", reverse("api:plan_list"), header), 201)
    steps_url = reverse("api:plan_steps", args=[plan["id"]])
    # Its steps, each with its risks and rollback actions
    for spec in DEMO_STEPS:
        step = ok(call(author, "post", steps_url, _cells(spec)), 201)
        risks_url = reverse("api:step_risks", args=[step["id"]])
        ok(call(author, "put", risks_url, _risks(spec), **{"If-Match": f'"step-{step["id"]}-r{step["revision"]}"'}))
    # The sign-off matrix from the seed's template, then the submission
    template = MatrixTemplate.objects.get(name=DEMO_MATRIX_TEMPLATE)
    ok(call(author, "post", reverse("api:plan_matrix_apply_template", args=[plan["id"]]), {"template": template.pk}))
    ok(call(author, "post", reverse("api:plan_submit", args=[plan["id"]]), {}))
    # Every approval by the right person's token (row 5 by Turchaninov's deputy, as in the seed), then the duty officer
    matrix = ok(call(author, "get", reverse("api:plan_matrix", args=[plan["id"]])))
    rows = {row["position"]: row for row in matrix["rows"]}
    signers = {position: (username, comment) for position, username, comment in DEMO_SIGNATURES}
    for position, row in sorted(rows.items()):
        if row["kind"] == RowKind.ACKNOWLEDGEMENT:
            signer, verb, comment = "duty", "acknowledge", ""
        else:
            username = users_by_pk(users)[row["user"]]
            signer, comment = signers.get(position, (username, ""))
            verb = "approve"
        url = reverse(f"api:matrix_row_{verb}", args=[row["id"]])
        answer = ok(call(api_client(users[signer]), "post", url, {"version": matrix["version"], "comment": comment}))
    assert answer["plan_status"] == PlanStatus.APPROVED
    # The duty officer starts the work, ticks every step and finishes
    ok(call(duty, "post", reverse("api:plan_start", args=[plan["id"]]), {}))
    page = ok(call(duty, "get", steps_url))
    for step in page["results"]:
        ok(call(duty, "post", reverse("api:step_start", args=[step["id"]]), {"expected_status": StepStatus.PENDING}))
        ok(call(duty, "post", reverse("api:step_tick", args=[step["id"]]), {"expected_status": StepStatus.IN_PROGRESS}))
    ok(call(duty, "post", reverse("api:plan_finish", args=[plan["id"]]), {"outcome": "completed"}))
    return Plan.objects.get(pk=plan["id"])


def users_by_pk(users):
    return {user.pk: username for username, user in users.items()}


# --- the plan page, as its viewer sees it -------------------------------------------------------------------------


class Rows(HTMLParser):
    """The text of each cell of the step rows (`tr#step-N`) and the matrix rows (`tr#approval-row-N`)."""

    WANTED = re.compile(r"^(step|approval-row)-\d+$")

    def __init__(self):
        super().__init__()
        self.rows = {"step": [], "approval-row": []}
        self.current = None
        self.depth = 0

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            ident = dict(attrs).get("id") or ""
            if self.current is None and self.WANTED.match(ident):
                self.current = []
                self.rows[ident.rsplit("-", 1)[0]].append(self.current)
                self.depth = 0
            elif self.current is not None:
                self.depth += 1
        elif self.current is not None and tag in ("td", "th") and self.depth == 0:
            self.current.append("")

    def handle_endtag(self, tag):
        if tag == "tr" and self.current is not None:
            if self.depth:
                self.depth -= 1
            else:
                self.current = None

    def handle_data(self, data):
        if self.current is not None and self.current:
            self.current[-1] += data


def normalised(text, users):
    text = " ".join(text.split())
    text = re.sub(r"\b\d{2}\.\d{2}(?:\.\d{4})? \d{2}:\d{2}\b", "<when>", text)  # decision and tick times
    return text


def page_rows(client, plan, users):
    response = client.get(reverse("changeplans:plan_detail", args=[plan.pk]))
    assert response.status_code == 200
    parser = Rows()
    parser.feed(response.content.decode())
    return {kind: [[normalised(cell, users) for cell in row] for row in rows] for kind, rows in parser.rows.items()}


def test_the_seed_plan_through_the_api_alone_looks_as_after_the_browser_flow():
    # Given the demo's plan, finished in the browser's way (the services the pages call)
    reference = load_demo()
    users = {user.username: user for user in get_user_model().objects.all()}
    finish_reference(reference, users)
    # When the same plan is made, signed and carried out through the API alone
    plan = run_through_the_api(users)
    # Then both are completed and every step is done, with the same signatures
    reference.refresh_from_db()
    assert plan.status == reference.status == PlanStatus.COMPLETED
    assert list(plan.steps.values_list("status", flat=True)) == [StepStatus.DONE] * len(DEMO_STEPS)
    assert list(plan.approval_rows.order_by("position").values_list("status", "on_behalf_of__username")) == list(
        reference.approval_rows.order_by("position").values_list("status", "on_behalf_of__username")
    )
    # And the plan page shows the same step rows and the same matrix to the same viewer
    viewer = Client()
    viewer.force_login(users["khasanov"])
    ours, theirs = page_rows(viewer, plan, users), page_rows(viewer, reference, users)
    assert len(ours["step"]) == len(DEMO_STEPS) and len(ours["approval-row"]) == 10
    assert ours["step"] == theirs["step"]
    assert ours["approval-row"] == theirs["approval-row"]
