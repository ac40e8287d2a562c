from django.contrib import admin

from .models import Party, Plan, PlanEvent, PlanService, Risk, RollbackAction, Service, Step


class PlanServiceInline(admin.TabularInline):
    model = PlanService
    extra = 0


class StepInline(admin.StackedInline):
    model = Step
    extra = 0
    fields = [
        ("position", "kind", "name"), "description", "expected_result", "risk_mitigation", "affected_systems",
        ("planned_downtime", "executor", "jira_key"), ("planned_date", "planned_time", "duration_text"), "no_rollback_needed", "status",
    ]
    readonly_fields = ["status"]
    show_change_link = True


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "window_start", "window_end", "author", "curator"]
    list_filter = ["status", "kind", "services"]
    search_fields = ["title", "goal"]
    readonly_fields = ["status", "revision", "created_at", "updated_at"]
    autocomplete_fields = ["author", "curator", "responsible"]
    inlines = [PlanServiceInline, StepInline]


class RiskInline(admin.TabularInline):
    model = Risk
    extra = 0


class RollbackActionInline(admin.TabularInline):
    model = RollbackAction
    extra = 0
    filter_horizontal = ["risks"]


@admin.register(Step)
class StepAdmin(admin.ModelAdmin):
    list_display = ["__str__", "plan", "kind", "executor", "planned_date", "planned_time", "duration_text", "status"]
    list_filter = ["status", "kind"]
    search_fields = ["name", "description", "plan__title"]
    readonly_fields = ["status", "duration_min", "duration_max", "revision", "actual_start", "actual_end", "done_by"]
    inlines = [RiskInline, RollbackActionInline]

    def save_model(self, request, obj, form, change):
        obj.set_duration(obj.duration_text)
        super().save_model(request, obj, form, change)


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["display_name", "name", "owner", "shows_banner"]
    search_fields = ["name", "display_name"]


@admin.register(Party)
class PartyAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "user", "contact"]
    list_filter = ["kind"]
    search_fields = ["name", "contact"]


@admin.register(PlanEvent)
class PlanEventAdmin(admin.ModelAdmin):
    """The history is append-only: the admin shows it and cannot add, change or delete entries."""

    list_display = ["at", "plan", "actor", "kind", "object_label", "from_status", "to_status"]
    list_filter = ["kind", "object_type"]
    search_fields = ["plan__title", "object_label", "comment"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
