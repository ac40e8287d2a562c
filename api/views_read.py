"""Read-only resources of the API (docs/api.md, "Read-only resources"): services, a plan's versions, their
diffs and its history, runbooks, automation runs.

Each answers whom the page answers: a plan's versions and history to whoever may see the plan
(changeplans.permissions.can_view_plan), the runbook library to those its pages let in
(runbooks.library.can_use_runbooks, 403 before a lookup, as the pages), a run and its log to those with a
stake in its plan (runbooks.permissions.can_view_run: 404 for a missing run, then 403). Every list pages
with a cursor and runs a fixed number of queries whatever its length.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from changeplans import versioning
from changeplans.choices import EventKind, GatePolicy
from changeplans.models import Plan, PlanEvent, PlanVersion, Service
from changeplans.permissions import can_view_plan
from runbooks.choices import RunMode, RunStatus
from runbooks.library import can_use_runbooks
from runbooks.models import AutomationRun, Runbook, RunbookVersion
from runbooks.permissions import can_view_run, can_view_runs

from . import examples
from .http import Cursor, ErrorSerializer
from .serializers_read import (
    DiffQuerySerializer,
    DiffSerializer,
    EventSerializer,
    RunbookDetailSerializer,
    RunbookSerializer,
    RunDetailSerializer,
    RunSerializer,
    ServiceSerializer,
    VersionContentSerializer,
    VersionSerializer,
)

PLAN_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The plan's id.")
VERSION_NUMBER = OpenApiParameter(
    "number", OpenApiTypes.INT, OpenApiParameter.PATH, description="The version's number (1, 2 …)."
)
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such object.")
REFUSED = OpenApiResponse(ErrorSerializer, description="Your roles do not let you see it (`detail` says why).")


class NotFoundTranslated(generics.GenericAPIView):
    """A missing object is DRF's translated "Not found." (Django's Http404 would name the model, in English)."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, Http404):
            exc = NotFound()
        return super().handle_exception(exc)


def _fake(view: Any) -> bool:
    """True while drf-spectacular inspects the view to write the schema (there is no request then)."""
    return bool(getattr(view, "swagger_fake_view", False))


# --- services -----------------------------------------------------------------------------------------


class ServiceFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=gettext_lazy("Address or display name contains"))
    gate_without_plan = django_filters.ChoiceFilter(choices=GatePolicy.choices)

    class Meta:
        model = Service
        fields = ["q", "gate_without_plan"]

    def search(self, queryset: QuerySet[Service], name: str, value: str) -> QuerySet[Service]:
        return queryset.filter(Q(name__icontains=value) | Q(display_name__icontains=value))


@extend_schema_view(
    get=extend_schema(
        summary="Services",
        description="Every service (what users see as unavailable), to every signed-in user."
        " The banner webhook's address and secret are never shown: only whether one is set.",
        examples=examples.SERVICE,
    )
)
class ServiceList(generics.ListAPIView):
    queryset = Service.objects.all()
    serializer_class = ServiceSerializer
    pagination_class = Cursor
    filter_backends = [DjangoFilterBackend]
    filterset_class = ServiceFilterSet


@extend_schema_view(
    get=extend_schema(
        summary="A service", responses={200: ServiceSerializer, 404: NOT_FOUND}, examples=examples.SERVICE
    )
)
class ServiceDetail(NotFoundTranslated, generics.RetrieveAPIView):
    queryset = Service.objects.all()
    serializer_class = ServiceSerializer


# --- a plan's versions, diffs and history ------------------------------------------------------------


class PlanScoped(NotFoundTranslated):
    """A resource inside a plan: 404 for a missing plan, 403 for one the user may not see."""

    plan_fields = ("pk", "author_id", "curator_id", "status", "time_zone")

    @cached_property
    def plan(self) -> Plan:
        plan = get_object_or_404(Plan.objects.only(*self.plan_fields), pk=self.kwargs["pk"])
        if not can_view_plan(self.request.user, plan):
            raise PermissionDenied(_("You may not view this plan."))
        return plan


class VersionCursor(Cursor):
    ordering = "-number"


@extend_schema_view(
    get=extend_schema(
        summary="Versions of a plan",
        description="Newest first, without their content. A version is frozen at each submission for sign-off and"
        " at each material edit after it.",
        parameters=[PLAN_ID],
        responses={200: VersionSerializer(many=True), 403: REFUSED, 404: NOT_FOUND},
        examples=examples.VERSIONS,
    )
)
class VersionList(PlanScoped, generics.ListAPIView):
    serializer_class = VersionSerializer
    pagination_class = VersionCursor

    def get_queryset(self) -> QuerySet[PlanVersion]:
        if _fake(self):
            return PlanVersion.objects.none()
        return PlanVersion.objects.filter(plan=self.plan).select_related("created_by").defer("snapshot")


