"""The API with tokens: `Authorization: Bearer okno_…` at /api/v1/ (api/authentication.py, api/permissions.py)."""

import datetime

import pytest
from django.utils import timezone
from rest_framework.decorators import api_view
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate

from api.choices import TokenScope
from api.tokens import issue_token, revoke_token
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROOT = "/api/v1/"


def _issue(user, scope=TokenScope.READ, expires_at=None):
    return issue_token(user, name="script", scope=scope, expires_at=expires_at)[1]


@pytest.fixture
def api():
    return APIClient()


def test_a_valid_token_is_its_user(api, author):
    plaintext = _issue(author)
    response = api.get(ROOT, HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert response.status_code == 200
    assert response.json() == {"version": "v1", "user": "author"}


def test_the_keyword_is_case_insensitive(api, author):
    plaintext = _issue(author)
    assert api.get(ROOT, HTTP_AUTHORIZATION=f"bearer {plaintext}").status_code == 200


def test_no_credentials_is_401_with_a_bearer_challenge(api, db):
    response = api.get(ROOT)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def _refused(api, header):
    response = api.get(ROOT, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"].startswith("Bearer")
    return response.json()["detail"]


def test_a_wrong_token_is_401(api, author):
    plaintext = _issue(author)
    detail = _refused(api, f"Bearer {plaintext[:-2]}xx")
    assert detail == "Токен недействителен, истёк или отозван."


def test_an_expired_token_is_401(api, author):
    plaintext = _issue(author, expires_at=timezone.now() - datetime.timedelta(minutes=1))
    _refused(api, f"Bearer {plaintext}")


def test_a_revoked_token_is_401(api, author):
    token, plaintext = issue_token(author, name="x", scope=TokenScope.WRITE, expires_at=None)
    assert api.get(ROOT, HTTP_AUTHORIZATION=f"Bearer {plaintext}").status_code == 200
    revoke_token(token.pk, actor=author)
    _refused(api, f"Bearer {plaintext}")


def test_an_inactive_users_token_is_401(api, db):
    user = UserFactory(username="left")
    plaintext = _issue(user)
    user.is_active = False
    user.save()
    _refused(api, f"Bearer {plaintext}")


def test_a_malformed_header_is_401(api, author):
    plaintext = _issue(author)
    detail = _refused(api, f"Bearer {plaintext} extra")
    assert "Bearer okno_" in detail


def test_the_refusal_is_in_english_for_an_english_user(api, author):
    api.cookies["django_language"] = "en"
    detail = _refused(api, "Bearer okno_000000000000_nope")
    assert detail == "The token is invalid, expired or revoked."


def test_a_token_needs_no_csrf_token_but_a_session_does(author):
    # Given a client that enforces CSRF, as it is enforced on browsers' requests
    api = APIClient(enforce_csrf_checks=True)
    read_only, write = _issue(author), _issue(author, scope=TokenScope.WRITE)
    # When tokens POST without a CSRF token, the answer is never about CSRF: 405 from the GET-only root (the
    # authentication and the scope passed), 403 for the read-only token's scope
    assert api.post(ROOT, HTTP_AUTHORIZATION=f"Bearer {write}").status_code == 405
    response = api.post(ROOT, HTTP_AUTHORIZATION=f"Bearer {read_only}")
    assert response.status_code == 403 and "CSRF" not in response.json()["detail"]
    # And a session POST without a CSRF token is refused for CSRF
    api.force_login(author)
    response = api.post(ROOT)
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


# --- the scope (api.permissions.TokenScope), tested on a tiny view through the real authentication ---


@api_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
def echo(request):
    return Response({"method": request.method, "user": request.user.get_username()})


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_read_token_may_not_change_anything(author, method):
    plaintext = _issue(author, scope=TokenScope.READ)
    request = getattr(APIRequestFactory(), method)("/api/v1/echo/", HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    response = echo(request)
    assert response.status_code == 403
    assert response.data["detail"] == (
        "Токен только для чтения: чтобы изменять данные, создайте токен с правами «чтение и запись»."
    )


def test_a_read_token_reads(author):
    plaintext = _issue(author, scope=TokenScope.READ)
    response = echo(APIRequestFactory().get("/api/v1/echo/", HTTP_AUTHORIZATION=f"Bearer {plaintext}"))
    assert response.status_code == 200 and response.data == {"method": "GET", "user": "author"}


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_write_token_writes(author, method):
    plaintext = _issue(author, scope=TokenScope.WRITE)
    request = getattr(APIRequestFactory(), method)("/api/v1/echo/", HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    response = echo(request)
    assert response.status_code == 200 and response.data["method"] == method.upper()


def test_the_scope_does_not_concern_sessions(author):
    request = APIRequestFactory().post("/api/v1/echo/")
    force_authenticate(request, user=author)  # no token: as a session request
    assert echo(request).status_code == 200
