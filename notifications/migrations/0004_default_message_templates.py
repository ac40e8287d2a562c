"""The shipped announcement templates as MessageTemplate rows, so administrators edit them in the admin.

Reads notifications/message_defaults/<language>/<kind>{_subject.txt,.txt,.html}. Rows that already
exist are left alone; reversing deletes the rows of these kinds and languages.
"""

from pathlib import Path

from django.db import migrations

DEFAULTS_DIR = Path(__file__).resolve().parent.parent / "message_defaults"
KINDS = ("announcement", "completion", "delay", "banner")
LANGUAGES = ("ru", "en")


def _read(language, kind, suffix):
    path = DEFAULTS_DIR / language / f"{kind}{suffix}"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def create_templates(apps, schema_editor):
    MessageTemplate = apps.get_model("notifications", "MessageTemplate")
    for language in LANGUAGES:
        for kind in KINDS:
            MessageTemplate.objects.get_or_create(
                kind=kind, language=language,
                defaults={
                    "subject": _read(language, kind, "_subject.txt").strip(),
                    "text": _read(language, kind, ".txt"),
                    "html": _read(language, kind, ".html"),
                },
            )


def delete_templates(apps, schema_editor):
    MessageTemplate = apps.get_model("notifications", "MessageTemplate")
    MessageTemplate.objects.filter(kind__in=KINDS, language__in=LANGUAGES).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("notifications", "0003_banner_mailboxmessage_messagetemplate_and_more"),
    ]

    operations = [
        migrations.RunPython(create_templates, delete_templates),
    ]
