from urllib.parse import urlsplit

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.utils.translation import gettext_lazy as _

from notifications import webhooks
from notifications.admin_base import ReadOnlyAdmin

from . import banners, pdf_archive
from .durations import parse_duration
from .limits import db_datetime_range
from .models import Banner, Party, Plan, PlanEvent, PlanPdf, PlanService, Risk, RollbackAction, Service, Step


class PlanServiceInline(admin.TabularInline):
    model = PlanService
    extra = 0


class StepAdminForm(forms.ModelForm):
    """The duration is read like in the step table: an unreadable or huge one is a message, not a 500."""

    class Meta:
        model = Step
        # Every editable field, in the model's order: StepAdmin has no `fields` and shows these.
        fields = [
            "plan",
            "position",
            "kind",
            "name",
            "description",
            "expected_result",
            "risk_mitigation",
            "affected_systems",
            "planned_downtime",
            "executor",
            "planned_date",
            "planned_time",
            "duration_text",
            "no_rollback_needed",
            "jira_key",
            "status",
            "actual_start",
            "actual_end",
            "done_by",
            "started_by",
            "comment",
        ]

    def clean_duration_text(self):
        text = self.cleaned_data.get("duration_text", "")
        parse_duration(text)
        return text

    def save(self, commit=True):
        self.instance.set_duration(self.cleaned_data.get("duration_text", ""))
        return super().save(commit)


