from django.contrib import admin

from .admin_base import ReadOnlyAdmin
from .models import OutboundEmail, ScheduledAction


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "to", "subject", "state", "attempts", "sent_at", "last_error"]
    list_filter = ["state"]
    search_fields = ["to", "subject", "key", "group"]


@admin.register(ScheduledAction)
class ScheduledActionAdmin(ReadOnlyAdmin):
    list_display = ["due_at", "kind", "key", "subject", "state", "attempts", "fired_at", "done_at", "result"]
    list_filter = ["state", "kind"]
    search_fields = ["key", "subject"]


from . import admin_subscriptions, admin_templates, admin_webhooks  # noqa: E402,F401  (they register their own models)
