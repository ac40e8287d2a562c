"""Steps, their risks and rollback actions, and their execution (docs/api.md, "Steps, risks and rollback",
"Execution").

Views are thin: the cells are checked by the grid's own form (changeplans.forms.StepCellForm), the edits and
transitions are the pages' services (changeplans.services, execution.transitions), and their refusals are
answered by api.http.exception_handler as the pages answer them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from changeplans import services, versioning
from changeplans.forms import StepCellForm
from changeplans.models import Plan, PlanEvent, RollbackAction, Step
from changeplans.permissions import edit_refusal
from execution import transitions

from .http import Cursor, ErrorSerializer, if_match_revision, not_modified, run_once, with_etag
from .serializers_steps import (
    MoveSerializer,
    NewStepSerializer,
    ReorderSerializer,
    RollbackActionSerializer,
    RollbackTickSerializer,
    StepCellsSerializer,
    StepRisksInputSerializer,
    StepRisksSerializer,
    StepSerializer,
    TickSerializer,
)

# --- the schema's shared parts -----------------------------------------------------------------------------------

IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description='The step\'s ETag as you read it (`"step-<id>-r<revision>"`); 428 without it, 412 when stale.',
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match", str, OpenApiParameter.HEADER, description="The ETag you have: 304 when it is still current."
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="Any unique text (≤ 255 characters): a repeat of the same request answers as the first time.",
)

_ERRORS = {
    400: "Malformed input: a wrong type, a missing field, NUL characters.",
    401: "No credentials, or a token that is wrong, expired or revoked.",
    403: "Not allowed: the page's reason (`code` refused), or a read-only token.",
    404: "No such object.",
    409: "A state conflict: someone was first, the plan's state does not allow it, or `confirm_reset` is needed.",
    412: "The object changed since you read it (`code` stale, the current ETag in the header).",
    422: "The page's validation refused the values (`errors` per field where it names one).",
    428: "Send the ETag you read in If-Match.",
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """The documented error answers of an operation (every one has 401 and 403)."""
    wanted = sorted({401, 403, *codes})
    return {code: OpenApiResponse(ErrorSerializer, description=_ERRORS[code]) for code in wanted}


# --- reading ------------------------------------------------------------------------------------------------------


def steps_queryset() -> QuerySet[Step]:
    """Steps with what their serializer reads: a fixed number of queries whatever their number."""
    actions = RollbackAction.objects.select_related("done_by").prefetch_related("risks").order_by("position", "pk")
    return Step.objects.select_related("executor", "started_by", "done_by").prefetch_related(
        "risks", Prefetch("rollback_actions", queryset=actions)
    )


def _step(pk: int) -> Step:
    return get_object_or_404(steps_queryset(), pk=pk)


def _step_response(step_id: int, *, code: int = status.HTTP_200_OK) -> Response:
    step = _step(step_id)
    return with_etag(Response(StepSerializer(step).data, status=code), step)


class PositionCursor(Cursor):
    """A plan's steps in table order."""

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: Any) -> tuple[str, ...]:
        return ("position", "id")

    page_size = 100


class StepPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = StepSerializer(many=True)


def _refuse_edit(user: Any, plan: Plan) -> None:
    """The plan page's edit refusal, before the input is looked at (as the grid's cell editor does)."""
    refusal = edit_refusal(user, plan)
    if refusal:
        raise PermissionDenied(refusal)


def _cells(step: Step | None, data: dict[str, Any]) -> dict[str, Any]:
    """The sent cells, each checked and converted by the grid's own form; 422 with every refused cell."""
    cleaned, problems = {}, {}
    for field in services.STEP_CELL_FIELDS:
        if field not in data:
            continue
        form = StepCellForm(field, {"revision": step.revision if step else 1, "value": data[field]})
        if form.is_valid():
            cleaned[field] = form.cleaned_data["value"]
        else:
            problems[field] = form.errors.get("value") or [_("Invalid value.")]
    if problems:
        raise DjangoValidationError({field: list(messages) for field, messages in problems.items()})
    return cleaned


