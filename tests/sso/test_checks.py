"""`manage.py check` explains a half-configured LDAP or OpenID Connect, and a broken group mapping (sso/checks.py)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sso.checks import check_group_roles, check_ldap, check_oidc

ROOT = Path(__file__).resolve().parents[2]


def ids(problems):
    return sorted(problem.id for problem in problems)


def test_everything_off_is_fine():
    assert check_ldap(None) == check_oidc(None) == check_group_roles(None) == []


def test_issuer_without_client_id_and_secret(settings):
    settings.OKNO_OIDC_ISSUER = "https://sso.example.org/realms/it"
    assert ids(check_oidc(None)) == ["sso.E103", "sso.E103"]
    settings.OKNO_OIDC_CLIENT_ID = "okno"
    settings.OKNO_OIDC_CLIENT_SECRET = "secret"
    assert check_oidc(None) == []


def test_client_without_issuer(settings):
    settings.OKNO_OIDC_CLIENT_ID = "okno"
    assert ids(check_oidc(None)) == ["sso.E101"]


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("OKNO_OIDC_ISSUER", "sso.example.org", "sso.E102"),
        ("OKNO_OIDC_SCOPES", "email profile", "sso.E104"),
        ("OKNO_OIDC_USERNAME_CLAIM", "name", "sso.E105"),
    ],
)
def test_bad_oidc_values(settings, name, value, problem):
    settings.OKNO_OIDC_ISSUER = "https://sso.example.org/realms/it"
    settings.OKNO_OIDC_CLIENT_ID = "okno"
    settings.OKNO_OIDC_CLIENT_SECRET = "secret"
    setattr(settings, name, value)
    assert ids(check_oidc(None)) == [problem]


def test_ldap_server_without_search_base(settings):
    settings.OKNO_LDAP_SERVER_URI = "ldaps://dc1.example.org"
    assert ids(check_ldap(None)) == ["sso.E002"]


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("OKNO_LDAP_SERVER_URI", "https://dc1.example.org", "sso.E001"),
        ("OKNO_LDAP_USER_FILTER", "(sAMAccountName=anna)", "sso.E003"),
        ("OKNO_LDAP_BIND_DN", "cn=okno,dc=example,dc=org", "sso.E004"),
        ("OKNO_LDAP_GROUP_TYPE", "groupOfStrangers", "sso.E005"),
        ("OKNO_SSO_GROUP_ROLES", "cn=a,dc=example,dc=org=author", "sso.E006"),
    ],
)
def test_bad_ldap_values(settings, name, value, problem):
    settings.OKNO_LDAP_SERVER_URI = "ldaps://dc1.example.org"
    settings.OKNO_LDAP_USER_SEARCH_BASE = "dc=example,dc=org"
    setattr(settings, name, value)
    assert ids(check_ldap(None)) == [problem]


def test_ldap_settings_without_a_server_are_pointed_out(settings):
    settings.OKNO_LDAP_USER_SEARCH_BASE = "dc=example,dc=org"
    assert ids(check_ldap(None)) == ["sso.W001"]


def test_broken_group_mapping(settings):
    settings.OKNO_SSO_GROUP_ROLES = "okno-authors=writer"
    [problem] = check_group_roles(None)
    assert problem.id == "sso.E201"
    assert "writer" in problem.msg and "author" in problem.msg


def test_manage_py_check_reads_the_environment():
    # The environment variables reach the checks through config/settings/base.py.
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "OKNO_OIDC_ISSUER": "https://sso.example.org/realms/it",
        "OKNO_OIDC_CLIENT_ID": "okno",
    }
    environment.pop("OKNO_OIDC_CLIENT_SECRET", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "sso.E103" in done.stderr and "OKNO_OIDC_CLIENT_SECRET is empty" in done.stderr


def test_pages_may_send_forms_on_to_the_providers_origin_only_with_oidc_on():
    # Signing out is a form whose answer redirects to the provider: Chromium holds redirects to form-action.
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action'])"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.dev"}
    environment.pop("OKNO_OIDC_ISSUER", None)
    off = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True)
    environment["OKNO_OIDC_ISSUER"] = "https://sso.example.org/realms/it/"
    on = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True)
    assert off.stdout.strip() == "[\"'self'\"]"
    assert on.stdout.strip() == "[\"'self'\", 'https://sso.example.org']"
