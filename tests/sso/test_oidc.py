"""OpenID Connect sign-in against a real node-oidc-provider started by the tests (conftest.py), through Django's
live server: the whole redirect dance with a real HTTP client, roles from the groups claim, logout at the
provider, and ID tokens with a bad signature, issuer or audience refused (docs/sso.md)."""

import html
import re
import time
from urllib.parse import parse_qs, urljoin, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation

from sso.backends import OIDCBackend
from sso.models import ExternalIdentity
from tests.factories import UserFactory

from .conftest import CLIENT_ID, KEY_ID

pytestmark = pytest.mark.django_db(transaction=True)

ANNA = {
    "password": "anna-provider-password",
    "preferred_username": "anna",
    "email": "anna@example.org",
    "email_verified": True,
    "given_name": "Анна",
    "family_name": "Петрова",
    "groups": ["okno-authors", "okno-ops", "canteen"],
}


def roles(username):
    return set(get_user_model().objects.get(username=username).groups.values_list("name", flat=True))


def submit_form(session, page, **fields):
    """POST the page's (only) form to its action, as the browser would, following redirects."""
    action = html.unescape(re.search(r'<form[^>]*action="([^"]+)"', page.text).group(1))
    return session.post(urljoin(page.url, action), data=fields, timeout=30)


def sign_in(live_server, account, password, *, session=None):
    """The browser's dance: Okno → provider login → consent → Okno's callback → the plan list."""
    session = session or requests.Session()
    login_page = session.get(f"{live_server.url}/login/?next=/plans/", timeout=30)
    button = re.search(r'id="sso-oidc" href="([^"]+)"', login_page.text)
    assert button, "no SSO button on the login page"
    page = session.get(urljoin(login_page.url, html.unescape(button.group(1))), timeout=30)
    assert "/interaction/" in page.url, page.url
    page = submit_form(session, page, prompt="login", login=account, password=password)
    if page.status_code == 200 and 'name="prompt" value="consent"' in page.text:
        page = submit_form(session, page, prompt="consent")
    return session, page


def test_sign_in_with_the_provider_gives_the_mapped_roles(live_server, oidc_on):
    oidc_on.set_users({"anna": ANNA})

    session, page = sign_in(live_server, "anna", ANNA["password"])

    # Then the browser lands on the plan list, signed in as a new Okno user with the mapped roles
    assert page.status_code == 200
    assert urlsplit(page.url).path == "/plans/"
    assert urlsplit(page.url).netloc == urlsplit(live_server.url).netloc
    user = get_user_model().objects.get(username="anna")
    assert (user.first_name, user.last_name, user.email) == ("Анна", "Петрова", "anna@example.org")
    assert not user.has_usable_password()
    assert roles("anna") == {"author", "operator", "duty_officer"}
    identity = ExternalIdentity.objects.get(user=user)
    assert (identity.source, identity.subject) == ("oidc", "anna")


def test_a_group_removed_at_the_provider_removes_the_role(live_server, oidc_on):
    oidc_on.set_users({"anna": ANNA})
    sign_in(live_server, "anna", ANNA["password"])
    assert "author" in roles("anna")

    oidc_on.set_users({"anna": {**ANNA, "groups": ["okno-ops"]}})
    _, page = sign_in(live_server, "anna", ANNA["password"])

    assert urlsplit(page.url).path == "/plans/"
    assert roles("anna") == {"operator", "duty_officer"}


def test_logout_ends_the_okno_session_and_goes_to_the_provider(live_server, oidc_on):
    oidc_on.set_users({"anna": ANNA})
    session, page = sign_in(live_server, "anna", ANNA["password"])
    assert urlsplit(page.url).path == "/plans/"

    response = session.post(
        f"{live_server.url}/logout/",
        data={"csrfmiddlewaretoken": re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)},
        allow_redirects=False,
        timeout=30,
    )

    assert response.status_code == 302, response.text[:300]
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}" == oidc_on.issuer
    query = parse_qs(location.query)
    assert query["post_logout_redirect_uri"] == [f"{live_server.url}/login/"]
    assert query["id_token_hint"]
    assert session.get(f"{live_server.url}/plans/", allow_redirects=False, timeout=30).status_code == 302
    # The provider accepts its own ID token hint, asks to confirm, ends its session and sends the browser back
    confirm = session.get(response.headers["Location"], timeout=30)
    assert confirm.status_code == 200, confirm.text[:300]
    back = submit_form(
        session, confirm, xsrf=re.search(r'name="xsrf" value="([^"]+)"', confirm.text).group(1), logout="yes"
    )
    assert back.url == f"{live_server.url}/login/"