def _save_cells(step_id: int, cells: dict[str, Any], *, actor: User, revision: int) -> None:
    """Save cells one after another, each as the grid saves one; all or nothing."""
    with transaction.atomic():
        for field, value in cells.items():
            saved = services.update_step_cell(step_id, actor=actor, field=field, value=value, revision=revision)
            revision = saved.revision


@extend_schema(
    methods=["GET"],
    operation_id="plan_steps_list",
    summary="A plan's steps",
    description="In table order, with risks and rollback actions; pages of 100 (`?page_size=` up to 200).",
    parameters=[
        OpenApiParameter("cursor", str, description="The `next` or `previous` link's cursor."),
        OpenApiParameter("page_size", int, description="Steps per page, up to 200."),
    ],
    responses={200: StepPageSerializer, **errors(404)},
)
@extend_schema(
    methods=["POST"],
    operation_id="plan_steps_create",
    summary="Add a step",
    description=(
        "Inserts a step after `after_position` (at the end without it), then fills the cells sent, as typed in "
        "the table. The author of the plan (or an administrator) while it can be edited."
    ),
    request=NewStepSerializer,
    parameters=[IDEMPOTENCY_KEY],
    responses={201: StepSerializer, **errors(400, 404, 409, 422)},
)
@api_view(["GET", "POST"])
def plan_steps(request: Request, pk: int) -> Response:
    plan = get_object_or_404(Plan.objects.only("pk", "status", "author_id"), pk=pk)
    if request.method == "GET":
        paginator = PositionCursor()
        page = paginator.paginate_queryset(steps_queryset().filter(plan_id=plan.pk), request)
        return paginator.get_paginated_response(StepSerializer(page, many=True).data)
    _refuse_edit(request.user, plan)
    return run_once(request, lambda: _create_step(request, plan))


def _create_step(request: Request, plan: Plan) -> Response:
    payload = NewStepSerializer(data=request.data)
    payload.is_valid(raise_exception=True)
    data = payload.validated_data
    cells = _cells(None, data)
    name = cells.pop("name", None)
    with transaction.atomic(), versioning.confirm_resets(data["confirm_reset"]):
        step = services.add_step(plan.pk, actor=request.user, after_position=data.get("after_position"), name=name)
        _save_cells(step.pk, cells, actor=request.user, revision=step.revision)
    response = _step_response(step.pk, code=status.HTTP_201_CREATED)
    response["Location"] = reverse("api:step_detail", args=[step.pk])
    return response


@extend_schema(
    operation_id="plan_steps_reorder",
    summary="Reorder a plan's steps",
    description="Every step id of the plan in the new order; a list that misses or adds steps is a 412.",
    request=ReorderSerializer,
    parameters=[IDEMPOTENCY_KEY],
    responses={204: OpenApiResponse(description="Reordered."), **errors(400, 404, 409, 412, 422)},
)
@api_view(["POST"])
def plan_steps_reorder(request: Request, pk: int) -> Response:
    plan = get_object_or_404(Plan.objects.only("pk"), pk=pk)

    def reorder() -> Response:
        payload = ReorderSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        # As the page's drag and drop: no confirmation is asked (changeplans.views.steps_reorder).
        services.reorder_steps(plan.pk, actor=request.user, step_ids=payload.validated_data["step_ids"])
        return Response(status=status.HTTP_204_NO_CONTENT)

    return run_once(request, reorder)


