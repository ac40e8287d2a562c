"""LDAP sign-in against a real OpenLDAP slapd started by the tests (conftest.py): the login page, roles from
directory groups, a group removed with ldapmodify, deactivated and local users, lock-outs (docs/sso.md)."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from sso.models import ExternalIdentity
from tests.factories import UserFactory

from .conftest import APPROVERS_DN, AUTHORS_DN, BASE_DN

pytestmark = pytest.mark.django_db

ANNA_PASSWORD = "anna-directory-password"


def roles(username):
    user = get_user_model().objects.get(username=username)
    return set(user.groups.values_list("name", flat=True))


def log_in(client, username, password):
    return client.post("/login/", {"username": username, "password": password})


def test_directory_password_signs_in_through_the_login_page(client, ldap_on):
    # When anna types her directory password into Okno's login form
    response = log_in(client, "anna", ANNA_PASSWORD)

    # Then she is in, as a new Okno user with the directory's name and e-mail and the mapped roles
    assert response.status_code == 302, response.content.decode()[:500]
    assert response["Location"] == "/plans/"
    assert client.get("/plans/").status_code == 200
    user = get_user_model().objects.get(username="anna")
    assert (user.first_name, user.last_name, user.email) == ("Анна", "Петрова", "anna@example.org")
    assert not user.has_usable_password()
    assert roles("anna") == {"author", "approver"}  # "canteen" is mapped to nothing
    identity = ExternalIdentity.objects.get(user=user)
    assert (identity.source, identity.subject) == ("ldap", "anna")
    assert f"cn=canteen,ou=groups,{BASE_DN}" in identity.groups


def test_wrong_password_is_refused_and_counted_by_axes(client, ldap_on):
    response = log_in(client, "anna", "not-her-password")

    assert response.status_code == 200
    assert response.context["form"].errors
    assert not get_user_model().objects.filter(username="anna").exists()
    assert AccessAttempt.objects.get(username="anna").failures_since_start == 1


def test_five_wrong_directory_passwords_lock_the_name_out(client, ldap_on, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "boris", "wrong")

    # Even the right directory password is refused now: axes answers before LDAP is asked.
    response = log_in(client, "boris", "boris-directory-password")
    assert response.status_code == 429
    assert not get_user_model().objects.filter(username="boris").exists()


def test_role_follows_the_directory_group_at_every_sign_in(client, ldap_on):
    assert log_in(client, "anna", ANNA_PASSWORD).status_code == 302
    assert roles("anna") == {"author", "approver"}
    # An operator role given by hand: the mapping never names it, so the directory leaves it alone.
    anna = get_user_model().objects.get(username="anna")
    anna.groups.add(Group.objects.get_or_create(name="operator")[0])

    # When anna is taken out of okno-authors in the directory
    ldap_on.modify(f"dn: {AUTHORS_DN}\nchangetype: modify\ndelete: member\nmember: uid=anna,ou=people,{BASE_DN}\n")
    try:
        client.post("/logout/")
        assert log_in(client, "anna", ANNA_PASSWORD).status_code == 302

        # Then her author role is gone at the next sign-in; the hand-given operator role stays
        assert roles("anna") == {"approver", "operator"}
    finally:
        ldap_on.modify(f"dn: {AUTHORS_DN}\nchangetype: modify\nadd: member\nmember: uid=anna,ou=people,{BASE_DN}\n")


def test_user_deactivated_in_okno_cannot_sign_in_and_loses_the_session(client, ldap_on):
    assert log_in(client, "anna", ANNA_PASSWORD).status_code == 302
    get_user_model().objects.filter(username="anna").update(is_active=False)

    # The open session ends at the next request
    assert client.get("/plans/").status_code == 302

    # And the directory password no longer opens the account
    response = log_in(client, "anna", ANNA_PASSWORD)
    assert response.status_code == 200
    assert client.get("/plans/").status_code == 302


def test_existing_local_user_is_taken_over_and_keeps_the_account(client, ldap_on):
    local = UserFactory(username="boris", roles=["operator"])

    response = log_in(client, "boris", "boris-directory-password")

    assert response.status_code == 302
    boris = get_user_model().objects.get(username="boris")
    assert boris.pk == local.pk  # the same account: plans and history stay his
    assert not boris.has_usable_password()  # the directory decides from now on
    assert log_in(client, "boris", "okno-test-password").status_code == 200  # the old local password is gone
    assert roles("boris") == {"approver", "operator"}


def test_taking_over_local_users_can_be_switched_off(client, ldap_on, settings):
    settings.OKNO_SSO_LINK_EXISTING_USERS = False
    UserFactory(username="boris")

    assert log_in(client, "boris", "boris-directory-password").status_code == 200
    assert not ExternalIdentity.objects.exists()
    # The local password still works: that account stays local
    assert log_in(client, "boris", "okno-test-password").status_code == 302


def test_a_local_superuser_is_never_taken_over(client, ldap_on):
    admin = UserFactory(username="anna", is_superuser=True, is_staff=True)

    assert log_in(client, "anna", ANNA_PASSWORD).status_code == 200
    admin.refresh_from_db()
    assert admin.has_usable_password()
    assert not ExternalIdentity.objects.exists()
    # The break-glass administrator's own password works, even with LDAP on
    assert log_in(client, "anna", "okno-test-password").status_code == 302


def test_a_service_account_of_the_same_name_is_never_taken_over(client, ldap_on):
    from django.contrib.auth.models import Group

    from changeplans.roles import SERVICE_ACCOUNT_GROUP

    pipeline = UserFactory(username="anna")
    pipeline.groups.add(Group.objects.get_or_create(name=SERVICE_ACCOUNT_GROUP)[0])

    assert log_in(client, "anna", ANNA_PASSWORD).status_code == 200
    assert not ExternalIdentity.objects.exists()


def test_local_users_roles_are_not_touched(client, ldap_on):
    local = UserFactory(username="khasanov", roles=["author", "approver"])

    assert log_in(client, "khasanov", "okno-test-password").status_code == 302
    assert roles("khasanov") == {"author", "approver"}
    assert not ExternalIdentity.objects.filter(user=local).exists()


def test_with_ldap_off_the_directory_password_opens_nothing(client, ldap_on, settings):
    settings.OKNO_LDAP_SERVER_URI = ""

    assert log_in(client, "anna", ANNA_PASSWORD).status_code == 200


def test_a_combined_filter_as_for_active_directory(client, ldap_on, settings):
    # Active Directory's filter is (sAMAccountName=%(user)s); slapd has no such attribute, so the same shape
    # (a combined filter on another attribute) is tried here: sign in by e-mail address.
    settings.OKNO_LDAP_USER_FILTER = "(&(objectClass=inetOrgPerson)(mail=%(user)s))"

    assert log_in(client, "boris@example.org", "boris-directory-password").status_code == 302
    assert roles("boris@example.org") == {"approver"}


def test_approvers_group_alone_gives_approver(client, ldap_on):
    assert log_in(client, "boris", "boris-directory-password").status_code == 302
    assert roles("boris") == {"approver"}
    assert APPROVERS_DN in ExternalIdentity.objects.get().groups