class StepInline(admin.StackedInline):
    model = Step
    form = StepAdminForm
    extra = 0
    fields = [
        ("position", "kind", "name"),
        "description",
        "expected_result",
        "risk_mitigation",
        "affected_systems",
        ("planned_downtime", "executor", "jira_key"),
        ("planned_date", "planned_time", "duration_text"),
        "no_rollback_needed",
        "status",
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
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # a bare host means https (Django 6's default)

    def get_queryset(self, request):
        # Rows stored before the date bounds existed cannot be loaded by Python: list the rest, and say so.
        return super().get_queryset(request).filter(db_datetime_range("window_start") & db_datetime_range("window_end"))

    def changelist_view(self, request, extra_context=None):
        hidden = Plan.objects.exclude(db_datetime_range("window_start") & db_datetime_range("window_end")).count()
        if hidden:
            messages.warning(
                request,
                _(
                    "%(n)d plan(s) have dates outside the years 2000–2100 and are not listed."
                    " Fix them with “manage.py check_plan_dates”."
                )
                % {"n": hidden},
            )
        return super().changelist_view(request, extra_context)


class RiskInline(admin.TabularInline):
    model = Risk
    extra = 0


class RollbackActionInline(admin.TabularInline):
    model = RollbackAction
    extra = 0
    filter_horizontal = ["risks"]


@admin.register(Step)
class StepAdmin(admin.ModelAdmin):
    form = StepAdminForm
    list_display = ["__str__", "plan", "kind", "executor", "planned_date", "planned_time", "duration_text", "status"]
    list_filter = ["status", "kind"]
    search_fields = ["name", "description", "plan__title"]
    readonly_fields = ["status", "duration_min", "duration_max", "revision", "actual_start", "actual_end", "done_by"]
    inlines = [RiskInline, RollbackActionInline]

    def save_model(self, request, obj, form, change):
        obj.set_duration(obj.duration_text)
        super().save_model(request, obj, form, change)


class ServiceAdminForm(forms.ModelForm):
    """The webhook secret is write-only: never sent back to the browser; an empty input keeps the saved one."""

    banner_webhook_secret = forms.CharField(
        label=_("webhook secret"),
        required=False,
        strip=True,
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    clear_webhook_secret = forms.BooleanField(label=_("Delete the saved secret"), required=False)
    # A bare host means https (Django 6's default too).
    banner_webhook_url = Service._meta.get_field("banner_webhook_url").formfield(assume_scheme="https")

    class Meta:
        model = Service
        # Every editable field, in the model's order (clear_webhook_secret is the form's own).
        fields = [
            "name",
            "display_name",
            "owner",
            "shows_banner",
            "mailing_list",
            "announcement_from",
            "banner_origins",
            "banner_webhook_url",
            "banner_webhook_secret",
            "gate_without_plan",
            "conflict_blocks_submission",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        saved = bool(self.instance.pk and self.instance.banner_webhook_secret)
        self.fields["banner_webhook_secret"].help_text = (
            _("A secret is saved. Leave empty to keep it; type a new one to replace it.")
            if saved
            else _("Shared with the service's banner API to sign every call (HMAC-SHA256). At least 16 characters.")
        )
        if not saved:
            del self.fields["clear_webhook_secret"]

    def clean_banner_origins(self):
        origins = []
        for line in self.cleaned_data.get("banner_origins", "").splitlines():
            line = line.strip().rstrip("/")
            if not line:
                continue
            parts = urlsplit(line)
            if (
                parts.scheme not in ("http", "https")
                or not parts.hostname
                or parts.path
                or parts.query
                or parts.fragment
                or parts.username
            ):
                raise forms.ValidationError(
                    _("%(line)s is not an origin: write the scheme and the host only, e.g. https://www.nskes.ru")
                    % {"line": line}
                )
            origins.append(line)
        return "\n".join(origins)

    def clean_banner_webhook_secret(self):
        secret = self.cleaned_data.get("banner_webhook_secret", "")
        if secret and len(secret) < 16:
            raise forms.ValidationError(_("The secret is too short: at least 16 characters."))
        return secret

    def clean(self):
        cleaned = super().clean()
        url = cleaned.get("banner_webhook_url")
        if url:
            try:
                webhooks.check_url(url)
            except webhooks.PermanentError as exc:  # the outbound guard's reason (common/outbound.py)
                self.add_error("banner_webhook_url", _("Okno may not call this URL: %(reason)s") % {"reason": exc})
            has_secret = cleaned.get("banner_webhook_secret") or (
                self.instance.banner_webhook_secret and not cleaned.get("clear_webhook_secret")
            )
            if not has_secret:
                self.add_error("banner_webhook_secret", _("A webhook needs a secret: calls are signed with it."))
        return cleaned

    def save(self, commit=True):
        service = super().save(commit=False)
        if self.cleaned_data.get("clear_webhook_secret"):
            service.banner_webhook_secret = ""
        elif not self.cleaned_data.get("banner_webhook_secret"):
            # Empty input: keep what is saved (the form never shows it).
            service.banner_webhook_secret = (
                Service.objects.filter(pk=service.pk).values_list("banner_webhook_secret", flat=True).first() or ""
            )
        if commit:
            service.save()
            self.save_m2m()
        return service


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    form = ServiceAdminForm
    list_display = ["display_name", "name", "owner", "shows_banner"]
    search_fields = ["name", "display_name"]
    fieldsets = [
        (None, {"fields": ["name", "display_name", "owner"]}),
        (_("Announcements"), {"fields": ["mailing_list", "announcement_from"]}),
        (
            _("Maintenance banner"),
            {
                "fields": ["shows_banner", "banner_origins"],
                "description": _(
                    "Sites embed the banner with the script from /banners/embed.js;"
                    " the origins listed here may read it."
                ),
            },
        ),
        (
            _("Banner webhook"),
            {
                "fields": ["banner_webhook_url", "banner_webhook_secret", "clear_webhook_secret"],
                "description": _(
                    "Optional: Okno also POSTs every banner change to the service's own banner API,"
                    " signed with the secret."
                ),
            },
        ),
        (
            _("Deployment gate"),
            {
                "fields": ["gate_without_plan", "conflict_blocks_submission"],
                "description": _("Pipelines ask /api/v1/gate/ before deploying to this service (docs/gate.md)."),
            },
        ),
    ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or not obj.banner_webhook_secret:
            # No saved secret: nothing to delete.
            fieldsets = [
                (name, {**options, "fields": [f for f in options["fields"] if f != "clear_webhook_secret"]})
                for name, options in fieldsets
            ]
        return fieldsets

    def save_model(self, request, obj, form, change):
        old_name = form.initial.get("name") if change else None
        super().save_model(request, obj, form, change)
        # The public banner state is cached per service name: drop it so new origins apply at once.
        for name in {obj.name, old_name} - {None}:
            banners.forget(name)


@admin.register(Banner)
class BannerAdmin(ReadOnlyAdmin):
    """Read-only: banners are put up and taken down by plan steps (changeplans.banners)."""

    list_display = [
        "service",
        "short_text",
        "is_active",
        "shown_from",
        "shown_until",
        "ends_at",
        "plan",
        "created_by",
        "removed_by",
    ]
    list_filter = [("shown_until", admin.EmptyFieldListFilter), "service"]
    list_select_related = ["service", "plan", "created_by", "removed_by"]
    search_fields = ["text", "service__name", "service__display_name", "plan__title"]
    date_hierarchy = "shown_from"
    fields = readonly_fields = [
        "service",
        "text",
        "ends_at",
        "plan",
        "step",
        "shown_from",
        "shown_until",
        "created_by",
        "removed_by",
    ]

    @admin.display(description=_("text"))
    def short_text(self, obj):
        return obj.text if len(obj.text) <= 80 else obj.text[:79] + "…"

    @admin.display(description=_("active"), boolean=True)
    def is_active(self, obj):
        return obj.is_active


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


@admin.register(PlanPdf)
class PlanPdfAdmin(ReadOnlyAdmin):
    """Stored PDFs (docs/pdf.md): shown, never edited; archive copies are never deleted. Failed copies can be queued
    again."""

    list_display = [
        "id",
        "plan",
        "status",
        "language",
        "full_history",
        "archived",
        "reason",
        "pages",
        "size",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "archived", "reason", "language"]
    list_select_related = ["plan"]
    search_fields = ["plan__title", "sha256"]
    exclude = ["data"]
    actions = ["retry_failed"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("data")

    @admin.action(description=_("Queue the failed PDFs again"))
    def retry_failed(self, request, queryset):
        failed = list(queryset.filter(status=PlanPdf.Status.FAILED, archived=False))
        for pdf in failed:
            pdf_archive.retry(pdf)
        self.message_user(request, _("Queued again: %(n)d.") % {"n": len(failed)}, messages.SUCCESS)
