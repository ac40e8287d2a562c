"""The sign-off matrix of a plan and its decisions (docs/api.md, "Sign-off").

The rows are read as the plan page reads them (approvals.selectors.matrix_context: what the caller may do with
each row); the input is checked by the matrix builder's own forms (approvals.forms) and the changes and
decisions are approvals.services, with `via="api"`: a refused decision is written to the plan's history as the
page's is, "… (api)".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.forms import Form
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from approvals import people, selectors, services
from approvals.forms import ApplyTemplateForm, MatrixRowForm, NewMatrixRowForm
from approvals.models import ApprovalRow
from changeplans.models import Plan

from .http import run_once
from .serializers_steps import (
    ApplyTemplateSerializer,
    DecisionSerializer,
    MatrixRowInputSerializer,
    MatrixRowSerializer,
    MatrixSerializer,
)
from .views_steps import IDEMPOTENCY_KEY, errors


def _matrix(request: Request, plan_id: int) -> dict[str, Any]:
    """The matrix as the plan page shows it to the caller (a fixed number of queries whatever its rows)."""
    plan = selectors.signoff_plan(plan_id)
    signoff = selectors.matrix_context(plan, request.user)
    version = signoff["version"]
    return {
        "plan": plan.pk,
        "plan_status": plan.status,
        "version": version.number if version else None,
        "can_edit_matrix": signoff["can_edit_matrix"],
        "can_submit": signoff["can_submit"],
        "submit_refusal": signoff["submit_refusal"],
        "rows": signoff["rows"],
    }


def _matrix_response(request: Request, plan_id: int) -> Response:
    return Response(MatrixSerializer(_matrix(request, plan_id)).data)


def _row_response(request: Request, plan_id: int, row_id: int, *, code: int = status.HTTP_200_OK) -> Response:
    row = next(row for row in _matrix(request, plan_id)["rows"] if row.pk == row_id)
    return Response(MatrixRowSerializer(row).data, status=code)


def _checked(form: Form) -> dict[str, Any]:
    """The builder form's cleaned data; 422 with its errors, as the page answers."""
    if not form.is_valid():
        raise DjangoValidationError({field: list(messages) for field, messages in form.errors.items()})
    return form.cleaned_data


def _form_data(data: dict[str, Any]) -> dict[str, str]:
    return {key: "" if value is None else str(value) for key, value in data.items()}


@extend_schema(
    methods=["GET"],
    operation_id="plan_matrix_read",
    summary="A plan's sign-off matrix",
    description=(
        "Its rows in order, with what the caller may do with each now (`can_sign`, `can_acknowledge`, or the "
        "`refusal`), and the plan's newest `version`, which a decision must name."
    ),
    responses={200: MatrixSerializer, **errors(404)},
)
@extend_schema(
    methods=["POST"],
    operation_id="plan_matrix_add_row",
    summary="Add a row to the sign-off matrix",
    description="At the end; the author of a draft or rejected plan (or an administrator).",
    request=MatrixRowInputSerializer,
    parameters=[IDEMPOTENCY_KEY],
    responses={201: MatrixRowSerializer, **errors(400, 404, 409, 422)},
)
@api_view(["GET", "POST"])
def plan_matrix(request: Request, pk: int) -> Response:
    plan = get_object_or_404(Plan.objects.only("pk"), pk=pk)
    if request.method == "GET":
        return _matrix_response(request, plan.pk)

    def add() -> Response:
        payload = MatrixRowInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = _checked(NewMatrixRowForm(_form_data(payload.validated_data)))
        row = services.add_matrix_row(
            plan.pk,
            actor=request.user,
            job_title=data["job_title"],
            person=data["who"],
            kind=data["kind"],
            stage=data["stage"],
        )
        return _row_response(request, plan.pk, row.pk, code=status.HTTP_201_CREATED)

    return run_once(request, add)