def test_deactivated_user_is_refused(live_server, oidc_on):
    oidc_on.set_users({"anna": ANNA})
    UserFactory(username="anna", is_active=False)

    _, page = sign_in(live_server, "anna", ANNA["password"])

    assert urlsplit(page.url).path == "/login/"
    assert "SSO" in page.text  # «Не удалось войти через SSO …»
    assert not ExternalIdentity.objects.exists()


def test_existing_local_user_is_matched_by_preferred_username(live_server, oidc_on):
    local = UserFactory(username="anna", roles=["approver"])
    oidc_on.set_users({"anna": ANNA})

    _, page = sign_in(live_server, "anna", ANNA["password"])

    assert urlsplit(page.url).path == "/plans/"
    assert ExternalIdentity.objects.get().user_id == local.pk
    # approver is not named in the mapping: left as it was
    assert roles("anna") == {"approver", "author", "operator", "duty_officer"}


def test_local_superuser_is_not_taken_over(live_server, oidc_on):
    UserFactory(username="anna", is_superuser=True)
    oidc_on.set_users({"anna": ANNA})

    _, page = sign_in(live_server, "anna", ANNA["password"])

    assert urlsplit(page.url).path == "/login/"
    assert not ExternalIdentity.objects.exists()


def test_e_mail_matching_needs_a_verified_address(live_server, oidc_on, settings):
    settings.OKNO_OIDC_USERNAME_CLAIM = "email"
    local = UserFactory(username="a.petrova", email="anna@example.org")
    oidc_on.set_users({"mallory": {**ANNA, "preferred_username": "mallory", "email_verified": False}})

    _, page = sign_in(live_server, "mallory", ANNA["password"])
    assert urlsplit(page.url).path == "/login/"

    oidc_on.set_users({"anna": ANNA})
    _, page = sign_in(live_server, "anna", ANNA["password"])
    assert urlsplit(page.url).path == "/plans/"
    assert ExternalIdentity.objects.get().user_id == local.pk


def test_provider_with_another_issuer_is_refused(live_server, oidc_on, settings):
    # Okno is told the issuer is http://localhost:…; the provider's discovery document says 127.0.0.1.
    settings.OKNO_OIDC_ISSUER = oidc_on.issuer.replace("127.0.0.1", "localhost")
    session = requests.Session()

    page = session.get(f"{live_server.url}/sso/oidc/authenticate/", timeout=30)

    assert urlsplit(page.url).path == "/login/"
    assert "SSO" in page.text


def test_sso_button_in_russian_and_english(client, settings):
    settings.OKNO_OIDC_ISSUER = "https://sso.example.org/realms/it"

    page = client.get("/login/?next=/plans/3/").content.decode()
    assert 'id="sso-oidc" href="/sso/oidc/authenticate/?next=/plans/3/"' in page
    assert "Войти через SSO" in page

    client.cookies["django_language"] = "en"
    assert "Sign in with SSO" in client.get("/login/").content.decode()


def test_no_sso_button_and_no_sso_pages_while_oidc_is_off(client):
    assert 'id="sso-oidc"' not in client.get("/login/").content.decode()
    assert client.get("/sso/oidc/authenticate/").status_code == 404
    assert client.get("/sso/oidc/callback/?code=x&state=y").status_code == 404


# --- ID tokens: the backend checks them against the real provider's keys (its JWKS endpoint) ---


def id_token(key, **claims):
    now = int(time.time())
    payload = {"sub": "anna", "aud": CLIENT_ID, "iat": now, "exp": now + 300, "nonce": "n-1", **claims}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": KEY_ID})


@pytest.fixture
def provider_key(oidc_on):
    return jwt.algorithms.RSAAlgorithm.from_jwk(oidc_on.private_jwk)


def test_token_signed_by_the_provider_for_okno_is_accepted(oidc_on, provider_key):
    payload = OIDCBackend().verify_token(id_token(provider_key, iss=oidc_on.issuer), nonce="n-1")
    assert payload["sub"] == "anna"


def test_token_with_a_bad_signature_is_refused(oidc_on):
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(SuspiciousOperation):
        OIDCBackend().verify_token(id_token(other_key, iss=oidc_on.issuer), nonce="n-1")


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "http://evil.example.org"},
        {"aud": "another-client"},
        {"aud": [CLIENT_ID, "another-client"]},  # several audiences and no azp
    ],
    ids=["issuer", "audience", "azp"],
)
def test_token_for_another_issuer_or_client_is_refused(oidc_on, provider_key, claims):
    with pytest.raises(SuspiciousOperation):
        OIDCBackend().verify_token(id_token(provider_key, **{"iss": oidc_on.issuer, **claims}), nonce="n-1")


def test_token_with_another_nonce_is_refused(oidc_on, provider_key):
    with pytest.raises(SuspiciousOperation):
        OIDCBackend().verify_token(id_token(provider_key, iss=oidc_on.issuer), nonce="n-2")
