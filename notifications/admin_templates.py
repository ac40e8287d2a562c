"""Admin of message templates (announcements): edit with a syntax check, preview, reset to the shipped default."""

from django import forms
from django.contrib import admin
from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from common.text import clean_text, normalize_newlines

from . import messages
from .choices import MessageKind
from .models import MessageTemplate

MONOSPACE = (
    "font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px;"
    " width: 100%; max-width: 60rem"
)


def _is_default(obj):
    default = messages.default_template(obj.kind, obj.language)
    return all(clean_text(a) == clean_text(b) for a, b in zip((obj.subject, obj.text, obj.html), default, strict=True))


class MessageTemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ["kind", "language", "subject", "text", "html"]
        widgets = {
            "subject": forms.TextInput(attrs={"style": MONOSPACE}),
            "text": forms.Textarea(attrs={"rows": 24, "style": MONOSPACE}),
            "html": forms.Textarea(attrs={"rows": 24, "style": MONOSPACE}),
        }

    def clean(self):
        cleaned = super().clean()
        for part in messages.PARTS:
            if part in cleaned:
                cleaned[part] = normalize_newlines(cleaned[part])
        kind = cleaned.get("kind") or self.instance.kind
        language = cleaned.get("language") or self.instance.language
        sample = messages.sample_context(kind, language) if kind else None
        errors = messages.validate(
            cleaned.get("subject", ""),
            cleaned.get("text", ""),
            cleaned.get("html", ""),
            context=sample[1] if sample else None,
            language=language or "ru",
        )
        for part, message in errors.items():
            if part in self.fields:
                self.add_error(part, message)
            else:
                self.add_error(None, message)
        return cleaned


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    form = MessageTemplateForm
    list_display = ["kind", "language", "subject", "is_default", "updated_at"]
    list_filter = ["kind", "language"]
    search_fields = ["subject", "text"]
    actions = ["reset_to_default"]

    class Media:
        js = ["okno/confirm.js"]  # the reset button's confirmation (no inline onclick under the CSP)

    def get_readonly_fields(self, request, obj=None):
        fields = ["tools", "variables"]
        return ["kind", "language", *fields] if obj is not None else fields

    def get_fieldsets(self, request, obj=None):
        return [
            (None, {"fields": ["kind", "language", "subject", "text", "html"]}),
            (_("Preview and variables"), {"fields": ["tools", "variables"]}),
        ]

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        view = self.admin_site.admin_view
        return [
            path("preview/", view(self.preview_view), name="%s_%s_preview" % info),
            path("<path:object_id>/preview/", view(self.preview_view), name="%s_%s_preview_saved" % info),
            path("<path:object_id>/reset/", view(self.reset_view), name="%s_%s_reset" % info),
            *super().get_urls(),
        ]

    @admin.display(description=gettext_lazy("as shipped"), boolean=True)
    def is_default(self, obj):
        return _is_default(obj)

    @admin.display(description=gettext_lazy("Preview"))
    def tools(self, obj):
        info = self.opts.app_label, self.opts.model_name
        if obj is None or obj.pk is None:
            preview = reverse("admin:%s_%s_preview" % info)
            return format_html(
                '<button type="submit" class="button" formaction="{}" formtarget="_blank" name="_preview">{}</button>',
                preview,
                _("Preview what is typed"),
            )
        return format_html(
            '<button type="submit" class="button" formaction="{}" formtarget="_blank" name="_preview">{}</button> '
            '<a class="button" href="{}" target="_blank">{}</a> '
            '<button type="submit" class="button" formaction="{}" name="_reset" '
            'data-okno-confirm="{}">{}</button>',
            reverse("admin:%s_%s_preview_saved" % info, args=[obj.pk]),
            _("Preview what is typed"),
            reverse("admin:%s_%s_preview_saved" % info, args=[obj.pk]),
            _("Preview the saved template"),
            reverse("admin:%s_%s_reset" % info, args=[obj.pk]),
            _("Replace this template with the shipped default?"),
            _("Reset to default"),
        )

    @admin.display(description=gettext_lazy("Variables"))
    def variables(self, obj):
        kind = obj.kind if obj is not None and obj.pk else "announcement"
        sample = messages.sample_context(kind, obj.language if obj is not None and obj.pk else "ru")
        if sample is None:
            return _("Create a work plan first: the variables and the preview come from the newest plan.")
        label, context = sample
        rows = format_html_join(
            "",
            "<tr><td><code>{{{{ {} }}}}</code></td><td>{}</td></tr>",
            ((name, _preview_value(value)) for name, value in sorted(context.items()) if not name.startswith("_")),
        )
        return format_html(
            '<p>{}</p><table style="font-size:12px">{}</table>', _("Values from %(sample)s:") % {"sample": label}, rows
        )

    @admin.action(description=gettext_lazy("Reset to the shipped default"))
    def reset_to_default(self, request, queryset):
        count = 0
        for obj in queryset:
            obj.subject, obj.text, obj.html = messages.default_template(obj.kind, obj.language)
            obj.save()
            count += 1
        message = ngettext(
            "%(count)d template reset to the shipped default.",
            "%(count)d templates reset to the shipped default.",
            count,
        )
        self.message_user(request, message % {"count": count}, flash.SUCCESS)

    def reset_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        self.reset_to_default(request, MessageTemplate.objects.filter(pk=obj.pk))
        return redirect(reverse("admin:%s_%s_change" % (self.opts.app_label, self.opts.model_name), args=[obj.pk]))

    def preview_view(self, request, object_id=None):
        """GET: the saved template; POST: what the change form holds (not saved), both with the sample context."""
        obj = self.get_object(request, object_id) if object_id else None
        if object_id and obj is None:
            raise Http404
        if request.method == "POST":
            if not (self.has_change_permission(request, obj) if obj else self.has_add_permission(request)):
                raise PermissionDenied
            kind = obj.kind if obj else request.POST.get("kind", "")
            language = obj.language if obj else request.POST.get("language", "ru")
            subject, text, html = (normalize_newlines(request.POST.get(part, "")) for part in messages.PARTS)
        else:
            if obj is None or not self.has_view_permission(request, obj):
                raise PermissionDenied
            kind, language, subject, text, html = obj.kind, obj.language, obj.subject, obj.text, obj.html
        sample = messages.sample_context(kind, language) if kind else None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Preview: %(kind)s (%(language)s)") % {"kind": _kind_label(kind), "language": language},
            "sample_label": sample[0] if sample else None,
            "errors": messages.validate(subject, text, html, context=sample[1] if sample else None, language=language),
        }
        if sample is not None and not context["errors"]:
            context["subject"], context["text"], context["html"] = messages.render_sources(
                subject, text, html, sample[1], language=language
            )
        return TemplateResponse(request, "notifications/admin/message_preview.html", context)


def _kind_label(kind):
    try:
        return MessageKind(kind).label
    except ValueError:
        return kind


def _preview_value(value):
    text = str(value) if value not in (None, "") else "—"
    return text if len(text) <= 120 else text[:119] + "…"
