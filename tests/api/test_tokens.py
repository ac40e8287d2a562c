"""Personal API tokens: issue, store hashed, authenticate, revoke (api/tokens.py)."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone

from api.choices import TokenScope, TokenStatus
from api.models import ApiToken
from api.tokens import authenticate_token, hash_token, issue_token, revoke_token
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _issue(user, **kwargs):
    kwargs.setdefault("name", "CI")
    kwargs.setdefault("scope", TokenScope.READ)
    kwargs.setdefault("expires_at", timezone.now() + datetime.timedelta(days=90))
    return issue_token(user, **kwargs)


def test_issue_returns_the_plaintext_once_and_stores_only_its_hash(author):
    token, plaintext = _issue(author, scope=TokenScope.WRITE)

    assert plaintext.startswith(f"okno_{token.prefix}_")
    assert len(plaintext) > 50
    token.refresh_from_db()
    assert token.secret_hash == hash_token(plaintext)
    assert token.scope == TokenScope.WRITE and token.user == author and token.name == "CI"
    # The database holds neither the token nor its secret part, in any column.
    secret = plaintext.removeprefix(f"okno_{token.prefix}_")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM api_apitoken")
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert plaintext not in stored
    assert secret not in stored
    assert token.prefix in stored


def test_two_tokens_differ(author):
    (first, a), (second, b) = _issue(author), _issue(author)
    assert a != b and first.prefix != second.prefix


def test_a_valid_token_authenticates_and_records_its_use(author):
    token, plaintext = _issue(author)
    assert token.last_used_at is None

    found = authenticate_token(plaintext)

    assert found == token and found.user == author
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_last_used_is_written_at_most_once_a_minute(author, django_assert_num_queries):
    token, plaintext = _issue(author)
    authenticate_token(plaintext)
    token.refresh_from_db()
    first_use = token.last_used_at

    # Within the minute: one read, no write.
    with django_assert_num_queries(1):
        authenticate_token(plaintext)
    token.refresh_from_db()
    assert token.last_used_at == first_use

    # A minute later the next request writes again.
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first_use - datetime.timedelta(seconds=61))
    with django_assert_num_queries(2):
        authenticate_token(plaintext)
    token.refresh_from_db()
    assert token.last_used_at > first_use - datetime.timedelta(seconds=61)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda p: p[:-1] + ("A" if p[-1] != "A" else "B"),  # wrong secret, right prefix
        lambda p: p.replace("okno_", "xokno_", 1),
        lambda p: "okno_" + "0" * 12 + p[len("okno_") + 12 :],  # unknown prefix, the right secret
        lambda p: p[: len("okno_") + 13],  # no secret
        lambda p: "",
    ],
)
def test_a_wrong_token_is_refused(author, mangle):
    token, plaintext = _issue(author)
    assert authenticate_token(mangle(plaintext)) is None


def test_expired_revoked_and_inactive_user_tokens_are_refused(author, other_author):
    expired, expired_text = _issue(author, expires_at=timezone.now() - datetime.timedelta(seconds=1))
    revoked, revoked_text = _issue(author)
    revoke_token(revoked.pk, actor=author)
    inactive = UserFactory(username="gone", roles=["author"])
    _gone, gone_text = _issue(inactive)
    inactive.is_active = False
    inactive.save()

    assert authenticate_token(expired_text) is None
    assert authenticate_token(revoked_text) is None
    assert authenticate_token(gone_text) is None
    assert expired.status == TokenStatus.EXPIRED
    revoked.refresh_from_db()
    assert revoked.status == TokenStatus.REVOKED


def test_a_token_without_expiry_never_expires(author):
    token, plaintext = _issue(author, expires_at=None)
    assert authenticate_token(plaintext) == token
    assert token.status == TokenStatus.ACTIVE


def test_only_the_owner_or_an_administrator_revokes(author, other_author, admin_user):
    token, plaintext = _issue(author)

    with pytest.raises(PermissionDenied):
        revoke_token(token.pk, actor=other_author)
    token.refresh_from_db()
    assert token.revoked_at is None and authenticate_token(plaintext) == token

    revoke_token(token.pk, actor=admin_user)
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert authenticate_token(plaintext) is None


def test_revoking_twice_keeps_the_first_time(author):
    token, _plaintext = _issue(author)
    first = revoke_token(token.pk, actor=author).revoked_at
    assert revoke_token(token.pk, actor=author).revoked_at == first


def test_revoking_a_missing_token_is_refused(author):
    with pytest.raises(PermissionDenied):
        revoke_token(999_999, actor=author)
