from django.urls import path

from . import views

app_name = "sso"

urlpatterns = [
    path("oidc/authenticate/", views.OIDCAuthenticationRequestView.as_view(), name="oidc_authenticate"),
    path("oidc/callback/", views.OIDCAuthenticationCallbackView.as_view(), name="oidc_callback"),
]
