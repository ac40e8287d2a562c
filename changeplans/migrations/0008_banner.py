"""Banners move here from notifications (which knows no domain model); every row is kept.

notifications 0006_banner_moves_out dropped the model from its state and left the table. Here the
model enters changeplans' state on that table (notifications_banner, same columns and constraint),
then the table is renamed to changeplans_banner (its index and constraint names keep the old
prefix, which nothing depends on). The content type moves too, so permissions on banners stay with
their groups.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def move_content_type(apps, schema_editor, source="notifications", target="changeplans"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if ContentType.objects.filter(app_label=target, model="banner").exists():
        return
    ContentType.objects.filter(app_label=source, model="banner").update(app_label=target)


def move_content_type_back(apps, schema_editor):
    move_content_type(apps, schema_editor, source="changeplans", target="notifications")


class Migration(migrations.Migration):

    dependencies = [
        ("changeplans", "0007_date_bounds_plan_local_contact"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("notifications", "0006_banner_moves_out"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="Banner",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("text", models.TextField(verbose_name="text")),
                        ("ends_at", models.DateTimeField(blank=True, null=True, verbose_name="planned end")),
                        ("shown_from", models.DateTimeField(verbose_name="shown from")),
                        ("shown_until", models.DateTimeField(blank=True, null=True, verbose_name="shown until")),
                        ("created_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="put up by")),
                        ("plan", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="banners", to="changeplans.plan", verbose_name="work plan")),
                        ("removed_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="taken down by")),
                        ("service", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="banners", to="changeplans.service", verbose_name="service")),
                        ("step", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="changeplans.step", verbose_name="step")),
                    ],
                    options={
                        "verbose_name": "banner",
                        "verbose_name_plural": "banners",
                        "ordering": ["-shown_from", "-id"],
                        "db_table": "notifications_banner",
                        "constraints": [
                            models.UniqueConstraint(condition=models.Q(("shown_until__isnull", True)), fields=("service",), name="one_active_banner_per_service"),
                        ],
                    },
                ),
            ],
        ),
        migrations.AlterModelTable(name="banner", table=None),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
