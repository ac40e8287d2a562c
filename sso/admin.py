"""Directory accounts in the admin: who signs in through LDAP or OpenID Connect, with which groups."""

from django.contrib import admin

from notifications.admin_base import ReadOnlyAdmin

from .models import ExternalIdentity


@admin.register(ExternalIdentity)
class ExternalIdentityAdmin(ReadOnlyAdmin):
    """Made by sign-ins; deleting one unlinks the account (the next directory sign-in links it again)."""

    list_display = ["user", "source", "subject", "created_at", "last_login_at"]
    list_filter = ["source"]
    list_select_related = ["user"]
    search_fields = ["subject", "user__username", "user__last_name"]
    fields = ["user", "source", "subject", "groups", "created_at", "last_login_at"]

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser
