"""The page /account/tokens/: one's own tokens, created (shown once) and revoked (api/views_account.py)."""

import re

import pytest
from django.urls import reverse

from api.choices import TokenScope
from api.models import ApiToken
from api.tokens import authenticate_token, issue_token

pytestmark = pytest.mark.django_db

URL = "/account/tokens/"
TOKEN = re.compile(r"okno_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}")


def _form(client):
    """The nonce of a freshly shown form, as a browser would send it back."""
    page = client.get(URL).content.decode()
    return re.search(r'name="nonce" value="([^"]+)"', page).group(1)


def test_the_page_needs_a_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_url_names(db):
    assert reverse("account_tokens:list") == URL
    assert reverse("account_tokens:revoke", args=[7]) == "/account/tokens/7/revoke/"


def test_the_page_lists_only_ones_own_tokens(author_client, author, other_author):
    mine, _ = issue_token(author, name="мой конвейер", scope=TokenScope.READ, expires_at=None)
    theirs, _ = issue_token(other_author, name="чужой конвейер", scope=TokenScope.WRITE, expires_at=None)

    page = author_client.get(URL).content.decode()

    assert "API-токены" in page
    assert "мой конвейер" in page and f"okno_{mine.prefix}_" in page
    assert "чужой конвейер" not in page and theirs.prefix not in page
    assert "только чтение" in page and "бессрочно" in page and "активен" in page


def test_creating_shows_the_token_once(author_client, author):
    # Given the form as the page shows it
    nonce = _form(author_client)
    data = {"name": "GitLab CI", "scope": "write", "expires_in_days": "30", "nonce": nonce}

    # When it is sent
    response = author_client.post(URL, data)

    # Then the answer shows the token with the warning, and the token works
    page = response.content.decode()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    (plaintext,) = set(TOKEN.findall(page))
    assert "показан только один раз" in page
    token = authenticate_token(plaintext)
    assert token is not None and token.user == author and token.name == "GitLab CI"
    assert token.scope == TokenScope.WRITE
    assert 29 <= (token.expires_at - token.created_at).days <= 30

    # And a reload (the same form sent again) creates nothing and shows nothing
    again = author_client.post(URL, data, follow=True)
    assert ApiToken.objects.filter(user=author).count() == 1
    assert plaintext not in again.content.decode()
    assert "уже отправлена" in again.content.decode()
    # And the page opened again does not show it either
    assert plaintext not in author_client.get(URL).content.decode()
    assert not TOKEN.search(author_client.get(URL).content.decode())


def test_the_default_expiry_is_90_days(author_client, author):
    page = author_client.get(URL).content.decode()
    assert re.search(r'<option value="90" selected>90 дней</option>', page)
    author_client.post(URL, {"name": "x", "scope": "read", "expires_in_days": "90", "nonce": _form(author_client)})
    token = ApiToken.objects.get(user=author)
    assert (token.expires_at - token.created_at).days in (89, 90)


def test_a_bad_form_keeps_what_was_typed_and_creates_nothing(author_client, author):
    nonce = _form(author_client)
    response = author_client.post(URL, {"name": "мой токен", "scope": "admin", "expires_in_days": "7", "nonce": nonce})
    page = response.content.decode()
    assert response.status_code == 200
    assert "мой токен" in page
    assert "Выберите корректный вариант" in page
    assert not ApiToken.objects.exists()
    # The corrected form, with the same nonce, then creates the token
    response = author_client.post(URL, {"name": "мой токен", "scope": "read", "expires_in_days": "90", "nonce": nonce})
    assert TOKEN.search(response.content.decode())
    assert ApiToken.objects.count() == 1


def test_a_form_without_a_nonce_the_session_gave_creates_nothing(author_client):
    response = author_client.post(URL, {"name": "x", "scope": "read", "expires_in_days": "30", "nonce": "forged"})
    assert response.status_code == 302
    assert not ApiToken.objects.exists()


def test_revoking_ones_own_token(author_client, author):
    token, plaintext = issue_token(author, name="старый", scope=TokenScope.READ, expires_at=None)
    page = author_client.get(URL).content.decode()
    assert "data-okno-confirm=" in page and f"/account/tokens/{token.pk}/revoke/" in page

    response = author_client.post(f"/account/tokens/{token.pk}/revoke/", follow=True)

    assert response.status_code == 200
    assert "отозван" in response.content.decode()
    assert authenticate_token(plaintext) is None
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_another_users_token_cannot_be_revoked(author_client, other_author):
    token, plaintext = issue_token(other_author, name="чужой", scope=TokenScope.READ, expires_at=None)
    response = author_client.post(f"/account/tokens/{token.pk}/revoke/")
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None and authenticate_token(plaintext) == token


def test_revoking_is_a_post(author_client, author):
    token, _ = issue_token(author, name="x", scope=TokenScope.READ, expires_at=None)
    assert author_client.get(f"/account/tokens/{token.pk}/revoke/").status_code == 405


def test_session_posts_need_the_csrf_token(author):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(author)
    assert client.post(URL, {"name": "x", "scope": "read", "expires_in_days": "30"}).status_code == 403
    assert not ApiToken.objects.exists()


def test_the_user_menu_links_the_page(author_client):
    page = author_client.get(reverse("changeplans:plan_list")).content.decode()
    assert 'id="nav-tokens" href="/account/tokens/"' in page
