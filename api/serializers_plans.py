"""Serializers of the plans resource (docs/api.md, "Plans").

Reading: a list row shows what a row of the plan list shows; the detail shows the plan page's header. Times are
ISO 8601 with the offset of the plan's own time zone («2025-03-20T20:00:00+07:00»), as the page shows them.

Writing: these serializers only check the types of a request's body. What the values mean (a title's length, a
window that ends after it starts, a known time zone, a person who exists) is checked by the page's own form
(changeplans.forms.PlanForm, CopyPlanForm, CancelPlanForm), so that the API refuses with the page's messages.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema_field
from rest_framework import serializers

from changeplans.choices import Availability, PlanKind, PlanStatus
from changeplans.limits import MAX_ID
from changeplans.models import Plan
from changeplans.roles import display_name

from .serializers_read import PersonSerializer

NULLABLE_TIME = serializers.DateTimeField(allow_null=True)


def zoned(plan: Plan, value: datetime.datetime | None) -> str | None:
    """A stored (UTC) time as ISO 8601 in the plan's time zone, with its offset."""
    return None if value is None else value.astimezone(plan.tz).isoformat()


def _absolute(request: Any, path: str) -> str:
    return request.build_absolute_uri(path) if request is not None else path


# --- reading ------------------------------------------------------------------------------------------


class PlanRowSerializer(serializers.Serializer):
    """A row of the plan list (changeplans/views_list.py: the same columns, the same queries)."""

    id = serializers.IntegerField(read_only=True)
    url = serializers.SerializerMethodField(help_text=_("This plan in the API."))
    title = serializers.CharField(read_only=True)
    kind = serializers.ChoiceField(choices=PlanKind.choices, read_only=True)
    status = serializers.ChoiceField(choices=PlanStatus.choices, read_only=True)
    status_label = serializers.CharField(read_only=True, help_text=_("The status as the pages show it."))
    time_zone = serializers.CharField(read_only=True)
    window_start = serializers.SerializerMethodField()
    window_end = serializers.SerializerMethodField()
    author = serializers.SerializerMethodField()
    service_names = serializers.ListField(child=serializers.CharField(), read_only=True)
    step_count = serializers.IntegerField(read_only=True)

    def get_url(self, plan: Plan) -> str:
        return _absolute(self.context.get("request"), reverse("api:plan_detail", args=[plan.pk]))

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_window_start(self, plan: Plan) -> str | None:
        return zoned(plan, plan.window_start)

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_window_end(self, plan: Plan) -> str | None:
        return zoned(plan, plan.window_end)

    @extend_schema_field(PersonSerializer)
    def get_author(self, plan: Plan) -> dict[str, Any]:
        return _person(plan.author)


def _person(user: Any) -> dict[str, Any]:
    return {"id": user.pk, "username": user.get_username(), "name": str(display_name(user))}


class PlanServiceSerializer(serializers.Serializer):
    """An affected service and its availability during the work."""

    id = serializers.IntegerField(source="service.pk")
    name = serializers.CharField(source="service.name")
    display_name = serializers.CharField(source="service.display_name")
    availability = serializers.ChoiceField(choices=Availability.choices)
    availability_label = serializers.CharField(source="get_availability_display")


class PlanLinksSerializer(serializers.Serializer):
    """Where the plan's parts are, in the API and on the pages."""

    page = serializers.CharField(help_text=_("The plan's page."))
    board = serializers.CharField(help_text=_("The plan's live board."))
    steps = serializers.CharField()
    matrix = serializers.CharField(help_text=_("The sign-off matrix."))
    history = serializers.CharField()
    versions = serializers.CharField()
    runs = serializers.CharField(help_text=_("Automation runs."))


