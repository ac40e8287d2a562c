"""`manage.py check` explains a half-configured LDAP or OpenID Connect (docs/sso.md)."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from .backends import LDAP_GROUP_TYPES
from .roles import MappingError, parse_group_roles

DOCS = "See docs/sso.md."


@register("okno")
def check_ldap(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    uri = settings.OKNO_LDAP_SERVER_URI
    others = [
        name
        for name in ("OKNO_LDAP_BIND_DN", "OKNO_LDAP_USER_SEARCH_BASE", "OKNO_LDAP_GROUP_SEARCH_BASE")
        if getattr(settings, name)
    ]
    if not uri:
        if others:
            return [
                Warning(
                    f"{', '.join(others)} set but OKNO_LDAP_SERVER_URI is empty: LDAP sign-in is off.",
                    hint="Set OKNO_LDAP_SERVER_URI (ldap://host or ldaps://host:636) to switch it on. " + DOCS,
                    id="sso.W001",
                )
            ]
        return []
    problems: list[CheckMessage] = []
    if not all(urlsplit(part).scheme in {"ldap", "ldaps", "ldapi"} for part in uri.split()):
        problems.append(
            Error(
                f"OKNO_LDAP_SERVER_URI {uri!r} is not an ldap://, ldaps:// or ldapi:// address.",
                hint="E.g. ldaps://dc1.example.org:636. " + DOCS,
                id="sso.E001",
            )
        )
    if not settings.OKNO_LDAP_USER_SEARCH_BASE:
        problems.append(
            Error(
                "LDAP is on (OKNO_LDAP_SERVER_URI) but OKNO_LDAP_USER_SEARCH_BASE is empty: no user can be found.",
                hint="E.g. OKNO_LDAP_USER_SEARCH_BASE=ou=people,dc=example,dc=org. " + DOCS,
                id="sso.E002",
            )
        )
    if "%(user)s" not in settings.OKNO_LDAP_USER_FILTER:
        problems.append(
            Error(
                f"OKNO_LDAP_USER_FILTER {settings.OKNO_LDAP_USER_FILTER!r} does not contain %(user)s, the typed name.",
                hint="OpenLDAP: (uid=%(user)s); Active Directory: (sAMAccountName=%(user)s). " + DOCS,
                id="sso.E003",
            )
        )
    if bool(settings.OKNO_LDAP_BIND_DN) != bool(settings.OKNO_LDAP_BIND_PASSWORD):
        problems.append(
            Error(
                "Only one of OKNO_LDAP_BIND_DN and OKNO_LDAP_BIND_PASSWORD is set.",
                hint="Set both (the account Okno searches the directory with) or neither (anonymous search). " + DOCS,
                id="sso.E004",
            )
        )
    if settings.OKNO_LDAP_GROUP_TYPE not in LDAP_GROUP_TYPES:
        problems.append(
            Error(
                f"OKNO_LDAP_GROUP_TYPE {settings.OKNO_LDAP_GROUP_TYPE!r} is not one of {', '.join(LDAP_GROUP_TYPES)}.",
                hint=DOCS,
                id="sso.E005",
            )
        )
    if settings.OKNO_SSO_GROUP_ROLES and not settings.OKNO_LDAP_GROUP_SEARCH_BASE and not settings.OKNO_OIDC_ISSUER:
        problems.append(
            Error(
                "OKNO_SSO_GROUP_ROLES maps groups to roles but OKNO_LDAP_GROUP_SEARCH_BASE is empty: "
                "LDAP users would get no role.",
                hint="E.g. OKNO_LDAP_GROUP_SEARCH_BASE=ou=groups,dc=example,dc=org. " + DOCS,
                id="sso.E006",
            )
        )
    return problems


@register("okno")
def check_oidc(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    issuer = settings.OKNO_OIDC_ISSUER
    client = [name for name in ("OKNO_OIDC_CLIENT_ID", "OKNO_OIDC_CLIENT_SECRET") if getattr(settings, name)]
    if not issuer:
        if client:
            return [
                Error(
                    f"{', '.join(client)} set but OKNO_OIDC_ISSUER is empty: OpenID Connect sign-in is off.",
                    hint="Set OKNO_OIDC_ISSUER to the provider's issuer, e.g. "
                    "https://sso.example.org/realms/it for Keycloak. " + DOCS,
                    id="sso.E101",
                )
            ]
        return []
    problems: list[CheckMessage] = []
    parts = urlsplit(issuer)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
        problems.append(
            Error(
                f"OKNO_OIDC_ISSUER {issuer!r} is not an http(s) address.",
                hint="The issuer as the provider's discovery document names it. " + DOCS,
                id="sso.E102",
            )
        )
    for name in ("OKNO_OIDC_CLIENT_ID", "OKNO_OIDC_CLIENT_SECRET"):
        if name not in client:
            problems.append(
                Error(
                    f"OpenID Connect is on (OKNO_OIDC_ISSUER) but {name} is empty.",
                    hint="Register Okno as a confidential client at the provider, with the redirect URI "
                    f"{settings.OKNO_BASE_URL}/sso/oidc/callback/. " + DOCS,
                    id="sso.E103",
                )
            )
    if "openid" not in settings.OKNO_OIDC_SCOPES.split():
        problems.append(
            Error(f"OKNO_OIDC_SCOPES {settings.OKNO_OIDC_SCOPES!r} lacks openid.", hint=DOCS, id="sso.E104")
        )
    if settings.OKNO_OIDC_USERNAME_CLAIM not in {"preferred_username", "email"}:
        problems.append(
            Error(
                f"OKNO_OIDC_USERNAME_CLAIM {settings.OKNO_OIDC_USERNAME_CLAIM!r} is neither preferred_username "
                "nor email.",
                hint="Okno finds users by their name or their verified e-mail, never by a display name. " + DOCS,
                id="sso.E105",
            )
        )
    return problems


@register("okno")
def check_group_roles(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    try:
        parse_group_roles(settings.OKNO_SSO_GROUP_ROLES)
    except MappingError as error:
        return [
            Error(
                f"OKNO_SSO_GROUP_ROLES cannot be read: {error}.",
                hint='JSON {"group": "role"} or group=role;group=role,role. ' + DOCS,
                id="sso.E201",
            )
        ]
    return []