@extend_schema_view(
    get=extend_schema(
        summary="A version of a plan",
        description="The frozen content approvers signed: the header and every step's material fields.",
        parameters=[PLAN_ID, VERSION_NUMBER],
        responses={200: VersionContentSerializer, 403: REFUSED, 404: NOT_FOUND},
        examples=examples.VERSION,
    )
)
class VersionDetail(PlanScoped, generics.RetrieveAPIView):
    serializer_class = VersionContentSerializer
    lookup_field = "number"

    def get_queryset(self) -> QuerySet[PlanVersion]:
        if _fake(self):
            return PlanVersion.objects.none()
        return PlanVersion.objects.filter(plan=self.plan).select_related("created_by")


@extend_schema(
    summary="What changed between two versions",
    description="The changes from version `against` (default: the one before) to this version, as the page"
    " “What changed” shows them; labels in the request's language.",
    parameters=[PLAN_ID, VERSION_NUMBER, DiffQuerySerializer],
    responses={
        200: DiffSerializer,
        400: OpenApiResponse(ErrorSerializer, description="`against` names no version of the plan."),
        403: REFUSED,
        404: NOT_FOUND,
    },
    examples=examples.DIFF,
)
class VersionDiff(PlanScoped):
    serializer_class = DiffSerializer

    def get(self, request: Request, pk: int, number: int) -> Response:
        version = get_object_or_404(PlanVersion.objects.filter(plan=self.plan), number=number)
        query = DiffQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        against_number = query.validated_data.get("against") or max(number - 1, 1)
        found = version if against_number == number else self.plan.versions.filter(number=against_number).first()
        if found is None:
            raise serializers.ValidationError(
                {"against": [_("The plan has no version %(n)d.") % {"n": against_number}]}
            )
        against: PlanVersion = found
        changes = versioning.diff(against.snapshot, version.snapshot) if against.pk != version.pk else []
        data = {"plan": self.plan.pk, "from_version": against.number, "to_version": number, "changes": changes}
        return Response(DiffSerializer(data).data)


class HistoryFilterSet(django_filters.FilterSet):
    kind = django_filters.MultipleChoiceFilter(
        choices=EventKind.choices, label=gettext_lazy("Event kinds (repeat the parameter for several)")
    )
    since = django_filters.IsoDateTimeFilter(
        field_name="at", lookup_expr="gte", label=gettext_lazy("Entries at or after this time (ISO 8601)")
    )

    class Meta:
        model = PlanEvent
        fields = ["kind", "since"]


class HistoryCursor(Cursor):
    ordering = ("-at", "-id")  # type: ignore[assignment]  # DRF takes a sequence; the position is on the first


@extend_schema_view(
    get=extend_schema(
        summary="History of a plan",
        description="Every entry of the plan's append-only history, newest first, refusals included: the same"
        " entries as the history page.",
        parameters=[PLAN_ID],
        responses={200: EventSerializer(many=True), 403: REFUSED, 404: NOT_FOUND},
        examples=examples.HISTORY,
    )
)
class History(PlanScoped, generics.ListAPIView):
    serializer_class = EventSerializer
    pagination_class = HistoryCursor
    filter_backends = [DjangoFilterBackend]
    filterset_class = HistoryFilterSet

    def get_queryset(self) -> QuerySet[PlanEvent]:
        if _fake(self):
            return PlanEvent.objects.none()
        return PlanEvent.objects.filter(plan_id=self.plan.pk).select_related("actor")


# --- runbooks -----------------------------------------------------------------------------------------


