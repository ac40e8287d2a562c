"""Admin of banners and webhook deliveries: read-only, the app writes them (notifications.banners/webhooks)."""

import json

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .admin_base import ReadOnlyAdmin
from .models import Banner, WebhookDelivery


@admin.register(Banner)
class BannerAdmin(ReadOnlyAdmin):
    list_display = ["service", "short_text", "is_active", "shown_from", "shown_until", "ends_at", "plan", "created_by", "removed_by"]
    list_filter = [("shown_until", admin.EmptyFieldListFilter), "service"]
    list_select_related = ["service", "plan", "created_by", "removed_by"]
    search_fields = ["text", "service__name", "service__display_name", "plan__title"]
    date_hierarchy = "shown_from"
    fields = readonly_fields = ["service", "text", "ends_at", "plan", "step", "shown_from", "shown_until", "created_by", "removed_by"]

    @admin.display(description=_("text"))
    def short_text(self, obj):
        return obj.text if len(obj.text) <= 80 else obj.text[:79] + "…"

    @admin.display(description=_("active"), boolean=True)
    def is_active(self, obj):
        return obj.is_active


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "service", "url", "state", "attempts", "response_status", "next_attempt_at", "sent_at"]
    list_filter = ["state", "service"]
    list_select_related = ["service"]
    search_fields = ["key", "group", "url"]
    date_hierarchy = "created_at"
    fields = readonly_fields = [
        "key", "group", "service", "url", "state", "attempts", "response_status", "last_error",
        "next_attempt_at", "claimed_at", "created_at", "sent_at", "pretty_body",
    ]

    @admin.display(description=_("body"))
    def pretty_body(self, obj):
        try:
            text = json.dumps(json.loads(obj.body), ensure_ascii=False, indent=2)
        except ValueError:
            text = obj.body
        return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)
