"""Serializers of the read-only resources (docs/api.md, "Read-only resources").

What they show is what the pages show, and no more: never a service's webhook secret, never a cluster's
credentials; a run's log as stored (redacted when written, runbooks/redaction.py).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from changeplans.announcements import parse_addresses
from changeplans.banners import origins_of
from changeplans.models import PlanEvent, PlanVersion, Service, status_label
from changeplans.roles import display_name
from changeplans.templatetags.okno import change_lines
from runbooks import display
from runbooks.models import AutomationApproval, AutomationRun, Runbook, RunbookVersion

# --- people -------------------------------------------------------------------------------------------


class PersonSerializer(serializers.Serializer):
    """A user as the pages name them ("Хасанов А.И."), with the login scripts match on."""

    id = serializers.IntegerField(read_only=True)
    username = serializers.SerializerMethodField()
    name = serializers.SerializerMethodField()

    def get_username(self, user: AbstractBaseUser) -> str:
        return user.get_username()

    def get_name(self, user: AbstractBaseUser) -> str:
        return str(display_name(user))


# --- services -----------------------------------------------------------------------------------------


class ServiceSerializer(serializers.ModelSerializer):
    """A service as its admin page shows it, without the webhook secret and the webhook's address."""

    mailing_list = serializers.SerializerMethodField(help_text=_("Addresses that receive every announcement."))
    banner_origins = serializers.SerializerMethodField(help_text=_("Sites allowed to read the banner (CORS)."))
    banner_webhook = serializers.SerializerMethodField(
        help_text=_("Whether banner changes are also POSTed to the service's own banner API.")
    )
    # A plain string: blank when the service names no sender (an "email" format would refuse "").
    announcement_from = serializers.CharField(
        read_only=True, help_text=_("Sender of announcements about this service when the plan names none.")
    )
    gate_without_plan_label = serializers.CharField(source="get_gate_without_plan_display", read_only=True)

    class Meta:
        model = Service
        fields = [
            "id",
            "name",
            "display_name",
            "owner",
            "shows_banner",
            "banner_origins",
            "banner_webhook",
            "mailing_list",
            "announcement_from",
            "gate_without_plan",
            "gate_without_plan_label",
        ]
        read_only_fields = fields

    def get_mailing_list(self, service: Service) -> list[str]:
        return list(parse_addresses(service.mailing_list)[0])

    def get_banner_origins(self, service: Service) -> list[str]:
        return list(origins_of(service.banner_origins))

    def get_banner_webhook(self, service: Service) -> bool:
        # Only whether one is set: an address may carry a credential in its query, the secret never leaves.
        return bool(service.banner_webhook_url)


# --- plan versions ------------------------------------------------------------------------------------


class VersionSerializer(serializers.ModelSerializer):
    """A version of a plan in a list: who froze it and when, without its content."""

    created_by = PersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = PlanVersion
        fields = ["number", "created_at", "created_by"]
        read_only_fields = fields


class VersionContentSerializer(VersionSerializer):
    """A version with its frozen content: what the approvers signed."""

    snapshot = serializers.JSONField(
        read_only=True,
        help_text=_("The material content: `header` (the plan's fields) and `steps` (each step's fields)."),
    )

    class Meta(VersionSerializer.Meta):
        fields = [*VersionSerializer.Meta.fields, "plan", "snapshot"]
        read_only_fields = fields


class ChangeSerializer(serializers.Serializer):
    where = serializers.CharField(help_text=_("“Header” or “Step N”."))
    what = serializers.CharField(help_text=_("The field that changed, as the page names it."))
    old = serializers.CharField()
    new = serializers.CharField()
    html = serializers.CharField(help_text=_("`new` with removed words in <del> and added words in <ins>."))


class DiffSerializer(serializers.Serializer):
    plan = serializers.IntegerField()
    from_version = serializers.IntegerField()
    to_version = serializers.IntegerField()
    changes = ChangeSerializer(many=True)


class DiffQuerySerializer(serializers.Serializer):
    against = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text=_("The version to compare with; default: the one before."),
    )


# --- history ------------------------------------------------------------------------------------------


