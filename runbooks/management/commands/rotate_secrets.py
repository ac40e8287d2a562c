"""Re-encrypt every stored secret with the first key of OKNO_SECRETS_KEYS.

Key rotation: put the new key first and keep the old one after it (both decrypt), run this command,
then drop the old key. Every EncryptedTextField of every model is covered.
"""

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand
from django.db import models, transaction
from django.db.models.functions import Cast

from runbooks import crypto


def encrypted_fields():
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, crypto.EncryptedTextField):
                yield model, field


class Command(BaseCommand):
    help = "Re-encrypt every secret stored in the database with the first key of OKNO_SECRETS_KEYS."

    def handle(self, *args, **options):
        total = 0
        with transaction.atomic():
            for model, field in encrypted_fields():
                # Cast to plain text: the stored token, not the decrypted value (EncryptedTextField.from_db_value).
                rows = (
                    model._default_manager.select_for_update()
                    .exclude(**{field.attname: ""})
                    .annotate(_token=Cast(field.attname, models.TextField()))
                    .values_list("pk", "_token")
                )
                count = 0
                for pk, token in rows:
                    try:
                        # A value stored before encryption (plain text) is encrypted now.
                        new = crypto.rotate(token) if token.startswith(crypto.PREFIX) else crypto.encrypt(token)
                    except InvalidToken:
                        raise ImproperlyConfigured(
                            f"{model._meta.label}.{field.name} of row {pk} cannot be decrypted:"
                            " OKNO_SECRETS_KEYS lacks the key it was encrypted with"
                        ) from None
                    # Value with a plain TextField: stored as given, not encrypted a second time.
                    model._default_manager.filter(pk=pk).update(
                        **{field.attname: models.Value(new, output_field=models.TextField())}
                    )
                    count += 1
                if count:
                    self.stdout.write(f"{model._meta.label}.{field.name}: {count}")
                total += count
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {total} value(s) with the first key of OKNO_SECRETS_KEYS."))
