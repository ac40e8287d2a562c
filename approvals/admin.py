from django.contrib import admin

from .models import ApprovalRow


@admin.register(ApprovalRow)
class ApprovalRowAdmin(admin.ModelAdmin):
    list_display = ["plan", "position", "job_title", "person_name", "kind", "status", "decided_at"]
    list_filter = ["status", "kind"]
    search_fields = ["person_name", "job_title", "plan__title"]
    readonly_fields = ["status", "decided_at"]
