"""Authentication backends for LDAP / Active Directory and OpenID Connect (docs/sso.md).

Both stay silent (return None) while their settings are empty, so config/settings lists them always.
Both hand the account decisions to sso.accounts: which user, taken over or new, deactivated, roles.
"""

import logging
from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django_auth_ldap.backend import LDAPBackend as BaseLDAPBackend
from django_auth_ldap.config import LDAPSettings
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from . import oidc
from .accounts import SignInRefused, complete_sign_in, find_user
from .models import IdentitySource

logger = logging.getLogger(__name__)

# OKNO_LDAP_GROUP_TYPE: the django-auth-ldap group type and the filter that finds such groups.
LDAP_GROUP_TYPES = {
    "groupOfNames": ("GroupOfNamesType", "(objectClass=groupOfNames)"),
    "nestedGroupOfNames": ("NestedGroupOfNamesType", "(objectClass=groupOfNames)"),
    "groupOfUniqueNames": ("GroupOfUniqueNamesType", "(objectClass=groupOfUniqueNames)"),
    "posixGroup": ("PosixGroupType", "(objectClass=posixGroup)"),
    "activeDirectory": ("ActiveDirectoryGroupType", "(objectClass=group)"),
    "nestedActiveDirectory": ("NestedActiveDirectoryGroupType", "(objectClass=group)"),
}


def ldap_settings() -> dict[str, Any]:
    """django-auth-ldap's settings (without the AUTH_LDAP_ prefix) made from OKNO_LDAP_*."""
    import ldap
    from django_auth_ldap import config

    timeout = settings.OKNO_LDAP_TIMEOUT_SECONDS
    values: dict[str, Any] = {
        "SERVER_URI": settings.OKNO_LDAP_SERVER_URI,
        "START_TLS": settings.OKNO_LDAP_START_TLS,
        "BIND_DN": settings.OKNO_LDAP_BIND_DN,
        "BIND_PASSWORD": settings.OKNO_LDAP_BIND_PASSWORD,
        # Active Directory answers searches at the domain root with referrals python-ldap cannot follow.
        "CONNECTION_OPTIONS": {ldap.OPT_REFERRALS: 0, ldap.OPT_NETWORK_TIMEOUT: timeout, ldap.OPT_TIMEOUT: timeout},
        "USER_SEARCH": config.LDAPSearch(
            settings.OKNO_LDAP_USER_SEARCH_BASE, ldap.SCOPE_SUBTREE, settings.OKNO_LDAP_USER_FILTER
        ),
        "USER_ATTR_MAP": {"first_name": "givenName", "last_name": "sn", "email": "mail"},
        "ALWAYS_UPDATE_USER": True,
        "CACHE_TIMEOUT": 0,  # a group removed in the directory counts at the next sign-in
    }
    if settings.OKNO_LDAP_GROUP_SEARCH_BASE and settings.OKNO_LDAP_GROUP_TYPE in LDAP_GROUP_TYPES:
        type_name, type_filter = LDAP_GROUP_TYPES[settings.OKNO_LDAP_GROUP_TYPE]
        values["GROUP_TYPE"] = getattr(config, type_name)()
        values["GROUP_SEARCH"] = config.LDAPSearch(
            settings.OKNO_LDAP_GROUP_SEARCH_BASE, ldap.SCOPE_SUBTREE, settings.OKNO_LDAP_GROUP_FILTER or type_filter
        )
    return values


class LDAPBackend(BaseLDAPBackend):
    """The login form's name and password checked by a bind to the directory (django-auth-ldap)."""

    @property
    def settings(self) -> LDAPSettings:
        # Built from OKNO_LDAP_* on each use (a backend lives for one call); AUTH_LDAP_* settings, if a
        # deployment sets any, still win (django-auth-ldap's own names, for options Okno does not expose).
        if self._settings is None:  # type: ignore[has-type]
            self._settings = LDAPSettings(self.settings_prefix, ldap_settings())
        return self._settings

    @settings.setter
    def settings(self, value: LDAPSettings) -> None:
        self._settings = value

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not settings.OKNO_LDAP_SERVER_URI:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_user(self, user_id):
        # A session made through LDAP ends when LDAP is switched off or the user is deactivated in Okno.
        if not settings.OKNO_LDAP_SERVER_URI:
            return None
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None

    def get_or_build_user(self, username, ldap_user):
        subject = username.lower()
        try:
            user = find_user(source=IdentitySource.LDAP, subject=subject, field="username", value=subject)
        except SignInRefused as refusal:
            logger.warning("LDAP sign-in of %r refused: %s", username, refusal)
            raise ldap_user.AuthenticationFailed(str(refusal)) from refusal
        if user is None:
            return get_user_model()(username=subject), True
        return user, False

    def authenticate_ldap_user(self, ldap_user, password):
        user = super().authenticate_ldap_user(ldap_user, password)
        if user is None:
            return None
        groups = sorted(ldap_user.group_dns) if "GROUP_SEARCH" in ldap_settings() else []
        complete_sign_in(user, source=IdentitySource.LDAP, subject=ldap_user._username.lower(), groups=groups)
        return user


