# The stored archive PDFs (changeplans.pdf_archive, docs/pdf.md).

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("changeplans", "0011_planattachment_imported"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PlanPdf",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=200, verbose_name="version key")),
                ("revision", models.PositiveIntegerField(verbose_name="plan revision")),
                ("last_event", models.PositiveBigIntegerField(default=0, verbose_name="last history entry")),
                ("language", models.CharField(max_length=10, verbose_name="language")),
                ("full_history", models.BooleanField(default=False, verbose_name="full history")),
                ("audience", models.CharField(blank=True, max_length=64, verbose_name="appendices seen")),
                ("reason", models.CharField(default="download", max_length=20, verbose_name="reason")),
                ("freeze", models.BooleanField(default=False, verbose_name="to be archived")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "queued"),
                            ("rendering", "rendering"),
                            ("ready", "ready"),
                            ("failed", "failed"),
                        ],
                        default="queued",
                        max_length=20,
                        verbose_name="status",
                    ),
                ),
                ("error", models.TextField(blank=True, verbose_name="error")),
                ("progress", models.PositiveSmallIntegerField(default=0, verbose_name="progress")),
                ("steps", models.PositiveIntegerField(default=0, verbose_name="steps")),
                ("expected_seconds", models.FloatField(default=0, verbose_name="expected seconds")),
                ("attempts", models.PositiveSmallIntegerField(default=0, verbose_name="attempts")),
                ("data", models.BinaryField(default=b"", verbose_name="content")),
                ("sha256", models.CharField(blank=True, max_length=64, verbose_name="SHA-256")),
                ("pages", models.PositiveIntegerField(blank=True, null=True, verbose_name="pages")),
                ("size", models.PositiveBigIntegerField(blank=True, null=True, verbose_name="size")),
                ("html_seconds", models.FloatField(blank=True, null=True, verbose_name="HTML seconds")),
                ("layout_seconds", models.FloatField(blank=True, null=True, verbose_name="layout seconds")),
                ("write_seconds", models.FloatField(blank=True, null=True, verbose_name="writing seconds")),
                ("archived", models.BooleanField(default=False, verbose_name="archive copy")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created at")),
                ("enqueued_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="queued at")),
                ("started_at", models.DateTimeField(blank=True, null=True, verbose_name="started at")),
                ("finished_at", models.DateTimeField(blank=True, null=True, verbose_name="finished at")),
                (
                    "plan",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="pdfs",
                        to="changeplans.plan",
                        verbose_name="work plan",
                    ),
                ),
                (
                    "viewer",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "plan PDF",
                "verbose_name_plural": "plan PDFs",
                "ordering": ["-created_at", "-id"],
                "constraints": [models.UniqueConstraint(fields=("plan", "key"), name="one_pdf_per_plan_version")],
            },
        ),
    ]
