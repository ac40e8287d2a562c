"""Admin of webhook deliveries: read-only, the app writes them (notifications.webhooks)."""

import json

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .admin_base import ReadOnlyAdmin
from .models import WebhookDelivery


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "subject",
        "url",
        "state",
        "attempts",
        "response_status",
        "next_attempt_at",
        "sent_at",
    ]
    list_filter = ["state"]
    search_fields = ["key", "group", "subject", "url"]
    date_hierarchy = "created_at"
    fields = readonly_fields = [
        "key",
        "group",
        "subject",
        "url",
        "state",
        "attempts",
        "response_status",
        "last_error",
        "next_attempt_at",
        "claimed_at",
        "created_at",
        "sent_at",
        "pretty_body",
    ]

    @admin.display(description=_("body"))
    def pretty_body(self, obj):
        try:
            text = json.dumps(json.loads(obj.body), ensure_ascii=False, indent=2)
        except ValueError:
            text = obj.body
        return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)
