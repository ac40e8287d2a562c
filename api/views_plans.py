"""The plans resource (docs/api.md, "Plans"): list, read, create, edit the header, and the plan's transitions.

Views are thin, as the pages' are: the page's form checks the input (so a refusal has the page's words), the
service decides, api/http.py turns a service's refusal into the page's answer (403 refused, 409 conflict,
412 stale, 422 invalid). Each view checks in the order its page does, so the same person gets the same answer
from both (tests/api/test_plans_api.py compares them).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status as http_status
from rest_framework.decorators import api_view
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from approvals import services as approvals_services
from changeplans import services, versioning
from changeplans.choices import Availability, PlanKind, PlanStatus
from changeplans.filtersets import PlanFilterSet
from changeplans.forms import CancelPlanForm, CopyPlanForm, PlanForm
from changeplans.limits import MAX_ID, db_datetime_range, is_known_time_zone
from changeplans.models import Plan, PlanService
from changeplans.permissions import can_create_plan, can_view_plan, edit_refusal
from changeplans.selectors import plan_queryset
from changeplans.views_list import add_row_details, list_queryset
from execution import transitions

from .http import Cursor, ErrorSerializer, if_match_revision, not_modified, run_once, with_etag
from .serializers_plans import (
    CREATED_EXAMPLES,
    PLAN_EXAMPLES,
    REFUSED_EXAMPLES,
    CancelSerializer,
    CopySerializer,
    FinishSerializer,
    PlanPatchSerializer,
    PlanRowSerializer,
    PlanSerializer,
    PlanTransitionSerializer,
    PlanWriteSerializer,
    RollbackSerializer,
    StartSerializer,
)

# --- shared -------------------------------------------------------------------------------------------

PLAN_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The plan's id.")
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description='The ETag you read (`"plan-12-r7"`): a 412 answers when the plan changed since.',
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, description="The ETag you have: 304 when unchanged."
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Any unique text (a UUID): a repeat of the same request gets the first answer again, "
    "with `Idempotent-Replayed: true`, and the transition runs once.",
)


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


BAD_INPUT = _error("The input is not valid: `errors` has the page form's messages per field.")
UNAUTHENTICATED = _error("No credentials, or a token that is not valid.")
REFUSED = _error("Your roles do not allow it, or a read-only token (`detail` says why, as the page does).")
NOT_FOUND = _error("No such plan.")
CONFLICT = _error("The plan's state does not allow it now, or a request with this Idempotency-Key still runs.")
INVALID = _error("Refused by the plan's rules (`detail` says why, as the page does), or a reused Idempotency-Key.")
TRANSITION_ERRORS = {
    400: BAD_INPUT,
    401: UNAUTHENTICATED,
    403: REFUSED,
    404: NOT_FOUND,
    409: CONFLICT,
    422: INVALID,
}

FILTERS = tuple(PlanFilterSet.Meta.fields)


class PlanCursor(Cursor):
    """The plan list's order: the latest windows first (the page's order and its index plan_list_order)."""

    ordering = ("-window_start", "-id")  # type: ignore[assignment]  # DRF takes a tuple too


class DatesCannotBeShown(APIException):
    status_code = http_status.HTTP_409_CONFLICT
    default_code = "dates_out_of_range"
    default_detail = gettext_lazy(
        "This plan has dates outside the years 2000–2100 and cannot be shown."
        " An administrator can fix it with “manage.py check_plan_dates”."
    )


def _invalid(errors: Mapping[str, Any]) -> ValidationError:
    """A 400 with each field's messages (a form's or a filter's), shaped by api.http.exception_handler."""
    return ValidationError(
        {"non_field_errors" if field == "__all__" else field: value for field, value in errors.items()}
    )


def _body(request: Request, serializer_class: type[Serializer]) -> dict[str, Any]:
    """The request's body checked by `serializer_class` (400 for an unknown field or a wrong type)."""
    data = request.data
    if isinstance(data, Mapping):
        unknown = sorted(set(data) - set(serializer_class().fields))
        if unknown:
            raise _invalid({name: [_("There is no such field.")] for name in unknown})
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _plan_id(pk: int) -> int:
    if pk > MAX_ID:
        raise Http404
    return pk


def _detail_queryset() -> QuerySet[Plan]:
    return plan_queryset().prefetch_related(
        Prefetch("plan_services", queryset=PlanService.objects.select_related("service").order_by("id"))
    )


def _shown_plan(pk: int) -> Plan:
    """The plan as the detail shows it; 404 without it, 409 when its dates cannot be loaded (as the page)."""
    plan = (
        _detail_queryset()
        .filter(db_datetime_range("window_start") & db_datetime_range("window_end"))
        .filter(pk=_plan_id(pk))
        .first()
    )
    if plan is None:
        if Plan.objects.filter(pk=pk).exists():
            raise DatesCannotBeShown()
        raise Http404
    return plan


