"""GET /api/v1/gate/: the deployment gate for pipelines (docs/gate.md); the decision is api/gate.py's."""

import datetime
import re
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from changeplans.limits import DATE_RANGE_MESSAGE, date_in_range
from changeplans.models import Plan, Service
from runbooks.models import Cluster

from .gate import gate_decision
from .http import ErrorSerializer

# An unencoded "+07:00" in a query string arrives as " 07:00": put the plus back (after a time only).
_LOST_PLUS = re.compile(r"(\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?) (\d{2}(?::?\d{2})?)$")


def parse_at(raw: str) -> datetime.datetime:
    """An aware datetime from ISO 8601 text, or a ValidationError that says what to send."""
    text = _LOST_PLUS.sub(r"\1+\2", raw.strip())
    try:
        value = parse_datetime(text)
    except ValueError:  # well formed but impossible, e.g. month 13
        value = None
    if value is None:
        raise serializers.ValidationError(
            _("Enter the time in ISO 8601 with its offset, e.g. 2025-03-20T20:00:00+07:00 or 2025-03-20T13:00:00Z.")
        )
    if timezone.is_naive(value):
        raise serializers.ValidationError(
            _("The time needs its offset from UTC (+07:00, Z): without it, it could mean any zone.")
        )
    if not date_in_range(value):
        raise serializers.ValidationError(DATE_RANGE_MESSAGE)
    return value


class GateQuerySerializer(serializers.Serializer):
    service = serializers.CharField(
        required=False, max_length=200, help_text=_("The service's address, as in Okno (e.g. www.nskes.ru).")
    )
    cluster = serializers.CharField(
        required=False, max_length=100, help_text=_("The cluster's name, as in Okno (e.g. prod-k8s).")
    )
    at = serializers.CharField(
        required=False,
        max_length=64,
        help_text=_("When the deployment happens, ISO 8601 with its offset; default: now."),
    )

    def validate_service(self, value: str) -> Service:
        service = Service.objects.filter(name=value.strip()).first()
        if service is None:
            raise serializers.ValidationError(
                _("There is no service “%(name)s” in Okno: use its address as the service list shows it.")
                % {"name": value}
            )
        return service

    def validate_cluster(self, value: str) -> Cluster:
        cluster = Cluster.objects.filter(name=value.strip()).first()
        if cluster is None:
            raise serializers.ValidationError(
                _("There is no cluster “%(name)s” in Okno: use its name as the cluster list shows it.")
                % {"name": value}
            )
        return cluster

    def validate_at(self, value: str) -> datetime.datetime:
        return parse_at(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("service") and not attrs.get("cluster"):
            raise serializers.ValidationError(
                _("Name a service (?service=…) or a cluster (?cluster=…), or both."), code="required"
            )
        return attrs


class GatePlanSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Plan
        fields = ["id", "title", "status", "window_start", "window_end", "time_zone", "url"]

    def get_url(self, plan: Plan) -> str:
        return self.context["request"].build_absolute_uri(reverse("changeplans:plan_detail", args=[plan.pk]))


class GateAnswerSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    decision = serializers.ChoiceField(choices=["allowed", "blocked"])
    reasons = serializers.ListField(child=serializers.CharField())
    plans = GatePlanSerializer(many=True)
    checked_at = serializers.DateTimeField()


@extend_schema(
    parameters=[GateQuerySerializer],
    responses={
        200: OpenApiResponse(GateAnswerSerializer, description="Allowed."),
        423: OpenApiResponse(GateAnswerSerializer, description="Blocked: the reasons say why."),
        400: OpenApiResponse(
            ErrorSerializer, description="An unknown service or cluster, a bad `at`, or neither named."
        ),
    },
    operation_id="gate_check",
    summary="Deployment gate",
    description=(
        "Allowed (200) only inside the open window of an approved or in-progress plan for the service or the"
        " cluster; blocked (423 Locked) otherwise, with the reasons. `curl --fail` exits 22 on 423. docs/gate.md"
    ),
    examples=[
        OpenApiExample(
            "Allowed",
            response_only=True,
            status_codes=["200"],
            value={
                "allowed": True,
                "decision": "allowed",
                "reasons": [
                    "План №12 «Замена CNI» утверждён, его окно открыто до 20.03.2025 23:05 (Asia/Novosibirsk)."
                ],
                "plans": [
                    {
                        "id": 12,
                        "title": "Замена CNI",
                        "status": "approved",
                        "window_start": "2025-03-20T20:00:00+07:00",
                        "window_end": "2025-03-20T23:05:00+07:00",
                        "time_zone": "Asia/Novosibirsk",
                        "url": "https://okno.example.org/plans/12/",
                    }
                ],
                "checked_at": "2025-03-20T21:00:00+07:00",
            },
        ),
    ],
)
@api_view(["GET"])
def gate(request: Request) -> Response:
    """May a pipeline deploy to this service or cluster now (or at `at`)?"""
    query = GateQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    at = query.validated_data.get("at") or timezone.now()
    decision = gate_decision(
        service=query.validated_data.get("service"), cluster=query.validated_data.get("cluster"), at=at
    )
    answer = GateAnswerSerializer(
        {
            "allowed": decision.allowed,
            "decision": "allowed" if decision.allowed else "blocked",
            "reasons": decision.reasons,
            "plans": decision.plans,
            "checked_at": decision.at,
        },
        context={"request": request},
    )
    response = Response(answer.data, status=status.HTTP_200_OK if decision.allowed else status.HTTP_423_LOCKED)
    response["Cache-Control"] = "no-store"  # the answer changes with time and plans: no proxy may keep it
    return response