class RunbookAccess(NotFoundTranslated):
    """The runbook pages' rule: authors, operators and administrators (403 before any lookup, as the pages)."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if not can_use_runbooks(request.user):
            raise PermissionDenied(_("Runbooks are for authors, operators and administrators."))


def _with_current_versions(runbooks: list[Runbook]) -> list[Runbook]:
    """Set `current_version` (the latest, with its definition) on each runbook: one query for them all."""
    latest = RunbookVersion.objects.filter(runbook=OuterRef("runbook_id")).order_by("-number").values("pk")[:1]
    versions = (
        RunbookVersion.objects.filter(runbook__in=[runbook.pk for runbook in runbooks])
        .filter(pk=Subquery(latest))
        .select_related("created_by")
        .defer("source")
    )
    by_runbook = {version.runbook_id: version for version in versions}
    for runbook in runbooks:
        runbook.current_version = by_runbook.get(runbook.pk)  # type: ignore[attr-defined]
    return runbooks


@extend_schema_view(
    get=extend_schema(
        summary="Runbooks",
        description="The runbook library (not archived), with each runbook's current version number."
        " For authors, operators and administrators, as the library's pages.",
        responses={200: RunbookSerializer(many=True), 403: REFUSED},
        examples=examples.RUNBOOKS,
    )
)
class RunbookList(RunbookAccess, generics.ListAPIView):
    serializer_class = RunbookSerializer
    pagination_class = Cursor
    queryset = Runbook.objects.filter(archived=False).select_related("created_by")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        assert page is not None  # the list always pages
        return self.get_paginated_response(self.get_serializer(_with_current_versions(page), many=True).data)


@extend_schema_view(
    get=extend_schema(
        summary="A runbook",
        description="A runbook with its current version's definition (the parsed YAML and its source) and the"
        " list of its versions.",
        responses={200: RunbookDetailSerializer, 403: REFUSED, 404: NOT_FOUND},
        examples=examples.RUNBOOK,
    )
)
class RunbookDetail(RunbookAccess, generics.RetrieveAPIView):
    serializer_class = RunbookDetailSerializer
    queryset = Runbook.objects.select_related("created_by")

    def get_object(self) -> Runbook:
        runbook: Runbook = super().get_object()
        versions = list(runbook.versions.select_related("created_by").defer("definition", "source").order_by("-number"))
        runbook.version_list = versions  # type: ignore[attr-defined]
        runbook.current_version = (  # type: ignore[attr-defined]
            runbook.versions.select_related("created_by").get(pk=versions[0].pk) if versions else None
        )
        return runbook


# --- automation runs ----------------------------------------------------------------------------------

RUNS_REFUSED = gettext_lazy(
    "Automation runs of this plan are shown to its author, curator and signers,"
    " to duty officers, operators and administrators."
)


def runs_queryset() -> QuerySet[AutomationRun]:
    return AutomationRun.objects.select_related(
        "plan", "step", "started_by", "cancelled_by", "approval__approved_by", "approval__version"
    ).defer("approval__version__snapshot")


class RunFilterSet(django_filters.FilterSet):
    mode = django_filters.ChoiceFilter(choices=RunMode.choices)
    status = django_filters.MultipleChoiceFilter(choices=RunStatus.choices)
    step = django_filters.NumberFilter(field_name="step_id", label=gettext_lazy("The step's id"))

    class Meta:
        model = AutomationRun
        fields = ["mode", "status", "step"]


@extend_schema_view(
    get=extend_schema(
        summary="Automation runs of a plan",
        description="Production runs and rehearsals' dry runs, newest first, without their logs. Shown to the"
        " plan's author, curator and signers, to duty officers, operators and administrators, as the run pages.",
        parameters=[PLAN_ID],
        responses={200: RunSerializer(many=True), 403: REFUSED, 404: NOT_FOUND},
        examples=examples.RUNS,
    )
)
class PlanRuns(PlanScoped, generics.ListAPIView):
    serializer_class = RunSerializer
    pagination_class = Cursor
    filter_backends = [DjangoFilterBackend]
    filterset_class = RunFilterSet

    def get_queryset(self) -> QuerySet[AutomationRun]:
        if _fake(self):
            return AutomationRun.objects.none()
        if not can_view_runs(self.request.user, self.plan):
            raise PermissionDenied(RUNS_REFUSED)
        return runs_queryset().filter(plan=self.plan).defer("log")


@extend_schema_view(
    get=extend_schema(
        summary="An automation run",
        description="A run with its log as the run's page shows it: the output so far while it runs, the whole"
        " log once it has ended. Secrets are masked when the output is written.",
        responses={200: RunDetailSerializer, 403: REFUSED, 404: NOT_FOUND},
        examples=examples.RUN,
    )
)
class RunDetail(NotFoundTranslated, generics.RetrieveAPIView):
    serializer_class = RunDetailSerializer
    queryset = runs_queryset()

    def get_object(self) -> AutomationRun:
        run: AutomationRun = super().get_object()
        if not can_view_run(self.request.user, run):
            raise PermissionDenied(RUNS_REFUSED)
        return run
