"""Service accounts: made in the admin, no sign-in, tokens issued and revoked there (api/service_accounts.py)."""

import re

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from api.choices import TokenScope
from api.models import ApiToken, ServiceAccount
from api.service_accounts import create_service_account, is_service_account, issue_service_token
from changeplans.choices import EventKind, Role
from changeplans.history import record_event
from tests.factories import PlanFactory, UserFactory

pytestmark = pytest.mark.django_db

ADD = "/admin/api/serviceaccount/add/"
TOKEN = re.compile(r"okno_[0-9a-f]{12}_[A-Za-z0-9_-]{40,}")


def _account(admin_user, owner, *, roles=()):
    groups = [Group.objects.get_or_create(name=Role(role).value)[0] for role in roles]
    return create_service_account(
        username="gitlab-billing", description="GitLab CI of billing", owner=owner, groups=groups, actor=admin_user
    )


def _bearer(plaintext):
    return {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}


def _new_token_form(client, account):
    url = reverse("admin:api_serviceaccount_token_new", args=[account.pk])
    page = client.get(url).content.decode()
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
    return url, {"name": "deploy", "scope": "write", "expires_in_days": "365", "nonce": nonce}


def test_an_administrator_creates_an_account_in_the_admin_without_a_password(client, admin_user, author):
    client.force_login(admin_user)
    author_group = Group.objects.get_or_create(name=Role.AUTHOR.value)[0]

    form = client.get(ADD).content.decode()
    response = client.post(
        ADD,
        {"username": "gitlab-billing", "description": "CI", "owner": author.pk, "roles": [author_group.pk]},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert 'type="password"' not in form and 'name="password' not in form and 'name="username"' in form
    account = ServiceAccount.objects.select_related("user").get()
    user = account.user
    assert (user.username, account.owner, account.created_by) == ("gitlab-billing", author, admin_user)
    assert not user.has_usable_password() and not user.is_staff and not user.is_superuser
    assert sorted(user.groups.values_list("name", flat=True)) == ["author", "service_account"]
    assert is_service_account(user) and not is_service_account(author)


def test_only_an_administrator_manages_service_accounts(client, admin_user, author):
    staff = UserFactory(username="staff", is_staff=True, roles=[Role.AUTHOR])
    account = _account(admin_user, author)
    client.force_login(staff)

    assert client.get(ADD).status_code == 403
    assert client.get(reverse("admin:api_serviceaccount_token_new", args=[account.pk])).status_code == 403
    with pytest.raises(PermissionDenied):
        create_service_account(username="x", description="", owner=author, groups=[], actor=staff)
    with pytest.raises(PermissionDenied):
        issue_service_token(account.pk, name="t", scope="read", expires_at=None, actor=staff)
    assert ApiToken.objects.count() == 0


def test_the_login_form_refuses_a_service_account_even_with_a_password_set_later(client, admin_user, author):
    account = _account(admin_user, author)
    # Someone sets a password behind the admin's back (the user admin, a shell).
    user = User.objects.get(pk=account.user_id)
    user.set_password("pipeline-password-1")
    user.save()

    response = client.post(reverse("login"), {"username": "gitlab-billing", "password": "pipeline-password-1"})

    user.refresh_from_db()
    assert not user.has_usable_password()
    assert response.status_code == 200  # the form again, with its error
    assert "_auth_user_id" not in client.session


def test_a_token_is_issued_once_in_the_admin_and_acts_as_the_account(client, admin_user, author):
    account = _account(admin_user, author, roles=[Role.AUTHOR])
    client.force_login(admin_user)
    url, data = _new_token_form(client, account)

    answer = client.post(url, data)
    again = client.post(url, data)  # a reload of the answer sends the same form
    change = client.get(reverse("admin:api_serviceaccount_change", args=[account.pk])).content.decode()

    plaintext = TOKEN.search(answer.content.decode()).group(0)
    assert "no-cache" in answer["Cache-Control"] or "max-age=0" in answer["Cache-Control"]
    token = ApiToken.objects.get()
    assert (token.user_id, token.scope, token.name) == (account.user_id, TokenScope.WRITE, "deploy")
    assert again.status_code == 302 and ApiToken.objects.count() == 1
    assert plaintext not in change and token.prefix in change and token.secret_hash not in change
    api = client.__class__()
    me = api.get("/api/v1/", **_bearer(plaintext))
    assert me.status_code == 200 and me.json()["user"] == "gitlab-billing"


def test_revoking_a_token_in_the_admin(client, admin_user, author):
    account = _account(admin_user, author)
    token, plaintext = issue_service_token(account.pk, name="t", scope="read", expires_at=None, actor=admin_user)
    client.force_login(admin_user)
    url = reverse("admin:api_serviceaccount_token_revoke", args=[account.pk, token.pk])

    confirm = client.get(url)
    response = client.post(url)

    assert confirm.status_code == 200 and token.prefix in confirm.content.decode()
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.__class__().get("/api/v1/", **_bearer(plaintext)).status_code == 401


def test_deactivating_the_account_revokes_its_tokens_for_good(client, admin_user, author):
    account = _account(admin_user, author)
    first, plaintext = issue_service_token(account.pk, name="a", scope="read", expires_at=None, actor=admin_user)
    issue_service_token(account.pk, name="b", scope="write", expires_at=None, actor=admin_user)
    client.force_login(admin_user)
    change = reverse("admin:api_serviceaccount_change", args=[account.pk])
    data = {"username": "gitlab-billing", "description": "CI", "owner": author.pk, "roles": []}

    off = client.post(change, {**data})  # "is_active" unticked
    on = client.post(change, {**data, "is_active": "on"})

    assert off.status_code == on.status_code == 302
    assert ApiToken.objects.filter(user=account.user, revoked_at__isnull=True).count() == 0
    assert User.objects.get(pk=account.user_id).is_active
    # Reactivated, yet the old tokens stay dead.
    assert client.__class__().get("/api/v1/", **_bearer(plaintext)).status_code == 401


def test_plans_and_history_show_the_account_by_its_name(client, admin_user, author):
    account = _account(admin_user, author, roles=[Role.AUTHOR])
    plan = PlanFactory(author=account.user, title="План конвейера")
    record_event(plan, actor=account.user, kind=EventKind.EDITED, comment="из конвейера")
    client.force_login(author)

    listing = client.get(reverse("changeplans:plan_list")).content.decode()
    history = client.get(reverse("changeplans:plan_history", args=[plan.pk])).content.decode()

    assert "План конвейера" in listing and "gitlab-billing" in listing
    assert "из конвейера" in history and "gitlab-billing" in history


# --- a service account is no person: it never signs ------------------------------------------------------


def _in_review_with_a_row_for(user, kind="approval"):
    from approvals.models import ApprovalRow
    from changeplans.choices import PlanStatus
    from changeplans.models import Plan
    from changeplans.versioning import freeze_version

    plan = PlanFactory()
    freeze_version(plan, actor=plan.author)
    Plan.objects.filter(pk=plan.pk).update(status=PlanStatus.IN_REVIEW)
    status = "pending" if kind == "approval" else "not_acknowledged"
    row = ApprovalRow.objects.create(
        plan=plan, position=1, kind=kind, person_name=user.username, user=user, status=status
    )
    return plan, row


@pytest.mark.parametrize("kind", ["approval", "acknowledgement"])
def test_a_service_account_with_the_approver_role_cannot_sign(admin_user, author, kind):
    from approvals import services
    from changeplans.models import PlanEvent

    account = _account(admin_user, author, roles=[Role.APPROVER, Role.DUTY_OFFICER])
    plan, row = _in_review_with_a_row_for(account.user, kind)
    sign = services.approve_row if kind == "approval" else services.acknowledge_row

    with pytest.raises(PermissionDenied, match="Сервисная учётная запись не может подписывать"):
        sign(row.pk, actor=account.user, version=1, via="api")

    row.refresh_from_db()
    assert row.status in ("pending", "not_acknowledged")
    refused = PlanEvent.objects.get(plan=plan, kind=EventKind.REFUSED)
    assert "Сервисная учётная запись" in refused.comment and "(api)" in refused.comment


def test_a_service_account_cannot_approve_automation(admin_user, author):
    from runbooks.four_eyes import approve_refusal

    account = _account(admin_user, author, roles=[Role.OPERATOR])
    assert "Сервисная учётная запись" in approve_refusal(account.user, PlanFactory())


def test_pickers_offer_no_service_account_and_not_its_group(admin_user, author):
    from changeplans.people import search_groups, search_users, users_matching

    account = _account(admin_user, author, roles=[Role.APPROVER])
    account.user.last_name, account.user.first_name = "Конвейеров", "Гитлаб"
    account.user.save()
    person = UserFactory(username="konveyerova", last_name="Конвейерова", first_name="Анна")

    assert [found["id"] for found in search_users(["конвейер"])] == [person.pk]
    assert users_matching("Конвейеров Г.") == []
    assert search_groups(["service"]) == []
    assert is_service_account(account.user) and not is_service_account(person)