@extend_schema(
    methods=["GET"],
    operation_id="step_read",
    summary="A step",
    parameters=[IF_NONE_MATCH],
    responses={200: StepSerializer, 304: OpenApiResponse(description="Not modified."), **errors(404)},
)
@extend_schema(
    methods=["PATCH"],
    operation_id="step_update",
    summary="Edit a step's cells",
    description=(
        "One or more cells, as typed in the table; each is checked as the table checks it and saved as one edit "
        "of the history. All or nothing."
    ),
    request=StepCellsSerializer,
    parameters=[IF_MATCH],
    responses={200: StepSerializer, **errors(400, 404, 409, 412, 422, 428)},
)
@extend_schema(
    methods=["DELETE"],
    operation_id="step_delete",
    summary="Delete a step",
    parameters=[
        IF_MATCH,
        OpenApiParameter("confirm_reset", bool, description="true after a 409 confirm_reset."),
    ],
    responses={204: OpenApiResponse(description="Deleted."), **errors(400, 404, 409, 412, 428)},
)
@api_view(["GET", "PATCH", "DELETE"])
def step_detail(request: Request, pk: int) -> Response:
    step = _step(pk)
    if request.method == "GET":
        if not_modified(request, step):
            return with_etag(Response(status=status.HTTP_304_NOT_MODIFIED), step)
        return with_etag(Response(StepSerializer(step).data), step)
    plan = Plan.objects.only("pk", "status", "author_id").get(pk=step.plan_id)
    _refuse_edit(request.user, plan)
    revision = if_match_revision(request, step)
    if request.method == "DELETE":
        confirm = serializers.BooleanField().to_internal_value(request.query_params.get("confirm_reset", "false"))
        with transaction.atomic(), versioning.confirm_resets(confirm):
            _check_revision(step.pk, revision)
            services.delete_step(step.pk, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
    payload = StepCellsSerializer(data=request.data)
    payload.is_valid(raise_exception=True)
    cells = _cells(step, payload.validated_data)
    if not cells:
        raise serializers.ValidationError({"detail": _("Send at least one cell.")})
    with versioning.confirm_resets(payload.validated_data["confirm_reset"]):
        _save_cells(step.pk, cells, actor=request.user, revision=revision)
    return _step_response(step.pk)


def _check_revision(step_id: int, revision: int) -> None:
    """412 when the step changed since `revision` (for edits whose service takes no revision: delete)."""
    step = Step.objects.select_for_update(of=("self",)).get(pk=step_id)
    if step.revision != revision:
        last = (
            PlanEvent.objects.filter(object_type="step", object_id=step.pk)
            .select_related("actor")
            .order_by("-at", "-id")
            .first()
        )
        raise services.EditConflict(step, last)


@extend_schema(
    operation_id="step_move",
    summary="Move a step up or down",
    request=MoveSerializer,
    parameters=[IDEMPOTENCY_KEY],
    responses={200: StepSerializer, **errors(400, 404, 409, 412, 422)},
)
@api_view(["POST"])
def step_move(request: Request, pk: int) -> Response:
    step = get_object_or_404(Step.objects.only("pk"), pk=pk)

    def move() -> Response:
        payload = MoveSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        offset = -1 if payload.validated_data["direction"] == "up" else 1
        with versioning.confirm_resets(payload.validated_data["confirm_reset"]):
            services.move_step(step.pk, actor=request.user, offset=offset)
        return _step_response(step.pk)

    return run_once(request, move)


# --- risks and rollback actions -----------------------------------------------------------------------------------


def _risks_response(step_id: int) -> Response:
    step = _step(step_id)
    data = {
        "revision": step.revision,
        "risk_mitigation": step.risk_mitigation,
        "no_rollback_needed": step.no_rollback_needed,
        "risks": step.risks.all(),
        "rollback_actions": step.rollback_actions.all(),
    }
    return with_etag(Response(StepRisksSerializer(data).data), step)


@extend_schema(
    methods=["GET"],
    operation_id="step_risks_read",
    summary="A step's risks and rollback actions",
    responses={200: StepRisksSerializer, **errors(404)},
)
@extend_schema(
    methods=["PUT"],
    operation_id="step_risks_replace",
    summary="Replace a step's risks and rollback actions",
    description=(
        "The whole list of each, as the risks panel saves them: a risk or an action with the `id` it has is kept "
        "(and changed), one without is new, one left out is deleted. `risk_numbers` ties an action to the risks "
        "it answers (5/6/7/8). `risk_mitigation` and `no_rollback_needed` change only when sent."
    ),
    request=StepRisksInputSerializer,
    parameters=[IF_MATCH],
    responses={200: StepRisksSerializer, **errors(400, 404, 409, 412, 422, 428)},
)
@api_view(["GET", "PUT"])
def step_risks(request: Request, pk: int) -> Response:
    step = get_object_or_404(Step.objects.select_related("plan"), pk=pk)
    if request.method == "GET":
        return _risks_response(step.pk)
    _refuse_edit(request.user, step.plan)
    revision = if_match_revision(request, step)
    payload = StepRisksInputSerializer(data=request.data)
    payload.is_valid(raise_exception=True)
    data = payload.validated_data
    with versioning.confirm_resets(data["confirm_reset"]):
        services.save_step_risks(
            step.pk,
            actor=request.user,
            revision=revision,
            risks=data["risks"],
            rollback_actions=data["rollback_actions"],
            risk_mitigation=data.get("risk_mitigation"),
            no_rollback_needed=data.get("no_rollback_needed"),
        )
    return _risks_response(step.pk)


# --- execution (the board's ticks) --------------------------------------------------------------------------------

# The API's verb → the board's action (execution.transitions.STEP_ACTIONS).
TICKS = {"start": "start", "tick": "done", "fail": "failed", "skip": "skip", "retry": "retry"}
_TICK_SUMMARIES = {
    "start": "Start a step",
    "tick": "Tick a step done",
    "fail": "Mark a step failed (a reason in `comment`)",
    "skip": "Skip a step (a reason in `comment`)",
    "retry": "Retry a failed step (back to waiting)",
}


def _tick_view(verb: str) -> Callable[..., Response]:
    action = TICKS[verb]

    @extend_schema(
        operation_id=f"step_{verb}",
        summary=_TICK_SUMMARIES[verb],
        description=(
            "As on the execution board: the duty officer, an operator, an administrator or the step's "
            "responsible, while the work is in progress."
        ),
        request=TickSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: StepSerializer, **errors(400, 404, 409, 422)},
    )
    @api_view(["POST"])
    def view(request: Request, pk: int) -> Response:
        step = get_object_or_404(Step.objects.only("pk"), pk=pk)

        def tick() -> Response:
            payload = TickSerializer(data=request.data)
            payload.is_valid(raise_exception=True)
            transitions.tick(
                step.pk,
                action,
                actor=request.user,
                comment=payload.validated_data.get("comment", ""),
                expected_status=payload.validated_data.get("expected_status") or None,
            )
            return _step_response(step.pk)

        return run_once(request, tick)

    view.__name__ = view.__qualname__ = f"step_{verb}"
    return view


