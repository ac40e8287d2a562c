"""Serializers of steps, risks, rollback actions and the sign-off matrix (docs/api.md, "Steps, risks and rollback",
"Sign-off", "Execution").

Output serializers show what the plan page and the board show. Input serializers check only the shape (types,
lengths, no NUL byte); the content is checked by the pages' own forms and the services (api/views_steps.py,
api/views_matrix.py), so a refusal is the page's, word for word.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from approvals.choices import RowKind
from approvals.models import ApprovalRow
from changeplans.choices import StepKind, StepStatus
from changeplans.limits import MAX_ID, MAX_SMALL_NUMBER
from changeplans.models import Risk, RollbackAction, Step
from changeplans.roles import display_name

MAX_TEXT = 20_000  # a cell, a risk or a comment: far above any real one, far below what hurts
MAX_STEPS = 5_000  # a reorder's list (a plan has up to 2,000 steps)
MAX_INT = 2**31 - 1
NO_NUL = _("Text must not contain NUL characters (code 0).")


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise serializers.ValidationError(NO_NUL)
    if any("\ud800" <= char <= "\udfff" for char in value):  # lone surrogates: not text PostgreSQL can store
        raise serializers.ValidationError(_("Text must be valid Unicode."))
    return value


class Text(serializers.CharField):
    """A string without NUL bytes (PostgreSQL refuses them), kept as typed (the forms strip what they strip)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_TEXT)
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        self.validators.append(_no_nul)


def _name(user: Any) -> str | None:
    return str(display_name(user)) if user is not None else None


# --- output ---------------------------------------------------------------------------------------------------


class RiskSerializer(serializers.ModelSerializer):
    class Meta:
        model = Risk
        fields = ["id", "number", "description", "mitigation"]


class RollbackActionSerializer(serializers.ModelSerializer):
    risk_numbers = serializers.SerializerMethodField(help_text=_("The numbers of the risks it answers (5/6/7/8)."))
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    done_by = serializers.SerializerMethodField()

    class Meta:
        model = RollbackAction
        fields = ["id", "position", "text", "risk_numbers", "status", "status_label", "comment", "done_by"]

    def get_risk_numbers(self, action: RollbackAction) -> list[int]:
        return sorted(risk.number for risk in action.risks.all())

    def get_done_by(self, action: RollbackAction) -> str | None:
        return _name(action.done_by)


class StepSerializer(serializers.ModelSerializer):
    """A step as its row on the plan page and on the board shows it; `revision` goes into If-Match."""

    plan = serializers.IntegerField(source="plan_id", read_only=True)
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    executor = serializers.SerializerMethodField(help_text=_("The responsible executor's name, as the table shows it."))
    executor_user = serializers.SerializerMethodField(help_text=_("The user the executor is linked to, if any."))
    planned_date = serializers.DateField(allow_null=True)
    planned_time = serializers.SerializerMethodField(
        help_text=_("HH:MM in the plan's time zone, as the table shows it.")
    )
    started_by = serializers.SerializerMethodField()
    done_by = serializers.SerializerMethodField()
    risks = RiskSerializer(many=True, read_only=True)
    rollback_actions = RollbackActionSerializer(many=True, read_only=True)

    class Meta:
        model = Step
        fields = [
            "id",
            "plan",
            "position",
            "kind",
            "kind_label",
            "name",
            "description",
            "expected_result",
            "risk_mitigation",
            "affected_systems",
            "planned_downtime",
            "executor",
            "executor_user",
            "planned_date",
            "planned_time",
            "duration_text",
            "duration_min",
            "duration_max",
            "no_rollback_needed",
            "jira_key",
            "status",
            "status_label",
            "actual_start",
            "actual_end",
            "started_by",
            "done_by",
            "comment",
            "revision",
            "risks",
            "rollback_actions",
        ]
        read_only_fields = fields

    def get_executor(self, step: Step) -> str | None:
        return step.executor.name if step.executor else None

    def get_executor_user(self, step: Step) -> int | None:
        return step.executor.user_id if step.executor else None

    def get_planned_time(self, step: Step) -> str | None:
        return step.planned_time.strftime("%H:%M") if step.planned_time else None

    def get_started_by(self, step: Step) -> str | None:
        return _name(step.started_by)

    def get_done_by(self, step: Step) -> str | None:
        return _name(step.done_by)


class StepRisksSerializer(serializers.Serializer):
    """A step's risks panel: its risks, its rollback actions, the step's mitigation and «no rollback needed»."""

    revision = serializers.IntegerField(read_only=True)
    risk_mitigation = Text(required=False, allow_blank=True)
    no_rollback_needed = serializers.BooleanField(required=False)
    risks = RiskSerializer(many=True)
    rollback_actions = RollbackActionSerializer(many=True)


# --- input: steps ---------------------------------------------------------------------------------------------


class StepCellsSerializer(serializers.Serializer):
    """Cells of one step, as typed in the table ("17-00", "20.03.25", "до 40 мин"); only the ones sent change.

    `executor`: a name as typed (linked to the user whose surname and initials it is), "" for nobody.
    """

    name = Text(required=False, allow_blank=True)
    description = Text(required=False, allow_blank=True)
    expected_result = Text(required=False, allow_blank=True)
    risk_mitigation = Text(required=False, allow_blank=True)
    affected_systems = Text(required=False, allow_blank=True)
    planned_downtime = Text(required=False, allow_blank=True, max_length=1000)
    executor = Text(required=False, allow_blank=True, max_length=1000)
    planned_date = Text(required=False, allow_blank=True, max_length=100, help_text=_("e.g. 20.03.2025 or 2025-03-20"))
    planned_time = Text(required=False, allow_blank=True, max_length=100, help_text=_("e.g. 21:00, 21-00, 2100"))
    duration_text = Text(required=False, allow_blank=True, max_length=1000, help_text=_("e.g. 5 мин, 2-3 часа"))
    jira_key = Text(required=False, allow_blank=True, max_length=1000)
    kind = serializers.ChoiceField(required=False, choices=StepKind.choices)
    confirm_reset = serializers.BooleanField(
        required=False, default=False, help_text=_("Repeat with true after a 409 confirm_reset.")
    )


class NewStepSerializer(StepCellsSerializer):
    after_position = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=MAX_INT, help_text=_("Insert after this step number.")
    )


class ReorderSerializer(serializers.Serializer):
    step_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        max_length=MAX_STEPS,
        help_text=_("Every step of the plan, in the new order."),
    )


class MoveSerializer(serializers.Serializer):
    direction = serializers.ChoiceField(choices=[("up", "up"), ("down", "down")])
    confirm_reset = serializers.BooleanField(required=False, default=False)


class RiskInputSerializer(serializers.Serializer):
    id = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_ID)
    number = serializers.IntegerField(min_value=1, max_value=MAX_SMALL_NUMBER)
    description = Text()
    mitigation = Text(required=False, allow_blank=True)


class RollbackActionInputSerializer(serializers.Serializer):
    id = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_ID)
    text = Text()
    risk_numbers = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_SMALL_NUMBER), required=False, max_length=1000
    )


