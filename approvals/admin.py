"""Admin of the sign-off: decisions are read-only (only the services make them) and a decided row stays."""

from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from . import waiting
from .choices import ApprovalStatus, RowKind
from .models import ApprovalRow, Delegation, MatrixTemplate, MatrixTemplateRow

DECISION_FIELDS = ["status", "decided_at", "decided_by", "on_behalf_of", "version", "comment"]


@admin.register(ApprovalRow)
class ApprovalRowAdmin(admin.ModelAdmin):
    list_display = [
        "plan",
        "position",
        "stage",
        "job_title",
        "person_name",
        "kind",
        "status",
        "decided_by",
        "decided_at",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["person_name", "job_title", "plan__title"]
    list_select_related = ["plan", "decided_by"]
    raw_id_fields = ["plan", "user"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_decided:
            # A signature is evidence: who was asked, for which plan, stays as it was signed.
            return [field.name for field in ApprovalRow._meta.fields if field.name != "id"]
        return DECISION_FIELDS

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_decided:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        # The bulk delete would bypass has_delete_permission(obj) for decided rows.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        waiting.lock_plan(obj.plan_id)  # the services' lock order: the plan, then its rows
        super().save_model(request, obj, form, change)
        if not change and obj.kind == RowKind.ACKNOWLEDGEMENT and obj.status == ApprovalStatus.PENDING:
            # The status is protected (no assignment) and read-only here; a new acknowledgement row starts
            # as "not acknowledged", which only the constructor could give it.
            ApprovalRow.objects.filter(pk=obj.pk).update(status=ApprovalStatus.NOT_ACKNOWLEDGED)
        waiting.sync_plan(obj.plan_id)  # a row added to (or a stage changed in) a plan in review

    def delete_model(self, request, obj):
        waiting.lock_plan(obj.plan_id)
        super().delete_model(request, obj)
        waiting.sync_plan(obj.plan_id)


class MatrixTemplateRowInline(admin.TabularInline):
    model = MatrixTemplateRow
    extra = 1
    fields = ["position", "stage", "kind", "job_title", "person_name", "user", "group"]
    raw_id_fields = ["user"]


@admin.register(MatrixTemplate)
class MatrixTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "row_count"]
    search_fields = ["name"]
    inlines = [MatrixTemplateRowInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(row_total=Count("rows"))

    @admin.display(description=_("rows"), ordering="row_total")
    def row_count(self, obj):
        return obj.row_total


@admin.register(Delegation)
class DelegationAdmin(admin.ModelAdmin):
    list_display = ["deputy", "principal", "starts_on", "ends_on", "reason", "created_by", "created_at"]
    list_filter = ["starts_on"]
    search_fields = ["deputy__last_name", "principal__last_name", "reason"]
    raw_id_fields = ["principal", "deputy"]
    readonly_fields = ["created_by", "created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
