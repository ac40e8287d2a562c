"""The login page's SSO button, the OpenID Connect redirect and callback, a logout that ends the provider's session."""

import logging
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.translation import gettext as _
from mozilla_django_oidc import views as oidc_views

from . import oidc

logger = logging.getLogger(__name__)


class LoginView(auth_views.LoginView):
    """Django's login form (local and LDAP passwords) with «Войти через SSO» when OpenID Connect is on."""

    template_name = "base/login.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["sso_oidc_enabled"] = oidc.enabled()
        context["sso_button_label"] = oidc.button_label()
        return context


def _failed(request: HttpRequest) -> HttpResponse:
    messages.error(request, _("Sign-in through SSO failed. Try again or ask an administrator."))
    return HttpResponseRedirect(resolve_url("login"))


class OIDCAuthenticationRequestView(oidc_views.OIDCAuthenticationRequestView):
    """Sends the browser to the provider with state, nonce and a PKCE challenge."""

    get_settings = staticmethod(oidc.setting)

    def __init__(self, *args, **kwargs):
        # The base class reads the endpoint here; it is looked up in get(), where a failure has an answer.
        super(oidc_views.OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)

    def get(self, request):
        if not oidc.enabled():
            raise Http404
        try:
            self.OIDC_OP_AUTH_ENDPOINT = oidc.setting("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except oidc.ProviderUnavailable as error:
            logger.warning("OpenID Connect sign-in impossible: %s", error)
            return _failed(request)
        self.OIDC_RP_CLIENT_ID = oidc.setting("OIDC_RP_CLIENT_ID")
        return super().get(request)


class OIDCAuthenticationCallbackView(oidc_views.OIDCAuthenticationCallbackView):
    """The provider sends the browser back here with a code; the backend (sso.backends.OIDCBackend) checks it."""

    get_settings = staticmethod(oidc.setting)

    def get(self, request):
        if not oidc.enabled():
            raise Http404
        return super().get(request)

    def login_failure(self):
        return _failed(self.request)


class LogoutView(auth_views.LogoutView):
    """Django's logout; after an OpenID Connect sign-in it goes on to the provider's logout (end_session)."""

    def post(self, request, *args, **kwargs):
        provider_logout = provider_logout_url(request)
        response = super().post(request, *args, **kwargs)
        return HttpResponseRedirect(provider_logout) if provider_logout else response


def provider_logout_url(request: HttpRequest) -> str:
    """The provider's end_session URL for this session's ID token, or "" (not an OIDC session, no such endpoint)."""
    id_token = request.session.get("oidc_id_token")
    if not id_token or not oidc.enabled():
        return ""
    try:
        endpoint = oidc.discovery().get("end_session_endpoint")
    except oidc.ProviderUnavailable as error:
        logger.warning("OpenID Connect logout at the provider skipped: %s", error)
        return ""
    if not endpoint:
        return ""
    query = urlencode(
        {
            "id_token_hint": id_token,
            "client_id": oidc.setting("OIDC_RP_CLIENT_ID"),
            "post_logout_redirect_uri": request.build_absolute_uri(resolve_url("login")),
        }
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
