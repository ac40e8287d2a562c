"""/account/: the signed-in user's own settings (API tokens, docs/api.md)."""

from django.urls import path

from . import views_account

app_name = "account_tokens"

urlpatterns = [
    path("tokens/", views_account.token_list, name="list"),
    path("tokens/<int:pk>/revoke/", views_account.token_revoke, name="revoke"),
]
