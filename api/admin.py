"""Personal API tokens in the admin: shown (never the secret), revoked, never edited."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from changeplans.roles import is_administrator
from notifications.admin_base import ReadOnlyAdmin

from .models import ApiToken
from .tokens import revoke_token


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Tokens are issued by their owners (/account/tokens/); an administrator may only revoke them."""

    list_display = ["name", "user", "prefix", "scope", "status", "created_at", "expires_at", "last_used_at"]
    list_filter = ["scope", "revoked_at"]
    list_select_related = ["user"]
    search_fields = ["name", "prefix", "user__username", "user__last_name"]
    fields = (
        "name",
        "user",
        "prefix",
        "scope",
        "status",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = fields
    actions = ["revoke"]

    @admin.display(description=_("status"))
    def status(self, obj: ApiToken) -> str:
        return str(obj.status.label)

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        # Staff who may only look at tokens may not revoke them: the service's rule (administrators).
        return is_administrator(request.user)

    @admin.action(description=_("Revoke the selected tokens"), permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        live = list(queryset.filter(revoked_at__isnull=True).values_list("pk", flat=True))
        for pk in live:
            revoke_token(pk, actor=request.user)
        self.message_user(request, _("Tokens revoked: %(n)d.") % {"n": len(live)}, messages.SUCCESS)


from . import admin_service_accounts  # noqa: E402, F401  (service accounts: their own module)