def _plan_response(request: Request, plan_id: int, status: int = 200) -> Response:
    plan = _shown_plan(plan_id)
    response = Response(PlanSerializer(plan, context={"request": request}).data, status=status)
    return with_etag(response, plan)


def _transition_response(request: Request, plan_id: int, detail: str, version: int | None = None) -> Response:
    plan = _shown_plan(plan_id)
    data = {"detail": detail, "plan": PlanSerializer(plan, context={"request": request}).data, "version": version}
    return with_etag(Response(data), plan)


# --- the header's input, for the page's form ------------------------------------------------------------


def _wall_clock(value: str, tz_name: str) -> str:
    """A time with an offset as wall-clock time in the plan's zone (the form reads it so); anything else as sent."""
    try:
        moment = parse_datetime(value.strip())
    except ValueError:
        return value
    if moment is None or timezone.is_naive(moment) or not is_known_time_zone(tz_name):
        return value
    try:
        return moment.astimezone(zoneinfo.ZoneInfo(tz_name)).replace(tzinfo=None).isoformat()
    except (OverflowError, ValueError):
        return value  # beyond year 9999 in that zone: the form's range check says so


def _header_data(plan: Plan | None) -> dict[str, Any]:
    """What the page's form posts when nothing is changed: the plan's header, or a new plan's defaults."""
    if plan is None:
        return {
            "kind": PlanKind.NORMAL,
            "time_zone": Plan._meta.get_field("time_zone").get_default(),
            "availability": Availability.UNAVAILABLE,
            "announcement_intro": PlanForm().initial["announcement_intro"],
        }
    data: dict[str, Any] = {
        name: getattr(plan, name)
        for name in (
            "title",
            "goal",
            "kind",
            "time_zone",
            "downtime_text",
            "stated_duration_text",
            "client_impact",
            "banner_needed",
            "jira_url",
            "mailing_list",
            "announcement_subject",
            "announcement_intro",
            "responsible_contact",
        )
    }
    for name in ("window_start", "window_end"):
        data[name] = getattr(plan, name).astimezone(plan.tz).replace(tzinfo=None).isoformat()
    shown = list(plan.plan_services.all())
    data["services"] = [ps.service_id for ps in shown]
    data["availability"] = shown[0].availability if shown else Availability.UNAVAILABLE
    data["responsible_name"] = plan.responsible.name if plan.responsible else ""
    if plan.curator_id:
        data["curator_pick"] = f"user:{plan.curator_id}"
    return data


def _form_data(values: Mapping[str, Any], plan: Plan | None) -> dict[str, Any]:
    """The page form's data: the plan as it is (or a new plan's defaults) with the values sent."""
    data = _header_data(plan)
    for name, value in values.items():
        if name == "curator":
            data.pop("curator_pick", None)
            if value is not None:
                data["curator_pick"] = f"user:{value}"
        else:
            data[name] = value
    tz_name = str(data.get("time_zone") or "")
    for name in ("window_start", "window_end"):
        if name in values:
            data[name] = _wall_clock(values[name], tz_name)
    data.setdefault("curator", "")
    return data


# --- list, create, read, edit ---------------------------------------------------------------------------