@extend_schema(
    operation_id="plan_matrix_apply_template",
    summary="Replace the matrix with a template's rows",
    request=ApplyTemplateSerializer,
    parameters=[IDEMPOTENCY_KEY],
    responses={200: MatrixSerializer, **errors(400, 404, 409, 422)},
)
@api_view(["POST"])
def plan_matrix_apply_template(request: Request, pk: int) -> Response:
    plan = get_object_or_404(Plan.objects.only("pk"), pk=pk)

    def apply() -> Response:
        payload = ApplyTemplateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        template = _checked(ApplyTemplateForm(_form_data(payload.validated_data)))["template"]
        services.apply_template(plan.pk, actor=request.user, template_id=template.pk)
        return _matrix_response(request, plan.pk)

    return run_once(request, apply)


@extend_schema(
    methods=["PATCH"],
    operation_id="matrix_row_update",
    summary="Change a row of the matrix",
    description="Only the fields sent change; `who` is “user:5”, “group:2” or “” (nobody yet).",
    request=MatrixRowInputSerializer,
    responses={200: MatrixRowSerializer, **errors(400, 404, 409, 422)},
)
@extend_schema(
    methods=["DELETE"],
    operation_id="matrix_row_delete",
    summary="Remove a row from the matrix",
    responses={204: OpenApiResponse(description="Removed; the rows after it move up."), **errors(404, 409, 422)},
)
@api_view(["PATCH", "DELETE"])
def matrix_row(request: Request, pk: int) -> Response:
    row = get_object_or_404(ApprovalRow, pk=pk)
    if request.method == "DELETE":
        services.delete_matrix_row(row.pk, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
    payload = MatrixRowInputSerializer(data=request.data)
    payload.is_valid(raise_exception=True)
    current = {
        "job_title": row.job_title,
        "who": people.row_key(row.user_id, row.group_id),
        "kind": row.kind,
        "stage": row.stage,
    }
    data = _checked(MatrixRowForm(_form_data({**current, **payload.validated_data})))
    services.update_matrix_row(
        row.pk,
        actor=request.user,
        job_title=data["job_title"],
        person=data["who"],
        kind=data["kind"],
        stage=data["stage"],
    )
    return _row_response(request, row.plan_id, row.pk)


# --- decisions ----------------------------------------------------------------------------------------------------

DECISIONS: dict[str, tuple[Callable[..., ApprovalRow], str]] = {
    "approve": (services.approve_row, "Approve a row"),
    "reject": (services.reject_row, "Reject a row (a reason in `comment`): the plan returns to its author"),
    "acknowledge": (services.acknowledge_row, "Acknowledge a row (the duty officer or the row's group)"),
}


def _decision_view(verb: str) -> Callable[..., Response]:
    service, summary = DECISIONS[verb]

    @extend_schema(
        operation_id=f"matrix_row_{verb}",
        summary=summary,
        description=(
            "For the plan `version` you read: when the plan has changed since, 409 stale_version (read the diff "
            "and decide again). A refusal (your own plan, someone else's row, a stage not open yet) is a 403 and "
            "is written to the plan's history, as on the page."
        ),
        request=DecisionSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: MatrixSerializer, **errors(400, 404, 409, 422)},
    )
    @api_view(["POST"])
    def view(request: Request, pk: int) -> Response:
        row = get_object_or_404(ApprovalRow.objects.only("pk", "plan_id"), pk=pk)

        def decide() -> Response:
            payload = DecisionSerializer(data=request.data)
            payload.is_valid(raise_exception=True)
            data = payload.validated_data
            service(row.pk, actor=request.user, version=data["version"], comment=data.get("comment", ""), via="api")
            return _matrix_response(request, row.plan_id)

        return run_once(request, decide)

    view.__name__ = view.__qualname__ = f"matrix_row_{verb}"
    return view


matrix_row_approve = _decision_view("approve")
matrix_row_reject = _decision_view("reject")
matrix_row_acknowledge = _decision_view("acknowledge")
