from django.contrib import admin

from .models import PlanImport


@admin.register(PlanImport)
class PlanImportAdmin(admin.ModelAdmin):
    """Read-only: imports are made and confirmed by their owners on the import pages."""

    list_display = ("id", "owner", "created_at", "source", "filename", "size", "status", "progress", "plan")
    list_filter = ("status", "source")
    search_fields = ("filename", "owner__username", "owner__last_name")
    date_hierarchy = "created_at"
    fields = (
        "owner",
        "created_at",
        "source",
        "filename",
        "content_type",
        "size",
        "sha256",
        "into_plan",
        "status",
        "progress",
        "error",
        "language",
        "plan",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        # Never the uploads themselves: a list of imports would read megabytes per row.
        return (
            super()
            .get_queryset(request)
            .defer("data", "pasted_html", "document", "result", "overrides")
            .select_related("owner", "plan")
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
