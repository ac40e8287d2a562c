"""Admin of clusters and secrets (write-only credentials) and read-mostly admin of runbooks and runs.

A saved kubeconfig, inventory or secret value is never sent back to the browser: the input is always
empty, an empty input keeps what is saved, and the page says only that a value is saved, its length and
when it was updated.
"""

from django import forms
from django.contrib import admin
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from changeplans.roles import display_name

from .models import (
    AutomationApproval,
    AutomationRun,
    Cluster,
    Rehearsal,
    Runbook,
    RunbookVersion,
    Secret,
    StandardMarking,
    StepAutomation,
)


class WriteOnlyTextarea(forms.Textarea):
    """A textarea that never renders a value (not even what was typed into a form that failed)."""

    def __init__(self, attrs=None):
        defaults = {
            "rows": 6,
            "cols": 80,
            "autocomplete": "off",
            "spellcheck": "false",
            "class": "vLargeTextField okno-write-only",
            # Typed characters are masked like a password's where the browser supports it.
            "style": "-webkit-text-security: disc; font-family: monospace;",
        }
        super().__init__({**defaults, **(attrs or {})})

    def format_value(self, value):
        return ""


def _saved_note(length, updated_at):
    when = formats.date_format(timezone.localtime(updated_at), "DATETIME_FORMAT") if updated_at else "—"
    return ngettext(
        "Saved, %(n)d character, updated %(when)s.",
        "Saved, %(n)d characters, updated %(when)s.",
        length,
    ) % {"n": length, "when": when}


class WriteOnlyFieldsForm(forms.ModelForm):
    """Base of the cluster and secret forms: `write_only` names encrypted fields shown as empty inputs."""

    write_only = ()
    clearable = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.write_only:
            field = self.fields[name]
            field.widget = WriteOnlyTextarea()
            field.strip = False
            saved = getattr(self.instance, name) if self.instance.pk else ""
            if saved:
                field.required = False
                field.help_text = format_html(
                    "<strong>{}</strong> {}",
                    _saved_note(len(saved), getattr(self.instance, "updated_at", None)),
                    _("Leave empty to keep the saved value; type a new one to replace it."),
                )
            elif f"clear_{name}" in self.fields:
                del self.fields[f"clear_{name}"]

    def clean(self):
        cleaned = super().clean()
        for name in self.write_only:
            if self.instance.pk and not cleaned.get(name):
                # Empty input: keep what is saved, unless the "delete" box is ticked.
                keep = "" if cleaned.get(f"clear_{name}") else getattr(self.instance, name)
                cleaned[name] = keep
        return cleaned


class ClusterAdminForm(WriteOnlyFieldsForm):
    write_only = ("kubeconfig", "ansible_inventory")

    clear_kubeconfig = forms.BooleanField(label=_("Delete the saved kubeconfig"), required=False)
    clear_ansible_inventory = forms.BooleanField(label=_("Delete the saved inventory"), required=False)

    class Meta:
        model = Cluster
        fields = [
            "name",
            "description",
            "environment",
            "kubeconfig",
            "clear_kubeconfig",
            "context",
            "ansible_inventory",
            "clear_ansible_inventory",
        ]

    def clean_kubeconfig(self):
        text = self.cleaned_data.get("kubeconfig", "")
        if text.strip():
            try:
                from . import kubeconfig
            except ImportError:  # the module comes with the kubectl/kubernetes runners
                return text
            kubeconfig.validate_kubeconfig(text)
        return text


class SecretAdminForm(WriteOnlyFieldsForm):
    write_only = ("value",)

    class Meta:
        model = Secret
        fields = ["name", "description", "value"]


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    form = ClusterAdminForm
    list_display = ["name", "environment", "description", "has_kubeconfig", "has_inventory", "updated_at"]
    list_filter = ["environment"]
    search_fields = ["name", "description"]

    def get_fields(self, request, obj=None):
        # "Delete the saved …" only where something is saved.
        fields = super().get_fields(request, obj)
        return [
            f for f in fields if not (f.startswith("clear_") and not (obj and getattr(obj, f.removeprefix("clear_"))))
        ]

    @admin.display(boolean=True, description=_("kubeconfig"))
    def has_kubeconfig(self, obj):
        return bool(obj.kubeconfig)

    @admin.display(boolean=True, description=_("Ansible inventory"))
    def has_inventory(self, obj):
        return bool(obj.ansible_inventory)


@admin.register(Secret)
class SecretAdmin(admin.ModelAdmin):
    form = SecretAdminForm
    list_display = ["name", "description", "updated_at"]
    search_fields = ["name", "description"]


# --- read-mostly -------------------------------------------------------------------------------------


class ViewOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RunbookVersionInline(admin.TabularInline):
    model = RunbookVersion
    fields = ["number", "comment", "created_by", "created_at"]
    readonly_fields = fields
    extra = 0
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RunbookAdminForm(forms.ModelForm):
    """The runbook's own fields, and marking its current version as a standard change (runbooks.standard)."""

    standard_action = forms.ChoiceField(
        label=_("Standard change"),
        required=False,
        choices=[
            ("", _("— leave as it is —")),
            ("mark", _("Mark the current version as a standard change")),
            ("unmark", _("Withdraw the standard change marking")),
        ],
    )
    standard_comment = forms.CharField(
        label=_("Reason for the marking"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )
    user = None  # set by RunbookAdmin.get_form

    class Meta:
        model = Runbook
        fields = ["title", "description", "archived"]

    def clean(self):
        from . import standard

        data = super().clean()
        action = data.get("standard_action")
        if not action:
            return data
        if not (data.get("standard_comment") or "").strip():
            self.add_error("standard_comment", _("Give a reason: it is kept in the runbook's marking history."))
        runbook = self.instance
        refusal = (
            standard.mark_refusal(self.user, runbook, runbook.current)
            if action == "mark"
            else standard.unmark_refusal(self.user, runbook)
        )
        if refusal:
            self.add_error("standard_action", refusal)
        return data


@admin.register(Runbook)
class RunbookAdmin(admin.ModelAdmin):
    """Runbooks are written in the runbook editor; here their title, description, archive flag and standard marking."""

    form = RunbookAdminForm
    list_display = ["title", "slug", "builtin", "archived", "standard_version", "created_by", "created_at"]
    list_filter = ["builtin", "archived"]
    search_fields = ["title", "slug", "description"]
    readonly_fields = [
        "slug",
        "builtin",
        "created_by",
        "created_at",
        "standard_version",
        "standard_marked_by",
        "standard_marked_at",
        "standard_history",
    ]
    fields = [
        "slug",
        "title",
        "description",
        "archived",
        "builtin",
        "created_by",
        "created_at",
        "standard_version",
        "standard_marked_by",
        "standard_marked_at",
        "standard_history",
        "standard_action",
        "standard_comment",
    ]
    inlines = [RunbookVersionInline]

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("Marking history"))
    def standard_history(self, obj):
        markings = StandardMarking.objects.filter(runbook=obj).select_related("version", "actor")[:20]
        if not markings:
            return "—"
        return format_html_join(
            "",
            "<div>{} v{}: {} — {} «{}»</div>",
            (
                (
                    formats.date_format(timezone.localtime(m.at), "SHORT_DATETIME_FORMAT"),
                    m.version.number,
                    _("marked standard") if m.marked else _("marking withdrawn"),
                    display_name(m.actor) if m.actor else "—",
                    m.comment,
                )
                for m in markings
            ),
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.user = request.user
        return form

    def save_model(self, request, obj, form, change):
        from . import standard

        super().save_model(request, obj, form, change)
        action, comment = form.cleaned_data.get("standard_action"), form.cleaned_data.get("standard_comment", "")
        if action == "mark":
            current = obj.current
            standard.mark_standard(obj.pk, actor=request.user, number=current.number if current else 0, comment=comment)
        elif action == "unmark":
            standard.unmark_standard(obj.pk, actor=request.user, comment=comment)


@admin.register(RunbookVersion)
class RunbookVersionAdmin(ViewOnlyAdmin):
    list_display = ["runbook", "number", "comment", "created_by", "created_at"]
    list_filter = ["runbook"]
    fields = ["runbook", "number", "comment", "created_by", "created_at", "source"]
    readonly_fields = fields


@admin.register(StepAutomation)
class StepAutomationAdmin(ViewOnlyAdmin):
    """Edited on the plan page (a change of a signed plan makes a new version); shown here only."""

    list_display = ["step", "kind", "cluster", "timeout_seconds", "start_at_planned_time"]
    list_filter = ["kind", "cluster"]
    fields = [
        "step",
        "kind",
        "cluster",
        "spec",
        "params",
        "timeout_seconds",
        "start_at_planned_time",
        "updated_by",
        "updated_at",
    ]
    readonly_fields = fields


@admin.register(AutomationApproval)
class AutomationApprovalAdmin(ViewOnlyAdmin):
    """Four eyes on automation (runbooks/four_eyes.py): made by the sign-off or an operator, never here."""

    list_display = ["automation", "via", "approved_by", "version", "approved_at", "content_hash"]
    list_filter = ["via"]
    list_select_related = ["automation__step", "approved_by", "version"]
    fields = ["automation", "content_hash", "via", "approved_by", "signers", "version", "approved_at"]
    readonly_fields = fields


@admin.register(Rehearsal)
class RehearsalAdmin(ViewOnlyAdmin):
    list_display = ["plan", "version", "requested_by", "created_at", "finished_at"]
    fields = ["plan", "version", "digest", "requested_by", "created_at", "finished_at"]
    readonly_fields = fields


@admin.register(AutomationRun)
class AutomationRunAdmin(ViewOnlyAdmin):
    list_display = [
        "id",
        "plan",
        "step",
        "kind",
        "mode",
        "status",
        "cluster_name",
        "started_by",
        "started_at",
        "finished_at",
        "exit_code",
    ]
    list_filter = ["status", "mode", "kind"]
    search_fields = ["plan__title", "cluster_name", "command"]
    list_select_related = ["plan", "step", "started_by"]
    date_hierarchy = "created_at"
    fields = [
        "plan",
        "step",
        "rehearsal",
        "mode",
        "status",
        "kind",
        "cluster_name",
        "command_text",
        "approval",
        "timeout_seconds",
        "started_by",
        "created_at",
        "started_at",
        "finished_at",
        "exit_code",
        "summary",
        "cancelled_by",
        "worker",
        "log_text",
    ]
    readonly_fields = fields

    @admin.display(description=_("command"))
    def command_text(self, obj):
        return format_html('<pre style="white-space:pre-wrap;overflow-wrap:anywhere;margin:0">{}</pre>', obj.command)

    @admin.display(description=_("log"))
    def log_text(self, obj):
        return format_html(
            '<pre style="white-space:pre-wrap;overflow-wrap:anywhere;max-height:60em;overflow:auto;margin:0">{}</pre>',
            obj.log,
        )