class PlanSerializer(serializers.Serializer):
    """The plan's header, as the plan page shows it."""

    id = serializers.IntegerField(read_only=True)
    url = serializers.SerializerMethodField(help_text=_("This plan in the API."))
    title = serializers.CharField()
    goal = serializers.CharField()
    kind = serializers.ChoiceField(choices=PlanKind.choices)
    kind_label = serializers.CharField(source="get_kind_display")
    status = serializers.ChoiceField(choices=PlanStatus.choices)
    status_label = serializers.CharField(source="get_status_display")
    revision = serializers.IntegerField(help_text=_("Send it back in If-Match (as the ETag) to edit the plan."))
    time_zone = serializers.CharField()
    window_start = serializers.SerializerMethodField()
    window_end = serializers.SerializerMethodField()
    downtime_text = serializers.CharField()
    stated_duration_text = serializers.CharField()
    services = serializers.SerializerMethodField()
    availability = serializers.SerializerMethodField(
        help_text=_("The availability of the services during the work (the header's one choice).")
    )
    client_impact = serializers.BooleanField()
    banner_needed = serializers.BooleanField()
    author = serializers.SerializerMethodField()
    curator = serializers.SerializerMethodField()
    responsible_name = serializers.SerializerMethodField(help_text=_("The person, team or contractor in charge."))
    responsible_contact = serializers.CharField()
    jira_url = serializers.CharField()
    mailing_list = serializers.CharField()
    announcement_subject = serializers.CharField()
    announcement_intro = serializers.CharField()
    started_at = serializers.SerializerMethodField()
    finished_at = serializers.SerializerMethodField()
    rollback_started_at = serializers.SerializerMethodField()
    created_at = serializers.SerializerMethodField()
    updated_at = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    def get_url(self, plan: Plan) -> str:
        return _absolute(self.context.get("request"), reverse("api:plan_detail", args=[plan.pk]))

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_window_start(self, plan: Plan) -> str | None:
        return zoned(plan, plan.window_start)

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_window_end(self, plan: Plan) -> str | None:
        return zoned(plan, plan.window_end)

    @extend_schema_field(PlanServiceSerializer(many=True))
    def get_services(self, plan: Plan) -> list[dict[str, Any]]:
        return list(PlanServiceSerializer(plan.plan_services.all(), many=True).data)

    @extend_schema_field(serializers.ChoiceField(choices=Availability.choices, allow_null=True))
    def get_availability(self, plan: Plan) -> str | None:
        first = next(iter(plan.plan_services.all()), None)
        return first.availability if first else None

    @extend_schema_field(PersonSerializer)
    def get_author(self, plan: Plan) -> dict[str, Any]:
        return _person(plan.author)

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_curator(self, plan: Plan) -> dict[str, Any] | None:
        return _person(plan.curator) if plan.curator_id else None

    def get_responsible_name(self, plan: Plan) -> str:
        return plan.responsible.name if plan.responsible else ""

    @extend_schema_field(NULLABLE_TIME)
    def get_started_at(self, plan: Plan) -> str | None:
        return zoned(plan, plan.started_at)

    @extend_schema_field(NULLABLE_TIME)
    def get_finished_at(self, plan: Plan) -> str | None:
        return zoned(plan, plan.finished_at)

    @extend_schema_field(NULLABLE_TIME)
    def get_rollback_started_at(self, plan: Plan) -> str | None:
        return zoned(plan, plan.rollback_started_at)

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_created_at(self, plan: Plan) -> str | None:
        return zoned(plan, plan.created_at)

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_updated_at(self, plan: Plan) -> str | None:
        return zoned(plan, plan.updated_at)

    @extend_schema_field(PlanLinksSerializer)
    def get_links(self, plan: Plan) -> dict[str, str]:
        request = self.context.get("request")
        api = reverse("api:root")
        paths = {
            "page": reverse("changeplans:plan_detail", args=[plan.pk]),
            "board": reverse("execution:plan_board", args=[plan.pk]),
            # The parts the other API resources serve (docs/api.md): their paths, not their view names.
            **{part: f"{api}plans/{plan.pk}/{part}/" for part in ("steps", "matrix", "history", "versions", "runs")},
        }
        return {name: _absolute(request, path) for name, path in paths.items()}


class PlanTransitionSerializer(serializers.Serializer):
    """The answer of a transition: what the page's message says, and the plan after it."""

    detail = serializers.CharField(help_text=_("What happened, as the page's message says it."))
    plan = PlanSerializer()
    version = serializers.IntegerField(
        allow_null=True, help_text=_("submit: the number of the version sent for sign-off; otherwise null.")
    )


# --- writing ------------------------------------------------------------------------------------------

WINDOW_HELP = _(
    "ISO 8601. With an offset (2025-03-20T20:00:00+07:00, …Z) it is that moment; without one it is wall-clock"
    " time in the plan's time zone, as the page reads it."
)


class PlanWriteSerializer(serializers.Serializer):
    """The header's fields as the page's form has them; on PATCH only the fields sent change."""

    title = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    goal = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    kind = serializers.ChoiceField(
        choices=PlanKind.choices,
        required=False,
        help_text=_("normal or emergency; a plan is standard only when made from a standard runbook."),
    )
    kind_reason = serializers.CharField(
        required=False, allow_blank=True, help_text=_("Required when an edit changes the change type.")
    )
    time_zone = serializers.CharField(required=False, allow_blank=True, help_text=_("e.g. Asia/Novosibirsk."))
    window_start = serializers.CharField(required=False, allow_blank=True, help_text=WINDOW_HELP)
    window_end = serializers.CharField(required=False, allow_blank=True, help_text=WINDOW_HELP)
    downtime_text = serializers.CharField(required=False, allow_blank=True)
    stated_duration_text = serializers.CharField(required=False, allow_blank=True)
    services = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        help_text=_("The ids of the affected services (all of them: the list replaces the plan's)."),
    )
    availability = serializers.ChoiceField(choices=Availability.choices, required=False)
    client_impact = serializers.BooleanField(required=False)
    banner_needed = serializers.BooleanField(required=False)
    curator = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_ID, help_text=_("A user's id, or null.")
    )
    responsible_name = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text=_("A person, team or contractor by name: an existing one is reused, a new one is created."),
    )
    responsible_contact = serializers.CharField(required=False, allow_blank=True)
    jira_url = serializers.CharField(required=False, allow_blank=True)
    mailing_list = serializers.CharField(required=False, allow_blank=True)
    announcement_subject = serializers.CharField(required=False, allow_blank=True)
    announcement_intro = serializers.CharField(required=False, allow_blank=True)


