"""Admin of event subscriptions (admin-managed only) and their queue (read-only; docs/events.md)."""

import json

from django import forms
from django.contrib import admin
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from . import subscriptions, webhooks
from .admin_base import ReadOnlyAdmin
from .choices import SubscriptionFormat
from .models import EventSubscription, SubscriptionEvent

MIN_SECRET = 16


def _service_choices():
    return sorted({choice for provider in subscriptions.service_choices for choice in provider()}, key=lambda c: c[1])


class EventSubscriptionForm(forms.ModelForm):
    """The secret is write-only (as a service's webhook secret): never sent back; an empty input keeps it."""

    secret = forms.CharField(
        label=capfirst(_("secret")),
        required=False,
        strip=True,
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    events = forms.MultipleChoiceField(
        label=capfirst(_("events")),
        required=False,
        choices=list(subscriptions.EVENTS.items()),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every event."),
    )
    services = forms.MultipleChoiceField(
        label=capfirst(_("services")),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: plans of every service."),
    )
    url = EventSubscription._meta.get_field("url").formfield(assume_scheme="https")

    class Meta:
        model = EventSubscription
        fields = ["name", "active", "format", "url", "secret", "telegram_chat_id", "language", "events", "services"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = _service_choices()
        saved = list(self.instance.services or []) if self.instance.pk else []
        known = {name for name, _label in choices}
        # A service renamed or deleted since stays visible, so saving does not drop it silently.
        self.fields["services"].choices = choices + [(name, name) for name in saved if name not in known]
        has_secret = bool(self.instance.pk and self.instance.secret)
        self.fields["secret"].help_text = (
            _("A secret is saved. Leave empty to keep it; type a new one to replace it.")
            if has_secret
            else _(
                "Signed JSON: the key that signs every call (HMAC-SHA256), at least 16 characters."
                " Telegram: the bot token. Mattermost and Slack: not needed."
            )
        )

    def clean(self):
        cleaned = super().clean()
        format_ = cleaned.get("format")
        url = cleaned.get("url")
        if url:
            try:
                webhooks.check_url(url.replace(webhooks.URL_SECRET, "x"))
            except webhooks.PermanentError as exc:  # the outbound guard's reason (common/outbound.py)
                self.add_error("url", _("Okno may not call this URL: %(reason)s") % {"reason": exc})
        secret = cleaned.get("secret") or ""
        has_secret = bool(secret or (self.instance.pk and self.instance.secret))
        if format_ == SubscriptionFormat.JSON:
            if secret and len(secret) < MIN_SECRET:
                self.add_error("secret", _("The secret is too short: at least 16 characters."))
            elif not has_secret:
                self.add_error("secret", _("A webhook needs a secret: calls are signed with it."))
        if format_ == SubscriptionFormat.TELEGRAM:
            if not has_secret:
                self.add_error("secret", _("Give the bot token: Telegram is called with it."))
            if not cleaned.get("telegram_chat_id", "").strip():
                self.add_error("telegram_chat_id", _("Give the chat the bot writes to."))
        return cleaned

    def save(self, commit=True):
        subscription = super().save(commit=False)
        if not self.cleaned_data.get("secret") and subscription.pk:
            # Empty input: keep what is saved (the form never shows it).
            subscription.secret = (
                EventSubscription.objects.filter(pk=subscription.pk).values_list("secret", flat=True).first() or ""
            )
        if commit:
            subscription.save()
        return subscription


@admin.register(EventSubscription)
class EventSubscriptionAdmin(admin.ModelAdmin):
    form = EventSubscriptionForm
    list_display = ["name", "format", "url", "active", "language", "created_by", "created_at"]
    list_filter = ["active", "format"]
    search_fields = ["name", "url"]
    readonly_fields = ["created_by", "created_at"]
    fieldsets = [
        (None, {"fields": ["name", "active", "format", "language"]}),
        (
            _("Receiver"),
            {
                "fields": ["url", "secret", "telegram_chat_id"],
                "description": _(
                    "The host must be on OKNO_WEBHOOK_ALLOWED_HOSTS. Telegram: https://api.telegram.org,"
                    " the bot token as the secret and the chat id."
                ),
            },
        ),
        (_("What is sent"), {"fields": ["events", "services"]}),
        (None, {"fields": ["created_by", "created_at"]}),
    ]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(SubscriptionEvent)
class SubscriptionEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "subscription", "sequence", "event", "released_at"]
    list_filter = ["event"]
    search_fields = ["key", "subscription__name"]
    fields = readonly_fields = ["subscription", "key", "sequence", "event", "created_at", "released_at", "pretty_body"]

    @admin.display(description=_("body"))
    def pretty_body(self, obj):
        text = json.dumps(obj.payload, ensure_ascii=False, indent=2)
        return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)
