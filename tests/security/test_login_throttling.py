"""Finding 8: password guessing is throttled (django-axes) at the site login and at the admin login.

A lockout is per username *and* client address: the guesser of one account from one address is stopped,
while the same person elsewhere and everyone else at that address still sign in.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "okno-test-password"  # tests/factories.py
LIMIT = getattr(settings, "OKNO_LOGIN_FAILURE_LIMIT", 5)
SITE = "/login/"
ADMIN = "/admin/login/"


def attempt(client, url, username, password, ip="198.51.100.7"):
    return client.post(url, {"username": username, "password": password, "next": "/plans/"}, REMOTE_ADDR=ip)


def signed_in(client):
    return "_auth_user_id" in client.session


def guess(client, url, username, times, ip="198.51.100.7"):
    for n in range(times):
        attempt(client, url, username, f"wrong-{n}", ip=ip)


def test_the_site_login_refuses_the_right_password_after_the_failure_limit(client):
    # Given an account and LIMIT wrong guesses from one address
    user = UserFactory(username="victim")
    guess(client, SITE, user.username, LIMIT)
    # When the right password comes from the same address
    response = attempt(client, SITE, user.username, PASSWORD)
    # Then it is refused with the lockout page, and nobody is signed in
    assert response.status_code == 429
    assert not signed_in(client)
    assert "Слишком много неудачных попыток входа" in response.content.decode()
    assert "15" in response.content.decode()  # the cool-off in minutes


def test_fifty_guesses_then_the_right_password_is_refused(client):
    """The probe's exact attack: 50 wrong passwords in a row, then the right one."""
    user = UserFactory(username="victim")
    guess(client, SITE, user.username, 50)
    assert attempt(client, SITE, user.username, PASSWORD).status_code == 429
    assert not signed_in(client)


def test_the_admin_login_is_throttled_too(client):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    guess(client, ADMIN, admin.username, LIMIT)
    response = attempt(client, ADMIN, admin.username, PASSWORD)
    assert response.status_code == 429
    assert not signed_in(client)
    assert client.get("/admin/").status_code == 302  # still sent to the admin login


def test_fewer_failures_than_the_limit_do_not_lock(client):
    user = UserFactory(username="typo")
    guess(client, SITE, user.username, LIMIT - 1)
    response = attempt(client, SITE, user.username, PASSWORD)
    assert response.status_code == 302
    assert signed_in(client)


def test_other_users_at_the_same_address_and_the_same_user_elsewhere_are_unaffected(client):
    # Given the victim's account is locked for the attacker's address
    victim = UserFactory(username="victim")
    colleague = UserFactory(username="colleague")
    guess(client, SITE, victim.username, LIMIT)
    assert attempt(client, SITE, victim.username, PASSWORD).status_code == 429
    # Then a colleague behind the same address signs in
    assert attempt(client, SITE, colleague.username, PASSWORD).status_code == 302
    assert signed_in(client)
    client.logout()
    # And the victim signs in from their own address: one attacker cannot lock an account for everyone
    assert attempt(client, SITE, victim.username, PASSWORD, ip="203.0.113.20").status_code == 302
    assert signed_in(client)


def test_the_lockout_page_speaks_english_when_the_user_chose_english(client):
    user = UserFactory(username="victim")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    guess(client, SITE, user.username, LIMIT)
    response = attempt(client, SITE, user.username, PASSWORD)
    assert response.status_code == 429
    body = response.content.decode()
    assert "Too many failed sign-in attempts" in body
    assert 'href="/login/"' in body  # a way back once the cool-off is over


def test_reset_by_an_administrator_lets_the_user_sign_in_again(client):
    user = UserFactory(username="victim")
    guess(client, SITE, user.username, LIMIT)
    assert attempt(client, SITE, user.username, PASSWORD).status_code == 429
    # When an administrator resets the account's lockout
    call_command("axes_reset_username", user.username)
    # Then the right password works again
    assert attempt(client, SITE, user.username, PASSWORD).status_code == 302
    assert signed_in(client)


def test_an_administrator_sees_and_deletes_lockouts_in_the_admin(client):
    from axes.models import AccessAttempt

    user = UserFactory(username="victim")
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    guess(client, SITE, user.username, LIMIT)
    attempt_row = AccessAttempt.objects.get(username=user.username)
    client.force_login(admin)
    listing = client.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200
    assert "victim" in listing.content.decode()
    deleted = client.post(f"/admin/axes/accessattempt/{attempt_row.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    client.logout()
    assert attempt(client, SITE, user.username, PASSWORD).status_code == 302


def test_the_lock_ends_after_the_cool_off(client):
    from axes.models import AccessAttempt

    user = UserFactory(username="victim")
    guess(client, SITE, user.username, LIMIT)
    assert attempt(client, SITE, user.username, PASSWORD).status_code == 429
    # The failures are older than the cool-off (moved back instead of waiting)
    cool_off = settings.AXES_COOLOFF_TIME
    AccessAttempt.objects.filter(username=user.username).update(
        attempt_time=AccessAttempt.objects.get(username=user.username).attempt_time - cool_off - timedelta(seconds=1)
    )
    assert attempt(client, SITE, user.username, PASSWORD).status_code == 302


def test_production_settings_put_the_axes_backend_first():
    from config.settings import base

    assert base.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert "axes.middleware.AxesMiddleware" in base.MIDDLEWARE
    assert base.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    # The settings the tests run with lock out the same way (axes is on, not disabled for tests).
    from axes.backends import AxesStandaloneBackend
    from django.utils.module_loading import import_string

    assert settings.AXES_ENABLED is True
    assert issubclass(import_string(settings.AUTHENTICATION_BACKENDS[0]), AxesStandaloneBackend)
    assert settings.AXES_LOCKOUT_PARAMETERS == base.AXES_LOCKOUT_PARAMETERS


def test_the_lockout_works_under_asgi_too(async_client):
    """Production runs under uvicorn (ASGI), where django-axes's middleware takes its async path."""
    from asgiref.sync import async_to_sync

    user = UserFactory(username="victim")
    post = async_to_sync(async_client.post)
    for n in range(LIMIT):
        post(SITE, {"username": user.username, "password": f"wrong-{n}"}, REMOTE_ADDR="198.51.100.7")
    response = post(SITE, {"username": user.username, "password": PASSWORD}, REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 429
    assert "Слишком много неудачных попыток входа" in response.content.decode()


def test_direct_authenticate_calls_without_a_request_still_work_in_tests(client):
    """Client.login() and authenticate() without a request (tests only) are not refused by axes."""
    from django.contrib.auth import authenticate

    user = UserFactory(username="plain")
    assert authenticate(username=user.username, password=PASSWORD) == user
    assert client.login(username=user.username, password=PASSWORD)