class EventSerializer(serializers.ModelSerializer):
    """One entry of a plan's history, as the history page shows it."""

    actor = PersonSerializer(read_only=True, allow_null=True)
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    from_label = serializers.SerializerMethodField()
    to_label = serializers.SerializerMethodField()
    changes = serializers.JSONField(read_only=True, help_text=_("Old and new values by field."))
    change_lines = serializers.SerializerMethodField(help_text=_("The changes as the page writes them."))

    class Meta:
        model = PlanEvent
        fields = [
            "id",
            "at",
            "actor",
            "kind",
            "kind_label",
            "object_type",
            "object_id",
            "object_label",
            "from_status",
            "from_label",
            "to_status",
            "to_label",
            "comment",
            "changes",
            "change_lines",
        ]
        read_only_fields = fields

    def get_from_label(self, event: PlanEvent) -> str:
        return str(status_label(event.object_type, event.from_status))

    def get_to_label(self, event: PlanEvent) -> str:
        return str(status_label(event.object_type, event.to_status))

    def get_change_lines(self, event: PlanEvent) -> list[str]:
        return [str(line) for line in change_lines(event)]


# --- runbooks -----------------------------------------------------------------------------------------


class RunbookVersionSerializer(serializers.ModelSerializer):
    created_by = PersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = RunbookVersion
        fields = ["number", "created_at", "created_by", "comment"]
        read_only_fields = fields


class RunbookVersionContentSerializer(RunbookVersionSerializer):
    definition = serializers.JSONField(read_only=True, help_text=_("The parsed YAML: parameters, plan, steps."))

    class Meta(RunbookVersionSerializer.Meta):
        fields = [*RunbookVersionSerializer.Meta.fields, "definition", "source"]
        read_only_fields = fields


class RunbookSerializer(serializers.ModelSerializer):
    """A runbook in the list: its current version's number, not its content.

    The view sets `current_version` on each runbook (one query for the page).
    """

    display_title = serializers.SerializerMethodField(
        help_text=_("The title as the pages show it: {{ placeholders }} as their parameters' labels.")
    )
    created_by = PersonSerializer(read_only=True, allow_null=True)
    current_version = RunbookVersionSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Runbook
        fields = [
            "id",
            "slug",
            "title",
            "display_title",
            "description",
            "builtin",
            "archived",
            "created_by",
            "created_at",
            "current_version",
        ]
        read_only_fields = fields

    def get_display_title(self, runbook: Runbook) -> str:
        version = getattr(runbook, "current_version", None)
        return display.title(version.definition if version else None, runbook.title)


class RunbookDetailSerializer(RunbookSerializer):
    """A runbook with its current version's definition and the list of its versions."""

    current_version = RunbookVersionContentSerializer(read_only=True, allow_null=True)
    versions = RunbookVersionSerializer(many=True, read_only=True, source="version_list")

    class Meta(RunbookSerializer.Meta):
        fields = [*RunbookSerializer.Meta.fields, "versions"]
        read_only_fields = fields


# --- automation runs ----------------------------------------------------------------------------------


class StepRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    position = serializers.IntegerField()
    name = serializers.CharField()


class RunApprovalSerializer(serializers.ModelSerializer):
    """Four eyes: who approved the exact content the run executed, and how."""

    via_label = serializers.CharField(source="get_via_display", read_only=True)
    approved_by = PersonSerializer(read_only=True, allow_null=True)
    version = serializers.SerializerMethodField(help_text=_("The plan version whose sign-off approved it."))

    class Meta:
        model = AutomationApproval
        fields = ["via", "via_label", "approved_by", "signers", "version", "approved_at", "content_hash"]
        read_only_fields = fields

    def get_version(self, approval: AutomationApproval) -> int | None:
        return approval.version.number if approval.version else None


class RunSerializer(serializers.ModelSerializer):
    """An automation run in a list: status, times and who started and approved it; no log."""

    step = StepRefSerializer(read_only=True)
    mode_label = serializers.CharField(source="get_mode_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    started_by = PersonSerializer(read_only=True, allow_null=True)
    cancelled_by = PersonSerializer(read_only=True, allow_null=True)
    approval = RunApprovalSerializer(read_only=True, allow_null=True)
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = AutomationRun
        fields = [
            "id",
            "plan",
            "step",
            "rehearsal",
            "mode",
            "mode_label",
            "status",
            "status_label",
            "kind",
            "cluster_name",
            "command",
            "timeout_seconds",
            "exit_code",
            "summary",
            "created_at",
            "started_at",
            "finished_at",
            "duration_seconds",
            "started_by",
            "cancel_requested_at",
            "cancelled_by",
            "approval",
        ]
        read_only_fields = fields


class RunDetailSerializer(RunSerializer):
    """A run with its log as the run's page shows it: the stored log once ended, the lines so far before."""

    log = serializers.SerializerMethodField(help_text=_("The output, secrets redacted."))

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "log"]
        read_only_fields = fields

    def get_log(self, run: AutomationRun) -> str:
        if run.ended and run.log:
            return run.log
        return "\n".join(run.lines.order_by("seq").values_list("text", flat=True))