class PlanList(GenericAPIView):
    """GET: the plan list with its filters; POST: a new plan (the create page)."""

    pagination_class = PlanCursor
    serializer_class = PlanRowSerializer

    @extend_schema(
        summary="Plans",
        description="The plans, latest window first, with the plan list's filters; a cursor pages them.",
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="Search: title, goal, steps, Jira key, people."),
            OpenApiParameter("status", OpenApiTypes.STR, enum=PlanStatus.values),
            OpenApiParameter("service", OpenApiTypes.INT, description="A service's id."),
            OpenApiParameter("author", OpenApiTypes.INT, description="The author's user id."),
            OpenApiParameter("date_from", OpenApiTypes.DATE, description="Windows ending on or after this day."),
            OpenApiParameter("date_to", OpenApiTypes.DATE, description="Windows starting on or before this day."),
        ],
        responses={
            200: PlanRowSerializer(many=True),
            400: _error("A filter's value is not valid: `errors` has the plan list's messages."),
            401: UNAUTHENTICATED,
            403: REFUSED,
            404: _error("The cursor is not valid."),
        },
    )
    def get(self, request: Request) -> Response:
        queryset = list_queryset()
        given = {name: request.query_params[name] for name in FILTERS if name in request.query_params}
        if given:
            filterset = PlanFilterSet(given, queryset=queryset)
            if not filterset.is_valid():
                raise _invalid(filterset.errors)
            queryset = filterset.qs
        page = self.paginate_queryset(queryset)
        assert page is not None
        add_row_details(page)
        return self.get_paginated_response(PlanRowSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(
        summary="Create a plan",
        description="As the create page: only authors and administrators; the page form's rules and messages. "
        "Fields left out take the create page's defaults.",
        request=PlanWriteSerializer,
        responses={201: PlanSerializer, 400: BAD_INPUT, 401: UNAUTHENTICATED, 403: REFUSED, 422: INVALID},
        examples=CREATED_EXAMPLES,
    )
    def post(self, request: Request) -> Response:
        if not can_create_plan(request.user):
            raise PermissionDenied(_("Only authors can create plans."))
        values = _body(request, PlanWriteSerializer)
        form = PlanForm(_form_data(values, None))
        if not form.is_valid():
            raise _invalid(form.errors)
        plan = services.create_plan(
            actor=request.user,
            data=form.header_data(),
            services=form.cleaned_data["services"],
            availability=form.cleaned_data["availability"],
        )
        response = _plan_response(request, plan.pk, status=201)
        response["Location"] = reverse("api:plan_detail", args=[plan.pk])
        return response


class PlanDetail(GenericAPIView):
    """GET: the plan's header with its ETag; PATCH: edit it (the header form of the plan page)."""

    serializer_class = PlanSerializer

    @extend_schema(
        summary="A plan",
        parameters=[PLAN_ID, IF_NONE_MATCH],
        responses={
            200: PlanSerializer,
            304: OpenApiResponse(description="Not modified: the If-None-Match ETag is the plan's."),
            401: UNAUTHENTICATED,
            403: REFUSED,
            404: NOT_FOUND,
            409: _error("The plan's dates cannot be shown (as on its page)."),
        },
        examples=PLAN_EXAMPLES,
    )
    def get(self, request: Request, pk: int) -> Response:
        plan = _shown_plan(pk)
        if not can_view_plan(request.user, plan):
            raise PermissionDenied(_("You may not view this plan."))
        if not_modified(request, plan):
            return with_etag(Response(status=304), plan)
        return with_etag(Response(PlanSerializer(plan, context={"request": request}).data), plan)

    @extend_schema(
        summary="Edit a plan's header",
        description="Only the fields sent change. If-Match is required. An edit of an approved (or signed) plan "
        "that would reset signatures answers 409 `confirm_reset` first: repeat it with `confirm_reset: true`.",
        parameters=[PLAN_ID, IF_MATCH],
        request=PlanPatchSerializer,
        responses={
            200: PlanSerializer,
            400: BAD_INPUT,
            401: UNAUTHENTICATED,
            403: REFUSED,
            404: NOT_FOUND,
            409: _error("Signatures would be reset (`confirm_reset`), or the plan's dates cannot be shown."),
            412: _error("The plan changed since you read it: the answer's ETag is the current one."),
            422: INVALID,
            428: _error("If-Match is missing."),
        },
        examples=PLAN_EXAMPLES,
    )
    def patch(self, request: Request, pk: int) -> Response:
        plan = _shown_plan(pk)
        refusal = edit_refusal(request.user, plan)
        if refusal:
            raise PermissionDenied(refusal)
        revision = if_match_revision(request, plan)
        values = _body(request, PlanPatchSerializer)
        confirmed = bool(values.pop("confirm_reset", False))
        with timezone.override(plan.tz):
            form = PlanForm(_form_data(values, plan), instance=Plan.objects.get(pk=plan.pk))
            if not form.is_valid():
                raise _invalid(form.errors)
            with versioning.confirm_resets(confirmed):
                services.update_plan_header(
                    plan.pk,
                    actor=request.user,
                    data=form.header_data(),
                    revision=revision,
                    services=form.cleaned_data["services"],
                    availability=form.cleaned_data["availability"],
                )
        return _plan_response(request, plan.pk)


# --- transitions ----------------------------------------------------------------------------------------


def _transition_schema(
    summary: str, description: str, request: Any, ok: int = 200, examples: list[Any] | None = None
) -> Callable[[Any], Any]:
    return extend_schema(
        summary=summary,
        description=description,
        parameters=[PLAN_ID, IDEMPOTENCY_KEY],
        request=request,
        responses={ok: PlanTransitionSerializer, **TRANSITION_ERRORS},
        examples=examples or [],
    )


def _viewable(request: Request, pk: int) -> Plan:
    """The board's first check (execution.views._check_view): 404, then who may see the plan."""
    plan = Plan.objects.only("pk", "status").filter(pk=_plan_id(pk)).first()
    if plan is None:
        raise Http404
    if not can_view_plan(request.user, plan):
        raise PermissionDenied(_("You may not view this plan."))
    return plan


@_transition_schema(
    "Submit for sign-off",
    "The author (or an administrator) sends a draft or rejected plan for sign-off, as the matrix's Submit button.",
    None,
)
@api_view(["POST"])
def plan_submit(request: Request, pk: int) -> Response:
    def submit() -> Response:
        _viewable(request, pk)
        version = approvals_services.submit_plan(pk, actor=request.user)
        message = _("Sent for sign-off as version %(n)d") % {"n": version.number}
        return _transition_response(request, pk, message, version.number)

    return run_once(request, submit)


@_transition_schema(
    "Cancel",
    "The author or an administrator cancels a plan that has not started; `comment` (the reason) is required.",
    CancelSerializer,
    examples=REFUSED_EXAMPLES,
)
@api_view(["POST"])
def plan_cancel(request: Request, pk: int) -> Response:
    def cancel() -> Response:
        _viewable(request, pk)
        values = _body(request, CancelSerializer)
        form = CancelPlanForm(values)
        if not form.is_valid():
            raise _invalid(form.errors)
        services.cancel_plan(pk, actor=request.user, comment=form.cleaned_data["comment"])
        return _transition_response(request, pk, _("The plan is cancelled."))

    return run_once(request, cancel)


@_transition_schema(
    "Copy",
    "A new draft of yours with this plan's header, services, steps, risks and rollback actions in a new window "
    "(as the Copy page). Answers 201 with the copy.",
    CopySerializer,
    ok=201,
)
@api_view(["POST"])
def plan_copy(request: Request, pk: int) -> Response:
    def copy() -> Response:
        if not can_create_plan(request.user):
            raise PermissionDenied(_("Only authors can create plans."))
        plan = _viewable(request, pk)
        values = _body(request, CopySerializer)
        plan = Plan.objects.get(pk=plan.pk)
        form = CopyPlanForm(
            {name: value if name == "kind" else _wall_clock(value, plan.time_zone) for name, value in values.items()},
            plan=plan,
        )
        if not form.is_valid():
            raise _invalid(form.errors)
        made = services.copy_plan(
            pk,
            actor=request.user,
            window_start=form.cleaned_data["window_start"],
            window_end=form.cleaned_data["window_end"],
            kind=form.cleaned_data.get("kind") or None,
        )
        message = _("The copy is created. Build its sign-off matrix before submitting it.")
        response = _transition_response(request, made.pk, message)
        response.status_code = 201
        response["Location"] = reverse("api:plan_detail", args=[made.pk])
        return response

    return run_once(request, copy)


@_transition_schema(
    "Start the work",
    "The duty officer, an operator or an administrator starts an approved plan, as the board's Start button; "
    "before the window opens `override_reason` is required.",
    StartSerializer,
)
@api_view(["POST"])
def plan_start(request: Request, pk: int) -> Response:
    def start() -> Response:
        _viewable(request, pk)
        values = _body(request, StartSerializer)
        transitions.start_plan(pk, actor=request.user, override_reason=values.get("override_reason", ""))
        return _transition_response(request, pk, _("The work has started."))

    return run_once(request, start)


@_transition_schema(
    "Finish the work",
    "Ends the work in progress with `outcome` completed, completed_with_rollback or failed (failed needs a "
    "`comment`), as the board's Finish button.",
    FinishSerializer,
)
@api_view(["POST"])
def plan_finish(request: Request, pk: int) -> Response:
    def finish() -> Response:
        _viewable(request, pk)
        values = _body(request, FinishSerializer)
        plan = transitions.finish_plan(
            pk, actor=request.user, outcome=values.get("outcome", ""), comment=values.get("comment", "")
        )
        return _transition_response(
            request, pk, _("The work has ended: %(status)s.") % {"status": plan.get_status_display()}
        )

    return run_once(request, finish)


@_transition_schema(
    "Switch to rollback mode",
    "From now on the rollback actions of the failed steps are ticked; `reason` is required. As the board's "
    "Rollback button.",
    RollbackSerializer,
)
@api_view(["POST"])
def plan_rollback(request: Request, pk: int) -> Response:
    def rollback() -> Response:
        _viewable(request, pk)
        values = _body(request, RollbackSerializer)
        transitions.enter_rollback(pk, actor=request.user, reason=values.get("reason", ""))
        return _transition_response(request, pk, _("Rollback mode: tick the rollback actions of the failed steps."))

    return run_once(request, rollback)
