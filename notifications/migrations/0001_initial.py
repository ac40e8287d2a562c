# Written by hand for the new app (checked against the models with Django's autodetector: no changes).

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="OutboundEmail",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=255, unique=True, verbose_name="idempotency key")),
                ("to", models.CharField(max_length=254, verbose_name="recipient")),
                ("subject", models.CharField(max_length=500, verbose_name="subject")),
                ("text", models.TextField(verbose_name="text")),
                ("html", models.TextField(blank=True, verbose_name="HTML")),
                ("state", models.CharField(choices=[("queued", "Queued"), ("sending", "Sending"), ("sent", "Sent"), ("failed", "Failed")], default="queued", max_length=10, verbose_name="state")),
                ("attempts", models.PositiveIntegerField(default=0, verbose_name="attempts")),
                ("last_error", models.TextField(blank=True, verbose_name="last error")),
                ("next_attempt_at", models.DateTimeField(blank=True, default=django.utils.timezone.now, null=True, verbose_name="next attempt at")),
                ("claimed_at", models.DateTimeField(blank=True, null=True, verbose_name="sending since")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                ("sent_at", models.DateTimeField(blank=True, null=True, verbose_name="sent at")),
            ],
            options={
                "verbose_name": "outgoing e-mail",
                "verbose_name_plural": "outgoing e-mails",
                "ordering": ["-created_at", "-id"],
                "indexes": [models.Index(fields=["state", "next_attempt_at"], name="notificatio_state_df5d7a_idx")],
            },
        ),
        migrations.CreateModel(
            name="ScheduledNotification",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=255, unique=True, verbose_name="idempotency key")),
                ("kind", models.CharField(max_length=100, verbose_name="kind")),
                ("payload", models.JSONField(blank=True, default=dict, verbose_name="payload")),
                ("due_at", models.DateTimeField(verbose_name="due at")),
                ("state", models.CharField(choices=[("pending", "Pending"), ("done", "Done"), ("cancelled", "Cancelled"), ("failed", "Failed")], default="pending", max_length=10, verbose_name="state")),
                ("attempts", models.PositiveIntegerField(default=0, verbose_name="attempts")),
                ("last_error", models.TextField(blank=True, verbose_name="last error")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                ("done_at", models.DateTimeField(blank=True, null=True, verbose_name="done at")),
            ],
            options={
                "verbose_name": "scheduled notification",
                "verbose_name_plural": "scheduled notifications",
                "ordering": ["due_at", "id"],
                "indexes": [models.Index(fields=["state", "due_at"], name="notificatio_state_ffdc0b_idx")],
            },
        ),
    ]