class PlanPatchSerializer(PlanWriteSerializer):
    confirm_reset = serializers.BooleanField(
        required=False,
        help_text=_("true: go ahead although the edit resets signatures (the 409 confirm_reset answer said how many)."),
    )


class CancelSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, help_text=_("Why the plan is cancelled."))


class CopySerializer(serializers.Serializer):
    window_start = serializers.CharField(required=False, allow_blank=True, help_text=WINDOW_HELP)
    window_end = serializers.CharField(required=False, allow_blank=True, help_text=WINDOW_HELP)
    kind = serializers.ChoiceField(
        choices=PlanKind.choices,
        required=False,
        help_text=_(
            "The copy's change type, normal or emergency (default: the plan's; a standard plan's copy is normal)."
        ),
    )


class StartSerializer(serializers.Serializer):
    override_reason = serializers.CharField(
        required=False, allow_blank=True, help_text=_("Needed to start before the window opens.")
    )


class FinishSerializer(serializers.Serializer):
    outcome = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=40,
        help_text=_("completed, completed_with_rollback or failed."),
    )
    comment = serializers.CharField(required=False, allow_blank=True, help_text=_("Required for failed."))


class RollbackSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, help_text=_("Why the plan is rolled back."))


# --- examples (Swagger UI, ReDoc): each answer in Russian and in English -------------------------------


def _pair(name_ru: str, name_en: str, ru: Any, en: Any, *, status: str = "200") -> list[OpenApiExample]:
    return [
        OpenApiExample(name_ru, value=ru, response_only=True, status_codes=[status]),
        OpenApiExample(name_en, value=en, response_only=True, status_codes=[status]),
    ]


def _example_plan(language: str) -> dict[str, Any]:
    ru = language == "ru"
    api = "https://okno.example.org/api/v1/plans/12"
    return {
        "id": 12,
        "url": f"{api}/",
        "title": "Замена CNI на Calico",
        "goal": "Установить Calico вместо Flannel в PROD-кластере",
        "kind": "normal",
        "kind_label": "Обычные" if ru else "Normal",
        "status": "approved",
        "status_label": "СОГЛАСОВАНО" if ru else "APPROVED",
        "revision": 7,
        "time_zone": "Asia/Novosibirsk",
        "window_start": "2025-03-20T20:00:00+07:00",
        "window_end": "2025-03-20T23:05:00+07:00",
        "downtime_text": "до 40 мин",
        "stated_duration_text": "3 ч 5 мин",
        "services": [
            {
                "id": 3,
                "name": "www.nskes.ru",
                "display_name": "Инфосайт",
                "availability": "unavailable",
                "availability_label": "БУДЕТ НЕДОСТУПЕН" if ru else "WILL BE UNAVAILABLE",
            }
        ],
        "availability": "unavailable",
        "client_impact": True,
        "banner_needed": True,
        "author": {"id": 7, "username": "hasanov", "name": "Хасанов А.И." if ru else "Hasanov A.I."},
        "curator": None,
        "responsible_name": "Дежурный ООФИС",
        "responsible_contact": "+7 383 000-00-00",
        "jira_url": "https://jira.example.org/browse/INFRA-22",
        "mailing_list": "it.info@example.org",
        "announcement_subject": "",
        "announcement_intro": "Нам необходимо провести плановые работы" if ru else "We need to carry out planned work",
        "started_at": None,
        "finished_at": None,
        "rollback_started_at": None,
        "created_at": "2025-03-10T11:00:00+07:00",
        "updated_at": "2025-03-12T16:30:00+07:00",
        "links": {
            "page": "https://okno.example.org/plans/12/",
            "board": "https://okno.example.org/plans/12/board/",
            **{part: f"{api}/{part}/" for part in ("steps", "matrix", "history", "versions", "runs")},
        },
    }


PLAN_EXAMPLES = _pair("План «Замена CNI»", "The “CNI replacement” plan", _example_plan("ru"), _example_plan("en"))
CREATED_EXAMPLES = _pair("Созданный план", "The plan created", _example_plan("ru"), _example_plan("en"), status="201")
REFUSED_EXAMPLES = _pair(
    "Отказ: не автор",
    "Refused: not the author",
    {"detail": "Отменить план может только автор или администратор.", "code": "refused"},
    {"detail": "Only the author or an administrator can cancel the plan.", "code": "refused"},
    status="403",
)
