"""Secrets at rest: Fernet (the `cryptography` package) with keys from OKNO_SECRETS_KEYS.

Several keys rotate: the first encrypts, all decrypt; `manage.py rotate_secrets` re-encrypts every value
with the first. Without OKNO_SECRETS_KEYS (development, the demo) a key is derived from SECRET_KEY;
production settings refuse to start without it.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "fernet:"


def _fernet():
    keys = list(settings.OKNO_SECRETS_KEYS or [])
    if not keys:
        derived = hashlib.sha256(f"okno-secrets:{settings.SECRET_KEY}".encode()).digest()
        keys = [base64.urlsafe_b64encode(derived).decode()]
    try:
        return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "OKNO_SECRETS_KEYS: every key must be 32 url-safe base64-encoded bytes (Fernet.generate_key())"
        ) from exc


def encrypt(text):
    if not text:
        return ""
    return PREFIX + _fernet().encrypt(text.encode()).decode()


def decrypt(token):
    if not token:
        return ""
    if not token.startswith(PREFIX):
        raise ValueError("not an encrypted value")
    try:
        return _fernet().decrypt(token[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted: OKNO_SECRETS_KEYS lacks the key it was encrypted with"
        ) from exc


def rotate(token):
    if not token:
        return ""
    return PREFIX + _fernet().rotate(token[len(PREFIX) :].encode()).decode()


class EncryptedTextField(models.TextField):
    """Text stored encrypted; Python code sees plain text. Never searchable, never shown back in forms."""

    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value else ""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value) if value else ""
