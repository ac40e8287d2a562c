"""Tokens in the admin: read-only, no secret, a «revoke» action for administrators (api/admin.py)."""

import pytest

from api.choices import TokenScope
from api.models import ApiToken
from api.tokens import issue_token

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/api/apitoken/"


def test_the_admin_shows_tokens_without_their_secret(client, admin_user, author):
    token, plaintext = issue_token(author, name="конвейер", scope=TokenScope.READ, expires_at=None)
    client.force_login(admin_user)

    listing = client.get(CHANGELIST).content.decode()
    detail = client.get(f"{CHANGELIST}{token.pk}/change/").content.decode()

    assert "конвейер" in listing and token.prefix in listing
    for page in (listing, detail):
        assert plaintext not in page and token.secret_hash not in page
    assert client.get(f"{CHANGELIST}add/").status_code == 403


def test_the_revoke_action(client, admin_user, author):
    token, _ = issue_token(author, name="x", scope=TokenScope.WRITE, expires_at=None)
    client.force_login(admin_user)

    response = client.post(CHANGELIST, {"action": "revoke", "_selected_action": [token.pk]}, follow=True)

    assert response.status_code == 200
    assert "Отозвано токенов: 1." in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert ApiToken.objects.count() == 1  # revoked, not deleted
