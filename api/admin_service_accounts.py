"""Service accounts in the admin: create, give roles, issue and revoke tokens, deactivate (docs/api.md).

The forms never offer a password: a service account signs in nowhere. A new token's plaintext is shown once, in
the answer to the form that created it (as on /account/tokens/); reloading that answer creates no second token.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import Group, User
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Max, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from changeplans.people import role_label
from changeplans.roles import SERVICE_ACCOUNT_GROUP, is_administrator

from .forms import TokenCreateForm
from .models import ServiceAccount
from .service_accounts import (
    account_tokens,
    create_service_account,
    issue_service_token,
    revoke_service_token,
    update_service_account,
)
from .tokens import expiry_from_days
from .views_account import _new_nonce, _take_nonce

SERVICE_EXPIRY_DAYS = 365  # a pipeline's token: a year unless the administrator picks less


class ServiceAccountForm(forms.ModelForm):
    username = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text=gettext_lazy("Shown in the plans and their history like a person's name, e.g. “gitlab-billing”."),
    )
    roles = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Roles"),
        queryset=Group.objects.exclude(name=SERVICE_ACCOUNT_GROUP).order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy(
            "A pipeline that only asks the deployment gate needs none; one that submits plans needs «author»."
        ),
    )
    is_active = forms.BooleanField(
        label=gettext_lazy("Active"),
        required=False,
        initial=True,
        help_text=gettext_lazy("Unticking it revokes every token of the account at once."),
    )

    class Meta:
        model = ServiceAccount
        fields = ["description", "owner"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner = self.fields["owner"]
        assert isinstance(owner, forms.ModelChoiceField)
        owner.queryset = User.objects.filter(is_active=True, service_account__isnull=True).order_by("username")
        roles = self.fields["roles"]
        assert isinstance(roles, forms.ModelMultipleChoiceField)
        roles.label_from_instance = lambda group: role_label(group.name)  # type: ignore[method-assign,assignment]
        if self.instance.pk:
            user = self.instance.user
            self.fields["username"].disabled = True
            self.fields["username"].initial = user.username
            self.fields["roles"].initial = list(user.groups.exclude(name=SERVICE_ACCOUNT_GROUP))
            self.fields["is_active"].initial = user.is_active
        else:
            del self.fields["is_active"]  # a new account is active

    def clean_username(self) -> str:
        name = self.cleaned_data["username"].strip()
        if not self.instance.pk and User.objects.filter(username__iexact=name).exists():
            raise ValidationError(_("A user with the name “%(name)s” already exists.") % {"name": name})
        return name


@admin.register(ServiceAccount)
class ServiceAccountAdmin(admin.ModelAdmin):
    form = ServiceAccountForm
    list_display = ["name", "owner", "description", "active", "live_tokens", "last_used"]
    list_select_related = ["user", "owner"]
    search_fields = ["user__username", "description", "owner__username", "owner__last_name"]
    readonly_fields = ["tokens"]

    def get_fields(self, request: HttpRequest, obj: ServiceAccount | None = None) -> Any:  # django-stubs' field groups
        fields = ("username", "description", "owner", "roles")
        return (*fields, "is_active", "tokens") if obj is not None else fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[ServiceAccount]:
        live = Q(user__api_tokens__revoked_at__isnull=True)
        return (
            super()
            .get_queryset(request)
            .annotate(
                live_token_count=Count("user__api_tokens", filter=live),
                last_token_use=Max("user__api_tokens__last_used_at"),
            )
        )

    # Only administrators: an account may carry roles, and its tokens act with them.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_administrator(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_administrator(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_administrator(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_administrator(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: the history names the account

    @admin.display(description=gettext_lazy("name"), ordering="user__username")
    def name(self, obj: ServiceAccount) -> str:
        return obj.user.username

    @admin.display(description=gettext_lazy("active"), boolean=True)
    def active(self, obj: ServiceAccount) -> bool:
        return obj.user.is_active

    @admin.display(description=gettext_lazy("live tokens"))
    def live_tokens(self, obj: ServiceAccount) -> int:
        return getattr(obj, "live_token_count", 0)

    @admin.display(description=gettext_lazy("last used"))
    def last_used(self, obj: ServiceAccount) -> Any:
        return getattr(obj, "last_token_use", None) or "—"

    @admin.display(description=gettext_lazy("API tokens"))
    def tokens(self, obj: ServiceAccount) -> SafeString:
        issue = reverse("admin:api_serviceaccount_token_new", args=[obj.pk])
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td><code>okno_{}_…</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td></tr>",
            (
                (
                    token.name,
                    token.prefix,
                    token.get_scope_display(),
                    token.status.label,
                    _date(token.created_at),
                    _date(token.expires_at) if token.expires_at else _("never"),
                    _date(token.last_used_at) if token.last_used_at else "—",
                    format_html(
                        '<a href="{}">{}</a>',
                        reverse("admin:api_serviceaccount_token_revoke", args=[obj.pk, token.pk]),
                        _("Revoke"),
                    )
                    if token.is_active
                    else "",
                )
                for token in account_tokens(obj)
            ),
        )
        labels = (_("Token name"), _("Token"), _("Scope"), _("Status"), _("Created"), _("Expires"), _("Last used"), "")
        head = format_html_join("", "<th>{}</th>", ((label,) for label in labels))
        return format_html(
            '<table id="service-account-tokens"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>'
            '<p><a class="button" href="{}">{}</a></p>',
            head,
            rows,
            issue,
            _("Issue a token"),
        )

    def save_model(self, request: HttpRequest, obj: ServiceAccount, form: Any, change: bool) -> None:
        data = form.cleaned_data
        try:
            if change:
                update_service_account(
                    obj.pk,
                    description=data["description"],
                    owner=data["owner"],
                    groups=data["roles"],
                    is_active=data["is_active"],
                    actor=request.user,
                )
            else:
                created = create_service_account(
                    username=data["username"],
                    description=data["description"],
                    owner=data["owner"],
                    groups=data["roles"],
                    actor=request.user,
                )
                obj.pk, obj.user, obj.created_at, obj.created_by = (
                    created.pk,
                    created.user,
                    created.created_at,
                    created.created_by,
                )
                obj._state = created._state
        except ValidationError as error:
            raise PermissionDenied(" ".join(error.messages)) from error

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The roles are saved by the service with the account; the form has no relation of its own."""

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<int:account_id>/tokens/new/",
                self.admin_site.admin_view(self.token_new_view),
                name="api_serviceaccount_token_new",
            ),
            path(
                "<int:account_id>/tokens/<int:token_id>/revoke/",
                self.admin_site.admin_view(self.token_revoke_view),
                name="api_serviceaccount_token_revoke",
            ),
        ]
        return own + super().get_urls()

    def _account(self, request: HttpRequest, account_id: int) -> ServiceAccount:
        if not is_administrator(request.user):
            raise PermissionDenied(_("Only an administrator manages service accounts."))
        account = ServiceAccount.objects.select_related("user").filter(pk=account_id).first()
        if account is None:
            raise Http404(_("There is no such service account."))
        return account

    @method_decorator(never_cache)  # the answer shows a new token: no cache may keep it
    def token_new_view(self, request: HttpRequest, account_id: int) -> HttpResponse:
        """The form that issues a token to the account; its answer shows the plaintext, once."""
        account = self._account(request, account_id)
        created, plaintext = None, None
        if request.method == "POST":
            form = TokenCreateForm(request.POST)
            if form.is_valid():
                if not _take_nonce(request, form.cleaned_data["nonce"]):
                    messages.warning(
                        request, _("This form has already been sent: the token it created is not shown again.")
                    )
                    return redirect("admin:api_serviceaccount_change", account.pk)
                try:
                    created, plaintext = issue_service_token(
                        account.pk,
                        name=form.cleaned_data["name"],
                        scope=form.cleaned_data["scope"],
                        expires_at=expiry_from_days(form.cleaned_data["expires_in_days"]),
                        actor=request.user,
                    )
                except ValidationError as error:
                    form.add_error(None, error)
                else:
                    form = TokenCreateForm(
                        initial={"nonce": _new_nonce(request), "expires_in_days": SERVICE_EXPIRY_DAYS}
                    )
        else:
            form = TokenCreateForm(initial={"nonce": _new_nonce(request), "expires_in_days": SERVICE_EXPIRY_DAYS})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "account": account,
            "form": form,
            "created": created,
            "plaintext": plaintext,
            "title": _("Issue a token to %(name)s") % {"name": account.user.username},
        }
        return TemplateResponse(request, "api/admin/service_account_token_new.html", context)

    def token_revoke_view(self, request: HttpRequest, account_id: int, token_id: int) -> HttpResponse:
        """Confirm, then revoke one token of the account."""
        account = self._account(request, account_id)
        token = account.user.api_tokens.filter(pk=token_id).first()
        if token is None:
            raise Http404(_("There is no such token."))
        if request.method == "POST":
            revoke_service_token(account.pk, token.pk, actor=request.user)
            messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
            return redirect("admin:api_serviceaccount_change", account.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "account": account,
            "token": token,
            "title": _("Revoke the token “%(name)s”?") % {"name": token.name},
        }
        return TemplateResponse(request, "api/admin/service_account_token_revoke.html", context)


def _date(value: Any) -> str:
    return date_format(timezone.localtime(value), "d.m.Y H:i")