step_start = _tick_view("start")
step_tick = _tick_view("tick")
step_fail = _tick_view("fail")
step_skip = _tick_view("skip")
step_retry = _tick_view("retry")


@extend_schema(
    operation_id="rollback_action_tick",
    summary="Tick a rollback action",
    description=(
        "In rollback mode, a rollback action of a failed step: start, done, failed or skip (a reason in "
        "`comment` for the last two). When every action of the step is done or skipped, the step is rolled back."
    ),
    request=RollbackTickSerializer,
    parameters=[IDEMPOTENCY_KEY],
    responses={200: RollbackActionSerializer, **errors(400, 404, 409, 422)},
)
@api_view(["POST"])
def rollback_action_tick(request: Request, pk: int) -> Response:
    rollback = get_object_or_404(RollbackAction.objects.only("pk"), pk=pk)

    def tick() -> Response:
        payload = RollbackTickSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        transitions.tick_rollback(
            rollback.pk,
            data["action"],
            actor=request.user,
            comment=data.get("comment", ""),
            expected_status=data.get("expected_status") or None,
        )
        fresh = RollbackAction.objects.select_related("done_by").prefetch_related("risks").get(pk=rollback.pk)
        return Response(RollbackActionSerializer(fresh).data)

    return run_once(request, tick)