class StepRisksInputSerializer(serializers.Serializer):
    risks = RiskInputSerializer(many=True, max_length=1000)
    rollback_actions = RollbackActionInputSerializer(many=True, max_length=1000)
    risk_mitigation = Text(required=False, allow_blank=True)
    no_rollback_needed = serializers.BooleanField(required=False)
    confirm_reset = serializers.BooleanField(required=False, default=False)

    def validate_risks(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        numbers = [risk["number"] for risk in value]
        if len(numbers) != len(set(numbers)):
            raise serializers.ValidationError(_("Two risks have the same number."))
        for risk in value:
            risk["description"] = risk["description"].strip()
            risk["mitigation"] = risk.get("mitigation", "").strip()
            if not risk["description"]:
                raise serializers.ValidationError(_("Describe each risk."))
        return value

    def validate_rollback_actions(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for action in value:
            action["text"] = action["text"].strip()
            action["risk_numbers"] = sorted(set(action.get("risk_numbers", [])))
            if not action["text"]:
                raise serializers.ValidationError(_("Write what each rollback action does."))
        return value


# --- execution ------------------------------------------------------------------------------------------------


class TickSerializer(serializers.Serializer):
    comment = Text(
        required=False, allow_blank=True, max_length=4000, help_text=_("A comment; the reason for fail and skip.")
    )
    expected_status = serializers.ChoiceField(
        required=False,
        allow_null=True,
        choices=StepStatus.choices,
        help_text=_("The status you saw: when someone changed it meanwhile, the answer is 409 with who and when."),
    )


class RollbackTickSerializer(TickSerializer):
    action = serializers.ChoiceField(choices=[(a, a) for a in ("start", "done", "failed", "skip")])


# --- the sign-off matrix ------------------------------------------------------------------------------------------


class MatrixRowSerializer(serializers.ModelSerializer):
    """A row of the sign-off matrix as the plan page shows it to the caller (`can_sign`, `refusal`: for the caller)."""

    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    user = serializers.IntegerField(source="user_id", allow_null=True, read_only=True)
    group = serializers.IntegerField(source="group_id", allow_null=True, read_only=True)
    who = serializers.SerializerMethodField(help_text=_("“user:5” or “group:2”, as PATCH takes it; “” for nobody."))
    decided_by = serializers.SerializerMethodField()
    on_behalf_of = serializers.SerializerMethodField()
    version = serializers.SerializerMethodField(help_text=_("The plan version the decision was given on."))
    mine = serializers.SerializerMethodField()
    can_sign = serializers.SerializerMethodField(help_text=_("The caller may approve or reject this row now."))
    can_acknowledge = serializers.SerializerMethodField()
    refusal = serializers.SerializerMethodField(help_text=_("Why the caller may not decide this row of theirs now."))

    class Meta:
        model = ApprovalRow
        fields = [
            "id",
            "position",
            "stage",
            "kind",
            "kind_label",
            "job_title",
            "person_name",
            "user",
            "group",
            "who",
            "status",
            "status_label",
            "decided_at",
            "decided_by",
            "on_behalf_of",
            "version",
            "comment",
            "mine",
            "can_sign",
            "can_acknowledge",
            "refusal",
        ]
        read_only_fields = fields

    def get_who(self, row: ApprovalRow) -> str:
        if row.user_id is not None:
            return f"user:{row.user_id}"
        return f"group:{row.group_id}" if row.group_id is not None else ""

    def get_decided_by(self, row: ApprovalRow) -> str | None:
        return _name(row.decided_by)

    def get_on_behalf_of(self, row: ApprovalRow) -> str | None:
        return _name(row.on_behalf_of)

    def get_version(self, row: ApprovalRow) -> int | None:
        return row.version.number if row.version is not None else None

    def get_mine(self, row: ApprovalRow) -> bool:
        return bool(getattr(row, "mine", False))

    def get_can_sign(self, row: ApprovalRow) -> bool:
        return bool(getattr(row, "can_sign", False))

    def get_can_acknowledge(self, row: ApprovalRow) -> bool:
        return bool(getattr(row, "can_acknowledge", False))

    def get_refusal(self, row: ApprovalRow) -> str | None:
        refusal = getattr(row, "refusal", None)
        return str(refusal) if refusal else None


class MatrixSerializer(serializers.Serializer):
    plan = serializers.IntegerField()
    plan_status = serializers.CharField()
    version = serializers.IntegerField(allow_null=True, help_text=_("The newest version: send it with a decision."))
    can_edit_matrix = serializers.BooleanField()
    can_submit = serializers.BooleanField()
    submit_refusal = serializers.CharField(allow_null=True)
    rows = MatrixRowSerializer(many=True)


class MatrixRowInputSerializer(serializers.Serializer):
    """A row as the matrix builder posts it; `who`: "user:5", "group:2" or "" (the people search's ids)."""

    job_title = Text(required=False, allow_blank=True, max_length=1000)
    who = Text(required=False, allow_blank=True, max_length=100)
    kind = serializers.ChoiceField(required=False, choices=RowKind.choices)
    stage = serializers.IntegerField(required=False, allow_null=True, min_value=-MAX_INT, max_value=MAX_INT)


class ApplyTemplateSerializer(serializers.Serializer):
    template = serializers.IntegerField(min_value=1, max_value=MAX_INT)


class DecisionSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1, max_value=MAX_INT, help_text=_("The plan version you read (`version` of the matrix).")
    )
    comment = Text(required=False, allow_blank=True, max_length=4000)
