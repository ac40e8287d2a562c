"""The completion notice now says how the work ended (completed, with rollback, failed) and the actual start.

Rows still holding the text 0004 shipped before (compared by hash) get the new shipped text; rows an
administrator edited are left alone (they may use the new `outcome` and `started` variables).
"""

import hashlib
from pathlib import Path

from django.db import migrations

DEFAULTS_DIR = Path(__file__).resolve().parent.parent / "message_defaults"
# sha256 of (subject, text, html) of the completion templates as shipped before this migration.
OLD = {
    "ru": (
        "9887d0ab091d0d450cf9659a47a0cb9cfc61ea7b5e2f52383b8dd210e9e90070",
        "876ce4d531e5b874bc0df6f31957946ad5d7485d2a165065b5bf342006aadf18",
        "de87fac6ed031bd92cb0f74c3ac2b7ed6e68dc74369b94ad1cc54218f90406a2",
    ),
    "en": (
        "9a3d03b3eed4a74e4c9d5878e7baaef640360629420c425967ad5acc5daab9dd",
        "09318ab157e4210e29650282be24c5fcb732cc77fe8d6ff8ba0a3764943f05f5",
        "7686dcd88e944551f78b9edfc748ebfcbea8005889f386aa074a0d652862e9de",
    ),
}


def _digest(value):
    return hashlib.sha256(value.encode()).hexdigest()


def _read(language, suffix):
    path = DEFAULTS_DIR / language / f"completion{suffix}"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def update_completion(apps, schema_editor):
    MessageTemplate = apps.get_model("notifications", "MessageTemplate")
    for language, hashes in OLD.items():
        for row in MessageTemplate.objects.filter(kind="completion", language=language):
            if (_digest(row.subject), _digest(row.text), _digest(row.html)) != hashes:
                continue  # edited by an administrator
            row.subject = _read(language, "_subject.txt").strip()
            row.text = _read(language, ".txt")
            row.html = _read(language, ".html")
            row.save(update_fields=["subject", "text", "html"])


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0007_webhookdelivery_subject"),
    ]

    operations = [
        migrations.RunPython(update_completion, migrations.RunPython.noop),
    ]