class OIDCBackend(OIDCAuthenticationBackend):
    """The authorization code flow's callback (mozilla-django-oidc) with Okno's checks and account rules."""

    get_settings = staticmethod(oidc.setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The base class reads every endpoint here; Okno reads them when a sign-in needs them (oidc.setting).
        # The properties below keep the base class's attribute names.
        self.UserModel = get_user_model()

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:
        return oidc.setting("OIDC_OP_TOKEN_ENDPOINT")

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:
        return oidc.setting("OIDC_OP_USER_ENDPOINT")

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:
        return oidc.setting("OIDC_OP_JWKS_ENDPOINT")

    @property
    def OIDC_RP_CLIENT_ID(self) -> str:
        return settings.OKNO_OIDC_CLIENT_ID

    @property
    def OIDC_RP_CLIENT_SECRET(self) -> str:
        return settings.OKNO_OIDC_CLIENT_SECRET

    @property
    def OIDC_RP_SIGN_ALGO(self) -> str:
        return settings.OKNO_OIDC_SIGN_ALGO

    OIDC_RP_IDP_SIGN_KEY = None

    def authenticate(self, request, **kwargs):
        # Only the callback view calls with a nonce and a code verifier; a password login never reaches the provider.
        if not oidc.enabled() or request is None or "nonce" not in kwargs or "code_verifier" not in kwargs:
            return None
        try:
            return super().authenticate(request, **kwargs)
        except (SuspiciousOperation, jwt.PyJWTError, requests.RequestException, oidc.ProviderUnavailable) as error:
            logger.warning("OpenID Connect sign-in refused: %s", error)
            return None

    def get_user(self, user_id):
        if not oidc.enabled():
            return None
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None

    def verify_token(self, token, **kwargs):
        """The signature (JWKS), algorithm, expiry and nonce (the base class), then issuer and audience."""
        payload = super().verify_token(token, **kwargs)
        problem = token_problem(payload)
        if problem:
            raise SuspiciousOperation(problem)
        return payload

    def get_userinfo(self, access_token, id_token, payload):
        """The userinfo endpoint's claims over the ID token's: a group claim may be in either."""
        userinfo = super().get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("the userinfo endpoint describes another subject than the ID token")
        return {**payload, **userinfo}

    def verify_claims(self, claims):
        name_claim = settings.OKNO_OIDC_USERNAME_CLAIM
        if not claims.get("sub") or not claims.get(name_claim):
            return False
        # An e-mail finds an account only when the provider vouches for it: anyone may type any address.
        return name_claim != "email" or claims.get("email_verified") is True

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        if not self.verify_claims(claims):
            raise SuspiciousOperation(f"the claims lack sub or a usable {settings.OKNO_OIDC_USERNAME_CLAIM}")
        by_email = settings.OKNO_OIDC_USERNAME_CLAIM == "email"
        subject = str(claims["sub"])
        value = str(claims[settings.OKNO_OIDC_USERNAME_CLAIM])
        try:
            user = find_user(
                source=IdentitySource.OIDC, subject=subject, field="email" if by_email else "username", value=value
            )
        except SignInRefused as refusal:
            logger.warning("OpenID Connect sign-in of %r refused: %s", value, refusal)
            return None
        if user is None:
            username = str(claims.get("preferred_username") or value)
            if self.UserModel.objects.filter(username__iexact=username).exists():
                logger.warning("OpenID Connect sign-in of %r refused: the name %r is another user's", value, username)
                return None
            user = self.UserModel(username=username)
            user.set_unusable_password()
        for field, claim in (("first_name", "given_name"), ("last_name", "family_name"), ("email", "email")):
            if claims.get(claim):
                setattr(user, field, str(claims[claim]))
        user.save()
        groups = claims.get(settings.OKNO_OIDC_GROUPS_CLAIM) or []
        groups = [groups] if isinstance(groups, str) else [str(group) for group in groups]
        complete_sign_in(user, source=IdentitySource.OIDC, subject=subject, groups=groups)
        return user


def token_problem(payload: dict[str, Any]) -> str:
    """Why an ID token is not for Okno from the configured issuer ("" when it is)."""
    issuer = str(payload.get("iss", "")).rstrip("/")
    if issuer != settings.OKNO_OIDC_ISSUER:
        return f"the ID token's issuer {payload.get('iss')!r} is not {settings.OKNO_OIDC_ISSUER!r}"
    audience = payload.get("aud")
    audiences = [audience] if isinstance(audience, str) else list(audience or [])
    if settings.OKNO_OIDC_CLIENT_ID not in audiences:
        return f"the ID token is for {audiences!r}, not for {settings.OKNO_OIDC_CLIENT_ID!r}"
    if len(audiences) > 1 and payload.get("azp") != settings.OKNO_OIDC_CLIENT_ID:
        return "the ID token has several audiences and Okno is not its authorized party"
    if "exp" not in payload:
        return "the ID token has no expiry"
    return ""
