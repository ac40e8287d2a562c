"""Secrets at rest: Fernet with rotating keys, the encrypted column, and `manage.py rotate_secrets`."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from runbooks import crypto
from runbooks.models import Cluster, Secret

pytestmark = [pytest.mark.django_db]

OLD, NEW, STRANGER = Fernet.generate_key().decode(), Fernet.generate_key().decode(), Fernet.generate_key().decode()


def raw(table, column, pk):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_round_trip_and_empty_values(settings):
    settings.OKNO_SECRETS_KEYS = [OLD]
    token = crypto.encrypt("пароль-123")
    assert token.startswith("fernet:") and "пароль" not in token
    assert crypto.decrypt(token) == "пароль-123"
    assert crypto.encrypt("") == "" and crypto.decrypt("") == ""


def test_without_keys_a_key_is_derived_from_secret_key(settings):
    settings.OKNO_SECRETS_KEYS = []
    token = crypto.encrypt("x-value")
    assert crypto.decrypt(token) == "x-value"
    # Another SECRET_KEY derives another key.
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    with pytest.raises(ImproperlyConfigured):
        crypto.decrypt(token)


def test_the_column_holds_ciphertext_and_python_sees_plain_text(settings):
    settings.OKNO_SECRETS_KEYS = [OLD]
    secret = Secret.objects.create(name="db-password", value="s3cr3t-пароль")
    stored = raw("runbooks_secret", "value", secret.pk)
    assert stored.startswith("fernet:") and "s3cr3t" not in stored
    assert Secret.objects.get(pk=secret.pk).value == "s3cr3t-пароль"
    assert Secret.objects.values_list("value", flat=True).get(pk=secret.pk) == "s3cr3t-пароль"


def test_a_value_encrypted_with_an_unknown_key_is_a_clear_configuration_error(settings):
    settings.OKNO_SECRETS_KEYS = [STRANGER]
    secret = Secret.objects.create(name="token", value="value-1234")
    settings.OKNO_SECRETS_KEYS = [NEW, OLD]
    with pytest.raises(ImproperlyConfigured, match="OKNO_SECRETS_KEYS lacks the key"):
        Secret.objects.get(pk=secret.pk)
    with pytest.raises(
        ImproperlyConfigured, match=r"runbooks\.Secret\.value of row \d+ .*OKNO_SECRETS_KEYS lacks the key"
    ):
        call_command("rotate_secrets")
    # Nothing was changed: with the right key the value is still there.
    settings.OKNO_SECRETS_KEYS = [STRANGER]
    assert Secret.objects.get(pk=secret.pk).value == "value-1234"


def test_a_malformed_key_is_a_clear_configuration_error(settings):
    settings.OKNO_SECRETS_KEYS = ["not-a-fernet-key"]
    with pytest.raises(ImproperlyConfigured, match="32 url-safe base64"):
        crypto.encrypt("x-value")


def test_rotation(settings):
    # Given values saved with the old key
    settings.OKNO_SECRETS_KEYS = [OLD]
    secret = Secret.objects.create(name="registry", value="registry-token-0001")
    cluster = Cluster.objects.create(
        name="prod-1",
        kubeconfig="apiVersion: v1\nkind: Config\nusers: [{name: a, user: {token: abcdefgh}}]\n",
        ansible_inventory="[workers]\nworker-1 ansible_password=pw-123456\n",
    )
    empty = Cluster.objects.create(name="empty")
    before = raw("runbooks_secret", "value", secret.pk)

    # When the new key is put first, the old values still decrypt
    settings.OKNO_SECRETS_KEYS = [NEW, OLD]
    assert Secret.objects.get(pk=secret.pk).value == "registry-token-0001"

    # and after rotate_secrets they decrypt with the new key alone
    call_command("rotate_secrets", stdout=io.StringIO())
    after = raw("runbooks_secret", "value", secret.pk)
    assert after.startswith("fernet:") and after != before
    settings.OKNO_SECRETS_KEYS = [NEW]
    assert Secret.objects.get(pk=secret.pk).value == "registry-token-0001"
    cluster = Cluster.objects.get(pk=cluster.pk)
    assert "token: abcdefgh" in cluster.kubeconfig and "pw-123456" in cluster.ansible_inventory
    assert raw("runbooks_cluster", "kubeconfig", empty.pk) == ""
    # The old key alone no longer opens them.
    settings.OKNO_SECRETS_KEYS = [OLD]
    with pytest.raises(ImproperlyConfigured):
        Secret.objects.get(pk=secret.pk)


def test_rotating_twice_is_harmless(settings):
    settings.OKNO_SECRETS_KEYS = [OLD]
    secret = Secret.objects.create(name="x", value="value-5678")
    settings.OKNO_SECRETS_KEYS = [NEW, OLD]
    call_command("rotate_secrets", stdout=io.StringIO())
    call_command("rotate_secrets", stdout=io.StringIO())
    settings.OKNO_SECRETS_KEYS = [NEW]
    assert Secret.objects.get(pk=secret.pk).value == "value-5678"


def test_a_plain_text_value_from_before_encryption_gets_encrypted(settings):
    settings.OKNO_SECRETS_KEYS = [NEW]
    secret = Secret.objects.create(name="legacy", value="will-be-overwritten")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE runbooks_secret SET value = %s WHERE id = %s", ["plain-legacy-value", secret.pk])
    call_command("rotate_secrets", stdout=io.StringIO())
    assert raw("runbooks_secret", "value", secret.pk).startswith("fernet:")
    assert Secret.objects.get(pk=secret.pk).value == "plain-legacy-value"
