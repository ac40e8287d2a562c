from django.contrib import admin

from .models import OutboundEmail, ScheduledAction


class ReadOnlyAdmin(admin.ModelAdmin):
    """The outbox and the schedule are written by the app only; the admin shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "to", "subject", "state", "attempts", "sent_at"]
    list_filter = ["state"]
    search_fields = ["to", "subject", "key"]


@admin.register(ScheduledAction)
class ScheduledActionAdmin(ReadOnlyAdmin):
    list_display = ["due_at", "kind", "key", "state", "attempts", "done_at"]
    list_filter = ["state", "kind"]
    search_fields = ["key"]


from . import admin_banners, admin_templates  # noqa: E402,F401  (they register their own models)
